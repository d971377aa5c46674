"""`python -m pipeline.products OUTPUT_DIR [--config FILE] [--workers N]`: regenerate the corpus products.

Prints the report's path on stdout (for `make report`); problems go to stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.config import ConfigError, load_config
from pipeline.products import ProductsError, write_products


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.products", description=__doc__)
    parser.add_argument("output", type=Path, help="a folder written by `pipeline run` (e.g. processed)")
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"),
                        help="run config (default: configs/default.yaml)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes for the per-document work (validation, signatures, pages; default 1)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        counts = write_products(args.output, config, workers=args.workers)
    except (ConfigError, ProductsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()), file=sys.stderr)
    report = args.output / "report.html"
    print(report.resolve() if report.exists() else args.output.resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

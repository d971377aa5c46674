"""The command line: parses arguments, calls the library, prints for people. Nothing else."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.config import ConfigError, load_config

DEFAULT_CONFIG = Path("configs/default.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monograph-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="process every file of --input into a corpus in --output")
    run.add_argument("--input", type=Path, default=Path("raw"), help="folder of raw monographs (default: raw)")
    run.add_argument("--output", type=Path, default=Path("processed"), help="output folder (default: processed)")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="run config (default: configs/default.yaml)")
    run.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from pipeline.batch import run_batch

        if not args.input.is_dir():
            print(f"error: input folder {args.input} does not exist", file=sys.stderr)
            return 2
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        summary = run_batch(config, args.input, args.output, workers=args.workers, progress=not args.quiet)
        print(summary.line(), file=sys.stderr)
        return 0 if summary.failed == 0 else 1
    return 2

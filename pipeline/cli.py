"""The command line: parses arguments, calls the library, prints for people. Nothing else."""

from __future__ import annotations

import argparse
import os
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
    run.add_argument("--workers", type=int, default=None,
                     help="worker processes (default: this machine's cores; with --executor ray, the cluster's CPUs)")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: this machine (default); ray: Ray tasks on a cluster (needs the [ray] extra)")
    run.add_argument("--address", default=None,
                     help="Ray cluster address (e.g. ray://head:10001 or auto; default: $RAY_ADDRESS or a local Ray)")
    run.add_argument("--force", action="store_true", help="process every document again, ignoring the saved per-document results")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _folders_problem(input_dir: Path, output_dir: Path) -> str | None:
    """What makes `--input` and `--output` unusable (a usage error), or None; creates the output folder."""
    if not input_dir.exists():
        return f"input folder {input_dir} does not exist"
    if not input_dir.is_dir():
        return f"--input {input_dir} is not a folder"
    try:
        os.scandir(input_dir).close()
    except OSError as exc:
        return f"cannot list input folder {input_dir}: {exc.strerror or exc}"
    if output_dir.exists() and not output_dir.is_dir():
        return f"--output {output_dir} is a file, not a folder"
    if output_dir.resolve() == input_dir.resolve():
        return "--output is the input folder: the output would be read as input next time; choose another folder"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create output folder {output_dir}: {exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from pipeline.batch import BatchInterrupted, run_batch
        from pipeline.executors import ExecutorError
        from pipeline.products import ProductsError
        from pipeline.runner import default_workers
        from pipeline.stages import StageError
        from pipeline.state import StateLocked

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.workers is not None and args.workers < 1:
            print("error: --workers must be at least 1", file=sys.stderr)
            return 2
        if args.address and args.executor != "ray":
            print("error: --address needs --executor ray", file=sys.stderr)
            return 2
        problem = _folders_problem(args.input, args.output)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        workers = args.workers if args.workers is not None or args.executor == "ray" else default_workers()
        try:
            summary = run_batch(config, args.input, args.output, workers=workers, progress=not args.quiet,
                                executor=args.executor, address=args.address, force=args.force)
        except BatchInterrupted as exc:
            print(exc.summary.interrupted_line(), file=sys.stderr)
            return 130
        except (ExecutorError, StateLocked, StageError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except ProductsError as exc:  # the corpus is written, but a product (schema check...) failed
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(summary.line(), file=sys.stderr)
        return 0 if summary.failed == 0 else 1
    return 2

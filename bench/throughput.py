#!/usr/bin/env python3
"""Throughput and memory of the pipeline, side by side with its floor and the fixed references.

    python bench/throughput.py [--n 200] [--rounds 3] [--ref ../shared/bench] [--workers 1,2]
    python bench/throughput.py --memory [--sizes 100,10000] [--workers 2]

Throughput mode builds N monographs with the reference `make_corpus.py` (from the sample in
tests/fixtures), then runs, in interleaved rounds (each measurement in a fresh process):

- `io_floor`: read and write every file (the floor: nothing can be faster);
- `ftfy`: `ftfy.fix_text` (defaults) on every file, read and written;
- `naive`: the reference `naive_baseline.py`, its own functions called in a loop;
- `naive_x2`: the same reference as two processes at once, each on every other file, their
  loops started together (what this machine gives a CPU-bound Python program going from one
  process to two: the ceiling that `pipeline w2` over `pipeline w1` is read against);
- `pipeline wN`: `run_batch` with N local workers (`--force`, so nothing is reused).

It prints medians over the rounds of documents/s, MB/s, the loop time and start-up time, peak
RSS of the main process and of the largest worker, the share of each stage (the runner's
per-stage seconds), the CPU time of the writing process and of the workers, and ratios.
"loop" excludes start-up (imports, building the pipeline or the worker pool); "wall" includes
the pool start-up. Memory mode runs the pipeline at each
corpus size and prints the peak RSS per worker and of the main process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "000_1ba6a6886bf80dc8.txt"
CONFIG = ROOT / "configs" / "default.yaml"
OUTPUT_STEP = "doc_output"  # pipeline.executors.OUTPUT_STEP (not imported: the children import the package)


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _files(input_dir: Path) -> list[Path]:
    return sorted(p for p in input_dir.iterdir() if p.is_file())


# ---------------------------------------------------------------- one measurement (child process)

def measure_io(input_dir: Path, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for p in _files(input_dir):
        (out / p.name).write_bytes(p.read_bytes())
    return {"loop": time.perf_counter() - start, "startup": 0.0}


def measure_ftfy(input_dir: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    import ftfy

    startup = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for p in _files(input_dir):
        (out / p.name).write_text(ftfy.fix_text(p.read_text(encoding="utf-8", errors="replace")), encoding="utf-8")
    return {"loop": time.perf_counter() - start, "startup": startup}


def measure_naive(input_dir: Path, out: Path, ref: Path, part: int = 0, parts: int = 1,
                  barrier: Path | None = None) -> dict[str, Any]:
    """The reference on every `parts`-th file from the `part`-th; with a `barrier` folder, its
    loop starts once all `parts` processes have started up (each leaves a file there)."""
    t0 = time.perf_counter()
    spec = importlib.util.spec_from_file_location("naive_baseline", ref / "naive_baseline.py")
    assert spec is not None and spec.loader is not None
    naive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(naive)
    nlp = naive.make_nlp()
    startup = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    if barrier is not None:
        (barrier / f"ready-{part}").touch()
        deadline = time.monotonic() + 120
        while len(list(barrier.glob("ready-*"))) < parts and time.monotonic() < deadline:
            time.sleep(0.001)
    start = time.perf_counter()
    for p in _files(input_dir)[part::parts]:
        naive.process_file(str(p), str(out), nlp)
    return {"loop": time.perf_counter() - start, "startup": startup}


def measure_pipeline(input_dir: Path, out: Path, workers: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    from pipeline.batch import run_batch
    from pipeline.config import load_config
    from pipeline.executors import make_executor

    config = load_config(CONFIG)
    inner = make_executor("local", config, workers)
    started: dict[str, float] = {}

    class Timed:
        """Passes through to the executor, timing its start-up (building workers and pipelines)."""

        def __init__(self) -> None:
            self.workers = inner.workers

        def start(self) -> dict[str, Any]:
            s, cpu = time.perf_counter(), time.process_time()
            provenance = inner.start()
            started["startup"] = time.perf_counter() - s
            started["startup_cpu"] = time.process_time() - cpu
            return provenance

        def submit(self, task: Any) -> int:
            return inner.submit(task)

        def wait(self) -> list[Any]:
            return inner.wait()

        def close(self, cancel: bool = False) -> None:
            inner.close(cancel)

        def map(self, fn: Any, items: list[Any]) -> list[Any]:
            return inner.map(fn, items)

        def imap(self, fn: Any, items: Any) -> Any:
            return inner.imap(fn, items)

    imports = time.perf_counter() - t0
    start, cpu = time.perf_counter(), time.process_time()
    summary = run_batch(config, input_dir, out, workers=workers, progress=False, executor=Timed(), force=True)
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's workers, reaped by now
    return {
        "loop": wall - started["startup"], "wall": wall, "startup": started["startup"] + imports,
        "stages": summary.seconds, "phases": summary.phases, "ok": summary.ok, "failed": summary.failed,
        "cpu_main": time.process_time() - cpu - started["startup_cpu"],
        "cpu_workers": children.ru_utime + children.ru_stime,
    }


def child(args: argparse.Namespace) -> None:
    input_dir, out = Path(args.input), Path(args.out)
    if args.one == "io_floor":
        m = measure_io(input_dir, out)
    elif args.one == "ftfy":
        m = measure_ftfy(input_dir, out)
    elif args.one == "naive":
        m = measure_naive(input_dir, out, Path(args.ref), args.part, args.parts,
                          Path(args.barrier) if args.barrier else None)
    else:
        m = measure_pipeline(input_dir, out, args.workers)
    m["rss_main_mb"] = _rss_mb(resource.RUSAGE_SELF)
    m["rss_worker_mb"] = _rss_mb(resource.RUSAGE_CHILDREN)  # the largest reaped child: a pool worker
    print(json.dumps(m))


# ---------------------------------------------------------------- the driver

def _command(kind: str, input_dir: Path, out: Path, ref: Path, workers: int = 1) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--one", kind, "--input", str(input_dir), "--out", str(out),
            "--ref", str(ref), "--workers", str(workers)]


def _result(kind: str, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    if returncode != 0:
        sys.exit(f"bench: {kind} failed:\n{stderr}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def run_child(kind: str, input_dir: Path, out: Path, ref: Path, workers: int = 1) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(_command(kind, input_dir, out, ref, workers), cwd=ROOT, capture_output=True, text=True,
                          check=False)
    shutil.rmtree(out, ignore_errors=True)
    return _result(kind, proc.returncode, proc.stdout, proc.stderr)


def run_naive_parts(input_dir: Path, out: Path, ref: Path, parts: int) -> dict[str, Any]:
    """The naive reference as `parts` processes at once (`measure_naive`'s barrier): the loop
    is the slowest one's, start-up and RSS the largest."""
    shutil.rmtree(out, ignore_errors=True)
    barrier = out / "barrier"
    barrier.mkdir(parents=True)
    procs = [subprocess.Popen([*_command("naive", input_dir, out / f"part{k}", ref), "--part", str(k), "--parts",
                               str(parts), "--barrier", str(barrier)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(parts)]
    outputs = [proc.communicate() for proc in procs]  # before reading returncode, which waiting sets
    results = [_result("naive_x2", proc.returncode, *output) for proc, output in zip(procs, outputs, strict=True)]
    shutil.rmtree(out, ignore_errors=True)
    return {key: max(r[key] for r in results) for key in ("loop", "startup", "rss_main_mb")}


def make_corpus(ref: Path, out: Path, n: int) -> int:
    subprocess.run([sys.executable, str(ref / "make_corpus.py"), str(SEED), str(out), str(n)], check=True,
                   capture_output=True)
    return sum(p.stat().st_size for p in _files(out))


def check_ref(ref: Path) -> None:
    missing = [name for name in ("make_corpus.py", "naive_baseline.py") if not (ref / name).is_file()]
    if missing:
        sys.exit(f"bench: {', '.join(missing)} not found in {ref}: set BENCH_REF (make) or --ref to the folder of "
                 "the shared benchmark references")


def throughput(args: argparse.Namespace) -> None:
    ref = Path(args.ref).resolve()
    check_ref(ref)
    workers = [int(w) for w in args.workers.split(",")]
    kinds = ["io_floor", "ftfy", "naive", "naive_x2", *(f"pipeline_w{w}" for w in workers)]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        corpus = Path(tmp) / "raw"
        size = make_corpus(ref, corpus, args.n)
        print(f"corpus: {args.n} monographs, {size / 1e6:.2f} MB; {args.rounds} interleaved rounds; "
              f"{len(os.sched_getaffinity(0))} cores; python {sys.version.split()[0]}", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for r in range(args.rounds):
            for kind in kinds:
                if kind == "naive_x2":
                    runs[kind].append(run_naive_parts(corpus, Path(tmp) / "out", ref, 2))
                    continue
                w = int(kind.split("_w")[1]) if kind.startswith("pipeline") else 1
                runs[kind].append(run_child(kind.split("_w")[0], corpus, Path(tmp) / "out", ref, w))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print_table(runs, args.n, size)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r.get(key, 0.0)) for r in runs)


def print_table(runs: dict[str, list[dict[str, Any]]], n: int, size: int) -> None:
    dps = {k: n / _median(v, "loop") for k, v in runs.items()}
    print()
    print(f"{'':14} {'docs/s':>8} {'MB/s':>7} {'loop s':>7} {'wall s':>7} {'start s':>7} {'RSS main':>9} {'RSS wkr':>8}")
    for kind, rs in runs.items():
        loop = _median(rs, "loop")
        wall = _median(rs, "wall") if "wall" in rs[0] else loop
        wkr = f"{_median(rs, 'rss_worker_mb'):.0f} MB" if kind.startswith("pipeline_w") and not kind.endswith("w1") else "-"
        print(f"{kind:14} {n / loop:8.1f} {size / 1e6 / loop:7.2f} {loop:7.2f} {wall:7.2f} {_median(rs, 'startup'):7.2f} "
              f"{_median(rs, 'rss_main_mb'):6.0f} MB {wkr:>8}")
    print()
    naive = dps["naive"]
    pipes = [k for k in runs if k.startswith("pipeline_w")]
    for k in pipes:
        print(f"{k}: {dps[k] / naive:.2f}x naive, {dps[k] / dps['ftfy']:.2f}x ftfy alone, "
              f"{dps[k] / dps['io_floor']:.3f}x the I/O floor")
    if "naive_x2" in dps:
        print(f"naive_x2 / naive: {dps['naive_x2'] / naive:.2f}x (the reference on 2 processes: what this machine gives "
              "a CPU-bound program from a second process)")
    if len(pipes) > 1:
        base = pipes[0]
        for k in pipes[1:]:
            print(f"{k} / {base}: {dps[k] / dps[base]:.2f}x (loop), "
                  f"{_median(runs[base], 'wall') / _median(runs[k], 'wall'):.2f}x (wall)")
    print()
    for k in pipes:
        timed = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs[k]) for s in runs[k][0]["stages"]}
        output = timed.pop(OUTPUT_STEP, 0.0)
        stages = timed
        total = sum(stages.values()) or 1.0
        shares = ", ".join(f"{s} {100 * v / total:.0f}% ({1000 * v / n:.1f} ms/doc)" for s, v in stages.items())
        print(f"stages {k} (time in the pipeline stages, summed over workers): {shares}")
        top, top_v = max(stages.items(), key=lambda kv: kv[1])
        print(f"largest stage {k}: {top}, {100 * top_v / total:.1f}% of the text stages (goal: 40% or less)")
        print(f"workers {k}: document outputs (rows, products' part, schema check) {1000 * output / n:.1f} ms/doc; "
              "of all the workers' "
              f"per-document time, {top} is {100 * top_v / (total + output):.0f}%")
        total += output
        phases = {p: statistics.median(r.get("phases", {}).get(p, 0.0) for r in runs[k]) for p in ("prepass", "products")}
        print(f"main process {k}: " + ", ".join(f"{p} {1000 * v / n:.1f} ms/doc" for p, v in phases.items()))
        if not k.endswith("_w1"):
            loop, cpu_main = _median(runs[k], "loop"), _median(runs[k], "cpu_main")
            print(f"cpu {k}: the writing process {cpu_main:.2f} s in the {loop:.2f} s loop ({100 * cpu_main / loop:.0f}% "
                  f"of a core); the workers {_median(runs[k], 'cpu_workers'):.2f} s, their start-up included")
        if k.endswith("_w1"):  # one process: every second of the loop is in a stage or the main-process work
            rest = _median(runs[k], "loop") - total - sum(phases.values())
            whole = {**stages, OUTPUT_STEP: output, **phases, "writing, state, checks": rest}
            loop = _median(runs[k], "loop")
            print(f"share of the whole loop {k}: " + ", ".join(f"{s} {100 * v / loop:.0f}%" for s, v in whole.items()))


def memory(args: argparse.Namespace) -> None:
    ref = Path(args.ref).resolve()
    check_ref(ref)
    w = int(args.workers.split(",")[-1])
    print(f"{'docs':>7} {'MB in':>8} {'docs/s':>7} {'RSS main':>9} {'RSS/worker':>10}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
            size = make_corpus(ref, Path(tmp) / "raw", n)
            m = run_child("pipeline", Path(tmp) / "raw", Path(tmp) / "out", ref, w)
        rss = f"{m['rss_main_mb']:6.0f} MB {m['rss_worker_mb']:7.0f} MB"
        print(f"{n:7d} {size / 1e6:8.1f} {n / m['loop']:7.1f} {rss}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 200)), help="monographs (BENCH_N)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)), help="rounds (BENCH_ROUNDS)")
    parser.add_argument("--ref", default=os.environ.get("BENCH_REF", str(ROOT.parent / "shared" / "bench")),
                        help="folder of make_corpus.py and naive_baseline.py (BENCH_REF)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--memory", action="store_true", help="peak RSS per worker at each of --sizes")
    parser.add_argument("--sizes", default="100,10000", help="corpus sizes for --memory (default 100,10000)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.workers = int(args.workers)
        child(args)
    elif args.memory:
        memory(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()

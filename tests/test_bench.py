"""The benchmark's pipeline runner (`make bench` is not part of the suite: it takes minutes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_runner import make_raw


@pytest.mark.parametrize("workers", [1, 2])
def test_bench_measures_a_pipeline_run(tmp_path: Path, workers: int) -> None:
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "bench" / "throughput.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    m = bench.measure_pipeline(raw, tmp_path / "out", workers)
    assert m["ok"] == 3 and m["failed"] == 0
    assert 0 < m["loop"] <= m["wall"] and m["startup"] > 0
    assert {"decode", "entities"} <= set(m["stages"])


def test_bench_runs_the_reference_as_two_processes_on_halves(tmp_path: Path) -> None:
    """`naive_x2`: two processes of the reference, each on every other file, loops started
    together; a stand-in reference logs what each process was given."""
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "bench" / "throughput.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ref = tmp_path / "ref"
    ref.mkdir()
    log = tmp_path / "log"
    (ref / "naive_baseline.py").write_text(
        "import os\n"
        "def make_nlp():\n    return None\n"
        "def process_file(path, out_dir, nlp):\n"
        f"    with open({str(log)!r}, 'a') as fh:\n"
        "        fh.write(f'{os.getpid()} {os.path.basename(path)}\\n')\n",
        encoding="utf-8")
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(5):
        (raw / f"d{i}.txt").write_text("x", encoding="utf-8")
    m = bench.run_naive_parts(raw, tmp_path / "out", ref, 2)
    assert m["loop"] > 0 and m["startup"] > 0 and m["rss_main_mb"] > 0
    by_pid: dict[str, list[str]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        pid, name = line.split()
        by_pid.setdefault(pid, []).append(name)
    assert sorted(map(sorted, by_pid.values())) == [["d0.txt", "d2.txt", "d4.txt"], ["d1.txt", "d3.txt"]]
    assert not (tmp_path / "out").exists()

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

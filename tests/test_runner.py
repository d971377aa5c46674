"""Batches: the same bytes whatever the workers and the finishing order; a bounded window; Ctrl-C."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import BatchInterrupted, run_batch
from pipeline.cli import main
from pipeline.config import Config
from pipeline.executors import InlineExecutor, make_executor
from pipeline.runner import DocResult, Pipeline, Task
from pipeline.state import STATE_DIR
from pipeline.writers import FILES

from .conftest import SAMPLE


def synthetic(i: int) -> str:
    """A small monograph, different for each `i`."""
    return (
        f"Condition {i}\n"
        "Overview\n"
        f"Condition {i} is a rare disorder that affects about {i + 1} in 100,000 people.\n"
        "Symptoms\n"
        f"Patients report fatigue, fever and weight loss over {i % 7 + 2} weeks.\n"
        "Treatment\n"
        f"Corticosteroids are given first; relapses occur in {i % 30 + 5}% of cases.\n"
    )


def make_raw(root: Path, n: int, sample: bool = True, bad: bool = True) -> Path:
    """`n` synthetic documents, the sample monograph and one refused (binary) file."""
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (raw / f"doc_{i:03d}.txt").write_text(synthetic(i), encoding="utf-8")
    if sample:
        shutil.copy(SAMPLE, raw / SAMPLE.name)
    if bad:
        (raw / "scan.pdf").write_bytes(b"%PDF-1.4\x00\x01 binary")
    return raw


def outputs(out: Path) -> dict[str, bytes]:
    """Every corpus file's bytes."""
    return {name: (out / name).read_bytes() for name in FILES}


def assert_same_output(a: Path, b: Path) -> None:
    got, want = outputs(a), outputs(b)
    for name in FILES:
        assert got[name] == want[name], f"{name} differs"


def test_workers_1_and_2_write_the_same_bytes(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 6)
    one = run_batch(config, raw, tmp_path / "one", workers=1, progress=False)
    two = run_batch(config, raw, tmp_path / "two", workers=2, progress=False)
    assert_same_output(tmp_path / "one", tmp_path / "two")
    # the products too: pages rendered while writing, plots rendered by the idle workers
    products = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*")
                      if p.is_file() and p.suffix in (".html", ".md", ".csv") and ".state" not in p.parts)
    assert len(products) > 6 and Path("report.html") in products
    for rel in products:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    assert (one.ok, one.failed, one.processed, one.reused) == (7, 1, 8, 0)
    assert two.line() == one.line().replace(str(tmp_path / "one"), str(tmp_path / "two"))
    assert not list((tmp_path / "two").glob(".*tmp*"))


class ShuffledExecutor(InlineExecutor):
    """Finishes documents in reverse order of submission, a few at a time; records the in-flight peak."""

    def __init__(self, config: Config, interrupt_after: int | None = None) -> None:
        super().__init__(config)
        self.peak = 0
        self.returned = 0
        self.interrupt_after = interrupt_after

    def submit(self, task: Task) -> int:
        ticket = super().submit(task)
        self.peak = max(self.peak, len(self.done))
        return ticket

    def wait(self) -> list[tuple[int, DocResult]]:
        if self.interrupt_after is not None and self.returned >= self.interrupt_after:
            raise KeyboardInterrupt
        out = list(reversed(self.done[-2:]))
        del self.done[-2:]
        self.returned += len(out)
        return out


def test_output_does_not_depend_on_finishing_order_and_window_is_bounded(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 12, sample=False)
    run_batch(config, raw, tmp_path / "inline", progress=False)
    shuffled = ShuffledExecutor(config)
    summary = run_batch(config, raw, tmp_path / "shuffled", executor=shuffled, window=3, progress=False)
    assert_same_output(tmp_path / "inline", tmp_path / "shuffled")
    assert summary.processed == 13
    assert shuffled.peak <= 3


def test_ctrl_c_keeps_previous_corpus_and_finished_documents(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 4, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    before = outputs(out)
    for i in range(4, 12):
        (raw / f"doc_{i:03d}.txt").write_text(synthetic(i), encoding="utf-8")
    with pytest.raises(BatchInterrupted) as info:
        run_batch(config, raw, out, executor=ShuffledExecutor(config, interrupt_after=4), window=8, progress=False)
    assert info.value.summary.processed == 4 and info.value.summary.reused == 4
    assert outputs(out) == before
    assert not list(out.glob(".*tmp*"))
    assert len(list((out / STATE_DIR / "docs").glob("*.json"))) == 8
    again = run_batch(config, raw, out, progress=False)
    assert (again.processed, again.reused) == (4, 8)
    run_batch(config, raw, tmp_path / "fresh", progress=False)
    assert_same_output(out, tmp_path / "fresh")


def test_cli_interrupt_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline import batch
    from pipeline.batch import Summary

    def interrupted(*args: Any, **kwargs: Any) -> Summary:
        raise BatchInterrupted(Summary(processed=3, reused=1, total=9, output=tmp_path))

    monkeypatch.setattr(batch, "run_batch", interrupted)
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--quiet"]) == 130
    assert capsys.readouterr().err.startswith("interrupted: 3 documents processed and 1 reused of 9")


def test_cli_rejects_bad_worker_and_address_options(tmp_path: Path) -> None:
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--address", "auto"]) == 2


def test_pipeline_run_equals_process(config: Config, sample_bytes: bytes) -> None:
    from pipeline.runner import InputFile

    pipe = Pipeline(config)
    a = pipe.run(Task("x", "x.txt", sample_bytes))
    b = pipe.process(InputFile(SAMPLE, "x", "x.txt"))
    assert a.record == b.record and a.removed == b.removed
    assert set(a.seconds) == set(config.run.stages)


def test_make_executor_picks_inline_for_one_worker(config: Config) -> None:
    assert isinstance(make_executor("local", config, 1), InlineExecutor)
    assert isinstance(make_executor("local", config, None), InlineExecutor)

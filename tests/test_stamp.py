"""The up-to-date check (`pipeline.stamp`): a re-run with nothing to do builds and writes
nothing; any change to the inputs, the outputs, the config, the code or the environment makes
a full run, which leaves the output a fresh run writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import stamp
from pipeline.batch import BatchInterrupted, Summary, run_batch
from pipeline.config import Config
from pipeline.executors import InlineExecutor
from pipeline.prepass import Prepass
from pipeline.runner import Pipeline, discover, pipeline_provenance
from pipeline.state import STATE_DIR

from .conftest import DEFAULT_CONFIG, ROOT
from .test_runner import ShuffledExecutor, assert_same_output, make_raw, synthetic


def stamped(out: Path) -> bool:
    return (out / STATE_DIR / stamp.STAMP_NAME).is_file()


class NoBuild(InlineExecutor):
    """An executor that fails the test if it is started: nothing may be built."""

    def start(self) -> dict[str, object]:
        raise AssertionError("the pipeline was built for an up-to-date output")


def test_a_rerun_with_nothing_changed_builds_and_writes_nothing(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 5)  # with the sample and one refused file (a failure is stable)
    out = tmp_path / "out"
    first = run_batch(config, raw, out, progress=False)
    assert stamped(out) and not first.up_to_date
    files = stamp.output_files(out)
    assert "corpus.jsonl" in files and any(name.startswith("report/") for name in files)
    def times() -> dict[Path, int]:  # .state too, but the lock, which each run opens to write
        return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "lock"}

    before = times()
    again = run_batch(config, raw, out, executor=NoBuild(config), progress=False)
    assert again.up_to_date
    assert (again.processed, again.reused, again.total) == (0, 7, 7)
    assert again.line() == first.line().replace("7 processed, 0 reused", "0 processed, 7 reused | up to date: nothing written")
    assert times() == before  # not one file written
    assert "up_to_date" in again.phases


def test_force_runs_in_full_even_when_up_to_date(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 2, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    forced = run_batch(config, raw, out, force=True, progress=False)
    assert (forced.processed, forced.up_to_date) == (3, False)
    assert run_batch(config, raw, out, progress=False).up_to_date  # the forced run stamped it again


def _change_input(raw: Path, out: Path) -> None:
    (raw / "doc_001.txt").write_text(synthetic(41), encoding="utf-8")


def _change_input_back_and_forth(raw: Path, out: Path) -> None:
    path = raw / "doc_001.txt"
    before = path.stat()
    path.write_text(synthetic(3), encoding="utf-8")  # the same size...
    assert path.stat().st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ...and its old time


def _add_input(raw: Path, out: Path) -> None:
    (raw / "doc_009.txt").write_text(synthetic(9), encoding="utf-8")


def _remove_input(raw: Path, out: Path) -> None:
    (raw / "doc_002.txt").unlink()


def _rename_input(raw: Path, out: Path) -> None:
    (raw / "doc_002.txt").rename(raw / "doc_002b.txt")


def _edit_output_same_size(raw: Path, out: Path) -> None:
    path = out / "sections.csv"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and its old time


def _edit_output(raw: Path, out: Path) -> None:
    with (out / "corpus.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("{}\n")


def _delete_output(raw: Path, out: Path) -> None:
    (out / "entities.parquet").unlink()


def _delete_page(raw: Path, out: Path) -> None:
    next((out / "report").glob("*.html")).unlink()


def _add_output(raw: Path, out: Path) -> None:
    (out / "notes.txt").write_text("mine", encoding="utf-8")


def _garble_stamp(raw: Path, out: Path) -> None:
    (out / STATE_DIR / stamp.STAMP_NAME).write_text("{not json", encoding="utf-8")


def _stamp_of_another_summary(raw: Path, out: Path) -> None:
    path = out / STATE_DIR / stamp.STAMP_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    data["summary"]["sections"] = "many"
    path.write_text(json.dumps(data), encoding="utf-8")


CHANGES: dict[str, tuple[Callable[[Path, Path], None], int]] = {  # the change, documents processed
    "input changed": (_change_input, 1),
    "input changed, same size and time": (_change_input_back_and_forth, 1),
    "input added": (_add_input, 1),
    "input removed": (_remove_input, 0),
    "input renamed": (_rename_input, 1),
    "output edited, same size and time": (_edit_output_same_size, 0),
    "output edited": (_edit_output, 0),
    "output deleted": (_delete_output, 0),
    "report page deleted": (_delete_page, 0),
    "file added to the output": (_add_output, 0),
    "stamp garbled": (_garble_stamp, 0),
    "stamp summary not counts": (_stamp_of_another_summary, 0),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_any_change_makes_a_full_run_that_writes_a_fresh_runs_bytes(tmp_path: Path, config: Config, change: str) -> None:
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    make_change, processed = CHANGES[change]
    make_change(raw, out)
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.up_to_date, summary.processed) == (False, processed)
    run_batch(config, raw, tmp_path / "fresh", progress=False)
    assert_same_output(out, tmp_path / "fresh")
    assert run_batch(config, raw, out, executor=NoBuild(config), progress=False).up_to_date  # stamped again


def test_an_output_touched_but_not_changed_is_still_up_to_date(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 2, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    st = (out / "corpus.jsonl").stat()
    os.utime(out / "corpus.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # `touch`, a copy, a restore
    assert run_batch(config, raw, out, executor=NoBuild(config), progress=False).up_to_date


@pytest.mark.parametrize("entry", [None, 5, [], "ab", {"x": 1}])
def test_a_stamp_with_odd_output_entries_is_no_stamp(tmp_path: Path, config: Config, entry: object) -> None:
    raw = make_raw(tmp_path, 1, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    path = out / STATE_DIR / stamp.STAMP_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    data["outputs"]["corpus.jsonl"] = entry
    path.write_text(json.dumps(data), encoding="utf-8")
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.up_to_date, summary.processed, summary.reused) == (False, 0, 1)


def test_the_stamp_is_the_same_after_a_killed_and_resumed_run(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 8, sample=False, bad=False)
    with pytest.raises(BatchInterrupted):
        run_batch(config, raw, tmp_path / "resumed", executor=ShuffledExecutor(config, interrupt_after=3), window=4,
                  progress=False)
    run_batch(config, raw, tmp_path / "resumed", progress=False)
    run_batch(config, raw, tmp_path / "straight", progress=False)
    stamps = [(tmp_path / name / STATE_DIR / stamp.STAMP_NAME).read_bytes() for name in ("resumed", "straight")]
    assert stamps[0] == stamps[1]


def test_a_config_change_makes_a_full_run_even_one_that_changes_no_output(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 2, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    no_cache = replace(config, run=config.run.model_copy(update={"output_cache": False}))
    assert no_cache.digest == config.digest  # speed only: no document is processed again...
    summary = run_batch(no_cache, raw, out, progress=False)
    assert (summary.up_to_date, summary.processed, summary.reused) == (False, 0, 2)
    assert not list((out / STATE_DIR / "docs").glob("*.out"))  # ...but the run does what the setting says
    renamed = replace(config, path=config.path.with_name("other.yaml"))  # the manifest names the config file
    summary = run_batch(renamed, raw, out, progress=False)
    assert not summary.up_to_date
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["config"] == "other.yaml"


def test_the_key_covers_code_environment_and_provenance(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    provenance = pipeline_provenance(config)
    base = stamp.stamp_key(config, provenance)
    assert stamp.stamp_key(config, provenance) == base
    other = {**provenance, "entities": {**provenance["entities"], "lexicon_version": "other"}}
    assert stamp.stamp_key(config, other) != base
    monkeypatch.setattr(stamp, "environment", lambda: ["3.99", "numpy-0.0.1.dist-info"])
    assert stamp.stamp_key(config, provenance) != base
    monkeypatch.undo()
    monkeypatch.setattr(stamp, "package_files", lambda: "edited")
    assert stamp.stamp_key(config, provenance) != base


def test_environment_lists_the_installed_distributions() -> None:
    env = stamp.environment()
    assert env[0] == sys.version
    names = {entry.split("-")[0].lower() for entry in env[1:]}
    assert {"numpy", "spacy", "pyarrow", "matplotlib"} <= names


def test_provenance_without_building_is_the_built_pipelines(config: Config) -> None:
    assert pipeline_provenance(config) == Pipeline(config).provenance
    assert set(pipeline_provenance(config)) == {"section_type", "entities"}
    fewer = replace(config, run=config.run.model_copy(update={"stages": ["decode", "fix_text", "strip_html", "segment"]}))
    assert pipeline_provenance(fewer) == {}


def test_no_stamp_while_an_input_cannot_be_read(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 2, sample=False, bad=False)
    (tmp_path / "elsewhere").mkdir()
    (raw / "linked_folder").symlink_to(tmp_path / "elsewhere")  # an item whose read fails
    out = tmp_path / "out"
    first = run_batch(config, raw, out, progress=False)
    assert first.failed == 1 and not stamped(out)
    again = run_batch(config, raw, out, progress=False)  # the read is tried again
    assert (again.up_to_date, again.processed, again.reused) == (False, 1, 2)


def test_a_run_stopped_midway_leaves_no_stamp(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    for i in range(3, 9):
        (raw / f"doc_{i:03d}.txt").write_text(synthetic(i), encoding="utf-8")
    with pytest.raises(BatchInterrupted):
        run_batch(config, raw, out, executor=ShuffledExecutor(config, interrupt_after=2), window=4, progress=False)
    assert not stamped(out)
    resumed = run_batch(config, raw, out, progress=False)
    assert not resumed.up_to_date and stamped(out)


def test_bytes_processed_other_than_the_prepass_read_are_not_stamped() -> None:
    read = Prepass(shas=[bytes.fromhex("ab" * 32), None])
    assert not read.read_other(0, "ab" * 32)
    assert read.read_other(0, "cd" * 32)  # changed between the pre-pass and its processing
    assert read.read_other(1, "cd" * 32)  # not readable by the pre-pass
    assert not Prepass().read_other(0, "cd" * 32)  # no pre-pass (a small batch): nothing learned


def test_the_stamped_summary_must_be_counts() -> None:
    done = Summary(ok=2, failed=1, sections=9, mentions=4, removed={"dedup": 3}, learned_lines=1,
                   products={"duplicate_pairs": 1})
    back = Summary()
    assert back.restore(json.loads(json.dumps(done.kept())))
    assert back.kept() == done.kept()
    assert not Summary().restore({**done.kept(), "ok": "2"})
    assert not Summary().restore({"ok": 2})


def test_the_check_reads_no_input_when_the_sources_differ(tmp_path: Path, config: Config,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    raw = make_raw(tmp_path, 2, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    _add_input(raw, out)
    monkeypatch.setattr(stamp, "read_task", lambda item: pytest.fail("an input was read"))
    monkeypatch.setattr(stamp, "stamp_key", lambda *a: pytest.fail("the key was made"))
    assert stamp.check(out, lambda: stamp.stamp_key(config, {}), discover(raw)) is None


def test_the_command_line_says_up_to_date(tmp_path: Path) -> None:
    raw = make_raw(tmp_path, 1, sample=False, bad=False)
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", str(raw), "--output", str(tmp_path / "out"),
           "--config", str(DEFAULT_CONFIG), "--workers", "1", "--quiet"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "up to date" not in first.stderr
    assert again.stderr.strip().endswith("0 processed, 1 reused | up to date: nothing written")


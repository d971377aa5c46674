"""Review 6 (batch robustness): file names that crashed a whole batch, an output folder inside
the input folder, folders that cannot be listed, and the command line's folder errors. End to end
through `run_batch` and `cli.main`, on inputs made under tmp_path."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline import batch, executors, stamp
from pipeline.batch import run_batch
from pipeline.cli import main
from pipeline.config import Config
from pipeline.products.report import PAGE_NAME_CHARS
from pipeline.runner import discover, doc_ids

from .conftest import SAMPLE

TEXT = "Gout\n\nOverview\nGout is a type of arthritis caused by uric acid crystals in a joint.\n"
NAME_MAX = 255  # bytes in a file name (Linux, macOS)


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]


def _errors(out: Path) -> list[dict[str, Any]]:
    path = out / "errors.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _assert_complete(out: Path, n_docs: int) -> None:
    """Every file of a finished run is there, with one record per id and unique section ids."""
    for name in ("corpus.jsonl", "manifest.json", "README.md", "report.html", "duplicates.csv", "sections.parquet"):
        assert (out / name).is_file(), name
    records = _records(out)
    ids = [r["doc_id"] for r in records]
    assert len(ids) == len(set(ids)) == n_docs
    sections = [s["section_id"] for r in records for s in r["sections"]]
    assert len(sections) == len(set(sections))
    assert list(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]) == ids
    for path in out.rglob("*"):
        assert len(os.fsencode(path.name)) <= NAME_MAX


def test_long_relative_paths_and_names_give_short_page_names(tmp_path: Path, config: Config) -> None:
    raw = tmp_path / "raw"
    deep = raw / "www.example-health-library.org" / ("a" * 70) / ("b" * 70) / ("c" * 70)
    for topic in ("gout", "raynaud", "kawasaki"):
        (deep / topic).mkdir(parents=True)
        (deep / topic / "index.html").write_text(f"<h1>{topic}</h1><p>{TEXT}</p>", encoding="utf-8")
    (raw / ("k" * 240 + "_kawasaki.html")).write_text(f"<p>{TEXT}</p>", encoding="utf-8")
    out = tmp_path / "out"
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (4, 0)
    _assert_complete(out, 4)
    pages = sorted(p.name for p in (out / "report").iterdir())
    assert len(pages) == 4 and all(len(name) <= PAGE_NAME_CHARS + len("-12345678.html") for name in pages)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'href="report/{name}"' in report for name in pages)


def test_a_name_that_is_not_utf8_is_escaped(tmp_path: Path, config: Config) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / os.fsdecode(b"gout_caf\xe9_latin1name.txt")).write_text(TEXT, encoding="utf-8")
    shutil.copy(SAMPLE, raw / "raynaud.txt")
    out = tmp_path / "out"
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (2, 0)
    _assert_complete(out, 2)
    first = _records(out)[0]
    assert (first["doc_id"], first["source"]) == ("gout_caf\\xe9_latin1name", "gout_caf\\xe9_latin1name.txt")


def test_a_control_character_in_a_name_passes_the_schema_check(tmp_path: Path, config: Config) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "new\nline name.txt").write_text(TEXT, encoding="utf-8")
    (raw / 'quote"and,comma.txt').write_text(TEXT.replace("Gout", "Kawasaki disease"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--input", str(raw), "--output", str(out), "--workers", "1", "--quiet"]) == 0
    _assert_complete(out, 2)
    assert [r["doc_id"] for r in _records(out)] == ["new\\x0aline name", 'quote"and,comma']


def test_ids_are_unique_over_the_final_set(tmp_path: Path, config: Config) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("gout.html", "gout.txt", "gout.html.txt"):
        (raw / name).write_text(TEXT + f"Written as {name}.\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (3, 0)
    _assert_complete(out, 3)
    # `gout.html` and `gout.txt` keep the ids of the shared-stem rule; `gout.html.txt`'s stem was taken
    assert [r["doc_id"] for r in _records(out)] == ["gout.html", "gout.html.txt", "gout.txt"]


@pytest.mark.parametrize("rels", [
    ["gout.txt"],
    ["a/gout.html", "b/gout.html", "raynaud.txt"],
    ["gout.html", "gout.txt", "gout.html.txt", "gout.html.txt.md"],
    ["x\udce9.txt", "x\\xe9.txt", "x\udce9.md", "y/x\udce9.txt"],
    ["README", "README.md", "a/README"],
])
def test_doc_ids_are_unique_text_and_independent_of_order(rels: list[str]) -> None:
    ids = dict(zip(rels, doc_ids(rels), strict=True))
    assert len(set(ids.values())) == len(rels)
    for doc_id in ids.values():
        doc_id.encode("utf-8")  # no surrogates
        assert doc_id.isprintable()
    shuffled = rels[::-1]
    random.Random(0).shuffle(shuffled)
    assert dict(zip(shuffled, doc_ids(shuffled), strict=True)) == ids
    assert doc_ids(["gout.txt"]) == ["gout"]  # an ordinary name keeps its stem


def test_a_failed_output_step_is_the_documents_error_line(tmp_path: Path, config: Config,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("a", "b", "c"):
        (raw / f"{name}.txt").write_text(TEXT + f"Document {name}.\n", encoding="utf-8")
    real = executors.doc_rows

    def failing(record: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if record["doc_id"] == "b":
            raise ValueError("cannot make the rows")
        return real(record, *args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(executors, "doc_rows", failing)  # in the worker (`pack`), for a new result
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (2, 1)
    assert _errors(out) == [{"doc": "b", "stage": "doc_output", "kind": "internal_error",
                             "message": "ValueError: cannot make the rows"}]
    assert [r["doc_id"] for r in _records(out)] == ["a", "c"]
    assert (out / "report.html").is_file()
    assert stamp.read(out) is None  # an internal error: the next run is a full one, as it was

    monkeypatch.setattr(executors, "doc_rows", real)
    monkeypatch.setattr(batch, "doc_rows", failing)  # in the writer, for a result reused from the state
    # (from its record: without the output its worker made, which a reused result is written from)
    uncached = dataclasses.replace(config, run=config.run.model_copy(update={"output_cache": False}))
    again = tmp_path / "again"
    run_batch(uncached, raw, again, progress=False)
    stamp.forget(again)  # else the output is up to date and nothing is read (tests/test_stamp.py)
    summary = run_batch(uncached, raw, again, progress=False)
    assert (summary.reused, summary.ok, summary.failed) == (3, 2, 1)
    assert [e["stage"] for e in _errors(again)] == ["doc_output"]
    assert [r["doc_id"] for r in _records(again)] == ["a", "c"]


def test_an_output_folder_inside_the_input_is_not_read(tmp_path: Path, config: Config) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "gout.txt").write_text(TEXT, encoding="utf-8")
    shutil.copy(SAMPLE, raw / "raynaud.txt")
    out = raw / "processed"
    first = run_batch(config, raw, out, progress=False)
    bytes_first = (out / "corpus.jsonl").read_bytes()
    again = run_batch(config, raw, out, progress=False)
    assert (first.ok, again.ok, again.failed, again.reused) == (2, 2, 0, 2)
    assert (out / "corpus.jsonl").read_bytes() == bytes_first
    # another run's output folder inside the input is left out too
    shutil.copytree(out, raw / "old_output")
    summary = run_batch(config, raw, tmp_path / "elsewhere", progress=False)
    assert (summary.ok, summary.failed) == (2, 0)
    assert [r["doc_id"] for r in _records(tmp_path / "elsewhere")] == ["gout", "raynaud"]


def test_a_folder_that_cannot_be_listed_is_an_error_line(tmp_path: Path, config: Config,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    (raw / "locked").mkdir(parents=True)
    (raw / "locked" / "kawasaki.txt").write_text(TEXT, encoding="utf-8")
    (raw / "gout.txt").write_text(TEXT, encoding="utf-8")
    os.mkfifo(raw / "a_fifo")  # neither a document nor an error (reading it would wait forever)
    real = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> Any:  # root reads any folder: simulate the permission error
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [(i.doc_id, i.unlisted) for i in discover(raw)] == [("gout", None), ("locked", "Permission denied")]
    out = tmp_path / "out"
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (1, 1)
    assert _errors(out) == [{"doc": "locked", "stage": "read", "kind": "unreadable",
                             "message": "cannot list locked: Permission denied"}]


def test_folder_arguments_that_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "gout.txt").write_text(TEXT, encoding="utf-8")
    cases = [
        (["--input", str(raw / "gout.txt"), "--output", str(tmp_path / "o")], "is not a folder"),
        (["--input", str(raw), "--output", str(raw / "gout.txt")], "is a file, not a folder"),
        (["--input", str(raw), "--output", str(raw) + "/"], "is the input folder"),
        (["--input", str(raw), "--output", str(raw / "gout.txt" / "sub")], "cannot create output folder"),
    ]
    for args, message in cases:
        assert main(["run", *args, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()

"""The sample monograph end to end, checked against a hand-made golden heading sequence."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import run_batch
from pipeline.config import Config
from pipeline.stages.fix_text import Settings as FixSettings
from pipeline.stages.fix_text import fix
from pipeline.stages.strip_html import text_blocks
from pipeline.writers import FILES

from .conftest import ROOT, SAMPLE

GOLDEN = ROOT / "tests" / "golden" / "000_1ba6a6886bf80dc8.headings.tsv"
HEADED_COPY_LINES = 198  # lines 1-198 hold the page once, with its headings
BOILERPLATE = [
    "subscription plans", "Digital Certificate", "course completion", "medtigo Simulation",
    "simulation platform", "medtigo Points", "point redemption", "Community Forum", "Redemption of points",
    "All Your Certificates", "medtigo app",
]


def golden() -> list[tuple[int, str, str]]:
    rows = []
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            level, raw, display = line.split("\t")
            rows.append((int(level), raw, display))
    return rows


def expected_paragraphs() -> list[tuple[str | None, str]]:
    """(heading display, paragraph) for every body line of the headed copy, in order."""
    text = fix(SAMPLE.read_text(encoding="utf-8"), FixSettings())[0]
    first_copy = "\n".join(text.split("\n")[:HEADED_COPY_LINES])
    heads = golden()
    out: list[tuple[str | None, str]] = []
    current: str | None = None
    for block in text_blocks(first_copy):
        if heads and block.text == heads[0][1]:
            current = heads.pop(0)[2]
        else:
            out.append((current, block.text))
    assert not heads, f"golden headings not found in the sample: {heads}"
    return out


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory, config: Config) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SAMPLE, raw / SAMPLE.name)
    out = tmp_path_factory.mktemp("processed")
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.ok, summary.failed) == (1, 0)
    return out


@pytest.fixture(scope="module")
def record(output: Path) -> dict[str, Any]:
    [line] = (output / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(line)


def test_all_files_written(output: Path) -> None:
    for name in FILES:
        assert (output / name).exists(), name
    assert not list(output.glob(".*tmp*")), "temporary files left behind"


def test_no_mojibake_tags_or_boilerplate(record: dict[str, Any]) -> None:
    texts = [s["text"] for s in record["sections"]] + [s["heading"] or "" for s in record["sections"]]
    blob = "\n".join(texts)
    for bad in ("\u00c2", "\u00a0", "\u202f"):
        assert bad not in blob
    assert not re.search(r"</?[a-zA-Z][^>]*>", blob)
    for phrase in BOILERPLATE:
        assert phrase.lower() not in blob.lower(), phrase


def test_heading_sequence_equals_golden(record: dict[str, Any]) -> None:
    got = [(s["level"], s["heading"]) for s in record["sections"] if s["heading"] is not None]
    assert got == [(level, display) for level, _, display in golden()]


def test_every_paragraph_once_under_its_heading(record: dict[str, Any]) -> None:
    got = [(s["heading"], p) for s in record["sections"] for p in s["paragraphs"]]
    assert got == expected_paragraphs()


def test_untitled_opening_and_section_fields(record: dict[str, Any]) -> None:
    first = record["sections"][0]
    assert first["heading"] is None and len(first["paragraphs"]) == 3
    for s in record["sections"]:
        assert s["text"] == "\n".join(s["paragraphs"])
        assert s["section_id"].startswith(record["doc_id"] + ":")


def test_link_is_kept_as_data(record: dict[str, Any]) -> None:
    [link] = record["links"]
    assert link["href"] == "https://medtigo.com/drug/cyclosporine"
    section = next(s for s in record["sections"] if s["section_id"] == link["section_id"])
    assert section[link["field"]][link["start"] : link["end"]] == "cyclosporine"


def test_mention_offsets_are_exact(record: dict[str, Any]) -> None:
    sections = {s["section_id"]: s for s in record["sections"]}
    for m in record["entities"]:
        assert sections[m["section_id"]]["text"][m["start"] : m["end"]] == m["text"]
    for m in record["heading_entities"]:
        assert sections[m["section_id"]]["heading"][m["start"] : m["end"]] == m["text"]


def test_removals_are_audited(output: Path) -> None:
    rows = [json.loads(x) for x in (output / "removed.jsonl").read_text(encoding="utf-8").splitlines()]
    dedup = [r for r in rows if r["stage"] == "dedup"]
    assert [(r["line_start"], r["line_end"]) for r in dedup] == [(199, 334), (335, 491)]
    assert all(r["reason"] for r in rows)


def test_second_run_is_byte_identical(output: Path, config: Config, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLE, raw / SAMPLE.name)
    again = tmp_path / "out"
    run_batch(config, raw, again, progress=False)
    for name in FILES:
        assert (again / name).read_bytes() == (output / name).read_bytes(), name

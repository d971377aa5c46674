"""Sixth review, text defects: end to end through a batch run.

Word text pasted into a UTF-8 page (stray cp1252 bytes, with or without a BOM), UTF-16 without
a BOM, Word's manual line break (`\\v`), soft and non-breaking hyphens, and a JSON dump.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import run_batch
from pipeline.config import Config

BODY = """Raynaud’s phenomenon

Overview
Raynaud’s phenomenon is a condition in which the small arteries of the fingers and toes narrow too much in the cold.
Primary Raynaud’s is common and has no underlying cause. Secondary Raynaud’s goes with lupus or Sjögren syndrome.

Key points – summary
- Attacks last minutes to hours.
- Severe attacks can damage the tissue (gangrene – rare).

Treatment
Keep warm and stop smoking. A calcium channel blocker such as “nifedipine” or “amlodipine” relaxes the arteries.
Hydroxychloroquine treats the lupus behind secondary Raynaud’s, and non-Hodgkin lymphoma is rare.
"""


def _pasted(text: str, *words: str) -> bytes:
    """UTF-8 bytes of `text` in which each of `words` was pasted from Word (cp1252)."""
    raw = text.encode()
    for word in words:
        assert word.encode() in raw, word
        raw = raw.replace(word.encode(), word.encode("cp1252"))
    return raw


FILES: dict[str, bytes] = {
    "utf8.txt": BODY.encode(),
    "bom_one_byte.txt": codecs.BOM_UTF8 + _pasted(BODY, "(gangrene – rare)"),
    "two_bytes.txt": _pasted(BODY, "Key points – summary", "Primary Raynaud’s is"),
    "ten_bytes.txt": _pasted(BODY, "“nifedipine” or “amlodipine”", "Key points – summary", "(gangrene – rare)",
                             "Primary Raynaud’s is", "Secondary Raynaud’s", "secondary Raynaud’s,",
                             "Raynaud’s phenomenon is"),  # 10 stray bytes, 2 valid characters left
    "utf16le.txt": BODY.encode("utf-16-le"),
    "utf16be.txt": BODY.encode("utf-16-be"),
    "vertical_tab.txt": BODY.replace("narrow too much", "narrow\x0btoo much").encode(),
    "hyphens.txt": BODY.replace("Hydroxychloroquine", "Hydroxy\u00adchloro\u00adquine")
                       .replace("non-Hodgkin", "non\u2011Hodgkin").encode(),
    "hyphens_page.html": (
        "<html><body><h1>Raynaud’s phenomenon</h1><h2>Treatment</h2>"
        "<p>Hydroxy&shy;chloroquine treats the lupus, and non&#8209;Hodgkin lymphoma is rare.</p>"
        "<p>Keep warm and stop smoking.</p></body></html>"
    ).encode(),
    "api_dump.json": json.dumps({"id": 4711, "title": "Raynaud’s phenomenon",
                                 "body_html": "<h2>Overview</h2><p>Raynaud’s phenomenon is a condition.</p>"}).encode(),
    "binary.dat": b"\x00\x01\x02\x03" * 100,
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, config: Config) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    for name, data in FILES.items():
        (raw / name).write_bytes(data)
    out = tmp_path_factory.mktemp("out")
    run_batch(config, raw, out, progress=False)
    return out


def _records(out: Path) -> dict[str, dict[str, Any]]:
    return {r["doc_id"]: r for r in map(json.loads, (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines())}


def _errors(out: Path) -> dict[str, dict[str, Any]]:
    return {e["doc"]: e for e in map(json.loads, (out / "errors.jsonl").read_text(encoding="utf-8").splitlines())}


def _tree(rec: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(s["heading"], s["paragraphs"]) for s in rec["sections"]]


@pytest.mark.parametrize(
    "doc_id,strays",
    [("bom_one_byte", 1), ("two_bytes", 2), ("ten_bytes", 10), ("utf16le", 0), ("utf16be", 0)],
)
def test_mixed_and_bomless_encodings_give_the_utf8_document(out: Path, doc_id: str, strays: int) -> None:
    records = _records(out)
    assert _tree(records[doc_id]) == _tree(records["utf8"])
    assert records[doc_id]["encoding"] == ("utf-8" if strays else doc_id.replace("utf16", "utf-16-"))
    assert records[doc_id]["stats"]["decode"].get("stray_bytes_read_as_cp1252", 0) == strays


def test_pasted_bytes_keep_their_characters(out: Path) -> None:
    blob = json.dumps(_records(out)["two_bytes"]["sections"], ensure_ascii=False)
    assert "Key points – summary" in blob and "Primary Raynaud’s is common" in blob
    assert "Raynauds" not in blob and "points summary" not in blob


def test_vertical_tab_is_a_line_break_not_a_deletion(out: Path) -> None:
    rec = _records(out)["vertical_tab"]
    assert "toes narrow\ntoo much" in rec["sections"][1]["text"]  # a line break, as a "\n" in the text file
    assert rec["stats"]["fix_text"]["control_line_breaks"] == 1


@pytest.mark.parametrize("doc_id", ["hyphens", "hyphens_page"])
def test_soft_and_nonbreaking_hyphens_do_not_hide_terms(out: Path, doc_id: str) -> None:
    rec = _records(out)[doc_id]
    blob = json.dumps(rec["sections"], ensure_ascii=False)
    assert "Hydroxychloroquine treats" in blob and "non-Hodgkin lymphoma" in blob
    assert "\u00ad" not in blob and "\u2011" not in blob
    mentions = {m["text"].lower() for m in rec["entities"]}
    assert "hydroxychloroquine" in mentions and "non-hodgkin lymphoma" in mentions


def test_json_dump_and_binary_are_refused_with_a_reason(out: Path) -> None:
    errors = _errors(out)
    assert set(errors) == {"api_dump", "binary"}
    assert errors["api_dump"]["kind"] == "not_text" and "JSON" in errors["api_dump"]["message"]
    assert "NUL bytes" in errors["binary"]["message"]

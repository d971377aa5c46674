"""Any monograph in, a clean corpus or a clear error out: encodings, HTML pages, hostile input."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import run_batch
from pipeline.config import Config

BODY = """Sarcoidosis is a multisystem granulomatous disorder of unknown cause that most often affects the lungs.
EPIDEMIOLOGY
Sarcoidosis occurs worldwide and affects adults between 20 and 40 years of age; Löfgren syndrome is common in Scandinavia.
Clinical Features
Patients present with cough, dyspnea and bilateral hilar lymphadenopathy on chest radiography.
Skin lesions:
Erythema nodosum and lupus pernio are the classic café-au-lait–free skin findings.
Treatment
Oral corticosteroids such as prednisone remain first-line therapy for symptomatic disease.
"""
HEADINGS = ["EPIDEMIOLOGY", "Clinical Features", "Skin lesions", "Treatment"]

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Myasthenia gravis | MedSite</title>
<script>window.dataLayer = [];</script><style>.x{color:red}</style></head><body>
<header><nav><a href="/">Home</a> | <a href="/topics">Topics</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<main><h1>Myasthenia gravis</h1>
<p>Myasthenia gravis is an autoimmune disease of the neuromuscular junction caused by antibodies
against the acetylcholine receptor.</p>
<h2>Epidemiology</h2><p>It affects about 20 per 100,000 people &amp; shows two age peaks.</p>
<h2>Treatment</h2><h3>Medications</h3>
<ul><li>Pyridostigmine improves weakness.</li><li>Prednisone and azathioprine suppress immunity.</li></ul>
<p>See <a href="https://medsite.org/drug/eculizumab" title="eculizumab">eculizumab</a> for refractory disease.</p>
</main>
<aside>Related articles: Lambert-Eaton syndrome</aside>
<footer><p>Copyright © 2024 MedSite. All rights reserved. <a href="/privacy">Privacy policy</a></p></footer>
</body></html>"""


def _records(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["doc_id"]: r for r in map(json.loads, lines)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, config: Config) -> tuple[Path, Any]:
    raw = tmp_path_factory.mktemp("raw")
    files: dict[str, bytes] = {
        "utf8.txt": BODY.encode(),
        "bom.txt": codecs.BOM_UTF8 + BODY.encode(),
        "cp1252.txt": BODY.encode("cp1252"),
        "utf16.txt": BODY.encode("utf-16"),
        "crlf.txt": BODY.replace("\n", "\r\n").encode(),
        "mojibake.txt": BODY.encode().decode("cp1252", errors="replace").encode(),
        "page.html": PAGE.encode(),
        "page saved as text.txt": PAGE.encode("utf-16"),
        "name with spaces é.txt": BODY.encode(),
        "invalid-middle.txt": BODY.encode()[:200] + b"\xff\xfe" + BODY.encode()[200:],
        "one-long-line.txt": (b"Sarcoidosis affects the lungs and lymph nodes. " * 110_000),
        "deep.html": b"<html><body>" + b"<div>" * 20_000 + b"<p>Deep paragraph about the liver.</p>",
        "repeats.txt": b"The same line about sarcoidosis again.\n" * 2000,
        # refused:
        "empty.txt": b"",
        "blank.txt": b"  \n\t\n",
        "binary.bin": b"\x00\x01\x02\x03" * 100,
        "doc.pdf": b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n",
        "only-boilerplate.txt": b"Subscribe to our newsletter for CME credits!\nDownload our app on the App Store.\n",
    }
    for name, data in files.items():
        (raw / name).write_bytes(data)
    os.symlink(raw / "utf8.txt", raw / "symlinked.txt")
    out = tmp_path_factory.mktemp("out")
    summary = run_batch(config, raw, out, progress=False)
    return out, summary


def test_good_documents_are_written_and_bad_ones_are_errors(batch: tuple[Path, Any]) -> None:
    out, summary = batch
    errors = {e["doc"]: e for e in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    assert set(errors) == {"empty", "blank", "binary", "doc", "only-boilerplate"}
    assert errors["doc"]["kind"] == "not_text" and errors["empty"]["kind"] == "empty"
    assert errors["only-boilerplate"]["kind"] == "no_content"
    records = _records(out)
    assert len(records) == summary.ok == 14
    assert not list(out.glob(".*tmp*"))


@pytest.mark.parametrize("doc_id", ["utf8", "bom", "cp1252", "utf16", "crlf", "mojibake", "name with spaces é", "symlinked"])
def test_text_in_any_encoding_gives_the_same_sections(batch: tuple[Path, Any], doc_id: str) -> None:
    records = _records(batch[0])
    ref = records["utf8"]
    got = records[doc_id]
    def tree(rec: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(s["heading"], s["paragraphs"]) for s in rec["sections"]]

    assert tree(got) == tree(ref)
    assert [s["heading"] for s in got["sections"] if s["heading"]] == HEADINGS


def test_encodings_are_recorded(batch: tuple[Path, Any]) -> None:
    records = _records(batch[0])
    assert records["cp1252"]["encoding"] == "cp1252"
    assert records["utf16"]["encoding"] == "utf-16-le"
    assert records["bom"]["encoding"] == "utf-8"


def test_html_page_is_parsed_as_structure(batch: tuple[Path, Any]) -> None:
    records = _records(batch[0])
    for doc_id in ("page", "page saved as text"):
        rec = records[doc_id]
        assert rec["kind"] == "html" and rec["title"] == "Myasthenia gravis"
        assert [(s["level"], s["heading"]) for s in rec["sections"]] == [
            (1, "Myasthenia gravis"), (2, "Epidemiology"), (2, "Treatment"), (3, "Medications"),
        ]
        blob = json.dumps(rec["sections"])
        for chrome in ("cookies", "Home", "Related articles", "Copyright", "dataLayer", "color:red", "&amp;"):
            assert chrome not in blob
        assert rec["sections"][3]["paragraphs"][0] == "Pyridostigmine improves weakness."
        [link] = [lk for lk in rec["links"] if lk["text"] == "eculizumab"]
        assert link["href"] == "https://medsite.org/drug/eculizumab"


def test_hostile_inputs_that_are_still_text(batch: tuple[Path, Any]) -> None:
    records = _records(batch[0])
    assert records["invalid-middle"]["stats"]["decode"]["stray_bytes_read_as_cp1252"] == 2
    assert records["deep"]["sections"][0]["paragraphs"] == ["Deep paragraph about the liver."]
    assert [s["paragraphs"] for s in records["repeats"]["sections"]] == [["The same line about sarcoidosis again."]]
    long_text = records["one-long-line"]["sections"][0]["text"]
    assert len(long_text) > 5_000_000 and long_text.startswith("Sarcoidosis affects")

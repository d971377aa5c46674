"""Document -> output records (plain dicts / rows). Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import orjson

from pipeline import SCHEMA_VERSION
from pipeline.document import Document, Mention

SECTION_COLUMNS = [
    "schema_version", "doc_id", "section_id", "section_type", "heading", "heading_raw", "level",
    "path", "n_paragraphs", "text",
]
ENTITY_COLUMNS = [
    "schema_version", "doc_id", "section_id", "start", "end", "text", "label", "kb_id", "kb_name", "source",
]


def json_line(obj: Any) -> str:
    """One JSON line: UTF-8 kept, compact, key order as built (records fix their own order).

    orjson writes it, 4 times faster than `json.dumps(obj, ensure_ascii=False, separators=(",",
    ":"))` (0.3 against 1.3 ms for a bench document's record) and with the same bytes for what
    records hold: strings (control characters escaped the same way), integers, booleans, None,
    lists, tuples and dicts with string keys (tested). Not for floats, which orjson writes
    without Python's exponent below 1e-4 (`0.00001`, not `1e-05`): records hold none. What
    orjson refuses (a lone surrogate, an integer beyond 64 bits, a key that is not a string)
    goes to `json.dumps`, as before.

    >>> json_line({"b": "é", "a": [1, None]})
    '{"b":"é","a":[1,null]}'
    """
    try:
        return orjson.dumps(obj).decode("utf-8")
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def removed_lines(rows: list[dict[str, Any]]) -> str:
    """`rows` as removed.jsonl lines, each ending in a line break.

    >>> removed_lines([{"line": 1}, {"line": 2}])
    '{"line":1}\\n{"line":2}\\n'
    """
    return "".join([json_line(row) + "\n" for row in rows])


def read_removed_lines(text: str) -> list[dict[str, Any]]:
    """The rows of `removed_lines` text (split at line feeds only: a JSON string escapes them,
    not U+2028 and the other line breaks `str.splitlines` knows).

    >>> read_removed_lines(removed_lines([{"t": "a\\u2028b"}, {"t": "c\\nd"}])) == [{"t": "a\\u2028b"}, {"t": "c\\nd"}]
    True
    """
    return [json.loads(line) for line in text.split("\n")[:-1]] if text else []


def _mention(m: Mention) -> dict[str, Any]:
    return {
        "section_id": m.section_id, "start": m.start, "end": m.end, "text": m.text,
        "label": m.label, "kb_id": m.kb_id, "kb_name": m.kb_name, "source": m.source,
    }


def corpus_record(doc: Document) -> dict[str, Any]:
    """The `corpus.jsonl` line of a document (field order is part of the schema)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "doc_id": doc.doc_id,
        "source": doc.source,
        "sha256": doc.sha256,
        "encoding": doc.encoding,
        "kind": doc.kind,
        "site": doc.site,
        "title": doc.title,
        "sections": [
            {
                "section_id": s.section_id,
                "section_type": s.section_type,
                "heading": s.heading,
                "heading_raw": s.heading_raw,
                "level": s.level,
                "path": s.path,
                "paragraphs": s.paragraphs,
                "text": s.text,
            }
            for s in doc.sections
        ],
        "entities": [_mention(m) for m in doc.entities],
        "heading_entities": [_mention(m) for m in doc.heading_entities],
        "abbreviations": [asdict(a) for a in doc.abbreviations],
        "links": [asdict(link) for link in doc.links],
        "stats": doc.stats,
        "steps": doc.steps,
    }


def section_rows(record: dict[str, Any], path_as_list: bool = False) -> list[dict[str, Any]]:
    """The `sections.csv` rows of a record (`path` as JSON text), or with `path_as_list` the
    `sections.parquet` rows (`path` a list of strings)."""
    return [
        {
            "schema_version": record["schema_version"],
            "doc_id": record["doc_id"],
            "section_id": s["section_id"],
            "section_type": s["section_type"],
            "heading": s["heading"],
            "heading_raw": s["heading_raw"],
            "level": s["level"],
            "path": list(s["path"]) if path_as_list else json.dumps(s["path"], ensure_ascii=False),
            "n_paragraphs": len(s["paragraphs"]),
            "text": s["text"],
        }
        for s in record["sections"]
    ]


def entity_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"schema_version": record["schema_version"], "doc_id": record["doc_id"], **m}
        for m in record["entities"]
    ]


def removal_rows(doc: Document) -> list[dict[str, Any]]:
    rows = [{"doc_id": doc.doc_id, **asdict(r)} for r in doc.removed]
    return sorted(rows, key=lambda r: (r["line_start"], r["stage"]))

"""The versioned output schemas (pipeline/schemas/*.json, JSON Schema 2020-12) and their checks.

Validators are compiled once (`Validators.load`) and reused for every record: jsonschema-rs
(Rust, ~0.15 ms for a 60-section document with 500 mentions) when it is installed, else the
pure-Python jsonschema (~35 ms for the same document). Beyond the
shapes, `invariant_errors` checks what JSON Schema cannot say: a section's text is its
paragraphs joined, mention offsets point at the mention's text, ids belong to the document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft202012Validator

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - the slow path, same results
    jsonschema_rs = None

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_FILES = {"corpus": "corpus.schema.json", "section": "section.schema.json", "mention": "mention.schema.json"}


def load_schema(name: str) -> dict[str, Any]:
    """The schema `name` (corpus, section or mention) as a dict."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / SCHEMA_FILES[name]).read_text(encoding="utf-8"))
    return schema


class Validator(Protocol):
    def is_valid(self, instance: Any) -> bool: ...


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A reusable validator of `schema`, checked against the 2020-12 meta-schema first (a bad
    schema raises): jsonschema-rs checks it itself in about a millisecond, where the pure-Python
    `check_schema` took 0.2 s for the three schemas, once per batch in the writing process
    while the workers waited for their first documents."""
    if jsonschema_rs is not None:
        validator: Validator = jsonschema_rs.validator_for(schema)
        return validator
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def array_of(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema of a list whose every item is valid under `schema` (embedded whole, its `$id`
    included), so that a document's rows are checked in one call: 0.2 ms for a document's
    section and mention rows where one call per row took 0.7 ms (jsonschema-rs converts each
    call's Python objects; one-off timing on 100 bench documents)."""
    return {"$schema": schema["$schema"], "type": "array", "items": schema}


@dataclass(frozen=True)
class Validators:
    corpus: Validator
    section: Validator
    mention: Validator
    # The same row schemas over a list of rows (`array_of`): the fast path of `row_errors`.
    section_rows: Validator
    mention_rows: Validator

    @classmethod
    def load(cls) -> Validators:
        schemas = {name: load_schema(name) for name in SCHEMA_FILES}
        return cls(**{name: compile_schema(schema) for name, schema in schemas.items()},
                   section_rows=compile_schema(array_of(schemas["section"])),
                   mention_rows=compile_schema(array_of(schemas["mention"])))


def _path(error: Any) -> str:
    parts = error.instance_path if hasattr(error, "instance_path") else error.absolute_path
    return "/".join(map(str, parts)) or "(record)"


def shape_errors(validator: Validator, instance: Any, where: str) -> list[str]:
    """One message per schema violation, `where: json/path: message`; [] when valid."""
    if validator.is_valid(instance):  # the fast path; iter_errors only for the rare bad record
        return []
    messages = sorted((_path(e), e.message) for e in validator.iter_errors(instance))  # type: ignore[attr-defined]
    return [f"{where}: {path}: {message}" for path, message in messages]


def invariant_errors(record: dict[str, Any], where: str) -> list[str]:
    """What the schema cannot express, for a record that has the corpus shape.

    >>> rec = {"doc_id": "d", "sections": [{"section_id": "d:000", "paragraphs": ["ab", "c"], "text": "ab\\nc"}],
    ...        "entities": [{"section_id": "d:000", "start": 0, "end": 2, "text": "ab"}]}
    >>> invariant_errors(rec, "x")
    []
    >>> rec["entities"][0]["end"] = 3
    >>> invariant_errors(rec, "x")
    ["x: entities/0: text[0:3] is 'ab\\\\n', not 'ab'"]
    """
    errors = []
    texts: dict[str, str] = {}
    for i, s in enumerate(record["sections"]):
        if not s["section_id"].startswith(record["doc_id"] + ":"):
            errors.append(f"{where}: sections/{i}: section_id {s['section_id']!r} is not of document {record['doc_id']!r}")
        if s["text"] != "\n".join(s["paragraphs"]):
            errors.append(f"{where}: sections/{i}: text is not the paragraphs joined by newlines")
        texts[s["section_id"]] = s["text"]
    for i, m in enumerate(record["entities"]):
        text = texts.get(m["section_id"])
        if text is None:
            errors.append(f"{where}: entities/{i}: unknown section_id {m['section_id']!r}")
        elif m["start"] > m["end"] or text[m["start"]:m["end"]] != m["text"]:
            found = text[m["start"]:m["end"]]
            errors.append(f"{where}: entities/{i}: text[{m['start']}:{m['end']}] is {found!r}, not {m['text']!r}")
    return errors


@dataclass
class ValidationReport:
    """What was checked and what failed (messages kept up to `limit`, all counted)."""

    limit: int = 20
    checked: dict[str, int] = field(default_factory=dict)
    n_errors: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, messages: list[str], n: int = 1) -> None:
        """`n` items of `kind` checked, with these messages."""
        self.checked[kind] = self.checked.get(kind, 0) + n
        self.n_errors += len(messages)
        self.errors.extend(messages[: max(0, self.limit - len(self.errors))])

    def merge(self, other: ValidationReport) -> None:
        """Add what `other` checked after what this report checked (the same as adding its
        items here one by one, since `other` kept its first messages)."""
        for kind, n in other.checked.items():
            if n:
                self.checked[kind] = self.checked.get(kind, 0) + n
        self.n_errors += other.n_errors
        self.errors.extend(other.errors[: max(0, self.limit - len(self.errors))])


def record_errors(validators: Validators, record: dict[str, Any], where: str) -> list[str]:
    """Schema violations of a corpus record, then (for a record of the right shape, which the
    invariants assume) what the schema cannot express."""
    return shape_errors(validators.corpus, record, where) or invariant_errors(record, where)


@dataclass
class Checker:
    """Validates records and rows as they stream by, into one `ValidationReport`."""

    limit: int = 20
    report: ValidationReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = ValidationReport(self.limit)

    @cached_property
    def validators(self) -> Validators:
        return Validators.load()

    def record(self, record: dict[str, Any], where: str) -> None:
        self.report.add("corpus.jsonl", record_errors(self.validators, record, where))

    def rows(self, kind: str, rows: list[dict[str, Any]], file: str, first: int = 1) -> None:
        """Rows `first`, `first + 1`, ... of `file`."""
        self.report.add(file, row_errors(self.validators, kind, rows, file, first), n=len(rows))


def row_errors(validators: Validators, kind: str, rows: list[dict[str, Any]], file: str, first: int = 1) -> list[str]:
    """Schema violations of section or mention rows `first`, `first + 1`, ... of `file`: all
    rows in one check, then, only when one is invalid, row by row for the messages."""
    rows_validator, validator = ((validators.section_rows, validators.section) if kind == "section"
                                 else (validators.mention_rows, validators.mention))
    if rows_validator.is_valid(rows):
        return []
    return [m for i, row in enumerate(rows, first) for m in shape_errors(validator, row, f"{file} row {i}")]

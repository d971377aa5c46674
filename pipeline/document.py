"""The one type that flows between stages: a `Document` and its parts.

Every stage takes a `Document` and returns it (see `pipeline/stages/__init__.py`).
Fields are filled in stage order: `raw` -> `text` (decode, fix_text) -> `blocks`
(strip_html, boilerplate, dedup) -> `sections` (segment) -> `entities` (entities).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["text", "heading", "item"]


@dataclass
class Link:
    """A hyperlink found in the source, kept as data after its tag is stripped.

    Until segmentation `start`/`end` are offsets inside the text of the block the link sits
    in; the segment stage sets `section_id` and makes them offsets into that section's
    `text` (or its `heading` when `field == "heading"`).
    """

    text: str
    href: str | None
    title: str | None
    start: int = 0
    end: int = 0
    section_id: str | None = None
    field: Literal["text", "heading"] = "text"


@dataclass
class Block:
    """One line (text input) or one block element (HTML input) of the cleaned body.

    `kind` is "heading" only when the source marks it as such (HTML <h1>-<h6> with that
    `level`, or a bold-only <p> with `level` None), "item" for a list item or a table row
    (never a heading). Otherwise the segment stage decides. `line` is the
    1-based source line (text) or element ordinal (HTML), for auditing removals.
    """

    text: str
    line: int
    kind: BlockKind = "text"
    level: int | None = None
    links: list[Link] = field(default_factory=list)


@dataclass
class Section:
    """A heading and the paragraphs under it. The untitled opening has `heading=None`."""

    section_id: str
    heading: str | None
    heading_raw: str | None
    level: int
    path: list[str]
    paragraphs: list[str]
    section_type: str = "other"

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(slots=True)
class Mention:
    """An entity mention: `section.text[start:end] == text` (or `heading` for heading mentions)."""

    section_id: str
    start: int
    end: int
    text: str
    label: str
    kb_id: str | None = None
    kb_name: str | None = None
    source: str | None = None


@dataclass
class Abbreviation:
    """A `Long Form (ABBR)` definition found in the document."""

    short: str
    long: str
    section_id: str
    label: str | None = None
    kb_id: str | None = None


@dataclass
class Removal:
    """Something a stage removed, with its reason, for auditing."""

    stage: str
    reason: str
    line_start: int
    line_end: int
    text: str


@dataclass
class Document:
    doc_id: str
    source: str
    raw: bytes
    sha256: str
    encoding: str | None = None
    kind: Literal["text", "html", "markdown", "rst"] = "text"
    text: str = ""
    site: str | None = None
    # Lines of this document that recur across the batch (normalized keys), found by the
    # batch pre-pass; read by the boilerplate stage.
    batch_lines: frozenset[str] = frozenset()
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    entities: list[Mention] = field(default_factory=list)
    heading_entities: list[Mention] = field(default_factory=list)
    abbreviations: list[Abbreviation] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)
    stats: dict[str, dict[str, int | float]] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    def count(self, stage: str, key: str, n: int = 1) -> None:
        """Add `n` to the counter `key` of `stage` in `stats`."""
        bucket = self.stats.setdefault(stage, {})
        bucket[key] = bucket.get(key, 0) + n

"""Pure summaries of the corpus for the dataset card and the QA report (no I/O)."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pipeline.products.duplicates import Pair
from pipeline.products.settings import ReportSettings

Concept = tuple[str, str, str]  # (label, kb_id or "", kb_name or the lowercased text)


@dataclass
class DocSummary:
    doc_id: str
    source: str
    title: str | None
    sections: int
    headings: int
    unknown_headings: int | None  # None: the section_type stage did not run
    words: int
    chars_kept: int
    chars_removed: dict[str, int]  # stage -> characters of the removed lines
    lines_removed: dict[str, int]  # stage -> lines (from the stage counters)
    mentions: int
    types: Counter[str]
    labels: Counter[str]
    concepts: Counter[Concept]  # emptied by `ConceptIndex.pack`, which fills `packed`
    duplicate_of: str | None = None
    flags: list[str] = field(default_factory=list)
    # The concept counts as (concept numbers in a `ConceptIndex`, counts): what a corpus keeps
    # per document instead of `concepts` (a few hundred bytes instead of about 30 KB).
    packed: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def removed_fraction(self) -> float:
        removed = sum(self.chars_removed.values())
        total = removed + self.chars_kept
        return removed / total if total else 0.0


def concept_key(mention: dict[str, Any]) -> Concept:
    return (mention["label"], mention.get("kb_id") or "", mention.get("kb_name") or mention["text"].lower())


def summarize(record: dict[str, Any], removed: list[dict[str, Any]]) -> DocSummary:
    """The numbers of one document the card and the report need."""
    sections = record["sections"]
    headings = [s for s in sections if s["heading"] is not None]
    chars_removed: Counter[str] = Counter()
    for row in removed:
        chars_removed[row["stage"]] += len(row["text"])
    stats = record.get("stats", {})
    unknown = stats.get("section_type", {}).get("unknown_headings")
    return DocSummary(
        doc_id=record["doc_id"], source=record["source"], title=record["title"],
        sections=len(sections), headings=len(headings),
        unknown_headings=None if "section_type" not in record.get("steps", []) else int(unknown or 0),
        words=sum(len(s["text"].split()) for s in sections),
        chars_kept=sum(len(s["text"]) + len(s["heading"] or "") for s in sections),
        chars_removed=dict(sorted(chars_removed.items())),
        lines_removed={k: int(v["lines_removed"]) for k, v in stats.items() if "lines_removed" in v},
        mentions=len(record["entities"]),
        types=Counter(s["section_type"] for s in sections),
        labels=Counter(m["label"] for m in record["entities"]),
        concepts=Counter(concept_key(m) for m in record["entities"]),
    )


def flags(doc: DocSummary, s: ReportSettings) -> list[str]:
    """Why a document looks suspicious; [] when it does not.

    >>> d = DocSummary("d", "d.txt", None, 1, 0, None, 12, 80, {"dedup": 920}, {}, 0, Counter(), Counter(), Counter())
    >>> flags(d, ReportSettings())
    ['no headings found', 'short: 12 words', 'mostly removed: 92%']
    """
    out = []
    if doc.headings == 0:
        out.append("no headings found")
    if doc.words < s.min_words:
        out.append(f"short: {doc.words} words")
    if doc.removed_fraction > s.max_removed_fraction:
        out.append(f"mostly removed: {doc.removed_fraction:.0%}")
    u = doc.unknown_headings
    if u is not None and u >= s.min_unknown_headings and u > s.max_unknown_fraction * doc.headings:
        out.append(f"unknown headings: {u} of {doc.headings}")
    return out


def _interned(counts: dict[str, int]) -> dict[str, int]:
    return {sys.intern(key): n for key, n in counts.items()}


@dataclass
class ConceptIndex:
    """The concepts of a corpus, numbered in the order first seen, so that each document's
    counts are kept as two small arrays (`pack`) rather than a Counter of tuples of strings:
    the process writing a batch keeps one summary per document for the corpus products.

    >>> index = ConceptIndex()
    >>> d = DocSummary("d", "d.txt", None, 1, 0, None, 1, 1, {}, {}, 2, Counter(), Counter(),
    ...                Counter({("DRUG", "", "x"): 2}))
    >>> index.pack(d)
    >>> d.concepts, d.packed[0].tolist(), d.packed[1].tolist(), index.keys
    (Counter(), [0], [2], [('DRUG', '', 'x')])
    """

    ids: dict[Concept, int] = field(default_factory=dict)
    keys: list[Concept] = field(default_factory=list)

    def pack(self, doc: DocSummary) -> None:
        """Make `doc` compact for keeping: its concept counts numbered against this index, and
        the keys of its other counts (section types, labels, stages) the interned strings every
        summary shares, not copies unpickled from a worker."""
        assert doc.packed is None, f"{doc.doc_id}: concept counts packed twice"
        doc.types = Counter(_interned(doc.types))
        doc.labels = Counter(_interned(doc.labels))
        doc.chars_removed = _interned(doc.chars_removed)
        doc.lines_removed = _interned(doc.lines_removed)
        numbers = []
        for key in doc.concepts:
            number = self.ids.get(key)
            if number is None:
                number = self.ids[key] = len(self.keys)
                self.keys.append(key)
            numbers.append(number)
        doc.packed = (np.array(numbers, dtype=np.int32), np.array(list(doc.concepts.values()), dtype=np.int32))
        doc.concepts = Counter()


@dataclass
class CorpusSummary:
    docs: list[DocSummary] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # errors.jsonl rows
    pairs: list[Pair] = field(default_factory=list)
    schema_errors: int = 0
    schema_messages: list[str] = field(default_factory=list)
    schema_checked: dict[str, int] = field(default_factory=dict)
    concept_index: ConceptIndex | None = None  # of the documents' `packed` counts

    @property
    def kept(self) -> list[DocSummary]:
        return [d for d in self.docs if d.duplicate_of is None]

    def total(self, attr: str) -> Counter[Any]:
        """Sum of a Counter attribute (types, labels, concepts) over the kept documents."""
        if attr == "concepts":
            return self.concept_totals[0]
        total: Counter[Any] = Counter()
        for d in self.kept:
            total.update(getattr(d, attr))
        return total

    @cached_property
    def concept_totals(self) -> tuple[Counter[Concept], Counter[Concept]]:
        """(mentions, documents) per concept over the kept documents, packed or not. Made once
        (the card and the report both ask): build the summary after marking the duplicates."""
        mentions: Counter[Concept] = Counter()
        documents: Counter[Concept] = Counter()
        packed = [d.packed for d in self.kept if d.packed is not None]
        if packed:
            assert self.concept_index is not None, "packed counts need their concept index"
            numbers = np.concatenate([ids for ids, _ in packed])
            size = len(self.concept_index.keys)
            sums = np.bincount(numbers, weights=np.concatenate([n for _, n in packed]), minlength=size)
            docs = np.bincount(numbers, minlength=size)
            for number in np.flatnonzero(docs).tolist():
                key = self.concept_index.keys[number]
                mentions[key], documents[key] = int(sums[number]), int(docs[number])
        for d in self.kept:
            mentions.update(d.concepts)
            documents.update(d.concepts.keys())
        return mentions, documents

    def top_concepts(self, n: int) -> list[tuple[Concept, int]]:
        """Most frequent concepts, ties by label, id and name (deterministic)."""
        return sorted(self.total("concepts").items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @property
    def flagged(self) -> list[DocSummary]:
        return [d for d in self.docs if d.flags]


def ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    """Items by count, then name.

    >>> ranked(Counter({"b": 2, "a": 2, "c": 5}))
    [('c', 5), ('a', 2), ('b', 2)]
    """
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

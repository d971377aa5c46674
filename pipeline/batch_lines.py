"""The batch pre-pass: lines that recur across the documents of one batch.

Before the documents are processed, every input is read once and its lines counted (decode and
a cheap normalization only: no ftfy, no parsing; HTML pages and non-text files are skipped).
Lines found in at least `boilerplate.batch_min_docs` documents are *learned*; each document
then carries the learned lines it holds (`Task.batch_lines`), and the boilerplate stage removes
those that look like boilerplate. A document's result therefore depends only on its own bytes
and on the learned lines it actually contains, and that pair is its cache key. The learned
lines are written beside the output (`learned_boilerplate.csv`) for review, so that a user can
turn them into a site config.

Only *which* learned lines a document holds enters its result and key, never how many documents
hold them: adding a document to a batch then changes no other document, unless it makes a line
cross the `batch_min_docs` threshold (the line becomes learned, so the documents holding it change).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.stages import StageError
from pipeline.stages.boilerplate import Settings as BoilerplateSettings
from pipeline.stages.boilerplate import batch_cues, compile_cues, line_keys
from pipeline.stages.decode import Settings as DecodeSettings
from pipeline.stages.decode import decode_bytes, sniff_binary
from pipeline.stages.strip_html import is_html_page

# Lines longer than this (in words) are not counted: boilerplate is short, and skipping long
# paragraphs keeps the pre-pass's memory small on large batches.
MAX_COUNTED_WORDS = 60


def doc_line_keys(raw: bytes, decode: DecodeSettings | None = None) -> set[str]:
    """The countable line keys of one raw document (empty for binary files and HTML pages),
    decoded as the decode stage does with `decode`, the run's decode settings.

    >>> sorted(doc_line_keys(b"Share this page\\nShare this page\\n<p>x</p>"))
    ['<p>x</p>', 'share this page']
    """
    if not raw or sniff_binary(raw, decode):
        return set()
    try:
        text = decode_bytes(raw, decode)[0]
    except StageError:  # the document's own run reports it
        return set()
    if is_html_page(text):
        return set()
    return {k for k in line_keys(text) if k.count(" ") < MAX_COUNTED_WORDS}  # words are single-space separated


def keyed_digests(raws: Sequence[bytes | None], decode: DecodeSettings | None = None,
                  ) -> list[tuple[tuple[str, ...], tuple[bytes, ...]] | None]:
    """Per raw document, its countable line keys (`doc_line_keys`) and their digests, in one
    order; None for None (a document the pre-pass does not cut: kept digests, or unreadable).
    The pre-pass's share of the work that its workers do, a group of documents per call.

    >>> keyed_digests([b"Share this page", None])[1] is None
    True
    """
    out: list[tuple[tuple[str, ...], tuple[bytes, ...]] | None] = []
    for raw in raws:
        if raw is None:
            out.append(None)
            continue
        keys = tuple(doc_line_keys(raw, decode))
        out.append((keys, tuple(line_digest(key) for key in keys)))
    return out


def line_digest(key: str) -> bytes:
    """A line key's 8-byte digest: what `LineCounter` counts (a fixed hash, unlike `hash()`,
    so that the count, and the output, is the same in every run)."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


DIGEST_BYTES = 8  # two of the 10 million lines of a large batch share one with odds of about 1 in 400,000


@dataclass
class LineCounter:
    """Counts, per line key, the documents holding it (`add` each document's keys once).

    Most lines of a batch occur in one document only (each monograph's own sentences), so
    the counts are kept by digest (`line_digest`) and a line's text only once it occurs in
    `min_docs` documents: memory per distinct line is a digest and a count, not the line
    (the pre-pass alone over 10,000 bench documents: peak RSS 512 MB with the lines as keys,
    313 MB with digests, from 219 MB before it)."""

    min_docs: int = 1
    counts: dict[bytes, int] = field(default_factory=dict)  # digest -> documents holding the line
    texts: dict[bytes, str] = field(default_factory=dict)  # the lines found in `min_docs` documents
    # Digests that reached `min_docs` in a document counted by digest alone (`add_digests`),
    # with that document's position: `fill` reads their texts from it.
    missing: dict[bytes, int] = field(default_factory=dict)

    def add(self, keys: Iterable[str]) -> list[bytes]:
        """Count one document's keys; returns their digests."""
        keys = list(keys)
        digests = [line_digest(key) for key in keys]
        self.add_keyed(keys, digests)
        return digests

    def add_keyed(self, keys: Sequence[str], digests: Sequence[bytes]) -> None:
        """Count one document's keys, given their digests (`keyed_digests`, made in a worker)."""
        counts, texts, missing, at = self.counts, self.texts, self.missing, max(1, self.min_docs)
        for key, digest in zip(keys, digests, strict=True):
            n = counts.get(digest, 0) + 1
            counts[digest] = n
            if n == at or (n > at and missing and digest in missing):
                texts[digest] = key
                missing.pop(digest, None)

    def add_digests(self, digests: Iterable[bytes], doc: int) -> None:
        """Count one document's line digests (kept from an earlier run: no texts); `doc` is
        its position, to read the texts of lines it makes recur from (`fill`)."""
        counts, texts, missing, at = self.counts, self.texts, self.missing, max(1, self.min_docs)
        for digest in digests:
            n = counts.get(digest, 0) + 1
            counts[digest] = n
            if n == at and digest not in texts:
                missing[digest] = doc

    def fill(self, keys_of: Callable[[int], Iterable[str]]) -> None:
        """Find the texts of the recurring lines counted by digest alone, in the keys of the
        documents that made them recur (`keys_of(position)`); a line whose text is not found
        there (the file changed since it was counted) is left out of `recurring`."""
        wanted: dict[int, set[bytes]] = {}
        for digest, doc in self.missing.items():
            wanted.setdefault(doc, set()).add(digest)
        for doc in sorted(wanted):
            for key in keys_of(doc):
                digest = line_digest(key)
                if digest in wanted[doc]:
                    self.texts[digest] = key
        self.missing = {}

    def recurring(self, min_docs: int | None = None) -> dict[str, int]:
        """Keys found in at least `min_docs` documents (default: the counter's own, the
        least it keeps texts for), with their document counts, sorted by key."""
        least = self.min_docs if min_docs is None else min_docs
        if least < self.min_docs:
            raise ValueError(f"the counter keeps lines found in {self.min_docs} documents or more, not {least}")
        counts = self.counts
        return dict(sorted((key, counts[digest]) for digest, key in self.texts.items() if counts[digest] >= least))


def actionable(recurring: dict[str, int], settings: BoilerplateSettings) -> dict[str, int]:
    """The recurring lines the boilerplate stage would act on (a cue confirms them).

    Only these travel with the documents and enter their cache keys, so a template heading
    that starts recurring when a document joins the batch changes no other document.

    >>> actionable({"subscribe to our newsletter": 6, "epidemiology": 9}, BoilerplateSettings())
    {'subscribe to our newsletter': 6}
    """
    patterns = compile_cues(settings)
    return {k: n for k, n in recurring.items() if batch_cues(k, patterns)}


def lines_in(keys: set[str], learned: dict[str, int]) -> tuple[str, ...]:
    """The learned lines a document holds, sorted (without their document counts, which
    change whenever a document holding the line joins or leaves the batch).

    >>> lines_in({"b", "a", "x"}, {"a": 5, "b": 9, "c": 7})
    ('a', 'b')
    """
    return tuple(sorted(keys.intersection(learned)))


def content_hash(sha256: str, batch_lines: Iterable[str]) -> str:
    """The cache identity of a document: its bytes, plus the learned lines it holds.

    >>> content_hash("ab", ()) == "ab"
    True
    >>> content_hash("ab", ("y", "x")) == content_hash("ab", ("x", "y")) != content_hash("ab", ("x",))
    True
    """
    lines = sorted(batch_lines)
    if not lines:
        return sha256
    blob = json.dumps(lines, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(sha256.encode("ascii") + blob).hexdigest()


def learned_csv(recurring: dict[str, int], learned: dict[str, int]) -> str:
    """`learned_boilerplate.csv`: each recurring line (lowercased), its document count, and
    whether the boilerplate stage removes it (a cue confirms it) or keeps it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["line", "documents", "action"])
    for key, n in sorted(recurring.items(), key=lambda kv: (-kv[1], kv[0])):
        writer.writerow([key, n, "removed" if key in learned else "kept (no cue)"])
    return buf.getvalue()

"""Thin I/O over a committed output folder: read it, stream its records, write atomically.

Dropped duplicates live, whole, in `duplicates.jsonl` and are marked in the manifest
(`documents[<id>].duplicate_of`), so the products can be regenerated from the folder alone:
`iter_records` merges both files back into input order. A `duplicates.jsonl` the manifest
does not vouch for (left over from an earlier run) is ignored.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.products.duplicates import Pair
from pipeline.records import json_line
from pipeline.runner import DocResult
from pipeline.writers import CorpusWriter, manifest_entry_text

DROPPED_FILE = "duplicates.jsonl"
TMP_MARK = ".tmp-products-"


class ProductsError(Exception):
    """The output folder cannot be turned into products; the message says what to do."""


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


_DOC_ID_KEY = b'{"doc_id":'  # how this package's writers start a row (records.removed_lines)
_DECODER = json.JSONDecoder()


def row_doc_id(line: bytes) -> str:
    """The `doc_id` of one JSON line, read without parsing the rest of the row when the line
    starts with it, as this package writes them.

    >>> row_doc_id(b'{"doc_id":"a","text":"x"}'), row_doc_id(b'{"text":"x","doc_id":"b"}')
    ('a', 'b')
    """
    if line.startswith(_DOC_ID_KEY):
        try:
            value, _ = _DECODER.raw_decode(line[len(_DOC_ID_KEY):].decode("utf-8").lstrip())
        except ValueError:
            value = None
        if isinstance(value, str):
            return value
    doc_id: str = json.loads(line)["doc_id"]
    return doc_id


def _version(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class RemovedRows:
    """removed.jsonl by document without holding its rows: where each document's rows lie in the
    file (byte spans: a writer puts a document's rows together, in output order, so one span
    each), and `get` reads one document's rows when asked. A few hundred bytes per document
    instead of its rows (about 130 KB of Python objects for a bench document)."""

    path: Path
    spans: dict[str, list[tuple[int, int]]]
    version: tuple[int, int, int] | None  # the indexed file's inode, size and mtime

    @classmethod
    def index(cls, path: Path) -> RemovedRows:
        spans: dict[str, list[tuple[int, int]]] = {}
        version = _version(path)
        if version is not None:
            with open(path, "rb") as fh:
                pos = 0
                for line in fh:
                    end = pos + len(line)
                    if line.strip():
                        runs = spans.setdefault(row_doc_id(line), [])
                        if runs and runs[-1][1] == pos:
                            runs[-1] = (runs[-1][0], end)
                        else:
                            runs.append((pos, end))
                    pos = end
        return cls(path, spans, version)

    def get(self, doc_id: str, default: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The document's rows, in file order (`default`, or [], when it has none). A file
        replaced since it was indexed (`rewrite_corpus`) is indexed again."""
        if _version(self.path) != self.version:
            fresh = RemovedRows.index(self.path)
            self.spans, self.version = fresh.spans, fresh.version
        runs = self.spans.get(doc_id)
        if not runs:
            return [] if default is None else default
        rows = []
        with open(self.path, "rb") as fh:
            for start, end in runs:
                fh.seek(start)
                rows.extend(json.loads(line) for line in fh.read(end - start).splitlines() if line.strip())
        return rows


@dataclass
class OutputDir:
    """What the products need besides the records, which are streamed (`iter_records`)."""

    path: Path
    manifest: dict[str, Any]
    order: dict[str, int]  # doc_id -> position in the input (manifest order)
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # already dropped: doc_id -> duplicate_of

    @classmethod
    def load(cls, path: Path) -> OutputDir:
        manifest_path = path / "manifest.json"
        if not (path / "corpus.jsonl").exists() or not manifest_path.exists():
            raise ProductsError(f"{path} holds no committed corpus (corpus.jsonl, manifest.json): run the pipeline first")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        docs = manifest.get("documents", {})
        out = cls(path, manifest, {doc_id: i for i, doc_id in enumerate(docs)})
        out.dropped = {d: e["duplicate_of"] for d, e in docs.items() if e.get("duplicate_of")}
        for row in read_jsonl(path / "errors.jsonl"):
            out.errors.setdefault(row["doc"], []).append(row)
        return out

    @cached_property
    def removed(self) -> RemovedRows:
        """The rows of removed.jsonl by document, read when first asked for, one document at a
        time: a few hundred rows per document (1.3 GB of Python objects for 10,000 documents)."""
        return RemovedRows.index(self.path / "removed.jsonl")

    def iter_records(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(file, line number, record) of every processed document, kept or dropped, in input order."""

        def numbered(name: str, only: set[str] | None) -> Iterator[tuple[int, str, int, dict[str, Any]]]:
            for n, rec in enumerate(read_jsonl(self.path / name), 1):
                if only is None or rec["doc_id"] in only:
                    yield self.order.get(rec["doc_id"], len(self.order)), name, n, rec

        streams = [numbered("corpus.jsonl", None)]
        if self.dropped:
            streams.append(numbered(DROPPED_FILE, set(self.dropped)))
        for _, name, n, rec in heapq.merge(*streams, key=lambda t: t[0]):
            yield name, n, rec


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary name beside `path`, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def remove_stale_tmp(path: Path) -> None:
    """Temporary files a killed products run left behind (only this package's names)."""
    for tmp in [*path.glob(f".*{TMP_MARK}*"), *path.glob(f"report/.*{TMP_MARK}*")]:
        tmp.unlink(missing_ok=True)


def marked_manifest(manifest: dict[str, Any], drops: dict[str, Pair], n_pairs: int) -> dict[str, Any]:
    """The manifest with dropped documents marked (and marks of earlier drops cleared)."""
    docs = {}
    for doc_id, entry in manifest.get("documents", {}).items():
        entry = {k: v for k, v in entry.items() if k not in ("duplicate_of", "similarity")}
        if doc_id in drops:
            entry["duplicate_of"], entry["similarity"] = drops[doc_id].doc_a, drops[doc_id].similarity
        docs[doc_id] = entry
    products = {"duplicate_pairs": n_pairs, "duplicates_dropped": sorted(drops, key=list(docs).index)}
    return {**{k: v for k, v in manifest.items() if k not in ("documents", "products")}, "products": products, "documents": docs}


def rewrite_corpus(out: OutputDir, drops: dict[str, Pair], n_pairs: int) -> None:
    """Rewrite every corpus file without the dropped documents, through `CorpusWriter`.

    The writer streams to temporary files and renames them into place at commit; the dropped
    records go to `duplicates.jsonl` the same way (or it is removed when nothing is dropped).
    """
    manifest = marked_manifest(out.manifest, drops, n_pairs)
    dropped_tmp = out.path / f".{DROPPED_FILE}{TMP_MARK}{os.getpid()}"
    stream = out.iter_records()
    pending = next(stream, None)
    with CorpusWriter(out.path) as writer, open(dropped_tmp, "w", encoding="utf-8", newline="") as dropped_fh:
        for doc_id, entry in manifest["documents"].items():
            record = None
            if pending is not None and pending[2]["doc_id"] == doc_id:
                record = pending[2]
                pending = next(stream, None)
            errors = out.errors.get(doc_id, [])
            result = DocResult(doc_id=doc_id, source=entry.get("source", ""), status=entry.get("status", "ok"),
                               removed=out.removed.get(doc_id, []), error=errors[0] if errors else None)
            if record is not None and doc_id in drops:
                dropped_fh.write(json_line(record) + "\n")
            else:
                result.record = record
            writer.write(result)
            writer.add_manifest_text(manifest_entry_text(doc_id, entry))
        writer.commit({**manifest, "documents": {}})  # its entries: added with their documents
    if drops:
        os.replace(dropped_tmp, out.path / DROPPED_FILE)
    else:
        dropped_tmp.unlink()
        (out.path / DROPPED_FILE).unlink(missing_ok=True)
    out.manifest = manifest
    out.dropped = {d: p.doc_a for d, p in drops.items()}

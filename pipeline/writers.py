"""Write the corpus: JSONL, CSV, Parquet, the removal log, errors and the manifest.

Every file is written under a temporary name in the output directory and renamed into place
only when the whole batch is done, so `processed/` never holds a half-written file. Rows are
streamed: each document's rows are appended as its result arrives (Parquet in row groups).

A document's share of the files (`DocRows`: its corpus line, CSV text and Arrow rows) is made
by `doc_rows` from its record, in the worker that processed it (`pipeline.executors`): strings
and Arrow buffers cross to the writing process at memory speed, where the record's nested
dicts cost milliseconds to pickle and unpickle. The writer makes it for results that arrive
with only a record (reused from the state, rewritten by the products).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from pipeline.records import ENTITY_COLUMNS, SECTION_COLUMNS, entity_rows, json_line, section_rows
from pipeline.runner import DocResult

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where Arrow rows are made or Parquet written, not with this module: its
# import (0.7 to 2 s) would be most of a re-run with nothing to do, which writes nothing.


@functools.cache
def arrow_schemas() -> tuple[pa.Schema, pa.Schema]:
    """The Arrow schemas of sections.parquet and entities.parquet (`SECTION_SCHEMA`,
    `ENTITY_SCHEMA`)."""
    import pyarrow as pa

    sections = pa.schema([
        ("schema_version", pa.string()), ("doc_id", pa.string()), ("section_id", pa.string()),
        ("section_type", pa.string()), ("heading", pa.string()), ("heading_raw", pa.string()),
        ("level", pa.int32()), ("path", pa.list_(pa.string())), ("n_paragraphs", pa.int32()),
        ("text", pa.string()),
    ])
    entities = pa.schema([
        ("schema_version", pa.string()), ("doc_id", pa.string()), ("section_id", pa.string()),
        ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()), ("label", pa.string()),
        ("kb_id", pa.string()), ("kb_name", pa.string()), ("source", pa.string()),
    ])
    return sections, entities


def __getattr__(name: str) -> Any:
    """`SECTION_SCHEMA` and `ENTITY_SCHEMA`, made (pyarrow imported) when first asked for."""
    if name == "SECTION_SCHEMA":
        return arrow_schemas()[0]
    if name == "ENTITY_SCHEMA":
        return arrow_schemas()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FILES = (
    "corpus.jsonl", "sections.csv", "entities.csv", "sections.parquet", "entities.parquet",
    "removed.jsonl", "errors.jsonl", "manifest.json",
)


MANIFEST_DOCS = "manifest-documents.json"  # the manifest's "documents" entries, streamed (a temporary file only)


def remove_stale_tmp(out_dir: Path) -> None:
    """Remove the temporary output files a killed run left behind (only this module's names)."""
    for name in (*FILES, MANIFEST_DOCS):
        for tmp in out_dir.glob(f".{name}.tmp-*"):
            tmp.unlink(missing_ok=True)


def manifest_entry_text(doc_id: str, entry: dict[str, Any]) -> str:
    """One `"doc_id": {...}` member of the manifest's "documents" object, as
    `json.dumps(manifest, ensure_ascii=False, indent=2)` writes it there (two levels deep), so
    that the entries can be written as documents finish instead of held until the end.

    >>> print(manifest_entry_text("gout", {"status": "ok", "stats": {}}))
        "gout": {
          "status": "ok",
          "stats": {}
        }
    """
    lines = json.dumps({doc_id: entry}, ensure_ascii=False, indent=2).split("\n")[1:-1]  # without the outer braces
    return "\n".join("  " + line for line in lines)  # JSON text holds no raw line break


def manifest_entry(result: DocResult) -> dict[str, Any]:
    """A document's entry in the manifest's "documents"."""
    entry: dict[str, Any] = {"source": result.source, "status": result.status}
    if result.status == "ok":
        entry["sha256"] = result.sha256
        entry["stats"] = result.stats
    if result.error is not None:
        entry["error"] = result.error
    return entry


def manifest_text(result: DocResult) -> str:
    """`manifest_entry_text` of `result`'s entry: as its worker made it (`manifest_json`), else
    made now (json's indented encoding is pure Python: about half a millisecond a document)."""
    if result.manifest_json is not None:
        return result.manifest_json
    return manifest_entry_text(result.doc_id, manifest_entry(result))


def manifest_around(manifest: dict[str, Any]) -> tuple[str, str]:
    """The text of `json.dumps(manifest, ensure_ascii=False, indent=2)` before and after the
    members of its last member, "documents" (given empty), where the `manifest_entry_text` of
    each document goes, joined by ",\n": the file is written around them without holding them.

    >>> m = {"totals": {"documents": 1}, "documents": {"a": {"status": "ok"}}}
    >>> before, after = manifest_around({**m, "documents": {}})
    >>> before + manifest_entry_text("a", {"status": "ok"}) + after == json.dumps(m, indent=2)
    True
    """
    if list(manifest)[-1:] != ["documents"] or manifest["documents"]:
        raise ValueError('the manifest\'s last member must be "documents", empty')
    head = json.dumps(manifest, ensure_ascii=False, indent=2)
    cut = head.rindex("{}")
    return head[:cut] + "{\n", "\n  }" + head[cut + 2:]


def csv_chunk(rows: list[dict[str, Any]], columns: list[str], header: bool) -> str:
    """CSV text of `rows` (RFC 4180 quoting, `\\n` line ends, None as an empty field): the bytes
    pandas' `to_csv` writes for these str/int columns, without building a DataFrame per document.

    >>> csv_chunk([{"a": 'say "x", y', "b": None}, {"a": "1\\n2", "b": 3}], ["a", "b"], header=True)
    'a,b\\n"say ""x"", y",\\n"1\\n2",3\\n'
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(columns)
    keys = set(columns)
    if len(columns) > 1 and all(row.keys() == keys for row in rows):  # rows built with the columns (`records`)
        writer.writerows(map(itemgetter(*columns), rows))
    else:
        writer.writerows([row.get(c) for c in columns] for row in rows)
    return buf.getvalue()


@dataclass
class DocRows:
    """What one document appends to the corpus files."""

    corpus_line: str  # its corpus.jsonl line, without the newline
    sections_csv: str  # its sections.csv rows, no header
    entities_csv: str  # its entities.csv rows, no header
    sections: pa.RecordBatch  # its sections.parquet rows
    entities: pa.RecordBatch  # its entities.parquet rows


def table_rows(record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (section, mention) rows of the Parquet files, as dicts."""
    return section_rows(record, path_as_list=True), entity_rows(record)


def doc_rows(record: dict[str, Any], record_json: str | None = None,
             tables: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None) -> DocRows:
    """A record's share of the corpus files; `record_json` and `tables` when already made."""
    import pyarrow as pa

    section_schema, entity_schema = arrow_schemas()
    sections, entities = tables if tables is not None else table_rows(record)
    # Columns first for sections: from_pylist took 10 times longer on these rows (their `path`
    # lists and long texts); for the many small mention rows it is the faster of the two.
    columns = {name: [row[name] for row in sections] for name in section_schema.names}
    return DocRows(
        corpus_line=record_json if record_json is not None else json_line(record),
        sections_csv=csv_chunk(section_rows(record), SECTION_COLUMNS, header=False),
        entities_csv=csv_chunk(entities, ENTITY_COLUMNS, header=False),
        sections=pa.RecordBatch.from_pydict(columns, section_schema),
        entities=pa.RecordBatch.from_pylist(entities, entity_schema),
    )


def warm_up() -> None:
    """Do pyarrow's one-time work now: its first conversion imports pandas (about 0.2 s and
    50 MB), which a worker would otherwise pay on its first document."""
    import pyarrow as pa

    pa.RecordBatch.from_pylist([], arrow_schemas()[0])


class CorpusWriter:
    """Streams per-document results into temporary files; `commit` renames them into place."""

    def __init__(self, out_dir: Path, row_group_docs: int = 256) -> None:
        import pyarrow.parquet as pq

        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.suffix = f".tmp-{os.getpid()}"
        self.files: dict[str, IO[str]] = {}
        for name in FILES:
            if name.endswith((".parquet", "manifest.json")):
                continue
            self.files[name] = open(self._tmp(name), "w", encoding="utf-8", newline="")
        for name, columns in (("sections.csv", SECTION_COLUMNS), ("entities.csv", ENTITY_COLUMNS)):
            self.files[name].write(csv_chunk([], columns, header=True))
        section_schema, entity_schema = arrow_schemas()
        self.section_writer = pq.ParquetWriter(self._tmp("sections.parquet"), section_schema)
        self.entity_writer = pq.ParquetWriter(self._tmp("entities.parquet"), entity_schema)
        # A row group holds `row_group_docs` documents, gathered as their Arrow record batches.
        # The batches are joined into one chunk when written: Parquet splits pages at chunk
        # boundaries, so this keeps the file's bytes those of one table of the same rows.
        self.row_group_docs = row_group_docs
        self.section_batches: list[pa.RecordBatch] = []
        self.entity_batches: list[pa.RecordBatch] = []
        # The manifest's per-document entries, written as they come (`add_manifest_text`):
        # held in memory, they grew with the corpus (about 3 KB per document).
        self.manifest_docs = open(self._tmp(MANIFEST_DOCS), "w+", encoding="utf-8", newline="")
        self.n_manifest_docs = 0
        self.committed = False

    def _tmp(self, name: str) -> Path:
        return self.out_dir / f".{name}{self.suffix}"

    def write(self, result: DocResult, rows: DocRows | None = None) -> tuple[int, int]:
        """Append one result, with its `rows` when made elsewhere (else made here from its
        record); returns the number of (section, mention) rows written for it."""
        if result.error is not None:
            self.files["errors.jsonl"].write(json_line(result.error) + "\n")
        if result.removed or result.removed_json:
            self.files["removed.jsonl"].write(result.removed_text())
        if rows is None:
            if result.record is None:
                return 0, 0
            rows = doc_rows(result.record, result.record_json)
        self.files["corpus.jsonl"].write(rows.corpus_line + "\n")
        self.files["sections.csv"].write(rows.sections_csv)
        self.files["entities.csv"].write(rows.entities_csv)
        self.section_batches.append(rows.sections)
        self.entity_batches.append(rows.entities)
        if len(self.section_batches) >= self.row_group_docs:
            self._flush_parquet()
        return rows.sections.num_rows, rows.entities.num_rows

    def _flush_parquet(self) -> None:
        """Write the gathered documents' rows as one row group per file."""
        import pyarrow as pa

        for writer, batches in ((self.section_writer, self.section_batches), (self.entity_writer, self.entity_batches)):
            if any(batch.num_rows for batch in batches):
                writer.write_table(pa.Table.from_batches(batches, writer.schema).combine_chunks())
        self.section_batches, self.entity_batches = [], []

    def commit(self, manifest: dict[str, Any], extra: Iterable[tuple[str, str]] = ()) -> None:
        """Finish every file and rename all of them into place."""
        self._flush_parquet()
        self.section_writer.close()
        self.entity_writer.close()
        for handle in self.files.values():
            handle.close()
        with open(self._tmp("manifest.json"), "w", encoding="utf-8", newline="") as fh:
            if self.n_manifest_docs:  # the streamed entries, copied in, never held whole
                before, after = manifest_around(manifest)
                fh.write(before)
                self.manifest_docs.seek(0)
                shutil.copyfileobj(self.manifest_docs, fh)
                fh.write(after + "\n")
            else:
                fh.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        self.manifest_docs.close()
        self._tmp(MANIFEST_DOCS).unlink(missing_ok=True)
        extra_names = []
        for name, content in extra:
            with open(self._tmp(name), "w", encoding="utf-8", newline="") as fh:
                fh.write(content)
            extra_names.append(name)
        for name in (*FILES, *extra_names):
            os.replace(self._tmp(name), self.out_dir / name)
        self.committed = True

    def add_manifest_text(self, text: str) -> None:
        """The manifest's entry of one document (`manifest_entry_text`), in output order (see `commit`)."""
        if self.n_manifest_docs:
            self.manifest_docs.write(",\n")
        self.manifest_docs.write(text)
        self.n_manifest_docs += 1

    def abort(self) -> None:
        """Remove the temporary files (the previous output, if any, stays intact)."""
        for handle in (*self.files.values(), self.manifest_docs):
            handle.close()
        for w in (self.section_writer, self.entity_writer):
            try:
                w.close()
            except Exception:
                pass
        for tmp in self.out_dir.glob(f".*{self.suffix}"):
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self.committed:
            self.abort()

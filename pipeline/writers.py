"""Write the corpus: JSONL, CSV, Parquet, the removal log, errors and the manifest.

Every file is written under a temporary name in the output directory and renamed into place
only when the whole batch is done, so `processed/` never holds a half-written file. Rows are
streamed: each document's rows are appended as its result arrives (Parquet in row groups).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.records import ENTITY_COLUMNS, SECTION_COLUMNS, entity_rows, json_line, section_rows
from pipeline.runner import DocResult

SECTION_SCHEMA = pa.schema([
    ("schema_version", pa.string()), ("doc_id", pa.string()), ("section_id", pa.string()),
    ("section_type", pa.string()), ("heading", pa.string()), ("heading_raw", pa.string()),
    ("level", pa.int32()), ("path", pa.list_(pa.string())), ("n_paragraphs", pa.int32()),
    ("text", pa.string()),
])
ENTITY_SCHEMA = pa.schema([
    ("schema_version", pa.string()), ("doc_id", pa.string()), ("section_id", pa.string()),
    ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()), ("label", pa.string()),
    ("kb_id", pa.string()), ("kb_name", pa.string()), ("source", pa.string()),
])

FILES = (
    "corpus.jsonl", "sections.csv", "entities.csv", "sections.parquet", "entities.parquet",
    "removed.jsonl", "errors.jsonl", "manifest.json",
)


def remove_stale_tmp(out_dir: Path) -> None:
    """Remove the temporary output files a killed run left behind (only this module's names)."""
    for name in FILES:
        for tmp in out_dir.glob(f".{name}.tmp-*"):
            tmp.unlink(missing_ok=True)


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


class CorpusWriter:
    """Streams per-document results into temporary files; `commit` renames them into place."""

    def __init__(self, out_dir: Path, row_group_docs: int = 256, batch_docs: int = 16) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.suffix = f".tmp-{os.getpid()}"
        self.files: dict[str, IO[str]] = {}
        for name in FILES:
            if name.endswith((".parquet", "manifest.json")):
                continue
            self.files[name] = open(self._tmp(name), "w", encoding="utf-8", newline="")
        self.section_writer = pq.ParquetWriter(self._tmp("sections.parquet"), SECTION_SCHEMA)
        self.entity_writer = pq.ParquetWriter(self._tmp("entities.parquet"), ENTITY_SCHEMA)
        # A row group holds `row_group_docs` documents; their rows become Arrow record batches
        # every `batch_docs` documents, so the conversion is spread over the run (while workers
        # are busy) and the row group waits as compact Arrow data rather than Python dicts.
        # The batches are joined into one chunk when written: Parquet splits pages at chunk
        # boundaries, so this keeps the file's bytes independent of `batch_docs`.
        self.row_group_docs = row_group_docs
        self.batch_docs = max(1, min(batch_docs, row_group_docs))
        self.pending_sections: list[dict[str, Any]] = []
        self.pending_entities: list[dict[str, Any]] = []
        self.section_batches: list[pa.RecordBatch] = []
        self.entity_batches: list[pa.RecordBatch] = []
        self.pending_docs = 0  # documents in the row group being gathered
        self.unconverted_docs = 0  # of those, documents whose rows are still dicts
        self.header_written = {"sections.csv": False, "entities.csv": False}
        self.committed = False

    def _tmp(self, name: str) -> Path:
        return self.out_dir / f".{name}{self.suffix}"

    def write(self, result: DocResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Append one result; returns the (section, mention) Parquet rows written for it."""
        if result.error is not None:
            self.files["errors.jsonl"].write(json_line(result.error) + "\n")
        for row in result.removed:
            self.files["removed.jsonl"].write(json_line(row) + "\n")
        if result.record is None:
            return [], []
        self.files["corpus.jsonl"].write((result.record_json or json_line(result.record)) + "\n")
        sections, entities = section_rows(result.record), entity_rows(result.record)
        self._csv("sections.csv", sections, SECTION_COLUMNS)
        self._csv("entities.csv", entities, ENTITY_COLUMNS)
        section_table_rows = section_rows(result.record, path_as_list=True)
        self.pending_sections.extend(section_table_rows)
        self.pending_entities.extend(entities)
        self.pending_docs += 1
        self.unconverted_docs += 1
        if self.pending_docs >= self.row_group_docs:
            self._flush_parquet()
        elif self.unconverted_docs >= self.batch_docs:
            self._convert()
        return section_table_rows, entities

    def _csv(self, name: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if not self.header_written[name]:
            self.files[name].write(csv_chunk([], columns, header=True))
            self.header_written[name] = True
        if rows:
            self.files[name].write(csv_chunk(rows, columns, header=False))

    def _convert(self) -> None:
        """The pending rows as Arrow record batches."""
        if self.pending_sections:
            # Columns first: from_pylist took 10 times longer on these rows (their `path` lists and
            # long texts); for the many small mention rows it is the faster of the two.
            columns = {name: [row[name] for row in self.pending_sections] for name in SECTION_SCHEMA.names}
            self.section_batches.append(pa.RecordBatch.from_pydict(columns, SECTION_SCHEMA))
        if self.pending_entities:
            self.entity_batches.append(pa.RecordBatch.from_pylist(self.pending_entities, ENTITY_SCHEMA))
        self.pending_sections, self.pending_entities, self.unconverted_docs = [], [], 0

    def _flush_parquet(self) -> None:
        """Write the gathered documents' rows as one row group per file."""
        self._convert()
        for writer, batches in ((self.section_writer, self.section_batches), (self.entity_writer, self.entity_batches)):
            if batches:
                writer.write_table(pa.Table.from_batches(batches, writer.schema).combine_chunks())
        self.section_batches, self.entity_batches, self.pending_docs = [], [], 0

    def commit(self, manifest: dict[str, Any], extra: Iterable[tuple[str, str]] = ()) -> None:
        """Finish every file and rename all of them into place."""
        self._flush_parquet()
        self.section_writer.close()
        self.entity_writer.close()
        for handle in self.files.values():
            handle.close()
        with open(self._tmp("manifest.json"), "w", encoding="utf-8", newline="") as fh:
            fh.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        extra_names = []
        for name, content in extra:
            with open(self._tmp(name), "w", encoding="utf-8", newline="") as fh:
                fh.write(content)
            extra_names.append(name)
        for name in (*FILES, *extra_names):
            os.replace(self._tmp(name), self.out_dir / name)
        self.committed = True

    def abort(self) -> None:
        """Remove the temporary files (the previous output, if any, stays intact)."""
        for handle in self.files.values():
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

"""Writers: Parquet streamed in row groups and equal to the CSVs; only this module's temporary files are cleaned."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.batch import manifest
from pipeline.config import Config
from pipeline.records import json_line
from pipeline.runner import Pipeline, Task
from pipeline.writers import ENTITY_SCHEMA, FILES, SECTION_SCHEMA, CorpusWriter, csv_chunk, remove_stale_tmp, table_rows

from .test_runner import synthetic


def test_parquet_row_groups_match_the_csv(tmp_path: Path, config: Config) -> None:
    from pipeline.batch import Summary

    pipe = Pipeline(config)
    out = tmp_path / "out"
    summary = Summary()
    with CorpusWriter(out, row_group_docs=2) as writer:
        for i in range(5):
            result = pipe.run(Task(f"d{i}", f"d{i}.txt", synthetic(i).encode()))
            writer.write(result)
            summary.add(result)
        writer.commit(manifest(config, pipe.provenance, {}, summary))
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    sections = pq.ParquetFile(out / "sections.parquet")
    assert sections.schema_arrow == SECTION_SCHEMA
    assert sections.metadata.num_row_groups == 3  # 2 + 2 + 1 documents
    assert pq.ParquetFile(out / "entities.parquet").schema_arrow == ENTITY_SCHEMA
    rows = list(csv.DictReader((out / "sections.csv").open(encoding="utf-8", newline="")))
    table = sections.read().to_pylist()
    assert [r["section_id"] for r in rows] == [r["section_id"] for r in table]
    assert [json.loads(r["path"]) for r in rows] == [r["path"] for r in table]
    assert [r["text"] for r in rows] == [r["text"] for r in table]


def test_parquet_bytes_are_those_of_one_table_per_row_group(tmp_path: Path, config: Config) -> None:
    """Each document's rows become their own Arrow record batch (in the worker); a row group
    joins them, so the files are the bytes of one table of the same rows per row group, and
    the same whether the rows were made by a worker or by the writer."""
    from pipeline.batch import Summary
    from pipeline.executors import pack
    from pipeline.products import Deriver, products_settings

    pipe = Pipeline(config)
    results = [pipe.run(Task(f"d{i}", f"d{i}.txt", synthetic(i).encode())) for i in range(7)]
    for i, result in enumerate(results):  # texts past Parquet's 1 MB page size, where chunks could show
        assert result.record is not None
        result.record["sections"][0]["text"] = " ".join(f"w{i}x{k}" for k in range(60_000))
        result.record["sections"][0]["paragraphs"] = [result.record["sections"][0]["text"]]
        result.record_json = None
    records = [r.record for r in results]
    derive = Deriver(products_settings(config), check=True)
    for packed in (False, True):
        summary = Summary()
        with CorpusWriter(tmp_path / str(packed), row_group_docs=4) as writer:
            for result in results:
                if packed:
                    pack(result, derive)
                    assert result.record is None and result.rows is not None
                writer.write(result, result.rows)
                summary.add(result)
            writer.commit(manifest(config, pipe.provenance, {}, summary))
    for k, (name, schema) in enumerate((("sections.parquet", SECTION_SCHEMA), ("entities.parquet", ENTITY_SCHEMA))):
        one = tmp_path / name
        with pq.ParquetWriter(one, schema) as reference:
            for group in (records[:4], records[4:]):
                reference.write_table(pa.Table.from_pylist([row for r in group for row in table_rows(r)[k]], schema))
        assert (tmp_path / "False" / name).read_bytes() == one.read_bytes(), name
        assert (tmp_path / "True" / name).read_bytes() == one.read_bytes(), name
    assert pq.ParquetFile(tmp_path / "True" / "sections.parquet").metadata.num_row_groups == 2  # 4 + 3 documents


def test_abort_keeps_previous_files_and_stale_tmp_cleanup_is_narrow(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text("previous\n", encoding="utf-8")
    with CorpusWriter(tmp_path) as writer:
        assert list(tmp_path.glob(".corpus.jsonl.tmp-*"))
        del writer  # leaves without commit: aborted
    assert (tmp_path / "corpus.jsonl").read_text(encoding="utf-8") == "previous\n"
    assert not list(tmp_path.glob(".*.tmp-*"))
    (tmp_path / ".corpus.jsonl.tmp-123").write_text("half", encoding="utf-8")
    (tmp_path / ".manifest-documents.json.tmp-123").write_text('    "d": {}', encoding="utf-8")  # streamed entries
    (tmp_path / ".someone-else.tmp-123").write_text("theirs", encoding="utf-8")
    remove_stale_tmp(tmp_path)
    assert [p.name for p in tmp_path.glob(".*")] == [".someone-else.tmp-123"]


def test_csv_chunk_writes_the_bytes_pandas_writes(config: Config) -> None:
    import io

    import pandas as pd

    from pipeline.records import ENTITY_COLUMNS, SECTION_COLUMNS, entity_rows, section_rows

    tricky = 'He said "no", then\nleft;\r\tok , ,' + "\u00e9\u2028"
    text = synthetic(3) + tricky + "\n"
    record = Pipeline(config).run(Task("d", "d.txt", text.encode())).record
    assert record is not None
    sections = section_rows(record)
    sections.append({**sections[0], "heading": None, "heading_raw": tricky, "text": ""})
    odd = dict(zip(ENTITY_COLUMNS, ["1.0", "d", "d:001", 0, 3, tricky, "DRUG", None, None, "lexicon"], strict=True))
    entities = [*entity_rows(record), odd]
    for rows, columns in ((sections, SECTION_COLUMNS), (entities, ENTITY_COLUMNS)):
        for header in (True, False):
            buf = io.StringIO()
            pd.DataFrame(rows, columns=columns).to_csv(buf, index=False, header=header, lineterminator="\n")
            assert csv_chunk(rows, columns, header) == buf.getvalue()


def test_csv_chunk_rows_with_other_keys_take_the_general_path() -> None:
    """Missing keys are empty fields and extra keys are ignored, whichever path writes the rows."""
    assert csv_chunk([{"a": 1, "c": 2}], ["a", "b"], header=True) == "a,b\n1,\n"  # same size, other keys
    assert csv_chunk([{"a": 1, "b": 2, "c": 3}, {"a": 4}], ["a", "b"], header=False) == "1,2\n4,\n"
    assert csv_chunk([{"a": "x"}], ["a"], header=False) == "x\n"  # one column
    assert csv_chunk([], ["a"], header=True) == "a\n"


def test_streamed_manifest_is_json_dumps_of_the_whole_manifest(tmp_path: Path, config: Config) -> None:
    """The manifest's document entries are written as documents finish; the file is byte for
    byte `json.dumps(manifest, ensure_ascii=False, indent=2)` of the manifest holding them all
    (unicode ids and sources, nested and empty values), and no temporary file stays behind."""
    from pipeline.batch import Summary
    from pipeline.writers import MANIFEST_DOCS, manifest_entry_text

    pipe = Pipeline(config)
    entries = {
        "gout – ünïcode": {"source": "a/gout – ünïcode.txt", "status": "ok", "sha256": "ab",
                           "stats": {"segment": {"sections": 3}, "dedup": {}}},
        "bad": {"source": "bad.bin", "status": "failed", "error": {"doc": "bad", "message": "a \"quoted\"\nline"}},
        "empty": {"source": "empty.txt", "status": "ok", "stats": {}, "list": [], "nested": [{"a": [1, 2]}]},
    }
    head = manifest(config, pipe.provenance, {}, Summary())
    out = tmp_path / "out"
    with CorpusWriter(out) as writer:
        for doc_id, entry in entries.items():
            writer.add_manifest_text(manifest_entry_text(doc_id, entry))
        writer.commit(head)
    whole = json.dumps({**head, "documents": entries}, ensure_ascii=False, indent=2) + "\n"
    assert (out / "manifest.json").read_text(encoding="utf-8") == whole
    assert not list(out.glob(f".{MANIFEST_DOCS}*"))
    with CorpusWriter(tmp_path / "none") as writer:  # no document at all
        writer.commit(head)
    alone = json.dumps(head, ensure_ascii=False, indent=2) + "\n"
    assert (tmp_path / "none" / "manifest.json").read_text(encoding="utf-8") == alone


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES)
def test_json_line_writes_the_bytes_of_json_dumps(value: object) -> None:
    """orjson where it can (strings with every control character and surrogate, integers,
    nesting), json.dumps where it cannot (a lone surrogate, an integer beyond 64 bits, a key
    that is not a string): the same text either way."""
    assert json_line(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_json_line_writes_the_bytes_of_json_dumps_for_pipeline_records(config: Config) -> None:
    pipe = Pipeline(config)
    for i in range(3):
        result = pipe.run(Task(f"d{i}", f"d{i}.txt", synthetic(i).encode()))
        assert result.record is not None and result.record_json is not None
        assert result.record_json == json.dumps(result.record, ensure_ascii=False, separators=(",", ":"))

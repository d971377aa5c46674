"""The output loads where users load data: pandas, pyarrow, DuckDB and Hugging Face `datasets`,
with the same row counts and column types everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import SCHEMA_VERSION

from .test_products import build_output


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_output(tmp_path_factory.mktemp("loaders"))


@pytest.fixture(scope="module")
def expected(output: Path) -> dict[str, int]:
    records = [json.loads(x) for x in (output / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    return {
        "corpus": len(records),
        "sections": sum(len(r["sections"]) for r in records),
        "entities": sum(len(r["entities"]) for r in records),
    }


@pytest.fixture()
def hf_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf-cache"


def test_pandas(output: Path, expected: dict[str, int]) -> None:
    corpus = pd.read_json(output / "corpus.jsonl", lines=True)
    assert len(corpus) == expected["corpus"]
    for table in ("sections", "entities"):
        csv = pd.read_csv(output / f"{table}.csv", dtype={"schema_version": str})
        parquet = pd.read_parquet(output / f"{table}.parquet")
        assert len(csv) == len(parquet) == expected[table]
        assert list(csv.columns) == list(parquet.columns)
        assert (csv["schema_version"] == SCHEMA_VERSION).all() and (parquet["schema_version"] == SCHEMA_VERSION).all()
    sections = pd.read_parquet(output / "sections.parquet")
    assert pd.api.types.is_integer_dtype(sections["level"]) and pd.api.types.is_integer_dtype(sections["n_paragraphs"])
    assert isinstance(sections["path"].iloc[1].tolist(), list)  # a list in Parquet, JSON text in the CSV
    csv_paths = pd.read_csv(output / "sections.csv")["path"].map(json.loads)
    assert csv_paths.tolist() == [list(p) for p in sections["path"]]


def test_pyarrow(output: Path, expected: dict[str, int]) -> None:
    sections = pq.read_table(output / "sections.parquet")
    entities = pq.read_table(output / "entities.parquet")
    assert (sections.num_rows, entities.num_rows) == (expected["sections"], expected["entities"])
    assert sections.schema.field("path").type == pa.list_(pa.string())
    assert entities.schema.field("start").type == pa.int32()
    from pyarrow import json as pa_json

    corpus = pa_json.read_json(output / "corpus.jsonl")
    assert corpus.num_rows == expected["corpus"]
    assert pa.types.is_list(corpus.schema.field("sections").type)


def test_duckdb(output: Path, expected: dict[str, int]) -> None:
    con = duckdb.connect()
    for table in ("sections", "entities"):
        n_parquet = con.execute(f"select count(*) from read_parquet('{output / table}.parquet')").fetchone()[0]
        n_csv = con.execute(f"select count(*) from read_csv('{output / table}.csv', header=true)").fetchone()[0]
        assert n_parquet == n_csv == expected[table]
    described = con.execute(f"describe select * from read_parquet('{output}/sections.parquet')").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["level"] == "INTEGER" and types["path"] == "VARCHAR[]"
    n_docs, n_sections = con.execute(
        f"select count(*), sum(len(sections)) from read_json('{output}/corpus.jsonl', format='newline_delimited')"
    ).fetchone()
    assert (n_docs, n_sections) == (expected["corpus"], expected["sections"])
    by_type = con.execute(f"select section_type, count(*) from read_parquet('{output}/sections.parquet') group by 1").fetchall()
    assert sum(n for _, n in by_type) == expected["sections"]


def test_hugging_face_datasets(output: Path, expected: dict[str, int], hf_offline: Path) -> None:
    from datasets import load_dataset

    for table in ("sections", "entities"):
        from_parquet = load_dataset("parquet", data_files=str(output / f"{table}.parquet"), split="train",
                                    cache_dir=str(hf_offline))
        from_csv = load_dataset("csv", data_files=str(output / f"{table}.csv"), split="train", cache_dir=str(hf_offline))
        assert from_parquet.num_rows == from_csv.num_rows == expected[table]
    sections = load_dataset("parquet", data_files=str(output / "sections.parquet"), split="train", cache_dir=str(hf_offline))
    assert sections.features["level"].dtype == "int32"
    assert sections.features["path"].feature.dtype == "string"
    corpus = load_dataset("json", data_files=str(output / "corpus.jsonl"), split="train", cache_dir=str(hf_offline))
    assert corpus.num_rows == expected["corpus"]
    assert sum(len(s) for s in corpus["sections"]) == expected["sections"]

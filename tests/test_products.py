"""Corpus products: schema validation, near-duplicates (report and drop), dataset card, QA report.

`build_output` makes a small corpus the other product tests reuse: the sample monograph, the
same page saved again under another name in cp1252 with a few words changed, and a short
unrelated monograph.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from datasketch import MinHash, MinHashLSH

from pipeline import SCHEMA_VERSION
from pipeline.batch import run_batch
from pipeline.config import Config, load_config
from pipeline.executors import pack
from pipeline.products import (
    Deriver,
    DuplicateSettings,
    ProductsError,
    ProductsSettings,
    ReportSettings,
    Scan,
    validate_output,
    write_products,
)
from pipeline.products import schema as schema_module
from pipeline.products.duplicates import (
    Pair,
    Signature,
    Signer,
    choose_drops,
    find_pairs,
    lsh_bands,
    min_hashes,
    permutations,
    shingle_hashes,
)
from pipeline.products.files import OutputDir, RemovedRows, row_doc_id
from pipeline.products.schema import SCHEMA_FILES, Checker, Validators, compile_schema, load_schema, row_errors, shape_errors
from pipeline.records import ENTITY_COLUMNS, SECTION_COLUMNS, json_line
from pipeline.runner import DocResult
from pipeline.writers import CorpusWriter, table_rows

from .conftest import ROOT, SAMPLE

COPY = "copy_of_poems.txt"
OTHER = "zz_gout.txt"
OTHER_TEXT = """Gout

Overview
Gout is a form of inflammatory arthritis caused by deposits of monosodium urate crystals in and around the joints, \
most often the joint at the base of the big toe.

Epidemiology
Gout affects about four percent of adults in the United States and is more common in men than in women; its \
prevalence rises with age, obesity, kidney disease and the use of diuretics.

Clinical Presentation
Attacks start suddenly, often at night, with severe pain, swelling, redness and warmth of a single joint that \
peaks within a day and resolves over one to two weeks.

Treatment
Acute attacks are treated with colchicine, nonsteroidal anti-inflammatory drugs or corticosteroids; long-term \
urate lowering with allopurinol or febuxostat prevents new attacks and dissolves tophi.
"""
PRODUCTS = ("duplicates.csv", "README.md", "report.html")


def copy_text() -> str:
    """The sample with a few words changed (a second save of the same monograph)."""
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in (("rare and complex", "uncommon and complicated"), ("hallmark", "key"), ("intriguing", "curious")):
        text = text.replace(old, new, 1)
    return text


def make_raw(raw: Path, order: list[str] | None = None) -> Path:
    """The three inputs, written in `order` (file creation order must not matter)."""
    raw.mkdir(parents=True, exist_ok=True)
    writers = {
        SAMPLE.name: lambda p: shutil.copy(SAMPLE, p),
        COPY: lambda p: p.write_bytes(copy_text().encode("cp1252", errors="replace")),
        OTHER: lambda p: p.write_text(OTHER_TEXT, encoding="utf-8"),
    }
    for name in order or list(writers):
        writers[name](raw / name)
    return raw


def make_config(dest: Path, entities: bool = True) -> Config:
    """The default config plus `section_type` (and `entities`), with the configs folder beside it."""
    shutil.copytree(ROOT / "configs", dest, dirs_exist_ok=True)
    data = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    stages = [s for s in data["stages"] if s not in ("section_type", "entities")]
    stages.insert(stages.index("segment") + 1, "section_type")
    data["stages"] = [*stages, "entities"] if entities else stages
    # the repository's terminology config, so the shared lexicon artifact is reused, not rebuilt
    data["entities"] = {**(data.get("entities") or {}), "terminology": str(ROOT / "configs" / "terminology.yaml"),
                        "lexicon_dir": str(ROOT / ".cache" / "lexicon")}
    (dest / "run.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(dest / "run.yaml")


def build_output(tmp: Path, order: list[str] | None = None, settings: ProductsSettings | None = None) -> Path:
    config = make_config(tmp / "configs")
    out = tmp / "processed"
    run_batch(config, make_raw(tmp / "raw", order), out, workers=1, progress=False)
    write_products(out, config, settings)
    return out


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_output(tmp_path_factory.mktemp("products"))


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# --- schemas -----------------------------------------------------------------------------

def test_schemas_are_2020_12_and_match_the_records() -> None:
    from jsonschema import Draft202012Validator

    for name in SCHEMA_FILES:
        schema = load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
        assert SCHEMA_VERSION in schema["$id"]
    assert list(load_schema("section")["properties"]) == SECTION_COLUMNS


@pytest.mark.parametrize("rust", [True, False])
def test_compile_schema_rejects_a_schema_the_meta_schema_rejects(rust: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # jsonschema-rs (a declared dependency) checks a schema against its meta-schema itself; the
    # pure-Python path, used without it, calls `check_schema`. Either way a bad schema never
    # becomes a validator that accepts anything.
    assert schema_module.jsonschema_rs is not None
    if not rust:
        monkeypatch.setattr(schema_module, "jsonschema_rs", None)
    bad = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "strin"}
    with pytest.raises(Exception, match="strin"):
        compile_schema(bad)
    good = compile_schema(load_schema("mention"))
    assert not good.is_valid({})
    assert list(load_schema("mention")["properties"]) == ENTITY_COLUMNS
    mention = load_schema("corpus")["$defs"]["mention"]["properties"]
    assert {k: v for k, v in load_schema("mention")["properties"].items() if k in mention} == mention


def test_the_output_is_valid(output: Path) -> None:
    report = validate_output(output)
    assert report.n_errors == 0, report.errors
    assert report.checked["corpus.jsonl"] == 3
    assert report.checked["sections.parquet"] > 50 and report.checked["entities.parquet"] > 100


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda r: r.pop("sha256"), "sha256"),
    (lambda r: r.update(kind="pdf"), "kind"),
    (lambda r: r.update(surprise=1), "surprise"),
    (lambda r: r.update(schema_version="0.9"), "schema_version"),
    (lambda r: r["sections"][1].update(level=-1), "sections/1/level"),
    (lambda r: r["sections"][1].update(section_type="misc"), "sections/1/section_type"),
    (lambda r: r["entities"][0].update(start="0"), "entities/0/start"),
])
def test_invalid_records_are_caught(output: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    record = lines(output / "corpus.jsonl")[0]
    validators = Validators.load()
    assert shape_errors(validators.corpus, record, "x") == []
    mutate(record)
    errors = shape_errors(validators.corpus, record, "x")
    assert errors and any(expected in e for e in errors), errors


def test_an_invalid_corpus_fails_the_products_and_writes_nothing(output: Path, tmp_path: Path, config: Config) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(output, bad)
    for name in PRODUCTS:
        (bad / name).unlink()
    records = lines(bad / "corpus.jsonl")
    records[1]["entities"][0]["end"] += 1  # offsets no longer point at the mention: an invariant, not a shape
    (bad / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.raises(ProductsError, match=r"(?s)1 schema violation.*corpus.jsonl line 2: entities/0"):
        write_products(bad, config)
    assert not any((bad / name).exists() for name in PRODUCTS)
    counts = write_products(bad, config, ProductsSettings(fail_on_invalid=False))
    assert counts["schema_errors"] == 1
    assert "Schema violations (1)" in (bad / "report.html").read_text(encoding="utf-8")


# --- duplicates --------------------------------------------------------------------------

def test_the_resaved_copy_is_found(output: Path) -> None:
    rows = list(csv.DictReader((output / "duplicates.csv").open(encoding="utf-8")))
    assert [(r["doc_a"], r["doc_b"]) for r in rows] == [(SAMPLE.stem, Path(COPY).stem)]
    assert 0.9 < float(rows[0]["similarity"]) < 1.0
    corpus = lines(output / "corpus.jsonl")
    assert {r["encoding"] for r in corpus} >= {"utf-8", "cp1252"}


def test_pairs_do_not_depend_on_the_order_signatures_arrive(output: Path) -> None:
    signer = Signer(DuplicateSettings())
    records = lines(output / "corpus.jsonl")
    sigs = [s for i, r in enumerate(records) if (s := signer.sign(r, i)) is not None]
    expected = find_pairs(sigs, 0.8, 128)
    for seed in range(3):
        random.Random(seed).shuffle(sigs)
        assert find_pairs(sigs, 0.8, 128) == expected


def _record(doc_id: str, words: list[str]) -> dict[str, object]:
    return {"doc_id": doc_id, "sections": [{"text": " ".join(words)}]}


def test_each_copy_is_paired_with_its_original_only() -> None:
    """Copies of one original give one row each, against the original (not every pair among
    them); documents below the threshold against every original are originals."""
    rng = random.Random(5)
    base = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    drift = base[:340] + [f"x{i}" for i in range(60)]  # shingle Jaccard ~0.74 with base
    far = drift[:300] + [f"y{i}" for i in range(100)]
    docs = [("a", base), ("b", [*base[:399], "z"]), ("c", list(base)), ("d", drift), ("e", far)]
    signer = Signer(DuplicateSettings())
    sigs = [s for i, (d, w) in enumerate(docs) if (s := signer.sign(_record(d, w), i)) is not None]
    pairs = find_pairs(sigs, 0.8, 128)
    assert [(p.doc_a, p.doc_b) for p in pairs][:2] == [("a", "b"), ("a", "c")]
    assert all(p.doc_a not in {q.doc_b for q in pairs} for p in pairs)  # originals only
    assert len({p.doc_b for p in pairs}) == len(pairs) and all(p.similarity >= 0.8 for p in pairs)
    assert {"d", "e"}.isdisjoint(p.doc_b for p in pairs)  # below the threshold against every original
    ranks = {d: i for i, (d, _) in enumerate(docs)}
    assert set(choose_drops(pairs, ranks)) == {p.doc_b for p in pairs}


def _pairs_with_datasketch_lsh(signatures: list[Signature], threshold: float, num_perm: int) -> list[Pair]:
    """`find_pairs` as it was written on datasketch's `MinHashLSH` (the reference for its arrays)."""
    sigs = sorted(signatures, key=lambda s: s.rank)
    hashes = {s.doc_id: MinHash(num_perm=num_perm, hashvalues=s.values) for s in sigs}
    originals: dict[str, Signature] = {}
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=num_perm)
    found: list[Pair] = []
    for s in sigs:
        best: tuple[float, int, str] | None = None
        for other_id in lsh.query(hashes[s.doc_id]):
            other = originals[other_id]
            sim = round(float(hashes[s.doc_id].jaccard(hashes[other_id])), 4)
            if sim >= threshold and (best is None or (-sim, other.rank) < best[:2]):
                best = (-sim, other.rank, other.doc_id)
        if best is None:
            originals[s.doc_id] = s
            lsh.insert(s.doc_id, hashes[s.doc_id])
        else:
            found.append(Pair(best[2], s.doc_id, -best[0]))
    return found


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_pairs_equal_those_of_datasketch_lsh(threshold: float) -> None:
    """Families of documents, each an original and copies that change a share of its values
    (so that some share a band with it and some do not, some pass the threshold and some do
    not), keep only its first bands (originals in the same band groups) or change one value
    in each later band (copies that only those first bands find), shuffled among
    distinct documents: the same pairs as with `MinHashLSH`."""
    rng = np.random.default_rng(11)
    values: list[np.ndarray] = []
    for _ in range(40):
        base = rng.integers(0, 2**32 - 1, size=128, dtype=np.uint64)
        values.append(base)
        for _ in range(int(rng.integers(0, 6))):
            copy = base.copy()
            kind, kept = rng.random(), 8 * int(rng.integers(1, 4))
            if kind < 0.3:  # the first bands kept, the rest new: an original in the same groups
                changed = np.arange(128) >= kept
            elif kind < 0.6:  # one value changed in every later band: similar, found by the first bands only
                changed = np.isin(np.arange(128), np.arange(kept, 128, 8) + int(rng.integers(0, 8)))
            else:
                changed = rng.random(128) < rng.uniform(0.0, 0.6)
            copy[changed] = rng.integers(0, 2**32 - 1, size=int(changed.sum()), dtype=np.uint64)
            values.append(copy)
    values += [np.full(128, 2**32 - 1, dtype=np.uint64)] * 3  # equal values: ties broken by rank
    order = rng.permutation(len(values)).tolist()
    sigs = [Signer.signature(f"d{i:03d}", rank, values[i]) for rank, i in enumerate(order)]
    expected = _pairs_with_datasketch_lsh(sigs, threshold, 128)
    assert len(expected) > 5 and find_pairs(sigs, threshold, 128) == expected
    assert len({p.doc_a for p in expected}) > 1


@pytest.mark.parametrize("num_perm", [16, 32, 64, 100, 128, 200, 256])
def test_lsh_bands_are_datasketchs(num_perm: int) -> None:
    from datasketch.lsh import _optimal_param  # what `MinHashLSH(threshold, num_perm)` calls

    for threshold in np.round(np.arange(0.05, 1.0, 0.05), 2).tolist():
        assert lsh_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5), threshold
    assert lsh_bands(0.65, num_perm) == (lambda lsh: (lsh.b, lsh.r))(MinHashLSH(threshold=0.65, num_perm=num_perm))


@pytest.mark.parametrize("seed", [0, 1, 7, 2**31])
def test_permutations_are_datasketchs(seed: int) -> None:
    a, b = permutations(128, seed)
    ref_a, ref_b = MinHash(num_perm=128, seed=seed).permutations
    assert a.dtype == ref_a.dtype == np.uint64
    assert (a == ref_a).all() and (b == ref_b).all()


def test_the_duplicates_module_does_not_import_datasketch_or_scipy() -> None:
    import subprocess
    import sys

    code = "import sys, pipeline.batch; print(any(m.split('.')[0] in ('datasketch', 'scipy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_spacy_matplotlib_and_pyarrow_are_imported_by_what_uses_them_not_by_the_batch() -> None:
    """The batch's modules leave spaCy (displaCy), matplotlib and pyarrow to the code that
    renders pages and plots and makes Arrow rows: an up-to-date re-run, which starts no worker
    and writes nothing, never imports them. A worker has displaCy and matplotlib when it is
    built (`report.warm_up`, in the process that forks a local pool, else in the worker),
    before its first document."""
    import subprocess
    import sys

    heavy = "sorted({m.split('.')[0] for m in sys.modules} & {'spacy', 'matplotlib', 'pyarrow'})"
    code = (f"import sys, pipeline.batch, pipeline.cli, pipeline.products; print({heavy}); "
            "from pipeline.products.report import warm_up; from pipeline.products import ProductsSettings; "
            f"warm_up(ProductsSettings()); print({heavy})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "['matplotlib', 'spacy']"]


def test_blocked_min_hashes_equal_datasketch_update_batch() -> None:
    rng = np.random.default_rng(0)
    values = np.unique(np.concatenate([rng.integers(0, 2**32, size=1000, dtype=np.uint64),
                                       np.array([0, 1, 2**31, 2**32 - 1], dtype=np.uint64)]))
    reference = MinHash(num_perm=512, seed=7, hashfunc=int)  # many permutations: many wrap-arounds
    reference.update_batch(values.tolist())
    a, b = reference.permutations
    assert (min_hashes(values, a, b, rows=37) == reference.hashvalues).all()
    words_a = "the patient had a fever and a rash on the arm".split()
    assert set(shingle_hashes(words_a, 3).tolist()) & set(shingle_hashes(["x", *words_a[:4]], 3).tolist())


def test_products_are_byte_identical_whatever_the_input_order(output: Path, tmp_path: Path) -> None:
    other = build_output(tmp_path, order=[OTHER, COPY, SAMPLE.name])
    for name in (*PRODUCTS, "corpus.jsonl", f"report/{SAMPLE.stem}.html"):
        assert (other / name).read_bytes() == (output / name).read_bytes(), name


def test_drop_removes_the_later_copy_and_can_be_undone(output: Path, tmp_path: Path, config: Config) -> None:
    out = tmp_path / "out"
    shutil.copytree(output, out)
    original = {n: (out / n).read_bytes() for n in ("corpus.jsonl", "sections.csv", "entities.csv", "removed.jsonl")}
    drop = ProductsSettings(duplicates=DuplicateSettings(drop=True))
    counts = write_products(out, config, drop)
    copy_id = Path(COPY).stem
    assert counts["duplicates_dropped"] == 1
    assert copy_id not in {r["doc_id"] for r in lines(out / "corpus.jsonl")}
    assert [r["doc_id"] for r in lines(out / "duplicates.jsonl")] == [copy_id]
    for table in ("sections", "entities"):
        assert copy_id not in set(pq.read_table(out / f"{table}.parquet")["doc_id"].to_pylist())
        assert copy_id not in (out / f"{table}.csv").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"][copy_id]["duplicate_of"] == SAMPLE.stem
    assert manifest["products"]["duplicates_dropped"] == [copy_id]
    assert validate_output(out).n_errors == 0
    assert "dropped: duplicate of" in (out / "report.html").read_text(encoding="utf-8")
    # regenerating is idempotent: the dropped copy is still found (from duplicates.jsonl)
    snapshot = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    write_products(out, config, drop)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot
    # switching drop off puts the document back, byte for byte
    write_products(out, config, ProductsSettings())
    assert {n: (out / n).read_bytes() for n in original} == original
    assert not (out / "duplicates.jsonl").exists()


def test_removed_rows_are_read_by_document_as_a_full_read_groups_them(output: Path, tmp_path: Path) -> None:
    """`OutputDir.removed` keeps where each document's rows lie, not the rows: the same rows as
    grouping every line, with a document's rows apart, another writer's key order, blank lines,
    and a file replaced after it was indexed (as `rewrite_corpus` does) read again."""
    rows = lines(output / "removed.jsonl")
    assert len({r["doc_id"] for r in rows}) > 1
    scrambled = rows[1:] + rows[:1] + [{"text": "x\u00e9", "doc_id": "d\u00e9\"q", "stage": "s"}]
    path = tmp_path / "removed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in scrambled[:5]) + "\n\n"
                    + "".join(json_line(r) + "\n" for r in scrambled[5:]), encoding="utf-8")
    expected: dict[str, list[dict[str, object]]] = {}
    for row in scrambled:
        expected.setdefault(str(row["doc_id"]), []).append(row)
    index = RemovedRows.index(path)
    assert {doc_id: index.get(doc_id) for doc_id in expected} == expected
    assert index.get("nobody") == [] and index.get("nobody", [{"x": 1}]) == [{"x": 1}]
    assert row_doc_id(b'{"doc_id": "a\\"b", "x": 1}') == 'a"b'
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(json_line({"doc_id": "late", "text": "y"}) + "\n", encoding="utf-8")
    replacement.replace(path)
    assert index.get("late") == [{"doc_id": "late", "text": "y"}] and index.get(str(rows[0]["doc_id"])) == []
    assert OutputDir.load(output).removed.get(str(rows[0]["doc_id"])) == [r for r in rows if r["doc_id"] == rows[0]["doc_id"]]


# --- card and report ---------------------------------------------------------------------

def test_dataset_card(output: Path) -> None:
    card = (output / "README.md").read_text(encoding="utf-8")
    for needle in ("## What it holds", "| documents in the corpus | 3 |", "### Sections by type", "`differential_diagnosis`",
                   "### Mentions by label", "| DISEASE |", "POEMS syndrome", "## How it was made", "hash `",
                   "Provenance of `entities`", "lexicon_version", "Provenance of `section_type`", "## Schema",
                   "`corpus.schema.json`", "`n_paragraphs`", "## Known limits"):
        assert needle in card, needle


def test_report_is_self_contained_and_links_every_document(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml;base64,") == 6
    for bad in ("http://", "https://", "<script", "<link"):
        assert bad not in html
    pages = sorted(p.name for p in (output / "report").glob("*.html"))
    assert pages == sorted(f"{Path(n).stem}.html" for n in (SAMPLE.name, COPY, OTHER))
    for name in pages:
        assert f'href="report/{name}"' in html
    page = (output / "report" / f"{SAMPLE.stem}.html").read_text(encoding="utf-8")
    assert '<mark class="entity"' in page and "DISEASE" in page
    assert "repeated copy of lines" in page  # removals with their reasons
    assert "https://" not in page and "<script" not in page


def test_report_lists_at_most_max_pairs(output: Path, tmp_path: Path, config: Config) -> None:
    out = tmp_path / "out"
    shutil.copytree(output, out)
    write_products(out, config, ProductsSettings(report=ReportSettings(max_pairs=0)))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "The first 0 of 1 near-duplicates; all of them are in duplicates.csv." in html
    assert len(list(csv.DictReader((out / "duplicates.csv").open(encoding="utf-8")))) == 1


def test_suspicious_documents_are_flagged(output: Path) -> None:
    html = (output / "report.html").read_text(encoding="utf-8")
    flagged = html.split("<h2>Flagged documents</h2>")[1].split("<h2>")[0]
    assert "short: " in flagged and Path(OTHER).stem in flagged  # the short gout page
    # two scraper copies (2/3 of the text) are normal: the default bound (0.8) does not flag them
    assert SAMPLE.stem not in flagged


def test_cli_regenerates_and_prints_the_report_path(output: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.products.__main__ import main

    out = tmp_path / "out"
    shutil.copytree(output, out)
    before = (out / "report.html").read_bytes()
    (out / "report.html").unlink()
    assert main([str(out), "--config", str(output.parent / "configs" / "run.yaml")]) == 0
    assert capsys.readouterr().out.strip() == str((out / "report.html").resolve())
    assert (out / "report.html").read_bytes() == before
    assert main([str(tmp_path / "missing")]) == 2


def test_products_are_the_same_bytes_with_a_pool(output: Path, tmp_path: Path) -> None:
    """The per-document product work may run in worker processes: same files either way."""
    from pipeline.config import load_config
    from pipeline.products import write_products

    config = load_config(output.parent / "configs" / "run.yaml")
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(output, one)
    shutil.copytree(output, two)
    write_products(one, config, workers=1)
    write_products(two, config, workers=2)
    for path in sorted(p for p in one.rglob("*") if p.is_file() and ".state" not in p.parts):
        assert (two / path.relative_to(one)).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("drop", [False, True])
def test_products_of_a_batch_equal_products_regenerated_from_its_files(tmp_path: Path, drop: bool) -> None:
    """run_batch makes the products (document pages included) from what it scanned while
    writing; regenerating them from the folder alone gives the same bytes, also when a
    duplicate is dropped (its page then says so)."""
    config = make_config(tmp_path / "configs")
    if drop:
        run_yaml = tmp_path / "configs" / "run.yaml"
        data = yaml.safe_load(run_yaml.read_text(encoding="utf-8"))
        data["products"] = {"duplicates": {"drop": True}}
        run_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        config = load_config(run_yaml)
    out = tmp_path / "processed"
    (out / "report").mkdir(parents=True)
    (out / "report" / "gone.html").write_text("a page of a document no longer in the input", encoding="utf-8")
    summary = run_batch(config, make_raw(tmp_path / "raw"), out, workers=1, progress=False)
    assert summary.products["duplicates_dropped"] == (1 if drop else 0)
    assert not (out / "report" / "gone.html").exists()
    copy_page = (out / "report" / f"{Path(COPY).stem}.html").read_text(encoding="utf-8")
    assert ("near-duplicate of" in copy_page) == drop
    again = tmp_path / "again"
    shutil.copytree(out, again)
    write_products(again, config)
    files = sorted(p for p in out.rglob("*") if p.is_file() and ".state" not in p.parts)
    assert sum(p.parent.name == "report" for p in files) == 3
    for path in files:
        assert (again / path.relative_to(out)).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("in_worker", [False, True])
def test_scanned_checks_equal_the_checks_of_the_files(output: Path, tmp_path: Path, in_worker: bool) -> None:
    """Scan validates the rows the writer wrote (or counts those a worker found valid);
    validate_output reads them back: same report, row numbers included, for a corpus with a
    broken mention row."""
    bad = tmp_path / "bad"
    shutil.copytree(output, bad)
    records = lines(bad / "corpus.jsonl")
    records[1]["entities"][3]["start"] = -1
    writer = CorpusWriter(bad)
    scan = Scan(ProductsSettings())
    derive = Deriver(ProductsSettings(), check=True)
    for rank, record in enumerate(records):
        result = DocResult(doc_id=str(record["doc_id"]), source="", status="ok", record=record)
        if in_worker:
            pack(result, derive)
            assert (result.record is None) == (rank != 1)  # kept only where invalid
        counts = writer.write(result, result.rows)
        scan.add(result.doc_id, rank, counts, result.derived, result.record)
    writer.commit(json.loads((bad / "manifest.json").read_text(encoding="utf-8")))
    checker = Checker(20)
    scan.report_to(checker)
    from_files = validate_output(bad)
    assert from_files.n_errors >= 2  # the record and its Parquet row
    assert checker.report == from_files
    assert any("entities.parquet row" in e for e in from_files.errors)


def test_packed_concept_counts_give_the_same_totals_and_card(output: Path) -> None:
    """The writing process keeps each document's concept counts packed against a corpus-wide
    index; totals, per-concept document counts and the card are those of the plain Counters,
    with a dropped duplicate left out of both."""
    import copy

    from pipeline.products.card import card
    from pipeline.products.stats import ConceptIndex, CorpusSummary, summarize

    records = lines(output / "corpus.jsonl")
    plain = [summarize(r, []) for r in records]  # type: ignore[arg-type]
    plain[-1].duplicate_of = plain[0].doc_id
    packed = copy.deepcopy(plain)
    index = ConceptIndex()
    for d in packed:
        index.pack(d)
        assert not d.concepts and d.packed is not None
    a, b = CorpusSummary(docs=plain), CorpusSummary(docs=packed, concept_index=index)
    assert sum(a.total("concepts").values()) > 0
    assert a.concept_totals == b.concept_totals
    assert a.top_concepts(20) == b.top_concepts(20)
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    assert card(a, manifest, ProductsSettings()) == card(b, manifest, ProductsSettings())
    everything = CorpusSummary(docs=copy.deepcopy(plain))
    everything.docs[-1].duplicate_of = None
    assert everything.concept_totals != a.concept_totals  # the dropped copy counted once more


def test_rows_are_checked_in_one_call_with_the_messages_of_row_by_row(output: Path) -> None:
    """`row_errors` checks a document's rows as one list (`array_of`), and only for an invalid
    list goes row by row: no message for valid rows, and for a broken one the same messages,
    row numbers included, as checking every row alone."""
    validators = Validators.load()
    sections, mentions = table_rows(lines(output / "corpus.jsonl")[0])
    assert len(mentions) > 10
    assert row_errors(validators, "section", sections, "s") == []
    assert row_errors(validators, "mention", mentions, "m", first=5) == []
    mentions[7]["start"] = "7"
    sections[2].pop("level")
    for kind, rows, validator in (("mention", mentions, validators.mention), ("section", sections, validators.section)):
        one_by_one = [m for i, row in enumerate(rows, 5) for m in shape_errors(validator, row, f"f row {i}")]
        assert one_by_one and row_errors(validators, kind, rows, "f", first=5) == one_by_one
    assert "f row 12: start" in row_errors(validators, "mention", mentions, "f", first=5)[0]

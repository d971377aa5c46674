"""The entity evaluation scorer (pipeline/eval.py) on tiny synthetic predictions and gold.

The pipeline itself is never run here; the last tests only check that the committed gold
files are well formed and agree with their documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.eval import (
    DEFAULT_DOCS,
    DEFAULT_GOLD,
    Counts,
    GoldConcept,
    GoldError,
    gold_problems,
    load_gold_dir,
    main,
    match_keys,
    micro,
    normalize,
    parse_gold,
    predicted_concepts,
    score_corpus,
    score_document,
    scores_json,
    table,
)


def concept(name: str, label: str, *variants: str, **kw: Any) -> GoldConcept:
    return GoldConcept(name=name, label=label, variants=variants or (name,), **kw)


def mention(text: str, label: str) -> dict[str, Any]:
    return {"section_id": "s1", "start": 0, "end": len(text), "text": text, "label": label,
            "kb_id": None, "kb_name": None, "source": "test"}


def record(doc_id: str, entities: list[tuple[str, str]], headings: list[tuple[str, str]] = ()) -> dict[str, Any]:
    return {"doc_id": doc_id, "entities": [mention(t, lab) for t, lab in entities],
            "heading_entities": [mention(t, lab) for t, lab in headings]}


def score(entities: list[tuple[str, str]], gold: list[GoldConcept], headings: list[tuple[str, str]] = ()):
    return score_document("d", predicted_concepts(record("d", entities, headings)), gold)


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("Liver", "liver"),
        ("  lymph\n  nodes ", "lymph nodes"),
        ("(VEGF),", "vegf"),
        ("“POEMS”", "poems"),
        ("IL-6", "il 6"),
        ("M\u2013protein", "m protein"),
        ("Crohn’s disease", "crohn's disease"),
        ("CD4+ T lymphocytes.", "cd4+ t lymphocytes"),
        ("...", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "text,key",
    [
        ("lesions", "lesion"),
        ("lymph nodes", "lymph node"),
        ("diseases", "disease"),
        ("endocrinopathies", "endocrinopathy"),
        ("x rays", "x ray"),
    ],
)
def test_plural_fold(text: str, key: str) -> None:
    assert key in match_keys(text)


@pytest.mark.parametrize("text", ["sarcoidosis", "diabetes mellitus", "illness", "ms", "il 6", "edema"])
def test_no_fold(text: str) -> None:
    assert match_keys(text) == {text}


# --------------------------------------------------------------------------- predictions


def test_predicted_concepts_dedupe_and_merge_headings() -> None:
    rec = record("d", [("Liver", "ANATOMY"), ("liver", "ANATOMY"), ("liver ", "ORGAN"), ("  ", "DRUG")],
                 headings=[("Liver", "ANATOMY"), ("Chemotherapy", "PROCEDURE")])
    got = {(p.text, p.label) for p in predicted_concepts(rec)}
    assert got == {("liver", "ANATOMY"), ("liver", "ORGAN"), ("chemotherapy", "PROCEDURE")}


def test_predicted_concepts_missing_keys() -> None:
    assert predicted_concepts({"doc_id": "x"}) == []


# --------------------------------------------------------------------------- scoring


def test_perfect_match() -> None:
    gold = [concept("VEGF", "PROTEIN", "VEGF", "vascular endothelial growth factor"), concept("liver", "ANATOMY")]
    s = score([("vascular endothelial growth factor", "PROTEIN"), ("VEGF", "PROTEIN"), ("Liver", "ANATOMY")], gold)
    assert s.counts["PROTEIN"] == Counts(pred=2, pred_tp=2, gold=1, gold_tp=1)
    assert s.counts["ANATOMY"] == Counts(pred=1, pred_tp=1, gold=1, gold_tp=1)
    assert s.overall.precision == s.overall.recall == s.overall.f1 == 1.0
    assert not s.false_positives and not s.false_negatives


def test_plural_and_case_variants_match() -> None:
    gold = [concept("lymph nodes", "ANATOMY", "lymph nodes"), concept("bone lesions", "SYMPTOM", "bone lesions")]
    s = score([("Lymph node", "ANATOMY"), ("bone lesion", "SYMPTOM")], gold)
    assert s.overall == Counts(pred=2, pred_tp=2, gold=2, gold_tp=2)


def test_wrong_label_is_false_positive_and_false_negative() -> None:
    gold = [concept("VEGF", "PROTEIN")]
    s = score([("VEGF", "DRUG")], gold)
    assert s.counts["DRUG"] == Counts(pred=1, pred_tp=0)
    assert s.counts["PROTEIN"] == Counts(gold=1, gold_tp=0)
    assert [(p.surface, why) for p, why in s.false_positives] == [("VEGF", "label")]
    assert [c.name for c in s.false_negatives] == ["VEGF"]


def test_unknown_prediction_is_false_positive() -> None:
    s = score([("Anatomy", "ANATOMY")], [concept("liver", "ANATOMY")])
    assert [(p.surface, why) for p, why in s.false_positives] == [("Anatomy", "unknown")]
    assert s.counts["ANATOMY"] == Counts(pred=1, pred_tp=0, gold=1, gold_tp=0)
    assert s.counts["ANATOMY"].f1 == 0.0


def test_drug_class_accepts_drug() -> None:
    gold = [concept("corticosteroids", "PROTEIN", "corticosteroids", is_class=True), concept("VEGF", "PROTEIN")]
    s = score([("corticosteroids", "DRUG"), ("VEGF", "DRUG")], gold)
    assert s.counts["DRUG"] == Counts(pred=2, pred_tp=1)
    assert s.counts["PROTEIN"] == Counts(gold=2, gold_tp=1)


def test_also_labels() -> None:
    gold = [concept("IVIG", "DRUG", "IVIG", also=frozenset({"PROTEIN"}))]
    assert score([("IVIG", "PROTEIN")], gold).overall == Counts(pred=1, pred_tp=1, gold=1, gold_tp=1)
    assert score([("IVIG", "SYMPTOM")], gold).overall == Counts(pred=1, pred_tp=0, gold=1, gold_tp=0)


def test_optional_counts_for_precision_only() -> None:
    gold = [concept("skin", "ANATOMY", optional=True), concept("liver", "ANATOMY")]
    s = score([("skin", "ANATOMY")], gold)
    assert s.counts["ANATOMY"] == Counts(pred=1, pred_tp=1, gold=1, gold_tp=0)
    assert [c.name for c in s.false_negatives] == ["liver"]


def test_exact_match_preferred_over_fold() -> None:
    # "bones" folds to "bone"; the exact variant of another concept wins the match.
    gold = [concept("bone", "ANATOMY", "bone"), concept("BONES score", "PROCEDURE", "bones")]
    s = score([("bones", "PROCEDURE")], gold)
    assert s.counts["PROCEDURE"] == Counts(pred=1, pred_tp=1, gold=1, gold_tp=1)
    assert s.counts["ANATOMY"] == Counts(gold=1, gold_tp=0)


def test_concept_recall_counts_concepts_not_mentions() -> None:
    gold = [concept("VEGF", "PROTEIN", "VEGF", "vascular endothelial growth factor"), concept("IL-6", "PROTEIN")]
    s = score([("VEGF", "PROTEIN"), ("VEGF", "PROTEIN")], gold)
    assert s.counts["PROTEIN"] == Counts(pred=1, pred_tp=1, gold=2, gold_tp=1)
    assert s.counts["PROTEIN"].precision == 1.0
    assert s.counts["PROTEIN"].recall == 0.5
    assert s.counts["PROTEIN"].f1 == pytest.approx(2 / 3)


def test_heading_entities_are_scored() -> None:
    s = score([], [concept("chemotherapy", "PROCEDURE")], headings=[("Chemotherapy", "PROCEDURE")])
    assert s.overall == Counts(pred=1, pred_tp=1, gold=1, gold_tp=1)


def test_unlisted_label_is_kept() -> None:
    s = score([("liver", "ORGAN")], [concept("liver", "ANATOMY")])
    assert s.counts["ORGAN"] == Counts(pred=1, pred_tp=0)
    assert "ORGAN" in table(s.counts)


def test_empty_ratios_are_none() -> None:
    c = Counts()
    assert (c.precision, c.recall, c.f1) == (None, None, None)
    assert Counts(pred=2, pred_tp=0, gold=0).f1 is None


def test_micro_average_sums_counts() -> None:
    gold = {"a": [concept("liver", "ANATOMY"), concept("spleen", "ANATOMY")], "b": [concept("MRI", "PROCEDURE")]}
    records = {"a": record("a", [("liver", "ANATOMY"), ("heart", "ANATOMY")]), "b": record("b", [("MRI", "PROCEDURE")]),
               "c": record("c", [("x", "DRUG")])}
    scores, warnings = score_corpus(records, gold)
    assert [s.doc_id for s in scores] == ["a", "b"]
    assert warnings == ["c: no gold file, not scored"]
    total = micro(scores)
    assert total["ANATOMY"] == Counts(pred=2, pred_tp=1, gold=2, gold_tp=1)
    assert sum(total.values(), Counts()) == Counts(pred=3, pred_tp=2, gold=3, gold_tp=2)
    out = scores_json(scores)
    assert out["micro"]["overall"]["precision"] == pytest.approx(2 / 3)
    assert out["documents"]["a"]["false_negatives"][0]["name"] == "spleen"


def test_missing_record_predicts_nothing() -> None:
    scores, warnings = score_corpus({}, {"a": [concept("liver", "ANATOMY")]})
    assert scores[0].overall == Counts(gold=1)
    assert "no prediction record" in warnings[0]


# --------------------------------------------------------------------------- gold files


def test_parse_gold() -> None:
    entries = [{"name": "corticosteroids", "label": "DRUG", "class": True, "variants": ["corticosteroids"]},
               {"name": "IVIG", "label": "DRUG", "also": ["PROTEIN"], "optional": True, "variants": ["IVIG"]}]
    a, b = parse_gold(entries)
    assert a.is_class and not a.optional
    assert b.optional and b.also == frozenset({"PROTEIN"})


@pytest.mark.parametrize(
    "entries,needle",
    [
        ({"name": "x"}, "list"),
        ([{"name": "x", "label": "GENE", "variants": ["x"]}], "label"),
        ([{"name": "x", "label": "DRUG", "variants": []}], "variants"),
        ([{"name": "x", "label": "DRUG", "variants": ["x"], "colour": 1}], "unknown key"),
        ([{"name": "x", "label": "DRUG", "variants": ["x"], "also": ["GENE"]}], "also"),
    ],
)
def test_parse_gold_errors(entries: Any, needle: str) -> None:
    with pytest.raises(GoldError, match=needle):
        parse_gold(entries)


def test_gold_problems() -> None:
    gold = [concept("a", "DRUG", "aspirin"), concept("b", "DRUG", "Aspirin"), concept("c", "DRUG", "heparin")]
    problems = gold_problems(gold, "Aspirin was given.")
    assert any("belongs to both" in p for p in problems)
    assert any("'heparin' not found" in p for p in problems)


def test_main_scores_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / "d.yaml").write_text("- {name: liver, label: ANATOMY, variants: [liver]}\n", encoding="utf-8")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps(record("d", [("Liver", "ANATOMY"), ("Spleen", "DRUG")])) + "\n", encoding="utf-8")
    out = tmp_path / "scores.json"
    assert main(["--gold", str(gold_dir), "--corpus", str(corpus), "--json", str(out), "--verbose"]) == 0
    text = capsys.readouterr().out
    assert "micro-average over 1 documents" in text and "'Spleen'" in text
    assert json.loads(out.read_text())["micro"]["overall"]["recall"] == 1.0


def test_main_without_corpus_file(tmp_path: Path) -> None:
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / "d.yaml").write_text("[]\n", encoding="utf-8")
    assert main(["--gold", str(gold_dir), "--corpus", str(tmp_path / "missing.jsonl")]) == 2


# --------------------------------------------------------------------------- committed fixtures


def test_every_eval_doc_has_gold_that_fits_it() -> None:
    gold = load_gold_dir(DEFAULT_GOLD)
    docs = {p.stem: p for p in DEFAULT_DOCS.glob("*.txt")}
    assert set(gold) == set(docs) and len(docs) >= 3
    for doc_id, concepts in gold.items():
        text = docs[doc_id].read_text(encoding="utf-8")
        assert len([c for c in concepts if not c.optional]) >= 50, doc_id
        assert gold_problems(concepts, text) == [], doc_id

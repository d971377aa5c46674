"""section_type: the rules file, the pure classifier and the stage on a real document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.document import Document, Section
from pipeline.products.schema import load_schema
from pipeline.stages import RunContext, StageError
from pipeline.stages.section_type import Classifier, SectionTypeRules, Settings, assign_types, build, heading_key, load_rules

from .conftest import ROOT

RULES = ROOT / "configs" / "section_types.yaml"
VOCABULARY = [
    "overview", "epidemiology", "pathophysiology", "etiology", "genetics", "prognosis", "clinical_presentation",
    "physical_examination", "differential_diagnosis", "diagnosis_laboratory", "diagnosis_imaging", "staging",
    "treatment", "medication", "procedure", "lifestyle", "follow_up", "other",
]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_rules(load_rules(RULES))


def test_vocabulary_is_the_controlled_one_and_the_schema_enum() -> None:
    rules = load_rules(RULES)
    assert sorted(rules.types) == sorted(VOCABULARY)
    for name in ("corpus", "section"):
        schema = load_schema(name)
        enum = (schema["$defs"]["section"] if name == "corpus" else schema)["properties"]["section_type"]["enum"]
        assert sorted(enum) == sorted(VOCABULARY)


@pytest.mark.parametrize(("heading", "expected"), [
    ("Differential Diagnoses", "differential_diagnosis"),
    ("differential-diagnosis", "differential_diagnosis"),
    ("DIFFERENTIAL DIAGNOSIS:", "differential_diagnosis"),
    ("How is POEMS syndrome diagnosed?", "diagnosis_laboratory"),
    ("Diagnosis", "diagnosis_laboratory"),
    ("Laboratory Studies", "diagnosis_laboratory"),
    ("Imaging Studies", "diagnosis_imaging"),
    ("What are the symptoms of gout?", "clinical_presentation"),
    ("Signs and Symptoms", "clinical_presentation"),
    ("Symptom Management", "treatment"),
    ("What is gout?", "overview"),
    ("Prognostic Factors", "prognosis"),
    ("Risk factors", "etiology"),
    ("lifestyle-modifications", "lifestyle"),
    ("Monitoring and Follow-up", "follow_up"),
    ("Use of melphalan in treating POEMS syndrome", "medication"),
    ("Surgical Interventions", "procedure"),
    ("Treatment by Stage", "treatment"),
    ("Staging", "staging"),
    ("Physical Examination", "physical_examination"),
    ("Genetics", "genetics"),
    ("Epidemiology", "epidemiology"),
    ("Who is more likely to get gastroparesis?", "epidemiology"),
    ("Is shingles contagious?", "etiology"),
    ("What will happen to me?", "prognosis"),
    ("Testing for celiac disease", "diagnosis_laboratory"),
    ("When to see a GP", "clinical_presentation"),
    ("When Should I Call the Doctor?", "clinical_presentation"),
])
def test_headings_group_sensibly(classifier: Classifier, heading: str, expected: str) -> None:
    assert classifier.assign(heading, []) == (expected, "heading")


def test_opening_ancestors_and_unknown(classifier: Classifier) -> None:
    assert classifier.assign(None, []) == ("overview", "opening")
    assert classifier.assign("bortezomib", ["Use of proteasome inhibitors in POEMS syndrome"]) == ("medication", "ancestor")
    assert classifier.assign("Quux", ["Zorp", "Treatment"]) == ("treatment", "ancestor")  # nearest typed ancestor
    assert classifier.assign("Miscellanea", []) == ("other", "unknown")
    assert classifier.assign("Sources", ["Hypothyroidism", "Outlook"]) == ("other", "heading")  # back matter
    assert classifier.assign("Living with asthma", []) == ("lifestyle", "heading")


def test_plural_and_slug_forms_meet() -> None:
    assert heading_key("Differential-Diagnoses") == heading_key("differential diagnosis")


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"unexpected": 1}, "unexpected"),
    ({"default": "nonsense"}, "default"),
    ({"types": {"other": {"description": "x", "patterns": ["(unclosed"]}}}, "not a valid regex"),
    ({"types": {"other": {"description": "x", "synonym": ["typo key"]}}}, "synonym"),
    ({"types": {"a": {"description": "x", "synonyms": ["Dx"]}, "other": {"description": "y", "synonyms": ["dx"]}}},
     "belongs to both"),
])
def test_rules_file_is_validated(tmp_path: Path, change: dict[str, object], message: str) -> None:
    data = {"version": 1, "opening": "other", "default": "other", "types": {"other": {"description": "x"}}, **change}
    with pytest.raises(ValueError, match=message):
        load_rules(_write(tmp_path, data))


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValueError):
        Settings.model_validate({"rule": "x.yaml"})


def test_stage_sets_types_and_counts_unknown_headings() -> None:
    stage = build(Settings(), RunContext(config_dir=RULES.parent))
    doc = Document("d", "d.txt", b"", "0" * 64, steps=["segment"])
    doc.sections = [
        Section("d:000", None, None, 0, [], ["intro"]),
        Section("d:001", "Differential Diagnoses", "Differential Diagnoses", 1, [], ["x"]),
        Section("d:002", "Miscellanea", "Miscellanea", 1, [], ["y"]),
        Section("d:003", "Zorp", "Zorp", 2, ["Miscellanea"], ["z"]),
    ]
    doc = stage(doc)
    assert [s.section_type for s in doc.sections] == ["overview", "differential_diagnosis", "other", "other"]
    assert doc.stats["section_type"] == {"typed_by_heading": 1, "typed_by_ancestor": 0, "unknown_headings": 2}
    assert stage.provenance["rules_version"] == str(load_rules(RULES).version) and len(stage.provenance["rules_hash"]) == 16


def test_stage_refuses_unsegmented_documents_and_bad_rules(tmp_path: Path) -> None:
    stage = build(Settings(), RunContext(config_dir=RULES.parent))
    with pytest.raises(StageError):
        stage(Document("d", "d.txt", b"", "0" * 64))
    (tmp_path / "section_types.yaml").write_text("version: 0\n", encoding="utf-8")
    with pytest.raises(StageError, match=r"section_types\.yaml"):
        build(Settings(), RunContext(config_dir=tmp_path))


def test_rules_model_is_strict() -> None:
    with pytest.raises(ValueError):
        SectionTypeRules.model_validate({"version": 1, "opening": "a", "default": "a", "types": {"A-b": {"description": "x"}}})


def test_a_leading_title_heading_is_the_opening() -> None:
    from pipeline.document import Section
    from pipeline.stages.section_type import Classifier, assign_types, load_rules

    classifier = Classifier.from_rules(load_rules(RULES))
    sections = [Section("d:000", "Celiac Disease", "# Celiac Disease", 1, [], ["Celiac disease is ..."]),
                Section("d:001", "Epidemiology", "## Epidemiology", 2, ["Celiac Disease"], ["1%"])]
    counts = assign_types(sections, classifier, title="Celiac Disease")
    assert [s.section_type for s in sections] == ["overview", "epidemiology"]
    assert counts["unknown"] == 0
    sections[0].section_type = "other"
    assign_types(sections, classifier, title=None)
    assert sections[0].section_type == "other"


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(
    ["differential", "diagnosis", "imaging", "CT", "scan", "treatment", "of", "the", "Symptoms", "management", "gene",
     "prognosis", "what", "is", "x-ray", "work-up", "lab", "Tests", "medication", "surgery", "stage", "risk"]
) | st.text(max_size=6), max_size=5))
def test_classify_is_the_first_matching_pattern(classifier: Classifier, words: list[str]) -> None:
    """The literal-gated patterns give what trying every pattern in rule order gives."""
    heading = " ".join(words)
    key = heading_key(heading)
    plain = classifier.synonyms.get(key) or next((n for n, p in classifier.patterns if p.search(key)), None)
    assert classifier.classify(heading) == plain


@pytest.mark.parametrize(
    ("heading", "expected"),
    [("Investigations", "diagnosis_laboratory"), ("Preventive treatment", "treatment"),
     ("Enhancing Healthcare Team Outcomes", "other"), ("Show references", "other"), ("Related articles", "other")],
)
def test_review_headings_from_other_sites(classifier: Classifier, heading: str, expected: str) -> None:
    assert classifier.classify(heading) == expected


def test_the_title_section_is_the_opening_and_passes_no_type_down(classifier: Classifier) -> None:
    title = "Anticoagulation for stroke prevention in atrial fibrillation"
    sections = [
        Section("d:000", None, None, 0, [], ["PubMed record."]),
        Section("d:001", title, title, 1, [], ["Abstract text."]),
        Section("d:002", "Affiliations", "Affiliations", 2, [title], ["1 Department of Cardiology"]),
        Section("d:003", "Methods", "Methods", 2, [title], ["We searched."]),
    ]
    assign_types(sections, classifier, title=title)
    assert [s.section_type for s in sections] == ["overview", "overview", "other", "other"]

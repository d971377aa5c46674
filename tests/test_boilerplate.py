from pipeline.config import SiteConfig
from pipeline.document import Block, Document
from pipeline.sites import compile_site
from pipeline.stages import RunContext
from pipeline.stages.boilerplate import Boilerplate, Settings, tail_zone


def _run(lines: list[str], sites: dict | None = None, site: str = "auto") -> Document:
    doc = Document(doc_id="d", source="d", raw=b"", sha256="", text="\n".join(lines))
    doc.blocks = [Block(t, i + 1) for i, t in enumerate(lines)]
    ctx = RunContext(config_dir=".", sites=sites or {}, site=site)
    return Boilerplate(Settings(), ctx)(doc)


BODY = [
    "Sarcoidosis is a granulomatous disease of unknown cause that affects the lungs.",
    "Treatment uses corticosteroids such as prednisone for symptomatic disease.",
    "It shares features with tuberculosis, and points of difference are listed below.",
]
MARKETING = [
    "Subscribe to our newsletter for free CME credits.",
    "Download our app from the App Store or Google Play.",
    "Earn certificates",
    "Copyright © 2024 MedSite. All rights reserved.",
]


def test_generic_marketing_tail_is_removed_without_site_config() -> None:
    doc = _run(BODY + MARKETING)
    assert [b.text for b in doc.blocks] == BODY
    assert doc.stats["boilerplate"]["lines_removed"] == len(MARKETING)
    assert all(r.reason for r in doc.removed)


def test_medical_text_with_a_single_cue_stays() -> None:
    doc = _run(BODY)
    assert [b.text for b in doc.blocks] == BODY


def test_site_tail_start_and_line_patterns() -> None:
    site = compile_site(SiteConfig(name="ex", detect=["example"],
                                   boilerplate={"tail_start": ["^Our plans"], "lines": ["^Share$"]}))
    lines = ["example body one.", "Share", "More body text here.", "Our plans", "Anything at all"]
    doc = _run(lines, {"ex": site})
    assert doc.site == "ex"
    assert [b.text for b in doc.blocks] == ["example body one.", "More body text here."]
    assert any("site ex" in r.reason for r in doc.removed)


def test_tail_zone_rules() -> None:
    assert tail_zone([0, 0, 1, 0, 0, 1], 1, 2) == 2
    assert tail_zone([1, 0, 0, 0, 1], 1, 2) == 4
    assert tail_zone([1, 1, 0], 1, 2) == 3


def test_lines_learned_from_the_batch() -> None:
    from pipeline.stages.boilerplate import learn_lines, line_key, line_keys

    lines = [
        "Treatment Paradigm",  # a template heading: recurs everywhere, stays
        "Last updated: 12 March 2024",  # a cue: removed
        "Age group",  # a sentence-case template heading: stays
        "Home | Diseases | Drugs",  # navigation: removed
        "This website is for educational purposes only and gives no advice on care.",  # cue: removed
        "Corticosteroids such as prednisone are the first-line therapy for this condition in adults.",  # prose: stays
        "A paragraph that only this document has.",
    ]
    docs = [line_keys("\n".join(lines[:6])) for _ in range(5)] + [line_keys("\n".join(lines))]
    learned = learn_lines(docs, 5)
    assert line_key(lines[6]) not in learned and len(learned) == 6
    doc = Document(doc_id="d", source="d", raw=b"", sha256="", text="\n".join(lines))
    doc.blocks = [Block(t, i + 1) for i, t in enumerate(lines)]
    doc.batch_lines = frozenset(learned)
    ctx = RunContext(config_dir=".", sites={}, site="none")
    out = Boilerplate(Settings(), ctx)(doc)
    assert [b.text for b in out.blocks] == [lines[0], lines[2], lines[5], lines[6]]
    assert all("recurs in 5 or more documents" in r.reason for r in out.removed)


def test_unrelated_documents_do_not_change_a_result() -> None:
    """Only learned lines that occur in a document can change it."""
    doc_lines = ["Sarcoidosis is a granulomatous disease of the lungs.", "Treatment uses prednisone."]

    def run(batch_lines: frozenset[str]) -> list[str]:
        doc = Document(doc_id="d", source="d", raw=b"", sha256="")
        doc.blocks = [Block(t, i + 1) for i, t in enumerate(doc_lines)]
        doc.batch_lines = batch_lines
        return [b.text for b in Boilerplate(Settings(), RunContext(config_dir=".", site="none"))(doc).blocks]

    assert run(frozenset()) == run(frozenset({"share this article"})) == doc_lines


def test_short_chrome_lines_inside_the_body_go() -> None:
    lines = [BODY[0], "Advertisement", BODY[1], "Share this:", BODY[2], "Points to remember"]
    doc = _run(lines)
    assert [b.text for b in doc.blocks] == [BODY[0], BODY[1], BODY[2], "Points to remember"]


def test_bylines_and_page_metadata_go_prose_starting_with_by_stays() -> None:
    byline = "By Michael C. Levin, MD, University of Saskatchewan"
    lines = [byline, "Reviewed/Revised Mar 2024", BODY[0], "By mid-2024, most patients had improved with therapy.",
             BODY[1], "Updated by: Jane K. Doe, MD, Department of Medicine, City Hospital, Springfield.", BODY[2]]
    doc = _run(lines)
    assert [b.text for b in doc.blocks] == [BODY[0], lines[3], BODY[1], BODY[2]]
    reasons = {r.text: r.reason for r in doc.removed}
    assert "byline" in reasons[byline] and "credentials" in reasons[byline]


def test_breadcrumb_above_the_body_goes_and_a_pipe_row_in_the_body_stays() -> None:
    row = "Methotrexate | 15 mg | weekly"
    doc = _run(["Health Library | Arthritis Center", "Home › Conditions › Sarcoidosis", "Sarcoidosis", *BODY, row])
    assert [b.text for b in doc.blocks] == ["Sarcoidosis", *BODY, row]
    assert {r.reason for r in doc.removed} == {"navigation line before the body (breadcrumb or menu)"}
    assert [r.line_start for r in doc.removed] == [1, 2]


def test_page_numbers_running_heads_and_break_markers_go_anywhere() -> None:
    page = ["J Clin Cardiol Rev 2023;12(4)    Page 2 of 4", "Continued", "Page 3/4"]
    doc = _run([BODY[0], page[0], BODY[1], page[1], BODY[2], page[2], "Symptoms continued to worsen over a week."])
    assert [b.text for b in doc.blocks] == [*BODY, "Symptoms continued to worsen over a week."]
    assert {r.reason for r in doc.removed} == {"page header, footer or break marker"}


def test_link_only_lines_above_the_body_go() -> None:
    from pipeline.document import Link

    doc = Document(doc_id="d", source="d", raw=b"", sha256="", text="")
    doc.blocks = [
        Block("Home", 1, "item", links=[Link("Home", "/", None, 0, 4)]),
        Block("Skip to main content", 2, links=[Link("Skip to main content", "#main", None, 0, 20)]),
        Block("Celiac disease", 3, "heading", 1),
        Block(BODY[0], 4),
        Block("Cluster headache", 5, "item", links=[Link("Cluster headache", "/ch", None, 0, 16)]),  # in the body: stays
    ]
    out = Boilerplate(Settings(), RunContext(config_dir=".", sites={}, site="auto"))(doc)
    assert [b.text for b in out.blocks] == ["Celiac disease", BODY[0], "Cluster headache"]


def test_web_page_bylines_and_appointment_chrome_go() -> None:
    lines = ["Written by WebMD Editorial Contributors", "Request an appointment", BODY[0],
             "Written by hand, the notes were lost, and the diagnosis was delayed for weeks in this patient."]
    doc = _run(lines)
    assert [b.text for b in doc.blocks] == lines[2:]


def test_calls_to_action_go_on_their_own_and_strong_cues_must_be_cues() -> None:
    import pytest
    from pydantic import ValidationError

    lines = [BODY[0], "Access free multiple choice questions on this topic.", BODY[1],
             "Feeling unwell? Start symptom checker", BODY[2], "Continue reading below", BODY[0] + " Again."]
    doc = _run(lines)
    assert [b.text for b in doc.blocks] == [BODY[0], BODY[1], BODY[2], BODY[0] + " Again."]
    with pytest.raises(ValidationError, match="no marketing cue: nope"):
        Settings(strong_cues=["nope"])

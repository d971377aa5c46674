from pipeline.config import SiteConfig
from pipeline.document import Block, Document, Removal
from pipeline.sites import compile_site
from pipeline.stages import RunContext
from pipeline.stages.segment import Segment, Settings


def _segment(lines: list[str] | list[Block], sites: dict | None = None, site: str | None = None):
    doc = Document(doc_id="d", source="d", raw=b"", sha256="", site=site)
    doc.blocks = [b if isinstance(b, Block) else Block(b, i + 1) for i, b in enumerate(lines)]
    doc.steps.append("boilerplate")
    ctx = RunContext(config_dir=".", sites=sites or {})
    return Segment(Settings(), ctx)(doc)


def _tree(doc: Document) -> list[tuple[int, str | None, int]]:
    return [(s.level, s.heading, len(s.paragraphs)) for s in doc.sections]


BODY = "This is a body paragraph with enough words to read as prose, and it ends with a period."


def test_untitled_opening_and_term_definitions_are_paragraphs() -> None:
    doc = _segment([BODY, "Epidemiology", BODY, "Plasma cell dyscrasia: the clone grows in the marrow.", BODY])
    assert _tree(doc) == [(0, None, 1), (1, "Epidemiology", 3)]


def test_colon_subheadings_are_level_two_under_a_main_heading() -> None:
    doc = _segment(["Treatment", BODY, "Supportive Care:", BODY, "Radiation therapy:", BODY])
    assert _tree(doc) == [(1, "Treatment", 1), (2, "Supportive Care", 1), (2, "Radiation therapy", 1)]
    assert doc.sections[1].path == ["Treatment"]
    assert doc.sections[1].heading_raw == "Supportive Care:"


def test_list_after_colon_intro_is_paragraphs() -> None:
    doc = _segment(["Epidemiology", "The term stands for the main features of the syndrome:",
                    "Polyneuropathy (P)", "Organomegaly (O)", "Skin changes (S)", BODY])
    assert _tree(doc) == [(1, "Epidemiology", 5)]


def test_list_of_short_lines_without_intro_is_paragraphs() -> None:
    doc = _segment(["Symptoms", BODY, "Fatigue", "Weight loss", "Night sweats", BODY])
    assert _tree(doc) == [(1, "Symptoms", 5)]


def test_markdown_numbered_and_caps_headings() -> None:
    doc = _segment(["# Sarcoidosis", BODY, "## 1. Epidemiology", BODY, "1.1 Incidence", BODY,
                    "CLINICAL PRESENTATION", BODY, "IV. Treatment", BODY])
    assert [(s.level, s.heading) for s in doc.sections] == [
        (1, "Sarcoidosis"), (2, "Epidemiology"), (2, "Incidence"), (1, "CLINICAL PRESENTATION"), (1, "Treatment"),
    ]
    assert doc.title == "Sarcoidosis"


def test_plain_headings_nest_under_numbered_or_caps_ones() -> None:
    doc = _segment(["MULTIPLE SCLEROSIS", BODY, "1. ETIOLOGY", BODY, "2. TREATMENT", BODY,
                    "Disease-modifying therapy", BODY, "Symptomatic treatment", BODY, "3. PROGNOSIS", BODY])
    assert [(s.level, s.heading_raw) for s in doc.sections] == [
        (1, "MULTIPLE SCLEROSIS"), (1, "1. ETIOLOGY"), (1, "2. TREATMENT"), (2, "Disease-modifying therapy"),
        (2, "Symptomatic treatment"), (1, "3. PROGNOSIS"),
    ]
    # One styled heading is not a style: a caps line over plain headings leaves them at level 1.
    doc = _segment(["NOTE", BODY, "Epidemiology", BODY, "Treatment Options", BODY])
    assert [s.level for s in doc.sections] == [1, 1, 1]


def test_slug_headings_are_displayed_in_title_case() -> None:
    doc = _segment(["lifestyle-modifications", BODY])
    assert doc.sections[0].heading == "Lifestyle Modifications"
    assert doc.sections[0].heading_raw == "lifestyle-modifications"


def test_drug_name_subheadings_and_question_headings() -> None:
    doc = _segment(["Effectiveness of immunomodulatory agents in treating the disease", "lenalidomide", BODY,
                    "How is sarcoidosis diagnosed?", BODY])
    assert _tree(doc) == [
        (1, "Effectiveness of immunomodulatory agents in treating the disease", 0),
        (2, "lenalidomide", 1),
        (1, "How is sarcoidosis diagnosed?", 1),
    ]


def test_short_sentence_without_period_is_not_a_heading() -> None:
    doc = _segment(["Overview", BODY, "Symptoms may include fever and chills", BODY])
    assert _tree(doc) == [(1, "Overview", 3)]


def test_html_levels_are_kept() -> None:
    blocks = [Block("Title", 1, "heading", 1), Block(BODY, 2), Block("Sub", 3, "heading", 3), Block(BODY, 4)]
    doc = _segment(blocks)
    assert _tree(doc) == [(1, "Title", 1), (3, "Sub", 1)]
    assert doc.sections[1].path == ["Title"]


def test_site_vocabulary_gives_empty_template_headings_and_levels() -> None:
    site = compile_site(SiteConfig(name="s", headings={"level1": ["Anatomy", "Pathophysiology", "by Modality"],
                                                      "level2": ["Chemotherapy", "Hyperthermia"]}))
    doc = _segment(["Anatomy", "Pathophysiology", BODY, "by Modality", "Chemotherapy", "Hyperthermia"],
                   {"s": site}, site="s")
    assert _tree(doc) == [(1, "Anatomy", 0), (1, "Pathophysiology", 1), (1, "by Modality", 0),
                          (2, "Chemotherapy", 0), (2, "Hyperthermia", 0)]


def test_links_move_to_section_coordinates() -> None:
    from pipeline.stages.strip_html import text_blocks

    blocks = list(text_blocks(f"Treatment\n{BODY}\nUse <a href='/d/x'>cyclosporine</a> daily."))
    doc = _segment(blocks)
    [link] = doc.links
    section = doc.sections[0]
    assert link.section_id == section.section_id
    assert section.text[link.start : link.end] == "cyclosporine"


def test_bold_pseudo_heading_nests_under_the_last_marked_heading() -> None:
    blocks = [Block("Treatment", 1, "heading", 2), Block(BODY, 2), Block("Medications", 3, "heading", None),
              Block(BODY, 4), Block("Fatigue", 5, "item"), Block("Weight loss", 6, "item"), Block(BODY, 7)]
    doc = _segment(blocks)
    assert _tree(doc) == [(1, "Treatment", 1), (2, "Medications", 4)]  # levels start at 1


def test_a_heading_emptied_by_removed_chrome_goes_and_an_empty_template_heading_stays() -> None:
    blocks = [
        Block("Outlook", 1, "heading", 2), Block(BODY, 2),
        Block("Anatomy", 3, "heading", 2),  # empty in the source: a template heading
        Block("Review Date 2/14/2023", 4, "heading", 2),  # its credits were removed (lines 5-6)
        Block("Alternative Names", 7, "heading", 2), Block("Sprue", 8),
        Block("References", 9, "heading", 2),  # its list was dropped as page chrome, numbered 10
    ]
    doc = Document(doc_id="d", source="d", raw=b"", sha256="", kind="html", blocks=blocks, steps=["boilerplate"])
    doc.removed = [
        Removal("boilerplate", "marketing cues: credentials", 5, 5, "Updated by: J. Doe, MD"),
        Removal("boilerplate", "marketing tail zone", 6, 6, "Learn how to cite this page"),
        Removal("strip_html", 'page chrome: <div class="reflist">', 10, 10, "1. Smith J. Gout."),
        Removal("dedup", "repeated copy", 3, 3, "Outlook"),  # dedup's removals empty nothing
    ]
    out = Segment(Settings(), RunContext(config_dir=".", sites={}))(doc)
    assert [s.heading for s in out.sections] == ["Outlook", "Anatomy", "Alternative Names"]
    assert [(r.stage, r.text) for r in out.removed[4:]] == [("segment", "Review Date 2/14/2023"), ("segment", "References")]
    assert out.stats["segment"]["lines_removed"] == 2
    # The first line is the title: a breadcrumb removed under it does not take it away.
    titled = Document(doc_id="d", source="d", raw=b"", sha256="", blocks=[Block("Acute Pancreatitis", 1),
                      Block("Overview", 3), Block(BODY, 4)], steps=["boilerplate"],
                      removed=[Removal("boilerplate", "navigation line", 2, 2, "Home > Pancreas")])
    assert [s.heading for s in Segment(Settings(), RunContext(config_dir=".", sites={}))(titled).sections] == [
        "Acute Pancreatitis", "Overview"]
    kept = Segment(Settings(drop_emptied_headings=False), RunContext(config_dir=".", sites={}))(
        Document(doc_id="d", source="d", raw=b"", sha256="", kind="html", blocks=blocks, steps=["boilerplate"])
    )
    assert len(kept.sections) == 5


def test_heading_links_keep_their_part_of_the_display_heading() -> None:
    from pipeline.document import Link

    block = Block("Go to:", 1, "heading", 2, links=[Link("Go to:", "#s2", None, 0, 6)])
    doc = _segment([block, BODY])
    [link] = doc.links
    assert (link.field, link.text, doc.sections[0].heading[link.start : link.end]) == ("heading", "Go to", "Go to")


def test_levels_start_at_one_and_back_matter_does_not_nest_under_a_numbered_section() -> None:
    doc = _segment([Block("Migraine", 1, "heading", 2), Block(BODY, 2), Block("Triggers", 3, "heading", 3), Block(BODY, 4)])
    assert [s.level for s in doc.sections] == [1, 2]
    doc = _segment(["1. INTRODUCTION", BODY, "2. PREVENTION", BODY, "References", BODY])
    assert [(s.level, s.heading) for s in doc.sections] == [(1, "INTRODUCTION"), (1, "PREVENTION"), (1, "References")]


def test_all_caps_lines_stay_headings_inside_a_run_of_short_lines() -> None:
    doc = _segment(["HYPOTHYROIDISM", "Patient leaflet", "KEY POINTS", "Tiredness", "Feeling cold", BODY])
    assert [(s.level, s.heading) for s in doc.sections] == [(1, "HYPOTHYROIDISM"), (1, "KEY POINTS")]
    assert doc.sections[1].paragraphs[:2] == ["Tiredness", "Feeling cold"]


def test_a_first_line_topic_colon_subtitle_is_the_title() -> None:
    doc = _segment(["Chronic Kidney Disease: A Guide for Primary Care", "Introduction", BODY])
    assert (doc.title, [(s.level, s.heading) for s in doc.sections]) == (
        "Chronic Kidney Disease: A Guide for Primary Care",
        [(1, "Chronic Kidney Disease: A Guide for Primary Care"), (1, "Introduction")],
    )
    assert _segment(["Note: this leaflet is for adults.", BODY]).title is None

"""Shapes of monographs found by black-box reviews (session of 2026-11-26, fourth), end to end."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import Config
from pipeline.runner import Pipeline, Task

PARAS = [
    "Gastroesophageal reflux disease is a chronic condition in which stomach contents flow back into the "
    "esophagus and cause troublesome symptoms or complications in adults.",
    "The most common symptoms are heartburn, a burning feeling behind the breastbone that often occurs after "
    "meals or when lying down, and regurgitation of sour fluid or food into the mouth.",
    "In people with typical symptoms and no warning signs, a trial of a proton pump inhibitor for eight weeks "
    "is often enough to make the diagnosis of the condition.",
]


def wrap(text: str, width: int = 60) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


@pytest.fixture(scope="module")
def pipe(request: pytest.FixtureRequest) -> Pipeline:
    config: Config = request.getfixturevalue("config")
    return Pipeline(config)


def by_heading(record: dict[str, Any]) -> dict[str | None, list[str]]:
    """A record's paragraphs by section heading."""
    return {s["heading"]: s["paragraphs"] for s in record["sections"]}


def outline(record: dict[str, Any]) -> list[tuple[int, str | None]]:
    """A record's section tree: (level, heading) per section."""
    return [(s["level"], s["heading"]) for s in record["sections"]]


def run(pipe: Pipeline, text: str, name: str = "doc.txt") -> dict[str, Any]:
    result = pipe.run(Task(name.rsplit(".", 1)[0], name, text.encode("utf-8")))
    assert result.status == "ok", result.error
    assert result.record is not None
    return result.record


def test_later_copies_rewrapped_by_the_scraper_are_joined_and_removed(pipe: Pipeline) -> None:
    headed = "\n\n".join(f"{h}\n\n{p}" for h, p in zip(["Overview", "Symptoms", "Diagnosis"], PARAS, strict=True))
    copy_wrapped = "\n\n".join(wrap(p) if k != 1 else p for k, p in enumerate(PARAS))
    copy_long = "\n\n".join(PARAS)
    record = run(pipe, f"GERD\n\n{headed}\n\n{copy_wrapped}\n\n{copy_long}\n")
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert sorted(paragraphs) == sorted(PARAS)  # each once, the wrapped ones joined
    assert [s["heading"] for s in record["sections"]] == ["GERD", "Overview", "Symptoms", "Diagnosis"]


def test_short_unpunctuated_lines_of_a_group_stay_apart(pipe: Pipeline) -> None:
    record = run(pipe, "Asthma\n\nCommon triggers include:\npollen\nhouse dust mites\ncold air\n\n" + PARAS[0] + "\n")
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert "pollen" in paragraphs and "cold air" in paragraphs


LAYOUT_PAGE = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html><head><title>Tuberculosis - Notes</title></head><body>
<table width="100%"><tr><td colspan="2"><b>Infectious Disease Notes</b> | <a href="i.html">Home</a>
 | <a href="l.html">Links</a></td></tr>
<tr><td width="160"><a href="m.html">Malaria</a><br><a href="h.html">Cholera</a></td>
<td><font face="Times"><font size="5"><b>Tuberculosis</b></font><br><br>
<font size="4">Definition</font><br><br>
Tuberculosis is a chronic granulomatous infection caused by <i>Mycobacterium tuberculosis</i>, an acid-fast bacillus.<br><br>
<b>Treatment</b><br><br>
Drug-susceptible pulmonary tuberculosis is treated for six months with isoniazid, rifampicin, pyrazinamide and ethambutol.<br><br>
</font></td></tr></table></body></html>"""


def test_a_page_laid_out_in_a_table_keeps_its_lines_and_bold_headings(pipe: Pipeline) -> None:
    record = run(pipe, LAYOUT_PAGE, "tb.html")
    sections = by_heading(record)
    assert sections["Definition"] == [
        "Tuberculosis is a chronic granulomatous infection caused by Mycobacterium tuberculosis, an acid-fast bacillus."]
    assert sections["Treatment"][0].startswith("Drug-susceptible pulmonary tuberculosis is treated")
    text = "\n".join(p for s in record["sections"] for p in s["paragraphs"])
    assert "Malaria" not in text and "Cholera" not in text  # the sidebar's menu, before the body


def test_data_table_rows_stay_one_paragraph_each(pipe: Pipeline) -> None:
    page = ("<html><body><h1>Lupus</h1><h2>Tests</h2><p>Laboratory tests help confirm lupus in most patients.</p>"
            "<table><tr><th>Test</th><th>Finding</th></tr><tr><td>ANA</td><td>positive in 95%</td></tr></table>"
            "</body></html>")
    record = run(pipe, page, "lupus.html")
    assert by_heading(record)["Tests"][1:] == ["Test | Finding", "ANA | positive in 95%"]


def test_text_page_chrome_goes_cookie_banner_share_bar_and_related_links(pipe: Pipeline) -> None:
    text = "\n\n".join([
        "We use cookies to improve your experience. By continuing to browse, you agree to our use of cookies.",
        "Gout", "Overview", PARAS[0], "Symptoms", PARAS[1], "Diagnosis", PARAS[2],
        "Last updated: 12.03.2024 by the editorial team",
        "Facebook Twitter Email Print", "Related articles", "Peptic Ulcer Disease", "Hiatal Hernia Explained",
    ]) + "\n"
    record = run(pipe, text)
    assert record["title"] == "Gout"
    assert [s["heading"] for s in record["sections"]] == ["Gout", "Overview", "Symptoms", "Diagnosis"]
    assert [p for s in record["sections"] for p in s["paragraphs"]] == PARAS


def test_an_faq_accordion_keeps_its_questions_and_drops_its_controls(pipe: Pipeline) -> None:
    page = ("<html><body><main><h1>Kidney stones</h1><h2>Prevention</h2>"
            "<p>Drinking enough fluid is the main way to prevent new kidney stones in adults.</p>"
            "<button class='accordion-toggle' aria-expanded='false'>Does drinking milk cause kidney stones?</button>"
            "<div class='panel'><p>No. Dietary calcium binds oxalate in the gut and lowers the risk.</p></div>"
            "<div><button>Accept</button><button>Sign up</button></div></main></body></html>")
    record = run(pipe, page, "stones.html")
    sections = by_heading(record)
    assert sections["Does drinking milk cause kidney stones?"] == [
        "No. Dietary calcium binds oxalate in the gut and lowers the risk."]
    assert "Accept" not in str(record)


def test_a_textbooks_bare_chapter_numbers_are_level_one(pipe: Pipeline) -> None:
    text = "\n\n".join([
        "COPD", "1 Introduction", PARAS[0], "1.1 Definition", PARAS[1], "1.2.1 Risk factors", PARAS[2],
        "2 Pathophysiology", PARAS[0].replace("chronic", "lasting"),
        "2.1 Airflow limitation", PARAS[1].replace("common", "usual"),
    ]) + "\n"
    record = run(pipe, text)
    levels = {s["heading_raw"]: s["level"] for s in record["sections"]}
    assert levels["1 Introduction"] == levels["2 Pathophysiology"] < levels["1.1 Definition"] == levels["2.1 Airflow limitation"]
    assert {s["heading"] for s in record["sections"]} >= {"Introduction", "Pathophysiology", "Definition"}


def test_a_reference_list_gets_no_mentions(pipe: Pipeline) -> None:
    text = "\n\n".join([
        "Tuberculosis", "Treatment", "Tuberculosis is treated with isoniazid and rifampicin for six months in most adults.",
        "References", "1. Goldfarb DS, Munsiff SS. Tuberculosis and asthma. Nat Rev Dis Primers 2020;6:1.",
    ]) + "\n"
    record = run(pipe, text)
    refs = next(s["section_id"] for s in record["sections"] if s["heading"] == "References")
    assert not [m for m in record["entities"] if m["section_id"] == refs]
    assert {m["text"] for m in record["entities"]} >= {"isoniazid", "rifampicin"}


def test_a_document_that_fails_keeps_the_removals_its_error_points_to(pipe: Pipeline) -> None:
    page = ("<html><body><header>HealthSite | Conditions A-Z</header>"
            "<div id='cookie-banner'>We use cookies to improve your experience.</div>"
            "<footer>Subscribe to our newsletter</footer></body></html>")
    result = pipe.run(Task("chrome", "chrome.html", page.encode()))
    assert result.status == "failed" and result.error is not None and "removed.jsonl" in result.error["message"]
    assert {r["reason"] for r in result.removed} >= {"page chrome: <header>", "page chrome: <footer>"}


def test_a_medlineplus_topic_page_ends_at_its_lists_of_links(pipe: Pipeline) -> None:
    page = ("<html><head><link rel='canonical' href='https://medlineplus.gov/anemia.html'></head><body><main>"
            "<h1>Anemia</h1><h2>Summary</h2><h3>What is anemia?</h3>"
            "<p>Anemia is a condition in which you lack enough healthy red blood cells to carry oxygen.</p>"
            "<p>NIH: National Heart, Lung, and Blood Institute</p>"
            "<h2>Start Here</h2><ul><li><a href='https://www.nhlbi.nih.gov/anemia'>Anemia</a> (NHLBI)</li></ul>"
            "<h2>Clinical Trials</h2><ul><li><a href='https://clinicaltrials.gov/'>ClinicalTrials.gov: Anemia</a></li></ul>"
            "</main></body></html>")
    record = run(pipe, page, "anemia.html")
    assert record["site"] == "medlineplus"
    assert [s["heading"] for s in record["sections"]] == ["Anemia", "Summary", "What is anemia?"]
    assert record["sections"][-1]["paragraphs"] == [
        "Anemia is a condition in which you lack enough healthy red blood cells to carry oxygen."]


def test_definition_list_terms_head_their_definitions(pipe: Pipeline) -> None:
    page = ("<html><body><main><h1>Lupus</h1><dl><dt>Epidemiology</dt>"
            "<dd><p>Lupus affects about 20 to 150 per 100,000 people, mostly women of childbearing age.</p></dd>"
            "<dt>Treatment</dt><dd><p>Hydroxychloroquine is given to nearly every patient with lupus.</p></dd>"
            "</dl></main></body></html>")
    record = run(pipe, page, "lupus.html")
    assert [(s["heading"], s["level"]) for s in record["sections"]] == [("Lupus", 1), ("Epidemiology", 2), ("Treatment", 2)]
    assert [s["section_type"] for s in record["sections"][1:]] == ["epidemiology", "treatment"]


def test_tab_panels_take_their_tab_labels_and_details_their_summaries(pipe: Pipeline) -> None:
    page = ("<html><body><main><h1>Crohn's disease</h1><div role='tablist'>"
            "<button role='tab' id='t1' aria-controls='p1'>Symptoms</button>"
            "<button role='tab' id='t2' aria-controls='p2'>Treatment</button></div>"
            "<div role='tabpanel' id='p1' aria-labelledby='t1'><p>Abdominal pain and diarrhoea are common.</p></div>"
            "<div role='tabpanel' id='p2' aria-labelledby='t2'><p>Budesonide induces remission in mild ileal disease.</p></div>"
            "<details><summary>Can diet cure Crohn's disease?</summary><p>No diet cures it, but nutrition helps.</p></details>"
            "</main></body></html>")
    record = run(pipe, page, "crohns.html")
    sections = by_heading(record)
    assert sections["Symptoms"] == ["Abdominal pain and diarrhoea are common."]
    assert sections["Treatment"] == ["Budesonide induces remission in mild ileal disease."]
    assert sections["Can diet cure Crohn's disease?"] == ["No diet cures it, but nutrition helps."]


def test_a_forwarded_emails_wrapper_goes(pipe: Pipeline) -> None:
    text = "\n\n".join([
        "From: Sarah Mitchell <s.mitchell@example.org>", "Sent: Tuesday, 14 May 2024 09:42",
        "Date: Tue, 14 May 2024 09:42:17 +0000", "Subject: FW: Gout overview", "Hi all,", "-----Original Message-----",
        "Gout", "Overview", PARAS[0], "Kind regards,",
        "CONFIDENTIALITY NOTICE: This email is intended only for the named recipient.",
    ]) + "\n"
    record = run(pipe, text)
    assert record["title"] == "Gout"
    assert [p for s in record["sections"] for p in s["paragraphs"]] == [PARAS[0]]


def test_a_fact_box_inside_the_article_stays_and_a_sidebar_goes(pipe: Pipeline) -> None:
    page = ("<html><body><main><h1>Multiple sclerosis</h1><p>" + PARAS[0] + "</p>"
            "<aside><h2>Key facts</h2><ul><li>About 2.8 million people worldwide live with multiple sclerosis.</li>"
            "<li>Women are 2 to 3 times more likely than men to develop it.</li></ul></aside>"
            "<aside class='sidebar'><p>Our clinics treat thousands of people with multiple sclerosis every year.</p></aside>"
            "<aside><a href='/a'>Related: optic neuritis</a> <a href='/b'>Related: fatigue</a></aside>"
            "</main></body></html>")
    record = run(pipe, page, "ms.html")
    text = str([p for s in record["sections"] for p in s["paragraphs"]])
    assert "2.8 million" in text and "Women are 2 to 3 times" in text
    assert "Our clinics" not in text and "Related:" not in text


def test_numbered_list_items_are_never_headings_and_arrows_are_bullets(pipe: Pipeline) -> None:
    text = "\n\n".join([
        "Stroke", "Assessment in hospital",
        "1) Establish the time last known well.\n2) Perform urgent brain imaging:\n3) Check the glucose.",
        "Recognising a stroke", "→ Face: one side droops\n→ Arms: one arm drifts down",
        "Acute treatment", PARAS[0],
    ]) + "\n"
    record = run(pipe, text)
    assert [s["heading"] for s in record["sections"]] == ["Stroke", "Assessment in hospital", "Recognising a stroke",
                                                         "Acute treatment"]
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert "2) Perform urgent brain imaging:" in paragraphs and "Face: one side droops" in paragraphs
    assert [s["section_type"] for s in record["sections"][1:3]] == ["diagnosis_laboratory", "clinical_presentation"]


def test_front_matter_gives_the_title_and_obsidian_marks_go(pipe: Pipeline) -> None:
    text = ("---\ntitle: Type 2 Diabetes\ntags: [endocrinology, diabetes]\n---\n\n# Type 2 Diabetes\n\n"
            "Start [[Metformin|metformin]] early in most adults with **type 2 diabetes**. #endocrinology\n\n"
            "> [!NOTE] Key point\n> Many patients have no symptoms at diagnosis.\n\n## Review\n\n"
            "- [x] HbA1c measurement every year\n- [ ] Retinal screening every year\n")
    result = pipe.run(Task("t2dm", "t2dm.md", text.encode()))
    assert result.record is not None
    record = result.record
    assert record["title"] == "Type 2 Diabetes"
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert paragraphs == ["Start metformin early in most adults with type 2 diabetes.", "Key point",
                          "Many patients have no symptoms at diagnosis.", "HbA1c measurement every year",
                          "Retinal screening every year"]
    assert any(r["reason"] == "front matter (YAML)" and r["line_end"] == 4 for r in result.removed)


def test_a_google_docs_export_takes_its_title_paragraph(pipe: Pipeline) -> None:
    page = ("<html><body class='doc-content'><p class='title'><span class='c8'>Pneumonia</span></p>"
            "<p class='c3'><span class='c1'>" + PARAS[0] + "</span></p>"
            "<h1 class='c7'><span class='c5'>Causes</span></h1><p class='c3'><span class='c1'>" + PARAS[1] + "</span></p>"
            "</body></html>")
    record = run(pipe, page, "cap.html")
    assert record["title"] == "Pneumonia"
    assert [(s["heading"], s["section_type"]) for s in record["sections"]] == [("Pneumonia", "overview"),
                                                                               ("Causes", "etiology")]


def test_an_faq_in_text_loses_its_q_and_a_marks(pipe: Pipeline) -> None:
    text = "\n\n".join(["Migraine", "Q: What causes migraine?", "A: " + PARAS[0], "Q: How is it treated?", "A: " + PARAS[2]])
    record = run(pipe, text + "\n")
    assert [(s["heading"], s["heading_raw"]) for s in record["sections"][1:]] == [
        ("What causes migraine?", "Q: What causes migraine?"), ("How is it treated?", "Q: How is it treated?")]
    assert [p for s in record["sections"] for p in s["paragraphs"]] == [PARAS[0], PARAS[2]]


def test_a_printed_pages_running_heads_go_and_its_paragraphs_go_on_across_them(pipe: Pipeline) -> None:
    text = ("Thyroid Disorders\n\n7.1 Hypothyroidism\n\nIn older patients the presentation is often subtle,\n"
            "with fatigue, depression or cognitive impairment, and the\nChapter 7 · Thyroid Disorders    143\n"
            "diagnosis is easily missed by the clinician.\n\n7.2 Hyperthyroidism\n\nGraves disease is the commonest\n"
            "cause of hyperthyroidism in iodine-replete areas of the\n144    Endocrinology Handbook\nworld.\n\n"
            "Chapter 7 · Thyroid Disorders    145\n\n146    Endocrinology Handbook\n\nSodium    140\n")
    result = pipe.run(Task("thy", "thy.txt", text.encode()))
    assert result.record is not None
    paragraphs = [p for s in result.record["sections"] for p in s["paragraphs"]]
    assert ("In older patients the presentation is often subtle, with fatigue, depression or cognitive impairment, "
            "and the diagnosis is easily missed by the clinician.") in paragraphs
    assert paragraphs[-1].endswith("iodine-replete areas of the world.")
    assert [r["line_start"] for r in result.removed if r["reason"].startswith("running head")] == [7, 14, 17, 19]
    assert "Sodium" in str(result.record["sections"])  # a table row: its title does not recur


def test_a_disease_name_before_virus_names_the_organism(pipe: Pipeline) -> None:
    text = ("Shingles\n\nShingles is caused by the varicella-zoster virus, and hepatitis C virus causes "
            "chronic liver disease. Varicella is chickenpox.\n")
    mentions = [(m["text"], m["label"]) for m in run(pipe, text)["entities"]]
    assert ("Varicella", "DISEASE") in mentions and ("chickenpox", "DISEASE") in mentions
    assert not {"varicella", "zoster", "hepatitis C"} & {t for t, _ in mentions}


def test_bold_run_in_labels_are_headings_when_the_page_uses_them_as_such(pipe: Pipeline) -> None:
    labelled = "".join(f"<p><strong>{label}:</strong> {text}</p>" for label, text in zip(
        ["Symptoms", "Causes", "Diagnosis"], PARAS, strict=True))
    page = f"<html><body><main><h1>Appendicitis</h1>{labelled}</main></body></html>"
    assert by_heading(run(pipe, page, "app.html")) == {"Appendicitis": [], "Symptoms": [PARAS[0]],
                                                       "Causes": [PARAS[1]], "Diagnosis": [PARAS[2]]}
    one_off = "<html><body><main><h1>Gout</h1><p><b>Note:</b> " + PARAS[0] + "</p></main></body></html>"
    assert by_heading(run(pipe, one_off, "gout.html")) == {"Gout": ["Note: " + PARAS[0]]}


def test_headings_styled_by_class_nest_by_their_first_use(pipe: Pipeline) -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAS[:1])
    page = (
        '<html><body><div class="page-title">GERD</div>'
        f'<div class="section-title">Symptoms</div>{body}'
        f'<span class="subhead">Heartburn</span>{body}'
        f'<div class="section-title">Treatment</div><p class="heading2">Medicines</p>{body}'
        f'<h2>Prognosis</h2><span class="subhead">Outlook</span>{body}'
        f'<p>See the <span class="title">GERD guideline</span> of the society for details.</p>'
        f'<table><tr><td class="title">Drug</td><td>Dose</td></tr></table>'
        "</body></html>"
    )
    record = run(pipe, page, "doc.html")
    assert outline(record) == [
        (1, "GERD"), (2, "Symptoms"), (3, "Heartburn"), (2, "Treatment"), (3, "Medicines"), (2, "Prognosis"), (3, "Outlook"),
    ]
    assert record["sections"][-1]["path"] == ["GERD", "Prognosis"]
    assert any("GERD guideline" in p for p in record["sections"][-1]["paragraphs"])  # inside a sentence: not a heading


def test_restructuredtext_titles_nest_by_their_adornment_styles(pipe: Pipeline) -> None:
    text = (
        "========\nGERD\n========\n\n.. contents:: Table of Contents\n\n.. _overview:\n\nOverview\n--------\n\n"
        f"{PARAS[0]}\n\n.. note::\n\n   {PARAS[1]}\n\nTypes\n-----\n\nErosive\n~~~~~~~\n\n"
        f"See :ref:`the overview <overview>`. {PARAS[2]}\n\nNon-erosive\n~~~~~~~~~~~\n\n* {PARAS[2]}\n\n"
        "Treatment\n---------\n\n.. seealso:: Lifestyle advice\n"
    )
    result = pipe.run(Task("gerd", "gerd.rst", text.encode("utf-8")))
    record = result.record
    assert record is not None and record["kind"] == "rst"
    assert outline(record) == [
        (1, "GERD"), (2, "Overview"), (2, "Types"), (3, "Erosive"), (3, "Non-erosive"), (2, "Treatment"),
    ]
    paragraphs = by_heading(record)
    assert paragraphs["Overview"] == [PARAS[0], PARAS[1]]  # the note's text stays, the target goes
    assert paragraphs["Erosive"][0].startswith("See the overview. ")  # a Sphinx role reads as its text
    assert paragraphs["Treatment"] == ["Lifestyle advice"]
    assert [r["reason"] for r in result.removed] == ["reStructuredText table of contents"]


def test_plain_text_with_one_underline_style_is_not_read_as_restructuredtext(pipe: Pipeline) -> None:
    text = f"GERD\n****\n\n{PARAS[0]}\n\nSymptoms\n********\n{PARAS[1]}\n{PARAS[2]}\n"
    record = run(pipe, text)
    assert record["kind"] == "text"
    assert by_heading(record)["Symptoms"] == [PARAS[1], PARAS[2]]  # one line one paragraph, as text is read


def test_a_document_flattened_to_one_line_gets_its_headings_back(pipe: Pipeline) -> None:
    body = " ".join(PARAS * 4)  # long enough to be a whole document on one line
    line = f"GERD Overview {body} Causes {PARAS[1]} Risk factors Obesity and smoking raise the risk. Treatment {body}"
    record = run(pipe, line + "\n")
    assert [s["heading"] for s in record["sections"]] == ["GERD", "Overview", "Causes", "Risk factors", "Treatment"]
    kept = " ".join(f"{s['heading_raw'] or ''} {s['text']}" for s in record["sections"]).split()
    assert kept == line.split()  # every word, in order


def test_a_long_paragraph_is_not_cut_at_a_heading_word_inside_a_sentence(pipe: Pipeline) -> None:
    long = " ".join(PARAS * 8) + " Treatment with a proton pump inhibitor works. Causes of failure are rare."
    record = run(pipe, f"GERD\n\n{long}\n")
    assert [s["heading"] for s in record["sections"]] == ["GERD"]


def test_class_headings_skip_date_lines_and_box_titles_do_not_parent_sections(pipe: Pipeline) -> None:
    body = f"<p>{PARAS[0]}</p>"
    page = (
        '<html><body><div class="page-title">GERD</div><div class="headline-date">Updated March 4, 2024</div>'
        f'<div class="box"><div class="inner"><div class="box-title">Key points</div><ul><li>{PARAS[1]}</li></ul></div></div>'
        f'<div class="section-title">Causes</div>{body}'
        f'<p><span class="subhead">Medicines</span><br>{PARAS[2]}</p>'
        f'<div class="section-title">Treatment</div>{body}'
        "</body></html>"
    )
    record = run(pipe, page, "doc.html")
    assert outline(record) == [
        (1, "GERD"), (2, "Key points"), (2, "Causes"), (3, "Medicines"), (2, "Treatment"),
    ]
    assert "Updated March 4, 2024" in record["sections"][0]["paragraphs"]  # a date line stays text
    assert by_heading(record)["Medicines"] == [PARAS[2]]


def test_plain_text_underline_styles_rank_by_first_use_and_plain_headings_nest(pipe: Pipeline) -> None:
    text = (
        f"==========\n  GERD\n==========\n\nOverview\n~~~~~~~~\n{PARAS[0]}\n\nSymptoms\n~~~~~~~~\n{PARAS[1]}\n\n"
        f"Alarm features\n\n{PARAS[2]}\n\nTreatment\n~~~~~~~~~\nC:\\Leaflets\\gerd.doc\n"
    )
    record = run(pipe, text)
    assert record["kind"] == "text"  # underlines alone do not make reStructuredText
    assert outline(record) == [
        (1, "GERD"), (2, "Overview"), (2, "Symptoms"), (3, "Alarm features"), (2, "Treatment"),
    ]
    assert by_heading(record)["Treatment"] == ["C:\\Leaflets\\gerd.doc"]  # backslashes kept


def test_sphinx_prose_directives_keep_their_text_and_marks_and_metadata_go(pipe: Pipeline) -> None:
    text = (
        ".. _top:\n\n====\nGERD\n====\n\n:Author: Content team\n:Version: 3.2\n\n"
        f"Overview\n========\n\n{PARAS[0]} [#f1]_\n\n.. versionadded:: 3.0\n   {PARAS[1]}\n\n"
        ".. math::\n\n   BMI = kg / m^2\n\n.. [#f1] Vakil N. Am J Gastroenterol.\n"
    )
    result = pipe.run(Task("gerd", "gerd.rst", text.encode("utf-8")))
    record = result.record
    assert record is not None and record["kind"] == "rst"
    assert outline(record) == [(1, "GERD"), (2, "Overview")]
    paragraphs = by_heading(record)["Overview"]
    assert paragraphs[:3] == [PARAS[0], PARAS[1], "BMI = kg / m^2"]  # no footnote mark; the directive's prose; the formula
    assert [r["reason"] for r in result.removed] == ["reStructuredText document metadata"]


def test_a_long_paragraph_of_a_document_with_line_breaks_is_never_cut(pipe: Pipeline) -> None:
    long = " ".join(PARAS * 8) + " Hospital stays are coded by Diagnosis Related Groups. Treatment With a new drug failed."
    record = run(pipe, f"GERD\n\nEpidemiology\n\n{long}\n\nTreatment\n\n{PARAS[2]}\n")
    assert [s["heading"] for s in record["sections"]] == ["GERD", "Epidemiology", "Treatment"]
    assert by_heading(record)["Epidemiology"] == [long]


def test_a_list_items_own_line_and_a_paragraph_of_one_class_heading(pipe: Pipeline) -> None:
    page = (
        f"<html><body><h1>Migraine</h1><h2>Symptoms</h2><ul><li>Key points:<ul><li>{PARAS[0]}</li></ul></li></ul>"
        f'<p>{PARAS[1]}</p><h2>Types</h2><p><span class="subhead">Chronic migraine</span></p><p>{PARAS[2]}</p>'
        "</body></html>"
    )
    record = run(pipe, page, "doc.html")
    assert outline(record) == [
        (1, "Migraine"), (2, "Symptoms"), (2, "Types"), (3, "Chronic migraine"),
    ]
    assert by_heading(record)["Symptoms"] == ["Key points:", PARAS[0], PARAS[1]]  # an item's line is never a heading


def test_a_signature_rule_and_a_framed_footer_are_no_underlines() -> None:
    from pipeline.markup.text import setext_headings

    lines = ["Shingles", "========", PARAS[0], "", "Dr A. Patel", "___________", "Consultant in Infectious Diseases",
             "", "==========", "Clinic phone 0161 555 0199", "=========="]
    assert setext_headings(lines)[0] == {0: 1}  # not the name over a line to sign, nor the framed last line


def test_an_ascii_grid_tables_rows_keep_their_cells(pipe: Pipeline) -> None:
    text = (
        f"CKD\n===\n\nStages\n------\n\n{PARAS[0]}\n\n"
        "+-------+--------------+\n| Stage | eGFR         |\n+=======+==============+\n| G1    | 90 or more   |\n"
        "+-------+--------------+\n| G2    | 60 to 89     |\n+-------+--------------+\n\n"
        f"Treatment\n---------\n\n{PARAS[1]}\n"
    )
    record = run(pipe, text)
    assert [s["heading"] for s in record["sections"]] == ["CKD", "Stages", "Treatment"]
    assert by_heading(record)["Stages"] == [PARAS[0], "Stage | eGFR", "G1 | 90 or more", "G2 | 60 to 89"]


def test_numbered_and_all_caps_headings_nest_under_the_underlined_ones(pipe: Pipeline) -> None:
    text = (
        f"Ulcerative Colitis\n==================\n\n1. Introduction\n---------------\n\n{PARAS[0]}\n\n"
        f"1.1 Epidemiology\n\n{PARAS[1]}\n\nEXTRA FEATURES\n\n{PARAS[2]}\n\n2. Treatment\n------------\n\n{PARAS[2]}\n\n"
        "See also\n\nCrohn's disease, the other inflammatory bowel disease.\n"
    )
    record = run(pipe, text)
    assert [(s["level"], s["heading_raw"]) for s in record["sections"]] == [
        (1, "Ulcerative Colitis"), (2, "1. Introduction"), (3, "1.1 Epidemiology"), (3, "EXTRA FEATURES"), (2, "2. Treatment"),
        (2, "See also"),  # back matter beside the marked sections, under the title
    ]


def test_a_letters_signature_goes_with_its_sign_off_and_a_title_after_a_blank_stays(pipe: Pipeline) -> None:
    text = (
        "Hi all,\nPlease read the overview below.\nThanks,\n\nGout\n\nOverview\n\n" + PARAS[0] + "\n\n"
        "Kind regards,\nJames\n\n--\nDr James Okafor MBChB MRCP\nConsultant Rheumatologist\nTel: 020 7946 0321\n"
    )
    result = pipe.run(Task("letter", "letter.txt", text.encode("utf-8")))
    assert result.record is not None
    assert "Gout" in [s["heading"] for s in result.record["sections"]]  # after a blank line: not the signature of "Thanks,"
    assert [p for s in result.record["sections"] for p in s["paragraphs"]][-1] == PARAS[0]
    signature = [r["text"] for r in result.removed if r["reason"].startswith("signature after")]
    assert signature == ["James", "Dr James Okafor MBChB MRCP", "Consultant Rheumatologist", "Tel: 020 7946 0321"]


def test_a_separator_in_a_story_is_no_signature_and_a_named_signature_may_follow_a_blank(pipe: Pipeline) -> None:
    story = f"My asthma\n\n{PARAS[0]}\n\n--\n\nMy current medicines:\n\nBudesonide two puffs twice a day\n"
    removed = [r["text"] for r in pipe.run(Task("story", "story.txt", story.encode("utf-8"))).removed]
    assert "Budesonide two puffs twice a day" not in removed and "My current medicines:" not in removed
    letter = f"Dear Mr Collins,\n\n{PARAS[0]}\n\nKind regards,\n\nDr Sarah Okafor\nConsultant Haematologist\n\nP.S. {PARAS[1]}\n"
    result = pipe.run(Task("letter", "letter.txt", letter.encode("utf-8")))
    assert [r["text"] for r in result.removed if r["reason"].startswith("signature")] == [
        "Dr Sarah Okafor", "Consultant Haematologist"]
    assert result.record is not None and f"P.S. {PARAS[1]}" in [p for s in result.record["sections"] for p in s["paragraphs"]]


def test_wrapped_grid_cells_join_and_a_pipe_table_and_a_framed_tip_lose_their_frames(pipe: Pipeline) -> None:
    text = (
        f"Pneumonia\n=========\n\n{PARAS[0]}\n\n"
        "+-----+---------------------------+\n| Key | Feature                   |\n"
        "| C   | Confusion (new            |\n|     | disorientation)           |\n+-----+---------------------------+\n\n"
        "| Score | Place of care |\n|-------|---------------|\n| 0     | Home          |\n\n"
        "| Tip: a chest X-ray is not needed routinely. |\n"
    )
    record = run(pipe, text)
    assert by_heading(record)["Pneumonia"] == [
        PARAS[0], "Key | Feature", "C | Confusion (new disorientation)", "Score | Place of care", "0 | Home",
        "Tip: a chest X-ray is not needed routinely.",
    ]


def test_back_matter_and_all_caps_paragraphs_of_a_page_are_headings_and_back_matter_gets_no_mentions(pipe: Pipeline) -> None:
    page = (
        f"<html><body><h1>Hepatitis B</h1><h2>Prevention</h2><p>VACCINE SCHEDULE</p><p>{PARAS[1]}</p><p>NOTE</p>"
        f"<p>{PARAS[0]}</p><p>See also</p>"
        "<p><a href='/c'>Hepatitis C</a></p><p>References</p><p>Terrault NA, et al. Hepatology. 2018;67:1560.</p>"
        "</body></html>"
    )
    record = run(pipe, page, "doc.html")
    assert outline(record) == [(1, "Hepatitis B"), (2, "Prevention"), (3, "VACCINE SCHEDULE"), (2, "See also"), (2, "References")]
    back = {s["section_id"] for s in record["sections"] if s["heading"] in ("See also", "References")}
    assert not [m for m in record["entities"] if m["section_id"] in back]


def test_a_leaflets_contents_list_goes_and_its_question_headings_stay(pipe: Pipeline) -> None:
    text = (
        "Metformin 500 mg tablets\n\nRead all of this leaflet carefully before you start taking this medicine.\n\n"
        "What is in this leaflet\n1. What Metformin is and what it is used for\n"
        "2. What you need to know before you take Metformin\n3. How to take Metformin\n\n"
        f"1. What Metformin is and what it is used for\n\n{PARAS[0]}\n\n"
        f"2. What you need to know before you take Metformin\n\n{PARAS[1]}\n\n3. How to take Metformin\n\n{PARAS[2]}\n"
    )
    result = pipe.run(Task("leaflet", "leaflet.txt", text.encode("utf-8")))
    assert result.record is not None
    assert [s["heading_raw"] for s in result.record["sections"]] == [
        "Metformin 500 mg tablets", "1. What Metformin is and what it is used for",
        "2. What you need to know before you take Metformin", "3. How to take Metformin",
    ]
    assert sorted(r["reason"] for r in result.removed if r["stage"] in ("dedup", "segment")) == [
        "heading left empty: everything under it was page chrome or boilerplate",  # "What is in this leaflet"
        "table of contents: its lines recur below as headings",
    ]


def test_a_list_under_its_lead_in_stays_though_its_items_head_sections_below(pipe: Pipeline) -> None:
    classes = ["ACE inhibitors", "Calcium channel blockers", "Thiazide-like diuretics"]
    text = (
        "Hypertension\n\nDrug treatment\n\nFour classes of drug are used first line:\n" + "\n".join(classes) + "\n\n"
        + "".join(f"{c}\n\n{PARAS[k]}\n\n" for k, c in enumerate(classes))
    )
    result = pipe.run(Task("htn", "htn.txt", text.encode("utf-8")))
    assert not [r for r in result.removed if r["stage"] == "dedup"]  # a list, not a table of contents

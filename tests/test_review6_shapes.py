"""Shapes of monographs found by black-box reviews (session of 2026-11-26, sixth), end to end."""

from __future__ import annotations

from pipeline.runner import Pipeline
from tests.test_review_shapes import PARAS, by_heading, outline, pipe, run, wrap

__all__ = ["pipe"]  # the module-scoped pipeline fixture


def test_a_triple_copy_rewrapped_without_blank_lines_and_slug_headings(pipe: Pipeline) -> None:
    headings = ["overview", "signs-and-symptoms", "when_to_see_a_doctor", "diagnosis"]
    body = [*PARAS, PARAS[0].replace("adults", "children")]
    headed = "\n\n".join(f"{h}\n{p}" for h, p in zip(headings, body, strict=True))
    copy2 = "\n\n".join(wrap(p, 70) for p in body)  # wrapped at another width
    copy3 = "\n".join(wrap(p, 90) for p in body)  # ... and with no blank lines between paragraphs
    text = f"GERD\nShare  Facebook  X  Email  Print\n\n{headed}\n\nWas this page helpful?  Yes  No\n\n{copy2}\n\n{copy3}\n"
    record = run(pipe, text)
    assert outline(record) == [(1, "GERD"), (1, "Overview"), (1, "Signs and Symptoms"), (1, "When to See a Doctor"),
                               (1, "Diagnosis")]
    assert [p for s in record["sections"] for p in s["paragraphs"]] == body  # each once, share bar gone


def test_headings_in_brackets_or_closed_by_a_period(pipe: Pipeline) -> None:
    for mark in ("[{}]", "{}."):
        heads = [mark.format(h) for h in ("Symptoms", "Causes", "Who is affected", "See also")]
        text = "Gout\n\n" + "\n\n".join(f"{h}\n{p}" for h, p in zip(heads, [*PARAS, "Pseudogout."], strict=True))
        record = run(pipe, text + "\n")
        assert outline(record)[1:] == [(1, "Symptoms"), (1, "Causes"), (1, "Who is affected"), (1, "See also")]
        assert record["sections"][-1]["paragraphs"] == ["Pseudogout."]
    # one bracketed line, or short sentences over a list, are no heading style
    record = run(pipe, f"Gout\n\n[Advertisement]\n{PARAS[0]}\n\nRest.\nIce.\nElevation.\n\n{PARAS[1]}\n")
    assert outline(record) == [(1, "Gout")]


def test_lettered_headings_read_c_as_a_letter(pipe: Pipeline) -> None:
    text = "Sarcoidosis\n\n" + "\n\n".join(f"{h}\n{PARAS[0]}" for h in ("A. Skin", "B. Eyes", "C. Heart", "D. Other organs"))
    record = run(pipe, text + "\n")
    assert outline(record) == [(1, "Sarcoidosis"), (1, "A. Skin"), (1, "B. Eyes"), (1, "C. Heart"), (1, "D. Other organs")]


def test_a_lead_in_with_if_over_a_list_is_no_heading_on_a_marked_page(pipe: Pipeline) -> None:
    page = ("<html><body><main><h1>Strep throat</h1><h3>When should I call the doctor?</h3>"
            "<p>Call the doctor if your child:</p><ul><li>has a rash</li><li>cannot swallow</li><li>is drooling</li></ul>"
            "</main></body></html>")
    record = run(pipe, page, "strep.html")
    assert outline(record) == [(1, "Strep throat"), (3, "When should I call the doctor?")]  # <h3>: its level
    assert by_heading(record)["When should I call the doctor?"][0] == "Call the doctor if your child:"


def test_portal_and_print_stamps_are_boilerplate(pipe: Pipeline) -> None:
    lines = ["You are logged in as: jsmith | Log out", "UNCONTROLLED WHEN PRINTED", "Last published: Jan 12, 2024",
             "Pasted from <https://example.org/gout>"]
    record = run(pipe, "Gout\n\n" + "\n".join(lines) + f"\n\n{PARAS[0]}\n")
    assert by_heading(record) == {"Gout": [PARAS[0]]}


def test_a_heading_after_a_list_and_a_blank_line_is_no_list_item(pipe: Pipeline) -> None:
    items = "A salivary gland swelling\nPainful red eyes\nNew numbness in the hands\nUnexplained weight loss"
    text = f"Sjogren syndrome\n\n{PARAS[0]}\n\nWarning signs to report\n{items}\n\nCauses\n{PARAS[1]}\n"
    record = run(pipe, text)
    assert outline(record) == [(1, "Sjogren syndrome"), (1, "Causes")]
    assert by_heading(record)["Causes"] == [PARAS[1]]
    # two short lines right under a colon heading are its list, one is its sub-heading
    rows = "Simvastatin above 20 mg\twith amiodarone\nSotalol\twith other QT-prolonging drugs"
    text = (f"Atrial fibrillation\n{PARAS[1]}\n\nPairs to avoid:\n{rows}\n\nMonitoring\n{PARAS[2]}\n\n"
            f"TREATMENT:\nSelf-care\n{PARAS[0]}\n")
    record = run(pipe, text)
    headings = [h for _level, h in outline(record)]
    assert headings == ["Atrial fibrillation", "Pairs to avoid", "Monitoring", "TREATMENT", "Self-care"]
    assert by_heading(record)["Pairs to avoid"] == ["Simvastatin above 20 mg with amiodarone",
                                                    "Sotalol with other QT-prolonging drugs"]


def test_sponsor_and_finder_boxes_under_the_article_are_boilerplate(pipe: Pipeline) -> None:
    body = "\n\n".join(PARAS)
    for box in ("Health Solutions From Our Sponsors\nTreating Psoriasis\nMigraine Relief",
                "Find a Doctor\nSpecializing In:\nVascular Disease\nFind a Treatment Center\nRheumatology"):
        record = run(pipe, f"GERD\n\n{body}\n\n{box}\n")
        assert [p for s in record["sections"] for p in s["paragraphs"]] == PARAS
        assert not any(m["text"] in ("Psoriasis", "Migraine", "Vascular Disease") for m in record["entities"])


def test_a_file_of_punctuation_only_is_no_document(pipe: Pipeline) -> None:
    from pipeline.runner import Task

    result = pipe.run(Task("m", "m.txt", "’ “” ’ “” … — •\n’ “”\n".encode()))
    assert result.status == "failed" and result.error is not None and result.error["kind"] == "no_content"


def test_a_readability_dump_header_gives_the_title_and_is_removed(pipe: Pipeline) -> None:
    header = ("Title: Gout: symptoms and care | Example Health\nURL Source: https://example.org/gout\n"
              "Byline: By A. Lee, RN\nSite Name: Example Health\nExcerpt: Gout is a kind of arthritis.\nLength: 5012\n\n")
    record = run(pipe, header + f"Gout\n{PARAS[0]}\n")
    assert record["title"] is not None and record["title"].startswith("Gout")
    assert [p for s in record["sections"] for p in s["paragraphs"]] == [PARAS[0]]


def test_a_finder_heading_over_prose_keeps_the_prose(pipe: Pipeline) -> None:
    record = run(pipe, f"GERD\n\n{PARAS[0]}\n\n{PARAS[1]}\n\nFind a specialist\n{PARAS[2]}\n")
    assert PARAS[2] in [p for s in record["sections"] for p in s["paragraphs"]]


def test_image_placeholders_and_evidence_grades_in_brackets_are_no_headings(pipe: Pipeline) -> None:
    images = "".join(f"[{alt}]\n\n{p}\n\n" for alt, p in zip(["Axillary nodules", "Groin tunnels", "Scarring"], PARAS,
                                                            strict=True))
    record = run(pipe, f"Hidradenitis\n\n{images}")
    assert outline(record) == [(1, "Hidradenitis")]
    grades = "".join(f"1.1.{k} {p}\n[{g}]\n{p}\n\n" for k, (g, p) in enumerate(zip("CBA", PARAS, strict=True)))
    record = run(pipe, f"Leg ulcer\n\n{grades}")
    assert not any(h in ("C", "B", "A") for _level, h in outline(record))


def test_a_key_facts_box_that_the_body_repeats_stays(pipe: Pipeline) -> None:
    facts = ["Hepatitis A is spread by contaminated food and water.", "Most children have no symptoms.",
             "A safe and effective vaccine is available."]
    page = ("<html><body><main><h1>Hepatitis A</h1><div><h2>Key facts</h2><ul>"
            + "".join(f"<li>{f}</li>" for f in facts) + "</ul></div>"
            + "".join(f"<h2>Part {k}</h2><p>{PARAS[k]}</p><p>{f}</p>" for k, f in enumerate(facts))
            + "</main></body></html>")
    record = run(pipe, page, "hep.html")
    assert by_heading(record)["Key facts"] == facts


def test_a_text_box_between_paragraphs_is_kept_without_an_article(pipe: Pipeline) -> None:
    page = (f"<html><body><section><h1>Bronchiectasis</h1><p>{PARAS[0]}</p><aside class='box'><h3>Box 7.1 Tests</h3>"
            f"<p>{PARAS[1]}</p></aside><h2>Management</h2><p>{PARAS[2]}</p></section></body></html>")
    record = run(pipe, page, "b.html")
    assert PARAS[1] in [p for s in record["sections"] for p in s["paragraphs"]]


def test_nested_numbered_headings_stacked_without_text_are_headings(pipe: Pipeline) -> None:
    text = f"Leg ulcers\n\n{PARAS[0]}\n\n3 Infection\n\n3.1 Diagnosis of infection\n\n3.1.1 Clinical signs\n\n{PARAS[1]}\n"
    record = run(pipe, text)
    assert outline(record) == [(1, "Leg ulcers"), (1, "Infection"), (2, "Diagnosis of infection"), (3, "Clinical signs")]
    record = run(pipe, f"Sprains\n\n{PARAS[0]}\n\n1. Rest\n2. Ice\n3. Elevation\n\n{PARAS[1]}\n")
    assert outline(record) == [(1, "Sprains")]  # a numbered list stays a list

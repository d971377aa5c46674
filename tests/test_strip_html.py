from pipeline.document import Document, Removal
from pipeline.stages.strip_html import Settings, StripHtml, collapse, is_html_page, page_blocks, text_blocks

LINK_LINE = (
    'Effectiveness of other immunosuppressive agents azathioprine, <a class="wpil_keyword_link" '
    'href="https://medtigo.com/drug/cyclosporine" title="cyclosporine" data-wpil-keyword-link="linked">'
    "cyclosporine</a> in POEMS Syndrome"
)


def test_inline_link_keeps_text_and_data() -> None:
    [block] = list(text_blocks(LINK_LINE))
    assert block.text == "Effectiveness of other immunosuppressive agents azathioprine, cyclosporine in POEMS Syndrome"
    [link] = block.links
    assert (link.text, link.href, link.title) == ("cyclosporine", "https://medtigo.com/drug/cyclosporine", "cyclosporine")
    assert block.text[link.start : link.end] == "cyclosporine"


def test_text_without_markup_is_not_parsed() -> None:
    blocks = list(text_blocks("CD4 count <200 cells and x > 3\n\n  spaced   out  \n"))
    assert [b.text for b in blocks] == ["CD4 count <200 cells and x > 3", "spaced out"]
    assert [b.line for b in blocks] == [1, 3]


def test_entities_are_decoded() -> None:
    [block] = list(text_blocks("Smith &amp; Jones&#8217;s &nbsp;test"))
    assert block.text == "Smith & Jones’s test"


PAGE = """<!DOCTYPE html>
<html><head><title>Sarcoidosis | MedSite</title><style>p{}</style><script>var a = "<p>x</p>";</script></head>
<body>
<header><a href="/">Home</a></header>
<nav><ul><li>Diseases</li><li>Drugs</li></ul></nav>
<div id="cookie-consent">We use cookies. <button>Accept</button></div>
<article>
<h1>Sarcoidosis</h1>
<p>Sarcoidosis is a multisystem <a href="/granuloma">granulomatous</a> disease.</p>
<h2>Epidemiology</h2>
<p>It affects young adults.</p>
<h3>Risk factors</h3>
<ul><li>Age 20-40</li><li>Female sex</li></ul>
<form><input name="q"></form>
</article>
<aside>Related: Tuberculosis</aside>
<footer>Copyright 2024</footer>
</body></html>"""


def test_page_is_detected_by_content() -> None:
    assert is_html_page(PAGE)
    assert not is_html_page("POEMS syndrome <a href='x'>link</a>\nline two")


def test_page_structure() -> None:
    title, blocks = page_blocks(PAGE, Settings())
    assert title == "Sarcoidosis"
    got = [(b.kind, b.level, b.text) for b in blocks]
    assert got == [
        ("heading", 1, "Sarcoidosis"),
        ("text", None, "Sarcoidosis is a multisystem granulomatous disease."),
        ("heading", 2, "Epidemiology"),
        ("text", None, "It affects young adults."),
        ("heading", 3, "Risk factors"),
        ("item", None, "Age 20-40"),
        ("item", None, "Female sex"),
    ]
    assert blocks[1].links[0].href == "/granuloma"


def test_bold_only_paragraph_is_a_pseudo_heading() -> None:
    html = "<html><body><h2>Treatment</h2><p><strong>Medications</strong></p><p>Prednisone is first line.</p></body></html>"
    _, blocks = page_blocks(html, Settings())
    assert [(b.kind, b.level) for b in blocks] == [("heading", 2), ("heading", None), ("text", None)]


def test_page_without_article_uses_body_and_drops_chrome() -> None:
    html = PAGE.replace("<article>", "<div>").replace("</article>", "</div>")
    _, blocks = page_blocks(html, Settings())
    text = " ".join(b.text for b in blocks)
    for chrome in ("Home", "Diseases", "cookies", "Related", "Copyright", "var a"):
        assert chrome not in text


def test_deeply_nested_unclosed_html_does_not_recurse() -> None:
    html = "<html><body>" + "<div>" * 5000 + "<p>deep text</p>" + "<span>" * 3000 + "tail"
    _, blocks = page_blocks(html, Settings())
    assert any("deep text" in b.text for b in blocks)


def test_hard_wrapped_text_gives_one_block_per_paragraph() -> None:
    text = ("Gout\n\nGout is an inflammatory arthritis caused by urate\ncrystals in joints, usually in the\n"
            "setting of hyperuricemia.\n\nTreatment\n\nColchicine or NSAIDs treat flares, and\nallopurinol lowers urate.\n"
            "- Avoid alcohol.\n")
    assert [b.text for b in text_blocks(text)] == [
        "Gout",
        "Gout is an inflammatory arthritis caused by urate crystals in joints, usually in the setting of hyperuricemia.",
        "Treatment",
        "Colchicine or NSAIDs treat flares, and allopurinol lowers urate.",
        "Avoid alcohol.",  # a list item, its bullet gone
    ]
    assert len(list(text_blocks(text, join_wrapped=False))) == 8


def test_article_header_keeps_its_title_and_site_chrome_by_class_goes() -> None:
    html = """<html><head><title>Lupus | HealthSite</title></head><body>
    <div class="site-header"><ul class="menu"><li>Conditions</li><li>Drugs</li></ul></div>
    <article><header class="entry-header"><h1>Systemic lupus erythematosus</h1></header>
    <div class="toc"><ul><li>Overview</li></ul></div>
    <p>Lupus is an autoimmune disease.</p><footer>Tags: lupus</footer></article></body></html>"""
    title, blocks = page_blocks(html, Settings())
    assert title == "Systemic lupus erythematosus"
    assert [b.text for b in blocks] == ["Systemic lupus erythematosus", "Lupus is an autoimmune disease."]
    no_h1 = html.replace("<h1>Systemic lupus erythematosus</h1>", "")
    assert page_blocks(no_h1, Settings())[0] == "Lupus"


def test_collapse_treats_whitespace_as_re_does() -> None:
    """`collapse` uses str.split; re's \\s (what the whitespace rules are written in) agrees on every code point."""
    import re

    space = re.compile(r"\s")
    assert all((space.fullmatch(c) is not None) == c.isspace() for c in map(chr, range(0x110000)))
    assert collapse(" a\u00a0\u2003b\x1c\tc\n") == "a b c"


def test_dropped_page_text_is_listed_with_its_reason_and_place() -> None:
    html = (
        "<html><body><div class='masthead'>MedSite <script>track()</script>home</div>"
        "<div id='wrap'><p>Related: gout</p><article><h1>Lupus</h1><p>Lupus is <button>Share</button>an illness.</p>"
        "<aside>Ad: buy now</aside><p>It flares.</p><div class='cookie-banner'>We use cookies</div>"
        "<script>x()</script><style>p{}</style></article><p>More reading</p></div>"
        "<footer>© MedSite</footer></body></html>"
    )
    removed: list[Removal] = []
    _, blocks = page_blocks(html, Settings(), removed=removed)
    assert [(b.line, b.text) for b in blocks] == [(1, "Lupus"), (2, "Lupus is an illness."), (3, "It flares.")]
    assert [(r.stage, r.reason, r.line_start, r.text) for r in removed] == [
        ("strip_html", "outside the page's <article>", 1, "MedSite home Related: gout"),
        ("strip_html", "page chrome: <aside>", 3, "Ad: buy now"),
        ("strip_html", 'page chrome: <div class="cookie-banner">', 4, "We use cookies"),
        ("strip_html", "outside the page's <article>", 4, "More reading © MedSite"),
    ]
    assert page_blocks(html, Settings())[1] == blocks  # the same blocks whether drops are listed or not


def test_a_page_run_lists_its_dropped_chrome_in_removed() -> None:
    doc = Document(doc_id="p", source="p.html", raw=b"", sha256="", text=PAGE)
    out = StripHtml(Settings())(doc)
    assert out.kind == "html" and out.removed
    assert all(r.stage == "strip_html" and r.reason.startswith(("page chrome", "outside")) for r in out.removed)
    assert out.stats["strip_html"]["lines_removed"] == len(out.removed)
    assert not any("var a" in r.text or "p{}" in r.text for r in out.removed)  # code is not text


def test_setext_underlines_make_headings_and_rules_go() -> None:
    text = (
        "Gout\n====\n\nGout is an arthritis\ncaused by urate crystals\nin the joints.\n\n"
        "Causes\n------\n\nHigh uric acid\nlevels in the blood.\n\n* * *\n\nEnd.\n"
    )
    blocks = list(text_blocks(text, wrap_width=30))
    assert [(b.text, b.line, b.kind, b.level) for b in blocks] == [
        ("Gout", 1, "heading", 1),
        ("Gout is an arthritis caused by urate crystals in the joints.", 4, "text", None),
        ("Causes", 8, "heading", 2),
        ("High uric acid levels in the blood.", 11, "text", None),
        ("End.", 16, "text", None),
    ]
    # A long line above a rule is a paragraph with a separator under it, not a heading.
    long_line = "Sentence of a paragraph. " * 8
    assert [(b.kind, b.level) for b in text_blocks(long_line + "\n-----\nNext.")] == [("text", None), ("text", None)]


def test_wiki_and_page_furniture_go_and_the_article_inside_main_is_the_content() -> None:
    html = (
        "<html><body><main><p class='byline'>Medically reviewed by Dr X, MD - 6 min read</p>"
        "<article><h1>Gout</h1><table class='infobox'><tr><th>Specialty</th><td>Rheumatology</td></tr></table>"
        "<p>Gout is an arthritis.<sup class='reference'>[1]</sup> It hurts.</p>"
        "<h2><span class='mw-headline'>Cause</span><span class='mw-editsection'>[<a href='?edit'>edit</a>]</span></h2>"
        "<p>Uric acid crystals in the joint cause the attacks and the swelling of the big toe.</p></article>"
        "<div class='related-articles'><h2>Related</h2><p>Five foods to avoid</p></div></main>"
        "<div id='footer'>This page was last edited on 3 March 2024.</div></body></html>"
    )
    removed: list[Removal] = []
    title, blocks = page_blocks(html, Settings(), removed=removed)
    assert title == "Gout"
    assert [(b.text, b.kind) for b in blocks] == [
        ("Gout", "heading"), ("Gout is an arthritis. It hurts.", "text"), ("Cause", "heading"),
        ("Uric acid crystals in the joint cause the attacks and the swelling of the big toe.", "text"),
    ]
    reasons = [r.reason for r in removed]
    assert reasons == ["outside the page's <article>", 'page chrome: <table class="infobox">', "outside the page's <article>"]
    assert removed[0].text.startswith("Medically reviewed") and "Five foods" in removed[2].text
    assert "last edited" in removed[2].text


MARKDOWN = """# Type 2 Diabetes

**Type 2 diabetes** is a *chronic* disorder of [insulin](https://x.org/insulin "Insulin") action.
It causes `hyperglycemia` ![a chart](chart.png).

## Symptoms

- **Polyuria** and polydipsia
- Blurred vision

> Note: hypoglycemia is a risk with sulfonylureas.

**Treatment options**

| Drug | Use |
|---|---|
| Metformin | first line |

***

<div class="disclaimer">Not medical advice.</div>
<p>Raw <b>HTML</b> paragraph.</p>
"""


def _doc(text: str) -> Document:
    return StripHtml(Settings())(Document(doc_id="m", source="m.txt", raw=b"", sha256="", text=text))


def test_markdown_marks_go_and_structure_stays() -> None:
    doc = _doc(MARKDOWN)
    assert doc.kind == "markdown"
    assert [(b.text, b.line, b.kind, b.level) for b in doc.blocks] == [
        ("Type 2 Diabetes", 1, "heading", 1),
        # not hard-wrapped: one paragraph per line, as `text_blocks` reads it
        ("Type 2 diabetes is a chronic disorder of insulin action.", 3, "text", None),
        ("It causes hyperglycemia .", 4, "text", None),  # the image goes, its alt text too
        ("Symptoms", 6, "heading", 2),
        ("Polyuria and polydipsia", 8, "item", None),
        ("Blurred vision", 9, "item", None),
        ("Note: hypoglycemia is a risk with sulfonylureas.", 11, "text", None),
        ("Treatment options", 13, "heading", None),  # bold-only paragraph: a pseudo-heading
        ("Drug | Use", 15, "item", None),  # a table row is one paragraph, never a heading
        ("Metformin | first line", 17, "item", None),
        ("Raw HTML paragraph.", 21, "text", None),
    ]
    [link] = doc.blocks[1].links
    assert (link.text, link.href, link.title) == ("insulin", "https://x.org/insulin", "Insulin")
    assert doc.blocks[1].text[link.start : link.end] == "insulin"
    # chrome in raw HTML is listed like a page's, numbered by its source line
    assert [(r.reason, r.line_start, r.text) for r in doc.removed] == [
        ('page chrome: <div class="disclaimer">', 21, "Not medical advice.")
    ]
    # blank lines, the table rule line and the `***` rule are in no block
    assert doc.stats["strip_html"]["lines_removed"] == 10 + 1


def test_markdown_one_paragraph_per_line_splits_and_wrapped_paragraphs_join() -> None:
    per_line = "# Gout\nGout is an arthritis.\nIt causes **pain**.\n## Causes\nUrate [crystals](/c).\n"
    assert [(b.text, b.line) for b in _doc(per_line).blocks] == [
        ("Gout", 1), ("Gout is an arthritis.", 2), ("It causes pain.", 3), ("Causes", 4), ("Urate crystals.", 5),
    ]
    wrapped = (
        "# Gout\n\nGout is an inflammatory arthritis\ncaused by **urate** crystals\nin the joints.\n\n"
        "## Causes\n\nHigh uric acid\nlevels in the [blood](/b).\n"
    )
    assert [b.text for b in _doc(wrapped).blocks] == [
        "Gout", "Gout is an inflammatory arthritis caused by urate crystals in the joints.",
        "Causes", "High uric acid levels in the blood.",
    ]


def test_text_with_stray_marks_is_not_markdown() -> None:
    text = "Gout\nC# is a language; 2 * 3 = 6 and 4 * 5 = 20.\n[1] A reference.\n# of cases rose.\nEnd.\n"
    doc = _doc(text)
    assert doc.kind == "text"
    assert [b.text for b in doc.blocks] == [line for line in text.split("\n") if line]


def test_citation_marks_and_bracketed_tool_links_go_and_reference_text_stays() -> None:
    html = (
        "<html><body><main><h1>Pneumothorax</h1>"
        '<p>It follows pneumonia.<a href="#r1">[1]</a><sup><a href="#r2">[2, 3]</a></sup> It may recur.</p>'
        "<h2>References</h2><ol class='references'><li id='cite_note-1'><span class='reference-text'>"
        'Smith J. Pneumothorax. Lancet. 2020. <a href="https://pubmed.gov/1">[PubMed]</a></span></li></ol>'
        "</main></body></html>"
    )
    _title, blocks = page_blocks(html, Settings())
    assert [b.text for b in blocks] == [
        "Pneumothorax", "It follows pneumonia. It may recur.", "References", "Smith J. Pneumothorax. Lancet. 2020.",
    ]


def test_text_bullets_become_list_items_without_their_marks() -> None:
    text = (
        "Symptoms\n• Tiredness and weight gain\n- Feeling cold\n   o in women, heavy periods\n"
        "&bull; Dry <a href='/skin'>skin</a>\no is not a bullet when not indented\n"
    )
    blocks = list(text_blocks(text))
    assert [(b.text, b.kind) for b in blocks] == [
        ("Symptoms", "text"),
        ("Tiredness and weight gain", "item"),
        ("Feeling cold", "item"),
        ("in women, heavy periods", "item"),
        ("Dry skin", "item"),
        ("o is not a bullet when not indented", "text"),
    ]
    [link] = blocks[4].links
    assert blocks[4].text[link.start : link.end] == "skin"


def test_wrapped_text_rejoins_broken_words_and_keeps_numbered_headings_apart() -> None:
    text = (
        "1. Introduction\nInfective endocarditis has a changing sub-\nstrate and a self-\nlimiting course in few.\n"
        "Typing uses HLA-\nDQ2 and viri-\ndans group streptococci.\n\n1.1 Epidemiology\nMen are affected twice\n"
        "as often as women in most coun-\ntries of the world.\n"
    )
    assert [(b.text, b.line) for b in text_blocks(text, wrap_width=40)] == [
        ("1. Introduction", 1),
        ("Infective endocarditis has a changing substrate and a self-limiting course in few. "
         "Typing uses HLA-DQ2 and viridans group streptococci.", 2),
        ("1.1 Epidemiology", 9),
        ("Men are affected twice as often as women in most countries of the world.", 10),
    ]
    kept = [b.text for b in text_blocks(text, wrap_width=40, dehyphenate=False)]
    assert "Infective endocarditis has a changing sub- strate" in kept[1]


def test_a_reader_envelope_gives_the_title_and_is_listed_as_removed() -> None:
    text = (
        "Title: Celiac disease - Symptoms and treatment | HealthHub\n\nURL Source: https://h.org/celiac\n\n"
        "Markdown Content:\n# Celiac disease\n\n**Celiac disease** is an [autoimmune](/a) disorder.\n\n"
        "## Symptoms\n\nDiarrhoea.\n"
    )
    doc = _doc(text)
    assert doc.title == "Celiac disease"
    assert [(b.text, b.line) for b in doc.blocks][:2] == [("Celiac disease", 6), ("Celiac disease is an autoimmune disorder.", 8)]
    [row] = doc.removed
    assert (row.reason, row.line_start, row.line_end) == ("reader envelope (Title, URL Source, ...)", 1, 5)
    assert row.text.startswith("Title: Celiac disease") and row.text.endswith("Markdown Content:")


def test_a_table_row_is_one_paragraph_unless_its_cells_hold_blocks() -> None:
    html = (
        "<html><body><main><h1>Celiac</h1><table><tr><th>Test</th><th></th><th>Shows</th></tr>"
        '<tr><td>tTG-IgA</td><td>IgA</td><td>see <a href="/g">guide</a></td></tr>'
        "<tr><td><p>a</p><p>b</p></td><td>c</td></tr></table></main></body></html>"
    )
    _title, blocks = page_blocks(html, Settings())
    assert [b.text for b in blocks] == ["Celiac", "Test | Shows", "tTG-IgA | IgA | see guide", "a", "b", "c"]
    [link] = blocks[2].links
    assert blocks[2].text[link.start : link.end] == "guide"


def test_text_tables_give_one_paragraph_per_row_and_a_tab_o_is_a_bullet() -> None:
    text = (
        "Stage\tGFR\tDescription\nG1\t≥ 90\tNormal or high\n3.2\tImaging\n"
        "Furosemide 40 mg     X        Removes extra fluid\no\tautosomal dominant (ADPKD)\n"
    )
    assert [(b.text, b.kind) for b in text_blocks(text)] == [
        ("Stage | GFR | Description", "item"),
        ("G1 | ≥ 90 | Normal or high", "item"),
        ("3.2 Imaging", "text"),
        ("Furosemide 40 mg | X | Removes extra fluid", "item"),
        ("autosomal dominant (ADPKD)", "item"),
    ]


def test_linked_footnote_numbers_go_and_a_unit_superscript_stays() -> None:
    html = (
        "<html><body><main><h1>Pneumonia</h1><p>It strikes older patients."
        '<sup><a href="#r1">1</a></sup> eGFR is 60 mL/min/1.73 m<sup>2</sup>.<a href="#r2">2,3</a></p>'
        "</main></body></html>"
    )
    _title, blocks = page_blocks(html, Settings())
    assert blocks[1].text == "It strikes older patients. eGFR is 60 mL/min/1.73 m2."


def test_stacked_bullet_marks_all_go_at_once() -> None:
    # found by test_strip_html_is_idempotent: one mark per pass made a second pass change the text
    assert [b.text for b in text_blocks("- - POEMS")] == ["POEMS"]


def test_exported_text_loses_footnote_superscripts_and_keeps_short_heading_lines_apart() -> None:
    text = (
        "Abstract\nInfective endocarditis is an infection of the endocardial surface of the heart, most\n"
        "often involving the valves.\n\nIt raises the risk of heart failure.⁴ Doses are given per m² of body\n"
        "surface area, and the trial enrolled patients with endocarditis of the native valves in\nseveral countries.\n"
    )
    assert [b.text for b in text_blocks(text, wrap_width=90)] == [
        "Abstract",
        "Infective endocarditis is an infection of the endocardial surface of the heart, most "
        "often involving the valves.",
        "It raises the risk of heart failure. Doses are given per m² of body surface area, and the trial "
        "enrolled patients with endocarditis of the native valves in several countries.",
    ]

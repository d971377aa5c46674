"""Review 6 (HTML pages from new sites): an article in an `<iframe srcdoc>`, bold lines inside a
`<p>`, hidden icons in headings, Wayback Machine captures, inline base64 data, controls and
print-only chrome, Bootstrap's title wrapper and Joomla's metadata list."""

import pytest

from pipeline.document import Block, Document, Link
from pipeline.markup.html import unarchived
from pipeline.stages.strip_html import BASE64, Settings, StripHtml, cut, drop_base64, page_blocks


def _run(text: str, settings: Settings | None = None) -> Document:
    return StripHtml(settings or Settings())(Document(doc_id="d", source="d", raw=b"", sha256="", text=text))


def _shape(text: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in _run(text).blocks]


# --- 1. an <iframe srcdoc> is an embedded document, part of the page -------------------------

ARTICLE = ("<h1>Bell&rsquo;s Palsy</h1><p>Bell&rsquo;s palsy is a sudden weakness of the muscles on one side of "
           "the face, and most people recover fully within months.</p><h2>Causes</h2><p>A viral infection is "
           "thought to trigger swelling of the facial nerve in its narrow bony canal.</p>")


def _portal(frame_attrs: str = "", around: str = "{}") -> str:
    srcdoc = ("<!DOCTYPE html><html><head><title>Bell's palsy - HealthContent</title><style>b{}</style></head>"
              f"<body><div class='hc-article'>{ARTICLE}</div></body></html>")
    escaped = srcdoc.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    frame = f'<iframe {frame_attrs} srcdoc="{escaped}"></iframe>'
    return ("<!DOCTYPE html><html><head><title>Health Library - Portal</title></head><body>"
            "<div class='portal-user'>Signed in as J. Alvarez</div><h1>Health Library</h1>"
            "<p>Content provided by our partner.</p>" + around.format(frame) + "</body></html>")


def test_the_article_of_an_iframe_srcdoc_is_the_content_and_the_portal_around_it_is_listed() -> None:
    doc = _run(_portal())
    assert doc.title == "Bell’s Palsy"
    assert [(b.kind, b.level, b.text[:20]) for b in doc.blocks] == [
        ("heading", 1, "Bell’s Palsy"), ("text", None, "Bell’s palsy is a su"),
        ("heading", 2, "Causes"), ("text", None, "A viral infection is"),
    ]
    [outside] = [r for r in doc.removed if r.reason == "outside the page's <iframe srcdoc>"]
    assert outside.text == "Signed in as J. Alvarez Health Library Content provided by our partner."
    assert "b{}" not in " ".join(r.text for r in doc.removed)  # the frame's <head> is no text


def test_a_frame_that_holds_little_of_the_page_is_read_in_its_place() -> None:
    long_page = "<p>" + "Gout is a common inflammatory arthritis caused by urate crystals. " * 20 + "</p>"
    _, blocks = page_blocks(_portal(around=long_page + "{}"), Settings())
    texts = [b.text for b in blocks]
    assert texts.index("Health Library") < texts.index("Bell’s Palsy")  # in page order, the page's own h1 first
    assert "Causes" in texts


def test_a_frame_in_chrome_is_dropped_with_its_text_listed() -> None:
    doc = _run(_portal(around="<p>" + "Gout is a common arthritis of the big toe. " * 20 + "</p><aside>{}</aside>"))
    assert not any("facial nerve" in b.text for b in doc.blocks)
    assert any("facial nerve" in r.text and r.reason == "page chrome: <aside>" for r in doc.removed)


def test_a_frame_keeps_its_class_for_the_chrome_rules() -> None:
    doc = _run(_portal('class="ad-frame"', around="<p>" + "Gout is a common arthritis. " * 30 + "</p>{}"))
    assert any("facial nerve" in r.text and "ad-frame" in r.reason for r in doc.removed)


def test_a_frame_inside_a_frame_is_embedded_too() -> None:
    def attr(html: str) -> str:
        return html.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")

    inner = f'<p>Portal note.</p><iframe srcdoc="{attr(ARTICLE)}"></iframe>'
    page = f'<html><body><h1>Library</h1><iframe srcdoc="{attr(inner)}"></iframe></body></html>'
    title, blocks = page_blocks(page, Settings())
    assert title == "Bell’s Palsy" and "Causes" in [b.text for b in blocks]


# --- 2. a bold line inside a <p> is a pseudo-heading, as in a container ------------------------

ORPHANET = """<html><body><main><h1>Wilson disease</h1><h2>Summary</h2>
<p><strong>Epidemiology</strong><br/>
The prevalence is about 1 in 30,000 worldwide.</p>
<p><strong>Clinical description</strong><br>Most patients develop symptoms in childhood.</p>
<p>Intro text here.<br><b>Treatment</b><br>Treatment is supportive<br>and lifelong.</p>
</main></body></html>"""


def test_a_bold_line_before_a_break_in_a_paragraph_is_a_heading_over_the_rest() -> None:
    assert _shape(ORPHANET) == [
        ("heading", "Wilson disease"), ("heading", "Summary"),
        ("heading", "Epidemiology"), ("text", "The prevalence is about 1 in 30,000 worldwide."),
        ("heading", "Clinical description"), ("text", "Most patients develop symptoms in childhood."),
        ("text", "Intro text here."), ("heading", "Treatment"), ("text", "Treatment is supportive and lifelong."),
    ]


@pytest.mark.parametrize("paragraph", [
    "<p><b>Note.</b><br>Take it with food.</p>",  # ends as a sentence
    "<p>Take it <b>with food</b><br>twice a day.</p>",  # bold inside a line of text
    "<p>Take it with food.<br><b>Twice a day</b></p>",  # no break after it
    "<p>First line<br>second line</p>",  # no bold line at all
])
def test_other_paragraphs_with_breaks_stay_one_paragraph(paragraph: str) -> None:
    [(kind, _)] = _shape(f"<html><body><main><h1>X</h1>{paragraph}</main></body></html>")[1:]
    assert kind == "text"


def test_a_bold_only_paragraph_and_a_list_items_lines_are_unchanged() -> None:
    page = ("<html><body><main><h1>X</h1><p><b>Causes</b><br><b>and risks</b></p>"
            "<ul><li><p><b>Dose</b><br>Twice a day.</p></li></ul></main></body></html>")
    assert _shape(page)[1:] == [("heading", "Causes and risks"), ("text", "Dose Twice a day.")]


# --- 3. content hidden from screen readers leaves headings ------------------------------------

def test_an_accordion_icon_hidden_from_screen_readers_leaves_the_heading() -> None:
    page = ("<html><body><main><h1>Plantar fasciitis<span aria-hidden='true'>+</span></h1>"
            "<div class='acc-head' role='button' aria-expanded='false'>Symptoms<span aria-hidden='true'>+</span></div>"
            "<div hidden><p>Heel pain <span aria-hidden='true'>(see figure)</span> in the morning.</p></div>"
            "<h2><span aria-hidden='true'>Causes</span></h2></main></body></html>")
    assert _shape(page) == [("heading", "Plantar fasciitis"), ("heading", "Symptoms"),
                            ("text", "Heel pain (see figure) in the morning."),  # paragraphs keep it
                            ("heading", "Causes")]  # a heading all hidden keeps its text


# --- 4. Wayback Machine captures -----------------------------------------------------------

WAYBACK = """<!DOCTYPE html><html><head><title>Strep Throat - KidsHealth</title></head><body>
<!-- BEGIN WAYBACK TOOLBAR INSERT -->
<script>__wm.init("https://web.archive.org/web");</script>
<div id="wm-ipp-base"><table><tr><td><a href="/web/20230208031522/https://kidshealth.org/x">FEB</a></td>
<td>APR</td></tr></table><div>COLLECTED BY</div></div>
<div id="wm-ipp-print">The Wayback Machine - https://web.archive.org/web/20230408121530/https://kidshealth.org/</div>
<!-- END WAYBACK TOOLBAR INSERT -->
<h1>Strep Throat</h1>
<p>Strep throat can lead to <a href="/web/20230408121530/https://kidshealth.org/en/rf.html">rheumatic fever</a>.</p>
</body></html>"""


def test_the_wayback_toolbar_goes_and_archived_links_get_their_original_address() -> None:
    doc = _run(WAYBACK)
    assert [b.text for b in doc.blocks] == ["Strep Throat", "Strep throat can lead to rheumatic fever."]
    assert doc.blocks[1].links[0].href == "https://kidshealth.org/en/rf.html"
    [row] = doc.removed
    assert row.reason == "page chrome: <!-- BEGIN WAYBACK TOOLBAR INSERT --> region"
    assert row.text.startswith("FEB APR COLLECTED BY The Wayback Machine")


def test_the_wayback_toolbar_goes_by_its_ids_without_its_comments() -> None:
    doc = _run(WAYBACK.replace("BEGIN WAYBACK", "x").replace("END WAYBACK", "y"))
    assert [b.text for b in doc.blocks] == ["Strep Throat", "Strep throat can lead to rheumatic fever."]
    assert {r.reason for r in doc.removed} == {'page chrome: <div id="wm-ipp-base">', 'page chrome: <div id="wm-ipp-print">'}


@pytest.mark.parametrize(("href", "original"), [
    ("https://web.archive.org/web/20230408121530/https://x.org/a", "https://x.org/a"),
    ("//web.archive.org/web/20230408121530js_/http://x.org/a.js", "http://x.org/a.js"),
    ("/web/20230408121530/https://x.org/", "https://x.org/"),
    ("/web/2023/https://x.org/", "/web/2023/https://x.org/"),  # not a capture's 14-digit time
    ("/web/20230408121530/about.html", "/web/20230408121530/about.html"),  # no archived address after it
    ("https://example.org/web/20230408121530/https://x.org/", "https://example.org/web/20230408121530/https://x.org/"),
])
def test_unarchived(href: str, original: str) -> None:
    assert unarchived(href) == original


# --- 5. inline base64 data goes, listed --------------------------------------------------------

B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg" * 20


def test_a_markdown_image_with_a_data_uri_goes_from_a_text_listed_and_shortened() -> None:
    text = (f"Raynaud's phenomenon\n\nFingers turn white, then blue.\n\n![Diagram](data:image/png;base64,{B64})\n\n"
            "What causes it?\nCold and stress.\n")
    doc = _run(text)
    assert doc.kind == "text"
    assert [b.text for b in doc.blocks] == ["Raynaud's phenomenon", "Fingers turn white, then blue.", "What causes it?",
                                            "Cold and stress."]
    [row] = doc.removed
    assert (row.reason, row.line_start) == (BASE64, 5)
    assert row.text == f"![Diagram](data:image/png;base64,{B64[:80 - 33]}… ({len(B64) + 34:,} characters)"
    stats = doc.stats["strip_html"]
    assert (stats["base64_removed"], stats["lines_joined"]) == (1, 0)
    assert stats["lines_removed"] == 4 + 1  # the blank lines and the image's line


def test_a_base64_run_inside_a_paragraph_goes_and_links_stay_on_their_words() -> None:
    page = (f"<html><body><main><h1>Kawasaki disease</h1><p>Rash pattern: {B64} see the "
            "<a href='/echo'>echocardiogram</a>.</p><pre>" + B64 + "</pre></main></body></html>")
    doc = _run(page)
    assert [b.text for b in doc.blocks] == ["Kawasaki disease", "Rash pattern: see the echocardiogram."]
    [link] = doc.blocks[1].links
    assert doc.blocks[1].text[link.start:link.end] == "echocardiogram" == link.text
    assert [r.reason for r in doc.removed] == [BASE64, BASE64]


def test_a_data_uri_goes_from_markdown_too() -> None:
    text = f"# Gout\n\n**Causes**\n\nUrate crystals. Inline data:image/gif;base64,{B64} here.\n\n- [a](b)\n- [c](d)\n"
    doc = _run(text)
    assert doc.kind == "markdown"
    assert "Urate crystals. Inline here." in [b.text for b in doc.blocks]


@pytest.mark.parametrize("kept", [
    "ACGT" * 400,  # a gene sequence: capitals only
    "word " * 300,  # prose
    "https://example.org/" + "a-b_c." * 300,  # an address
    "aB3" * 300,  # shorter than base64_min_chars
])
def test_text_that_is_no_encoded_data_stays(kept: str) -> None:
    block = Block(kept, 1)
    assert drop_base64(block, 1000, 80) == (block, [])


def test_base64_min_chars_0_keeps_everything() -> None:
    text = f"Gout\n\n![x](data:image/png;base64,{B64})\n"
    assert not _run(text, Settings(base64_min_chars=0)).removed


def test_cut_moves_links_and_leaves_no_double_space() -> None:
    links = [Link("a", "/a", None, 0, 1), Link("X", "/x", None, 2, 3), Link("b", "/b", None, 6, 7)]
    text, kept = cut("a X Y b", links, [(2, 3), (4, 5)])
    assert text == "a b" and [(k.text, k.start, k.end) for k in kept] == [("a", 0, 1), ("b", 2, 3)]


# --- 6. controls, print-only chrome, title wrappers, metadata lists --------------------------

def test_role_button_controls_go_accordion_heads_and_questions_stay() -> None:
    page = ("<html><body><div role='button'>☰ Menu</div><main><h1>Plantar fasciitis</h1>"
            "<div class='acc-head' role='button' aria-controls='p1'>Symptoms</div><div id='p1'><p>Heel pain.</p></div>"
            "<div role='button'>How long does it last?</div><p>Months.</p>"
            "<p>Ready? <span role='button'>×</span></p></main></body></html>")
    doc = _run(page)
    assert [b.text for b in doc.blocks] == ["Plantar fasciitis", "Symptoms", "Heel pain.", "How long does it last?",
                                            "Months.", "Ready?"]
    assert any(r.text == "☰ Menu" for r in doc.removed)


def test_print_only_header_and_footer_go() -> None:
    page = ("<html><body><div class='print-only print-header'><p>Lakeside Clinic</p></div><h1>Celiac disease</h1>"
            "<p>An immune reaction to gluten.</p><p class='visible-print-block'>Page 1 of 2</p></body></html>")
    doc = _run(page)
    assert [b.text for b in doc.blocks] == ["Celiac disease", "An immune reaction to gluten."]
    assert {r.text for r in doc.removed} == {"Lakeside Clinic", "Page 1 of 2"}


def test_a_page_header_holding_the_title_is_the_title_and_one_without_is_a_banner() -> None:
    page = ("<html><body><div class='page-header'>An official website of the United States government</div>"
            "<div class='item-page'><div class='page-header'><h2>Celiac Disease</h2></div>"
            "<p>An immune reaction to gluten.</p></div></body></html>")
    doc = _run(page)
    assert [b.text for b in doc.blocks] == ["Celiac Disease", "An immune reaction to gluten."]
    assert [r.text for r in doc.removed] == ["An official website of the United States government"]


def test_a_metadata_list_goes_but_an_article_with_the_same_class_stays() -> None:
    joomla = ("<html><body><div class='item-page'><h2>Celiac Disease</h2><dl class='article-info muted'>"
              "<dt>Details</dt><dd>Category: Digestive Health</dd><dd>Hits: 18342</dd></dl>"
              "<p>An immune reaction to gluten.</p></div></body></html>")
    doc = _run(joomla)
    assert [b.text for b in doc.blocks] == ["Celiac Disease", "An immune reaction to gluten."]
    assert doc.removed[0].reason == 'page chrome: <dl class="article-info muted"> of metadata'
    zendesk = joomla.replace("<dl class='article-info muted'>", "<section class='article-info'><dl>").replace(
        "</dl>", "</dl></section>")
    assert "Hits: 18342" in [b.text for b in _run(zendesk).blocks]

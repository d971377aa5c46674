"""HTML markup -> plain-text blocks: flattening inline markup (link text kept, links kept as
data) and walking a whole page as structure (headings, paragraphs, list items, table rows),
with page chrome dropped and listed. Used by the `strip_html` stage.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from bs4 import BeautifulSoup, Comment, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import CData, Declaration, Doctype, PageElement, ProcessingInstruction

from pipeline.document import Block, Link, Removal


class PageSettings(Protocol):
    """What the page reader needs of the stage's settings (`pipeline.stages.strip_html.Settings`)."""

    drop_tags: list[str]
    drop_attr_pattern: str
    leaf_blocks: list[str]
    article_min_share: float
    max_bold_heading_chars: int
    table_cell_separator: str
    max_table_cell_chars: int
    title_wrappers: list[str]
    metadata_list_pattern: str
    chrome_comment_regions: dict[str, str]


HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_CONTAINERS = {
    "html", "body", "main", "article", "section", "div", "ul", "ol", "dl", "table", "thead",
    "tbody", "tfoot", "tr", "figure", "details", "fieldset", "center", "hgroup",
}
_SKIP_STRINGS = (Comment, Doctype, Declaration, ProcessingInstruction, CData)
# Elements whose content is code, not text: dropped without a `removed.jsonl` row.
_CODE_TAGS = frozenset({"script", "style", "template"})
_PAGE_START = re.compile(r"(?:<\?xml[^>]{0,200}>\s{0,200})?<(?:!doctype\s+html|html)\b", re.IGNORECASE)
_BLOCK_CLOSE = re.compile(r"</(?:p|div|h[1-6]|li|body|section|article|table)\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,20}(?:\s[^<>]{0,2000})?/?>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
LINK_OPEN, LINK_CLOSE = "\x00", "\x01"
# A link or superscript that is only a bracketed short label is a citation mark or a tool link
# ("[1]", "[2, 3]", "[4–6]", "[PubMed]", "[PMC free article]", "[edit]"), never prose.
# A footnote number or list of them ("1", "2,3", "4–6"): a mark when it links to a note.
_FOOTNOTE = re.compile(r"\d{1,3}(?:\s*[,–-]\s*\d{1,3}){0,10}")
# The reason of a removal row for the text outside a page's <main>/<article>: page chrome,
# not the content of the heading before it (see the segment stage).
OUTSIDE_ROOT = "outside the page's"
_BRACKETED = re.compile(r"\[[^\[\]]{1,40}\](?:\s*\[[^\[\]]{1,40}\])*")
# A web archive's replay prefix before the archived address: "/web/20230408121530/https://x"
# (the Wayback Machine and the archives that run its software), "im_", "js_"... after the date.
_ARCHIVE_PREFIX = re.compile(r"(?:https?:)?(?://web\.archive\.org)?/web/\d{14}[a-z_]{0,8}/(?=(?:https?:)?//)")
_SRCDOC = re.compile(r"(?i)srcdoc")  # a page worth looking for frames in (`embed_frames`)
# The attribute that marks a region between two comments wrapped by `wrap_comment_regions`.
_REGION_ATTR = "data-comment-region"


def unarchived(href: str) -> str:
    """The original address of a link that a web archive rewrote to its replay of it.

    >>> unarchived("https://web.archive.org/web/20230408121530/https://kidshealth.org/en/")
    'https://kidshealth.org/en/'
    >>> unarchived("/web/20230408121530im_/http://x.org/a.png"), unarchived("/web/page.html")
    ('http://x.org/a.png', '/web/page.html')
    """
    found = _ARCHIVE_PREFIX.match(href) if "/web/" in href[:40] else None
    return href[found.end():] if found else href


def is_aria_hidden(tag: Tag) -> bool:
    """True if `tag` is hidden from screen readers (`aria-hidden="true"`): an icon, a glyph.

    >>> is_aria_hidden(BeautifulSoup('<span aria-hidden="true">+</span>', "html.parser").span)
    True
    """
    return str(tag.get("aria-hidden") or "").strip().lower() == "true"


def is_control(tag: Tag) -> bool:
    """True if `tag` is a control made of an element with `role="button"` ("☰ Menu", a close
    "×"), as a `<button>` is: not when it heads an accordion (`aria-controls`, `aria-expanded`,
    a collapse toggle) or its text is a question (`is_question_toggle`).

    >>> page = BeautifulSoup('<div role="button">Menu</div><div role="button" aria-expanded="false">Causes</div>',
    ...                      "html.parser")
    >>> [is_control(div) for div in page.find_all("div")]
    [True, False]
    """
    if "button" not in str(_attr(tag, "role") or "").lower().split():
        return False
    if tag.has_attr("aria-controls") or tag.has_attr("aria-expanded"):
        return False
    if str(tag.get("data-toggle") or tag.get("data-bs-toggle") or "").lower() == "collapse":
        return False
    return not is_question_toggle(tag)


def embed_frames(soup: BeautifulSoup) -> list[tuple[Tag, str | None]]:
    """Put in place of each `<iframe srcdoc="...">` the body of the document its `srcdoc`
    holds, in a `<div>` that keeps the frame's id and class (so the chrome rules apply to it):
    its text is the page's own. (the `<div>`, the embedded document's `<title>`) of each, in
    document order (the first frame left is replaced each time, so a frame inside an embedded
    document comes next, as its place in the page).

    >>> soup = BeautifulSoup('<body><h1>Portal</h1><iframe class="x" srcdoc="<title>Gout</title>'
    ...                      '<h1>Gout</h1><p>Pain.</p>"></iframe></body>', "lxml")
    >>> [(str(div), title) for div, title in embed_frames(soup)]
    [('<div class="x"><h1>Gout</h1><p>Pain.</p></div>', 'Gout')]
    """
    frames: list[tuple[Tag, str | None]] = []
    while isinstance(frame := soup.find("iframe", srcdoc=True), Tag):  # each pass replaces one frame
        inner = BeautifulSoup(str(frame.get("srcdoc") or ""), "lxml")
        title_tag = inner.find("title")
        title = (collapse(title_tag.get_text(" ")) or None) if isinstance(title_tag, Tag) else None
        body = inner.find("body")
        div = soup.new_tag("div", attrs={k: str(_attr(frame, k)) for k in ("id", "class") if frame.has_attr(k)})
        div.extend(list((body if isinstance(body, Tag) else inner).contents))
        frame.replace_with(div)
        frames.append((div, title))
    return frames


def wrap_comment_regions(soup: BeautifulSoup, regions: dict[str, str]) -> int:
    """Wrap the nodes between two marking comments (`<!-- BEGIN WAYBACK TOOLBAR INSERT -->`
    ... `<!-- END ... -->`, a key of `regions` and its value) in a `<div>` marked with the begin
    comment (`_REGION_ATTR`), which `PageWalker.dropped` drops; a begin comment without its end
    among its later siblings wraps nothing. The number of regions wrapped.

    >>> soup = BeautifulSoup("<body><!-- B --><div>Toolbar</div><!-- E --><p>Text</p></body>", "html.parser")
    >>> wrap_comment_regions(soup, {"B": "E"}), str(soup.div)
    (1, '<div data-comment-region="B"><div>Toolbar</div></div>')
    """
    if not regions:
        return 0
    begins = [c for c in soup.find_all(string=lambda s: isinstance(s, Comment) and s.strip() in regions)]
    wrapped = 0
    for begin in begins:
        end_text = regions[begin.strip()]
        nodes: list[PageElement] = []
        sibling = begin.next_sibling
        while sibling is not None and not (isinstance(sibling, Comment) and sibling.strip() == end_text):
            nodes.append(sibling)
            sibling = sibling.next_sibling
        if sibling is None or not nodes:
            continue
        div = soup.new_tag("div", attrs={_REGION_ATTR: begin.strip()})
        begin.insert_after(div)
        div.extend(nodes)
        wrapped += 1
    return wrapped


def is_html_page(text: str, min_block_tags: int = 3) -> bool:
    """True if `text` is a whole HTML page rather than text with some inline markup.

    >>> is_html_page("<!DOCTYPE html><html><body><p>x</p></body></html>")
    True
    >>> is_html_page("POEMS syndrome <a href='x'>link</a> text")
    False
    """
    if _PAGE_START.match(text[:4096].lstrip()):
        return True
    count = 0
    for _ in _BLOCK_CLOSE.finditer(text):
        count += 1
        if count >= min_block_tags:
            return True
    return False


def has_markup(line: str) -> bool:
    """True if `line` holds a tag or an HTML entity.

    >>> has_markup("CD4 count <200 cells"), has_markup("a &amp; b"), has_markup("<b>x</b>")
    (False, True, True)
    """
    return ("<" in line and _TAG.search(line) is not None) or ("&" in line and _ENTITY.search(line) is not None)


def collapse(text: str) -> str:
    """Collapse whitespace runs to one space and strip.

    >>> collapse("  a \\t b  ")
    'a b'
    """
    return " ".join(text.split())  # str.split and re's \s agree on whitespace (tested), and split is 4x faster


def finish(raw: str, metas: list[tuple[str | None, str | None]]) -> tuple[str, list[Link]]:
    """Collapse whitespace in `raw` and turn link sentinels into Link offsets."""
    if LINK_OPEN not in raw:
        return collapse(raw), []
    out: list[str] = []
    opened: list[tuple[int, int]] = []
    spans: list[tuple[int, int, int]] = []
    prev_space = True
    n_links = 0
    for ch in raw:
        if ch == LINK_OPEN:
            opened.append((len(out), n_links))
            n_links += 1
        elif ch == LINK_CLOSE:
            if opened:
                start, idx = opened.pop()
                spans.append((start, len(out), idx))
        elif ch.isspace():
            if not prev_space:
                out.append(" ")
                prev_space = True
        else:
            out.append(ch)
            prev_space = False
    if out and out[-1] == " ":
        out.pop()
    text = "".join(out)
    links: list[Link] = []
    for start, end, idx in sorted(spans, key=lambda s: s[2]):
        end = min(end, len(text))
        while start < end and text[start] == " ":
            start += 1
        while end > start and text[end - 1] == " ":
            end -= 1
        href, title = metas[idx]
        links.append(Link(text=text[start:end], href=href, title=title, start=start, end=end))
    return text, links


def bold_only(tag: Tag) -> bool:
    """True if every non-blank child of `tag` is bold text (a pseudo-heading paragraph).

    >>> bold_only(BeautifulSoup("<p> <strong>Diagnosis</strong> </p>", "html.parser").p)
    True
    >>> bold_only(BeautifulSoup("<p><b>Note:</b> text</p>", "html.parser").p)
    False
    """
    seen = False
    for child in tag.children:
        if isinstance(child, NavigableString):
            if isinstance(child, _SKIP_STRINGS) or not child.strip():
                continue
            return False
        if isinstance(child, Tag) and child.name in ("strong", "b"):
            seen = True
        elif isinstance(child, Tag) and child.name == "br":
            continue
        else:
            return False
    return seen


# A class token that names a heading: "section-title", "subhead", "heading2", "entry_title", "h3".
_HEADING_CLASS = re.compile(r"(?:^|[-_])(?:sub)?(?:head|heading|headline|title)(?:[-_]?[1-6])?(?:$|[-_])|^h[1-6]$")
# Elements a class can make a heading (not a table cell or list item: a data table's cells).
_CLASS_HEADING_TAGS = frozenset({"div", "p", "span", "strong", "b", "font"})
# ...unless another of its words says it is not a heading's own element.
_NOT_HEADING_CLASS = re.compile(
    r"(?:^|[-_])(?:wrap|wrapper|container|group|bar|link|links|icon|img|image|meta|area|row|col|subtitle|caption|figure|date|time|"
    r"updated|posted|published|author|byline|stamp)(?:$|[-_])"
)


def heading_class(tag: Tag) -> str | None:
    """The element's class when a token of it names a heading (`<div class="section-title">`),
    else None: CMS pages and word-processor exports style headings with classes, not `<hN>`.

    >>> [heading_class(BeautifulSoup(f'<div class="{c}">x</div>', "html.parser").div)
    ...  for c in ("section-title", "subhead", "heading2", "header", "title-bar", "note")]
    ['section-title', 'subhead', 'heading2', None, None, None]
    """
    classes = tag.get("class")
    if not classes or not isinstance(classes, list):
        return None
    for token in classes:
        low = token.lower()
        if _HEADING_CLASS.search(low) and not _NOT_HEADING_CLASS.search(low):
            return " ".join(classes)
    return None


# Elements that stand on a line of their own: text beside them is on another line.
_LINE_BLOCKS = frozenset({
    "p", "br", "hr", "li", "dd", "dt", "blockquote", "pre", "nav", "aside", "header", "footer", "form", "address",
})


def _neighbour(tag: Tag, forward: bool) -> object:
    """The sibling before or after `tag`, past blank strings and comments."""
    sibling = tag.next_sibling if forward else tag.previous_sibling
    while isinstance(sibling, NavigableString) and (isinstance(sibling, _SKIP_STRINGS) or not sibling.strip()):
        sibling = sibling.next_sibling if forward else sibling.previous_sibling
    return sibling


def standalone(tag: Tag) -> bool:
    """True if no text stands beside `tag` on its line: its neighbours are blank, line breaks
    or block elements (`<span class="subhead">` between two paragraphs, not inside a sentence).

    >>> page = BeautifulSoup('<div><span class="a">Causes</span><p>x</p>See <span class="b">y</span></div>', "html.parser")
    >>> standalone(page.find(class_="a")), standalone(page.find(class_="b"))
    (True, False)
    """
    for sibling in (_neighbour(tag, False), _neighbour(tag, True)):
        if isinstance(sibling, NavigableString):
            return False
        if isinstance(sibling, Tag) and not (sibling.name in HEADINGS or sibling.name in _CONTAINERS
                                             or sibling.name in _LINE_BLOCKS):
            return False
    return True


class ClassLevels:
    """Levels of class-styled headings, each class's fixed when first seen: one below the
    heading it falls under (level 1 under none), as reStructuredText ranks its title styles by
    first use. The heading a new class falls under is the latest one not nested deeper in the
    page (`depth`: its element's number of ancestors): a box's title ("Key points", in a
    `<div class="box">`) is no parent of the section title after the box.
    `<div class="section-title">` after the page's title is level 2, and a
    `<span class="subhead">` first met under one of them level 3, wherever it recurs.

    >>> lv = ClassLevels()
    >>> [lv.level("page-title", 3), lv.level("box-title", 5), lv.level("section-title", 3), lv.level("subhead", 3)]
    [1, 2, 2, 3]
    >>> lv.seen(2, 3); lv.level("heading2", 3), lv.level("section-title", 3)
    (3, 2)
    """

    def __init__(self) -> None:
        self.assigned: dict[str, int] = {}
        self.headings: list[tuple[int, int]] = []  # (level, depth) of the headings so far

    def seen(self, level: int, depth: int) -> None:
        self.headings.append((level, depth))

    def level(self, style: str, depth: int) -> int:
        if style not in self.assigned:
            parent = next((lv for lv, d in reversed(self.headings) if d <= depth), None)
            self.assigned[style] = min(6, parent + 1) if parent is not None else 1
        self.headings.append((self.assigned[style], depth))
        return self.assigned[style]


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _docs_title(tag: Tag) -> bool:
    """A word processor's title paragraph (Google Docs' `p.title`)."""
    return tag.name == "p" and "title" in (tag.get("class") or ())


def _depth(tag: Tag) -> int:
    """The element's number of ancestors."""
    return sum(1 for _ in tag.parents)


def class_lead(p: Tag) -> tuple[Tag, list[Tag | NavigableString]] | None:
    """(the heading, the rest) of a paragraph that opens with a class-styled heading on a line
    of its own (`<p><span class="subhead">Genetics</span><br>Some families...</p>`), or is one
    (the rest empty), or None.

    >>> p = BeautifulSoup('<p><span class="subhead">Genetics</span><br/>Families.</p>', "html.parser").p
    >>> lead, rest = class_lead(p)
    >>> lead.get_text(), [str(x) for x in rest]
    ('Genetics', ['<br/>', 'Families.'])
    """
    children = [c for c in p.contents if not (isinstance(c, NavigableString) and (isinstance(c, _SKIP_STRINGS) or not c.strip()))]
    if not children or not isinstance(children[0], Tag) or children[0].name not in _CLASS_HEADING_TAGS:
        return None
    if heading_class(children[0]) is None:
        return None
    if len(children) == 1:  # the paragraph is the heading: "<p><span class='subhead'>Plaque psoriasis</span></p>"
        return children[0], []
    if len(children) < 3 or not isinstance(children[1], Tag) or children[1].name != "br":
        return None
    return children[0], p.contents[p.contents.index(children[0]) + 1:]


_TEXT_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})


def amid_text(tag: Tag) -> bool:
    """True if `tag` stands between paragraphs or headings of its parent (a box of the text, as
    an EPUB chapter's `<aside>` in its `<section>`), not beside or after the content (a sidebar).

    >>> page = BeautifulSoup("<section><p>A.</p><aside>Box</aside><h2>B</h2><aside>Side</aside></section>", "html.parser")
    >>> [amid_text(a) for a in page.find_all("aside")]
    [True, False]
    """
    def text_tag(node: object) -> bool:
        return isinstance(node, Tag) and node.name in _TEXT_TAGS

    return any(map(text_tag, tag.previous_siblings)) and any(map(text_tag, tag.next_siblings))


# An <aside> inside the article is kept when it holds this much text, mostly not link text.
_MIN_BOX_CHARS = 80
_MAX_BOX_LINK_SHARE = 0.3


def is_text_box(tag: Tag) -> bool:
    """An element of prose rather than links: at least `_MIN_BOX_CHARS` characters of text,
    less than `_MAX_BOX_LINK_SHARE` of them inside links.

    >>> box = BeautifulSoup("<aside><p>About 2.8 million people live with MS; women are 2 to 3 times more "
    ...                     "likely to have it.</p></aside>", "html.parser").aside
    >>> is_text_box(box), is_text_box(BeautifulSoup("<aside><a href='x'>Related: gout</a></aside>", "html.parser").aside)
    (True, False)
    """
    text = len(collapse(tag.get_text(" ")))
    links = sum(len(collapse(a.get_text(" "))) for a in tag.find_all("a"))
    return text >= _MIN_BOX_CHARS and links < _MAX_BOX_LINK_SHARE * text


def tab_label(panel: Tag) -> str | None:
    """The label of a tab panel (`role="tabpanel"`): the text of the element its
    `aria-labelledby` names, else its `aria-label`; None for other elements.

    >>> page = BeautifulSoup('<button role="tab" id="t1">Symptoms</button>'
    ...                      '<div role="tabpanel" aria-labelledby="t1"><p>Pain.</p></div>', "html.parser")
    >>> tab_label(page.div)
    'Symptoms'
    """
    if panel.get("role") != "tabpanel":
        return None
    ref = str(panel.get("aria-labelledby") or "").split()
    if ref:
        top = panel
        while top.parent is not None:
            top = top.parent
        found = top.find(id=ref[0])
        if isinstance(found, Tag):
            return collapse(found.get_text(" ")) or None
    return collapse(str(panel.get("aria-label") or "")) or None


# Longest button text read as an FAQ's question.
_MAX_QUESTION_CHARS = 200


def is_question_toggle(button: Tag) -> bool:
    """A `<button>` that opens an FAQ's answer: its text is a question of two words or more.
    Other buttons are controls ("Accept", "Sign up", "Menu") and go with the page chrome.

    >>> soup = BeautifulSoup("<button aria-expanded='false'>How are kidney stones treated?</button>", "html.parser")
    >>> is_question_toggle(soup.button), is_question_toggle(BeautifulSoup("<button>Why?</button>", "html.parser").button)
    (True, False)
    """
    text = collapse(button.get_text(" "))
    return text.endswith("?") and " " in text and len(text) <= _MAX_QUESTION_CHARS


# Fewest bold-labelled paragraphs that make a page's labels headings; longest such label.
_MIN_RUN_IN_LABELS = 3
_MAX_RUN_IN_LABEL_WORDS = 5


def run_in_label(p: Tag) -> tuple[str, list[Tag | NavigableString]] | None:
    """(label, the rest of the paragraph) of a paragraph led by a bold label that ends in a
    colon ("<b>Symptoms:</b> Pain starts near the navel"), or None.

    >>> p = BeautifulSoup("<p><strong>Symptoms:</strong> Pain starts near the navel.</p>", "html.parser").p
    >>> label, rest = run_in_label(p)
    >>> label, [str(x) for x in rest]
    ('Symptoms', [' Pain starts near the navel.'])
    >>> run_in_label(BeautifulSoup("<p><b>Symptoms:</b></p>", "html.parser").p) is None  # a bold-only heading
    True
    """
    children = [c for c in p.contents if not (isinstance(c, NavigableString) and not c.strip())]
    if len(children) < 2 or not isinstance(children[0], Tag) or children[0].name not in ("strong", "b"):
        return None
    label = collapse(children[0].get_text(" "))
    if not label.endswith(":") or not 0 < len(label[:-1].split()) <= _MAX_RUN_IN_LABEL_WORDS:
        return None
    rest = p.contents[p.contents.index(children[0]) + 1:]
    if not collapse("".join(c.get_text(" ") if isinstance(c, Tag) else str(c) for c in rest)):
        return None
    return label[:-1].strip(), rest


def _large_font(tag: Tag) -> bool:
    """A `<font size>` of 4 or more (or +1 and up): an old page's heading."""
    size = str(tag.get("size") or "").strip()
    return (size.isdigit() and int(size) >= 4) or (size.startswith("+") and size[1:].isdigit() and int(size[1:]) >= 1)


def bold_run(nodes: list[Tag | NavigableString]) -> bool:
    """True if a run of inline nodes (a line between breaks) is bold text alone: `<b>`,
    `<strong>`, or a `<font>` holding only them or large (`_large_font`).

    >>> soup = BeautifulSoup("<div><font size='4'><b>Treatment</b></font> </div>", "html.parser")
    >>> bold_run(list(soup.div.contents)), bold_run(list(BeautifulSoup("<b>A</b> b", "html.parser").contents))
    (True, False)
    """
    seen = False
    for node in nodes:
        if isinstance(node, NavigableString):
            if isinstance(node, _SKIP_STRINGS) or not node.strip():
                continue
            return False
        if node.name in ("strong", "b") or (node.name == "font" and (bold_only(node) or _large_font(node))):
            seen = True
        else:
            return False
    return seen


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return " ".join(value) if isinstance(value, list) else str(value)


def flatten(nodes: Iterable[Tag | NavigableString], drop: frozenset[str] = frozenset(),
            chrome: Callable[[Tag], object] | None = None) -> tuple[str, list[Link]]:
    """The text of `nodes` with links kept as data (iterative: safe on deep nesting), without
    the elements named in `drop` nor those `chrome` says are page chrome (a heading's
    "[edit]" link, a paragraph's citation marks).

    >>> soup = BeautifulSoup('see <a href="/d/x" title="X">cyclo<b>sporine</b></a> now', "html.parser")
    >>> text, links = flatten(soup.contents)
    >>> text, links[0].text, links[0].href, text[links[0].start:links[0].end]
    ('see cyclosporine now', 'cyclosporine', '/d/x', 'cyclosporine')
    """
    parts: list[str] = []
    metas: list[tuple[str | None, str | None]] = []
    end_marker = object()
    stack: list[object] = list(reversed(list(nodes)))
    while stack:
        node = stack.pop()
        if node is end_marker:
            parts.append(LINK_CLOSE)
        elif isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                parts.append(str(node).replace(LINK_OPEN, "").replace(LINK_CLOSE, ""))
        elif isinstance(node, Tag):
            if node.name in drop or (chrome is not None and chrome(node)):
                continue
            if node.name == "br":
                parts.append(" ")
                continue
            if node.name == "a":
                href = _attr(node, "href")
                metas.append((unarchived(href) if href else href, _attr(node, "title")))
                parts.append(LINK_OPEN)
                stack.append(end_marker)
            stack.extend(reversed(node.contents))
            if node.name not in ("a", "span", "b", "i", "em", "strong", "sup", "sub", "u", "small", "mark"):
                parts.append(" ")  # block-ish boundaries inside inline content separate words
    return finish("".join(parts), metas)


def in_page_navigation(tag: Tag, max_chars: int = 60) -> bool:
    """True if all the text of `tag` (at most `max_chars`) is links to the page itself (`#...`).

    >>> in_page_navigation(BeautifulSoup('<p><a href="#sec2">Go to:</a></p>', "html.parser").p)
    True
    >>> in_page_navigation(BeautifulSoup('<p>See <a href="#sec2">causes</a>.</p>', "html.parser").p)
    False
    """
    links = tag.find_all("a")
    if not links or any(not str(a.get("href") or "").startswith("#") for a in links if isinstance(a, Tag)):
        return False
    text = collapse(tag.get_text(" "))
    return 0 < len(text) <= max_chars and text == collapse(" ".join(a.get_text(" ") for a in links))


def join_cells(cells: list[tuple[str, list[Link]]], separator: str) -> tuple[str, list[Link]]:
    """One text of a table row's (text, links) cells; empty cells are left out.

    >>> text, links = join_cells([("tTG-IgA", []), ("", []), ("see guide", [Link("guide", "/g", None, 4, 9)])], " | ")
    >>> text, text[links[0].start:links[0].end]
    ('tTG-IgA | see guide', 'guide')
    """
    parts: list[str] = []
    links: list[Link] = []
    offset = 0
    for text, cell_links in cells:
        if not text:
            continue
        if parts:
            offset += len(separator)
        parts.append(text)
        links.extend(replace(k, start=k.start + offset, end=k.end + offset) for k in cell_links)
        offset += len(text)
    return separator.join(parts), links


def visible_text(node: Tag | NavigableString) -> str:
    """The text a reader would see in `node` (none for code: `<script>`, `<style>`).

    >>> visible_text(BeautifulSoup("<nav>Home <script>x()</script>| Drugs</nav>", "html.parser").nav)
    'Home | Drugs'
    """
    if isinstance(node, NavigableString):
        return "" if isinstance(node, _SKIP_STRINGS) else collapse(str(node))
    if node.name in _CODE_TAGS:
        return ""
    return flatten(node.contents, _CODE_TAGS)[0]


def outside(root: Tag) -> tuple[list[Tag | NavigableString], list[Tag | NavigableString]]:
    """The nodes of the page before and after `root` (its ancestors' other children), each
    in document order, up to `<body>`.

    >>> soup = BeautifulSoup("<body><p>a</p><div><i>b</i><main>m</main><i>c</i></div><p>d</p></body>", "html.parser")
    >>> before, after = outside(soup.main)
    >>> [visible_text(n) for n in before], [visible_text(n) for n in after]
    (['a', 'b'], ['c', 'd'])
    """
    before: list[list[Tag | NavigableString]] = []
    after: list[list[Tag | NavigableString]] = []
    node = root
    while node.parent is not None and node.name not in ("body", "html") and node.parent.name != "[document]":
        siblings = node.parent.contents
        at = next(i for i, child in enumerate(siblings) if child is node)
        before.append(siblings[:at])
        after.append(siblings[at + 1:])
        node = node.parent
    return [n for level in reversed(before) for n in level], [n for level in after for n in level]


class PageWalker:
    """Walks a parsed page in document order, emitting blocks (no recursion)."""

    def __init__(self, settings: PageSettings) -> None:
        self.drop = frozenset(settings.drop_tags)
        self.leaf = frozenset(settings.leaf_blocks)
        self.drop_attr = re.compile(settings.drop_attr_pattern)
        self.blockish = HEADINGS | self.leaf | _CONTAINERS
        self.max_bold_heading = settings.max_bold_heading_chars
        self.cell_separator = settings.table_cell_separator
        self.max_cell_chars = settings.max_table_cell_chars
        self.title_wrappers = frozenset(w.lower() for w in settings.title_wrappers)
        self.metadata_list = re.compile(settings.metadata_list_pattern)

    def chrome_attr(self, tag: Tag, value: str) -> bool:
        """True if a word of the attribute `value` names page chrome (`drop_attr_pattern`), a
        title wrapper (`title_wrappers`) that holds an `<h1>`/`<h2>` excepted."""
        for found in self.drop_attr.finditer(value):
            if found.group(0).lower() not in self.title_wrappers or tag.find(["h1", "h2"]) is None:
                return True
        return False

    def dropped(self, tag: Tag) -> str | None:
        """Why `tag` is page chrome (`<nav>`, `<div class="cookie-banner">`), or None."""
        if tag.has_attr(_REGION_ATTR):  # see `wrap_comment_regions`
            return f"<!-- {tag[_REGION_ATTR]} --> region"
        if tag.name == "header" and tag.find_parent(["article", "main"]) is not None:
            return None  # an article's own header holds its title, not site chrome
        if tag.name == "aside" and is_text_box(tag) and (tag.find_parent(["article", "main"]) is not None
                                                         or amid_text(tag)):
            pass  # a fact box of the article ("Key facts"), not a sidebar: unless its class says otherwise
        elif tag.name in self.drop:
            return f"<{tag.name}>"
        if tag.name in ("html", "body", "main", "article"):
            return None
        if tag.name in ("a", "sup"):
            raw = tag.get_text()
            if raw.lstrip()[:1] == "[" and _BRACKETED.fullmatch(collapse(raw)):
                return f"<{tag.name}> bracketed mark"  # citation marks [1][2], [PubMed], [edit]
            if _FOOTNOTE.fullmatch(raw.strip()) and (
                tag.find("a") is not None if tag.name == "sup" else str(tag.get("href") or "").startswith("#")
            ):  # a numbered link to a note of the page: "older patients.<sup><a href='#r1'>1</a></sup>"
                return f"<{tag.name}> footnote mark"
        if is_control(tag):
            return f'<{tag.name} role="button">'
        if tag.name == "dl" and self.metadata_list.search(str(_attr(tag, "class") or "").replace("_", "-")):
            return f'<dl class="{_attr(tag, "class")}"> of metadata'
        for attr in ("id", "class", "role"):
            value = _attr(tag, attr)
            if value and self.chrome_attr(tag, value.replace("_", "-")):
                return f'<{tag.name} {attr}="{value}">'
        if tag.name in ("p", "li") and in_page_navigation(tag):
            return f"<{tag.name}> of in-page links only"  # "Go to:", a table of contents
        return None

    def row(self, tr: Tag) -> tuple[str, list[Link]]:
        """A table row's text: its cells' texts joined by the separator, links shifted along."""
        return join_cells([flatten(cell.contents, self.drop, self.dropped) for cell in tr.find_all(["td", "th"])
                           if self.dropped(cell) is None], self.cell_separator)

    def has_block_child(self, root: Tag) -> set[int]:
        """ids of elements that contain a block-level element (one bottom-up pass)."""
        marked: set[int] = set()
        for node in reversed(list(root.descendants)):
            if isinstance(node, Tag) and node.parent is not None:
                if node.name in self.blockish or id(node) in marked:
                    marked.add(id(node.parent))
        return marked

    def layout_cell(self, cell: Tag) -> bool:
        """A table cell that lays a page out rather than holding data: longer than
        `max_table_cell_chars`, or holding a paragraph break (two `<br>` with only blanks between)."""
        breaks = cell.find_all("br")
        if len(breaks) >= 2:
            for br in breaks:
                nxt = br.next_sibling
                while isinstance(nxt, NavigableString) and not nxt.strip():
                    nxt = nxt.next_sibling
                if isinstance(nxt, Tag) and nxt.name == "br":
                    return True
        return len(collapse(cell.get_text(" "))) > self.max_cell_chars

    def blocks(self, root: Tag, removed: list[Removal] | None = None) -> Iterator[Block]:
        """The blocks under `root`; each dropped element with text goes to `removed`, numbered
        as the block that follows it. A layout cell (`layout_cell`) is walked as a container.
        A heading styled by its class (`heading_class`) gets its level from `ClassLevels`."""
        # line of a heading -> (its class when the class makes it a heading, its element's depth)
        marks: dict[int, tuple[str | None, int]] = {}
        levels = ClassLevels()
        for block in self._walk(root, removed, marks):
            if block.kind == "heading" and block.line in marks:
                style, depth = marks[block.line]
                if style is not None:
                    block = replace(block, level=levels.level(style, depth))
                elif block.level is not None:
                    levels.seen(block.level, depth)
            yield block

    def heading_chrome(self, tag: Tag) -> object:
        """What `flatten` leaves out of a heading: page chrome, and content hidden from screen
        readers (`aria-hidden="true"`: an accordion's "+" icon), which in paragraphs may be
        the visible copy of a text that a screen-reader-only element repeats."""
        return is_aria_hidden(tag) or self.dropped(tag)

    def _flat(self, nodes: Iterable[Tag | NavigableString]) -> tuple[str, list[Link]]:
        """The text and links of `nodes` without page chrome (`flatten`)."""
        return flatten(nodes, self.drop, self.dropped)

    def heading_text(self, nodes: Iterable[Tag | NavigableString]) -> tuple[str, list[Link]]:
        """The text and links of a heading's `nodes`, without `heading_chrome`; as in a
        paragraph when that leaves nothing (a heading all of it hidden from screen readers)."""
        nodes = list(nodes)
        text, links = flatten(nodes, self.drop, self.heading_chrome)
        return (text, links) if text else flatten(nodes, self.drop, self.dropped)

    def heading_line(self, nodes: list[Tag | NavigableString]) -> tuple[str, list[Link]] | None:
        """(text, links) of a line between breaks that is a pseudo-heading: bold text alone
        (`bold_run`), at most `max_bold_heading_chars` long, not ending as a sentence; else None."""
        if not bold_run(nodes):
            return None
        text, links = self.heading_text(nodes)
        if not text or len(text) > self.max_bold_heading or text[-1:] in ".,;!?":
            return None
        return text, links

    def bold_lines(self, p: Tag) -> list[tuple[bool, list[Tag | NavigableString]]] | None:
        """A paragraph's parts when a line of it (from its start or a `<br>` to the next `<br>`) is
        a pseudo-heading (`heading_line`), as in a container: (True, the heading's nodes), and
        (False, nodes) for the text between (its `<br>`s kept: spaces); else None.

        >>> from pipeline.stages.strip_html import Settings
        >>> p = BeautifulSoup("<p><b>Etiology</b><br/>Mutations in <i>ATP7B</i>.</p>", "html.parser").p
        >>> [(head, "".join(map(str, nodes))) for head, nodes in PageWalker(Settings()).bold_lines(p)]
        [(True, '<b>Etiology</b>'), (False, 'Mutations in <i>ATP7B</i>.')]
        """
        lines: list[list[Tag | NavigableString]] = [[]]
        for child in p.contents:
            if isinstance(child, Tag) and child.name == "br":
                lines.append([])
            elif isinstance(child, (Tag, NavigableString)):
                lines[-1].append(child)
        if len(lines) < 2:
            return None
        heads = {i for i, line in enumerate(lines[:-1]) if self.heading_line(line) is not None}  # a <br> follows
        if not heads:
            return None
        parts: list[tuple[bool, list[Tag | NavigableString]]] = []
        brs = p.find_all("br", recursive=False)  # brs[i] ends lines[i]
        for i, line in enumerate(lines):
            if i in heads:
                parts.append((True, line))
                continue
            if not parts or parts[-1][0]:
                parts.append((False, []))
            parts[-1][1].extend(line)
            if i < len(brs) and i + 1 not in heads:
                parts[-1][1].append(brs[i])  # a break inside the text: a space, as before
        return [part for part in parts if part[0] or collapse("".join(
            c.get_text(" ") if isinstance(c, Tag) else str(c) for c in part[1]))]

    def _class_heading(self, node: Tag, blocky: set[int]) -> tuple[str, str, list[Link]] | None:
        """(class, text, links) when `node` is a heading by its class (see `heading_class`)."""
        name = node.name
        if name not in _CLASS_HEADING_TAGS or id(node) in blocky or _docs_title(node):  # its title: `_walk`
            return None
        style = heading_class(node)
        if style is None or not (name in self.blockish or standalone(node)):
            return None
        text, links = self.heading_text(node.contents)
        if not text or len(text) > self.max_bold_heading or text[-1:] in ".,;!" or _YEAR.search(text):
            return None  # a sentence, or a date line ("Updated March 4, 2024")
        return style, text, links

    def _walk(self, root: Tag, removed: list[Removal] | None, marks: dict[int, tuple[str | None, int]]) -> Iterator[Block]:
        blocky = self.has_block_child(root)
        blocky.update(id(cell) for cell in root.find_all(["td", "th"]) if self.layout_cell(cell))
        # Paragraphs led by a bold label ("<b>Symptoms:</b> ..."): headings when the page writes
        # 3 or more of them (a one-off "<b>Note:</b>" stays in its paragraph).
        labelled = {id(p): found for p in root.find_all("p") if (found := run_in_label(p)) is not None}
        run_ins = labelled if len(labelled) >= _MIN_RUN_IN_LABELS else {}
        # Inline elements that hold a line break (`<font>` around a whole page): walked into, so
        # that their `<br>` still split lines.
        broken = {id(parent) for br in root.find_all("br") for parent in br.parents}
        pending: list[Tag | NavigableString] = []
        ordinal = 0
        close = object()
        item_end = object()  # leaves a list item walked as a container ("<li>Key points:<ul>...")
        items = 0  # list items open around the walk: their own lines are items, never headings

        def flush() -> Iterator[Block]:
            nonlocal ordinal
            if pending:
                # a line of bold text alone between breaks: a pseudo-heading, as a bold <p>
                head = None if items else self.heading_line(pending)
                text, links = head or flatten(pending, self.drop, self.dropped)
                pending.clear()
                if text:
                    ordinal += 1
                    if items:
                        yield Block(text=text, line=ordinal, kind="item", links=links)
                    elif head:
                        yield Block(text=text, line=ordinal, kind="heading", level=None, links=links)
                    else:
                        yield Block(text=text, line=ordinal, links=links)

        def heading_by_class(found: tuple[str, str, list[Link]], node: Tag) -> Iterator[Block]:
            """The heading block of a class-styled heading (`_class_heading`), its class marked."""
            nonlocal ordinal
            yield from flush()
            ordinal += 1
            marks[ordinal] = (found[0], _depth(node))
            yield Block(text=found[1], line=ordinal, kind="heading", level=None, links=found[2])

        stack: list[object] = [root]
        while stack:
            node = stack.pop()
            if node is close:
                yield from flush()
                continue
            if node is item_end:
                items -= 1
                continue
            if isinstance(node, NavigableString):
                if not isinstance(node, _SKIP_STRINGS):
                    pending.append(node)
                continue
            if not isinstance(node, Tag):
                continue
            if node.name == "button" and is_question_toggle(node):  # an FAQ's question, not a control
                yield from flush()
                text, links = self.heading_text(node.contents)
                ordinal += 1
                yield Block(text=text, line=ordinal, kind="heading", level=None, links=links)
                continue
            why = self.dropped(node)
            if why is not None:
                if removed is not None:
                    text = visible_text(node)
                    if text:
                        removed.append(Removal("strip_html", f"page chrome: {why}", ordinal + 1, ordinal + 1, text))
                continue
            name = node.name
            found = self._class_heading(node, blocky)
            if found is not None:
                yield from heading_by_class(found, node)
                continue
            first = node.find(True, recursive=False) if name == "p" else None  # its first child element
            if (first is not None and first.get("class") and id(node) not in blocky
                    and (lead := class_lead(node)) is not None):
                found = self._class_heading(lead[0], blocky)
                if found is not None:  # "<p><span class='subhead'>Genetics</span><br>Some families...</p>"
                    yield from heading_by_class(found, node)
                    if lead[1]:
                        stack.append(close)
                        stack.extend(reversed(lead[1]))
                    continue
            if name == "br" or name == "hr":
                yield from flush()
            elif name == "tr" and not any(id(cell) in blocky for cell in node.find_all(["td", "th"])):
                yield from flush()
                text, links = self.row(node)
                if text:
                    ordinal += 1
                    yield Block(text=text, line=ordinal, kind="item", links=links)  # a row is never a heading
            elif name == "p" and id(node) in run_ins:  # "<p><b>Symptoms:</b> Pain starts...</p>"
                yield from flush()
                label, rest = run_ins[id(node)]
                text, links = flatten(rest, self.drop, self.dropped)
                ordinal += 1
                yield Block(text=label, line=ordinal, kind="heading", level=None)
                if text:
                    ordinal += 1
                    yield Block(text=text, line=ordinal, links=links)
            elif (name == "p" and not items and id(node) not in blocky and not bold_only(node)
                  and (parts := self.bold_lines(node)) is not None):
                # "<p><strong>Epidemiology</strong><br/>The prevalence...</p>": its bold lines are
                # pseudo-headings, as in a container, the text between them paragraphs
                yield from flush()
                for head, nodes in parts:
                    text, links = self.heading_text(nodes) if head else flatten(nodes, self.drop, self.dropped)
                    if text:
                        ordinal += 1
                        yield Block(text=text, line=ordinal, kind="heading" if head else "text", links=links)
            elif name in HEADINGS or (name in self.leaf and id(node) not in blocky):
                yield from flush()
                heading = name in HEADINGS or name in ("dt", "summary") or (name == "p" and bold_only(node))
                text, links = (self.heading_text if heading else self._flat)(node.contents)
                if text:
                    ordinal += 1
                    if name in HEADINGS:
                        marks[ordinal] = (None, _depth(node))
                        yield Block(text=text, line=ordinal, kind="heading", level=int(name[1]), links=links)
                    elif _docs_title(node) and len(text) <= self.max_bold_heading:
                        # a word processor's title paragraph (Google Docs' "p.title"): the document's heading
                        marks[ordinal] = (None, _depth(node))
                        yield Block(text=text, line=ordinal, kind="heading", level=1, links=links)
                    elif name == "p" and heading and len(text) <= self.max_bold_heading:
                        yield Block(text=text, line=ordinal, kind="heading", level=None, links=links)
                    elif name in ("dt", "summary") and len(text) <= self.max_bold_heading and text[-1:] not in ".,;!":
                        # a definition list's term heads its <dd>, a <details>' summary its answer,
                        # as a bold paragraph would
                        yield Block(text=text, line=ordinal, kind="heading", level=None, links=links)
                    elif name == "li":
                        yield Block(text=text, line=ordinal, kind="item", links=links)
                    else:  # a long term or bold paragraph: a paragraph's text, hidden copies kept
                        text, links = self._flat(node.contents) if heading else (text, links)
                        yield Block(text=text, line=ordinal, links=links)
            elif name in self.blockish or id(node) in blocky:
                yield from flush()
                label = tab_label(node)
                if label:  # a tab panel: its tab's label (a dropped <button>) heads it
                    ordinal += 1
                    yield Block(text=label, line=ordinal, kind="heading", level=None)
                if name == "li":
                    items += 1
                    stack.append(item_end)  # popped after `close`: the item's last line is still one
                stack.append(close)
                stack.extend(reversed(node.contents))
            elif id(node) in broken and name != "a":
                stack.extend(reversed(node.contents))  # no flush: the line goes on inside it
            else:
                pending.append(node)
        yield from flush()


# Matches only from the start of a whitespace run (the lookbehind): otherwise each of the n
# positions of a long run of spaces would retry the run, quadratic (`make bench-regex`).
_TITLE_SEPARATOR = re.compile(r"(?<!\s)\s+(?:[|–—-]|::)\s+")


def page_title(text: str) -> str:
    """The topic of a `<title>`: its first part, before the separators that add the page's
    aspect ("Symptoms and causes") and the site name.

    >>> page_title("Systemic Lupus Erythematosus - HealthSite"), page_title("Crohn's disease")
    ('Systemic Lupus Erythematosus', "Crohn's disease")
    >>> page_title("Gout - Symptoms and causes - Mayo Clinic")
    'Gout'
    """
    parts = [p for p in _TITLE_SEPARATOR.split(text) if p.strip()]
    return parts[0].strip() if len(parts) > 1 else text  # "Gout - Symptoms and causes - Mayo Clinic": the topic


def content_root(soup: Tag, article_min_share: float) -> Tag | None:
    """The page's single <main> or <article> (see the stage's `Settings.article_min_share`), or None.

    >>> page = "<main><p>By Dr X</p><article><p>Gout is a common arthritis.</p></article></main>"
    >>> content_root(BeautifulSoup(page, "lxml"), 0.5).name
    'article'
    >>> content_root(BeautifulSoup(page, "lxml"), 0.9).name
    'main'
    """
    mains = soup.find_all("main")
    articles = soup.find_all("article")
    main = mains[0] if len(mains) == 1 and isinstance(mains[0], Tag) else None
    article = articles[0] if len(articles) == 1 and isinstance(articles[0], Tag) else None
    if article is not None and (
        main is None or len(collapse(article.get_text(" "))) >= article_min_share * len(collapse(main.get_text(" ")))
    ):
        return article
    return main


def frame_root(root: Tag, frames: list[Tag], share: float) -> Tag | None:
    """The one embedded document (`embed_frames`) under `root` that holds at least `share` of
    its text (see the stage's `Settings.article_min_share`), the innermost of nested ones that
    do, or None: a portal's page around the article it shows in a frame.

    >>> soup = BeautifulSoup('<body><p>Signed in</p><div id="f"><p>Gout is a common arthritis.</p></div></body>', "lxml")
    >>> frame_root(soup.body, [soup.find(id="f")], 0.5)["id"]
    'f'
    """
    if not frames:
        return None
    total = len(collapse(root.get_text(" ")))
    inside = [f for f in frames if any(parent is root for parent in f.parents)]
    big = [f for f in inside if len(collapse(f.get_text(" "))) >= share * total]
    innermost = [f for f in big if not any(any(parent is f for parent in g.parents) for g in big)]
    return innermost[0] if len(innermost) == 1 else None


def _title(scope: Tag) -> str | None:
    """The title of a page or an embedded document: its word processor's title paragraph
    (Google Docs' export), else its first `<h1>`, else its `<title>`'s topic (`page_title`)."""
    h1 = scope.find("h1")
    doc_title = scope.find("p", class_="title")
    if isinstance(doc_title, Tag) and (not isinstance(h1, Tag) or h1 in doc_title.find_all_next("h1", limit=1)):
        if title := collapse(doc_title.get_text(" ")):
            return title
    if isinstance(h1, Tag) and (title := collapse(h1.get_text(" "))):
        return title
    title_tag = scope.find("title")
    if isinstance(title_tag, Tag):
        return page_title(collapse(title_tag.get_text(" "))) or None
    return None


def page_blocks(html: str, settings: PageSettings, walker: PageWalker | None = None,
                removed: list[Removal] | None = None) -> tuple[str | None, list[Block]]:
    """(title, blocks) of a whole HTML page; what it drops that has text goes to `removed`.
    The documents of its `<iframe srcdoc>`s are part of it (`embed_frames`), and its content
    is the one that holds most of the page's text (`frame_root`) when one does; its title is
    then theirs."""
    with warnings.catch_warnings():  # an XHTML or XML page read as HTML on purpose: no noise on stderr
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    frames = embed_frames(soup) if _SRCDOC.search(html) else []
    wrap_comment_regions(soup, {begin: end for begin, end in settings.chrome_comment_regions.items() if begin in html})
    root = content_root(soup, settings.article_min_share)
    if root is None:
        body = soup.find("body")
        root = body if isinstance(body, Tag) else soup
    frame_div = frame_root(root, [f for f, _ in frames], settings.article_min_share)
    if frame_div is not None:
        root = content_root(frame_div, settings.article_min_share) or frame_div
    # the embedded document the content is in: its own title first
    frame = next(((f, t) for f, t in reversed(frames) if f is root or any(parent is f for parent in root.parents)), None)
    title = (_title(frame[0]) or frame[1]) if frame is not None else None
    title = title or _title(soup)
    blocks = list((walker or PageWalker(settings)).blocks(root, removed))
    if removed is not None and (root.name in ("main", "article") or frame is not None):
        before, after = outside(root)
        why = f"{OUTSIDE_ROOT} <{'iframe srcdoc' if frame is not None and root is frame[0] else root.name}>"

        def row(nodes: list[Tag | NavigableString], number: int) -> list[Removal]:
            texts = [text for text in map(visible_text, nodes) if text]
            return [Removal("strip_html", why, number, number, " ".join(texts))] if texts else []

        removed[:0] = row(before, 1)  # numbered as the first block
        removed.extend(row(after, len(blocks) + 1))  # as a block after the last
    return title, blocks

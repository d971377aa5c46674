"""strip_html: markup -> blocks of plain text, keeping link text and links as data.

Three input kinds, chosen by content (not file extension):
- a text monograph, possibly with inline tags or entities on some lines: each non-empty line
  becomes a block; lines with markup are flattened by BeautifulSoup, the rest are not parsed;
- a whole HTML page: parsed with lxml as structure. `<h1>`-`<h6>` become heading blocks with
  their level, `<p>`, `<li>` and other leaf blocks become text blocks, page chrome (`<script>`,
  `<nav>`, `<footer>`, forms, cookie banners, ...) is dropped, `<title>` or the first `<h1>`
  becomes the title. Each dropped element with text, and the text outside the page's single
  `<main>`/`<article>` when it has one, is a `removed.jsonl` row (`Removal`), so nothing goes
  silently; `<script>`, `<style>` and `<template>` hold code, not text, and go unlisted;
- a markdown text (`is_markdown`: several lines with markdown-only marks, such as `## `
  headings, `**bold**` or `[text](url)` links): parsed with markdown-it-py. `#` and setext
  headings become heading blocks with their level, paragraphs, list items, quotes and table
  cells text blocks without their marks; emphasis and code marks go, link text stays (links
  kept as data), images go; a bold-only paragraph is a pseudo-heading, as on HTML pages.
Whitespace runs inside a block collapse to one space; the other changes to the text are the
removal of marks (bullets, markdown marks) and, in hard-wrapped text, the rejoining of words a
line-end hyphen broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import CData, Declaration, Doctype, ProcessingInstruction
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import Field

from pipeline.document import Block, Document, Link, Removal
from pipeline.stages import RunContext, StageSettings


class Settings(StageSettings):
    # Elements dropped with everything inside them (page chrome, not content).
    drop_tags: list[str] = Field(
        default_factory=lambda: [
            "script", "style", "noscript", "template", "nav", "header", "footer", "aside",
            "form", "iframe", "svg", "button", "select", "input", "textarea", "object",
            "embed", "canvas", "dialog", "menu",
        ]
    )
    # An element whose id, class or role matches this regex is dropped too (cookie banners,
    # share bars, newsletter boxes...). Checked on words of the attribute values.
    drop_attr_pattern: str = (
        r"(?i)\b(cookie\w*|consent|gdpr|newsletter|subscribe|subscription|share|sharing|social"
        r"|advert\w*|ads?|breadcrumbs?|sidebar|popup|modal|navbar|navigation|banner|contentinfo"
        r"|complementary|related-posts|comments?|menu|site-header|site-footer|masthead|toc"
        r"|table-of-contents|skip-link|widget\w*"
        # wiki pages: section edit links, citation marks, hatnotes, navigation boxes, fact boxes
        r"|editsection|reference(?!-)|reflist|hatnote|navbox|catlinks|noprint|infobox|sitenotice|sitesub"
        # page furniture: bylines, review dates, disclaimers, feedback boxes, related links
        r"|byline|review-date|disclaimer|feedback|page-header|page-actions|footer|related)\b"
    )
    # Block elements whose text becomes one paragraph each.
    leaf_blocks: list[str] = Field(
        default_factory=lambda: [
            "p", "li", "dd", "dt", "blockquote", "pre", "td", "th", "figcaption", "caption",
            "summary", "address",
        ]
    )
    # A document is a whole HTML page if it starts with <!doctype html> or <html>, or if it
    # holds at least this many block-level closing tags.
    html_min_block_tags: int = Field(3, ge=1)
    # The page's content is its single <main>, or its single <article> when there is no
    # <main> or the article holds at least this share of the main's text (the main then
    # also holds bylines, related links and widgets around the article).
    article_min_share: float = Field(0.5, ge=0, le=1)
    # A table row whose cells hold no block elements is one paragraph, its cells' texts
    # joined by this (cells of a row belong together: "tTG-IgA | first-line test").
    table_cell_separator: str = " | "
    # A <p> holding only bold text (<strong>/<b>) up to this long is a pseudo-heading, as
    # many sites write them; its level is one below the last real heading's.
    max_bold_heading_chars: int = Field(100, ge=0)
    # Text saved hard-wrapped (no line longer than about `wrap_width` characters, and at least
    # `wrap_share` of the lines continued mid-sentence) is read one paragraph per blank-line
    # separated group instead of one per line.
    join_wrapped_lines: bool = True
    # In hard-wrapped text, a word broken by a hyphen at a line end is joined again
    # ("manage-" + "ment"), keeping the hyphen of a real compound ("self-" + "limiting").
    dehyphenate: bool = True
    wrap_width: int = Field(100, ge=20)
    wrap_share: float = Field(0.3, gt=0, le=1)
    # A text is markdown when at least this many of its lines carry a markdown-only mark
    # (`# ` heading, `**bold**`/`__bold__`, `[text](url)`, a ``` fence); 0 never reads markdown.
    markdown_min_lines: int = Field(3, ge=0)


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
_BULLET_START = re.compile(r"[•·▪◦‣*\-–—]\s|\d{1,3}[.)]\s")
# A bulleted line of text: the mark goes and the line is a list item, as an HTML <li> is.
# An "o" is a bullet only when indented (a sub-bullet: "   o in women trying to conceive").
_TEXT_BULLET = re.compile(r"[ \t]*(?:[•·▪◦‣●○■□►▸*\-–—]|(?<=[ \t])o)[ \t]+(?=\S)")
_LINK_OPEN, _LINK_CLOSE = "\x00", "\x01"
# A link or superscript that is only a bracketed short label is a citation mark or a tool link
# ("[1]", "[2, 3]", "[4–6]", "[PubMed]", "[PMC free article]", "[edit]"), never prose.
_BRACKETED = re.compile(r"\[[^\[\]]{1,40}\](?:\s*\[[^\[\]]{1,40}\])*")
# A line of one repeated mark: a setext underline (`=====` under a level-1 heading, `-----`
# under a level-2 one) or a separator (`-----`, `*****`, `_____`): markup, not text.
_RULE = re.compile(r"[ \t]{0,3}([=\-_*~])(?:[ \t]?\1){2,}[ \t]*")
# Longest line that a setext underline makes a heading; longer, the underline is a separator.
_MAX_SETEXT_CHARS = 150


# Marks only markdown gives a line, each with the literals it needs (checked first: a plain
# text has none, and `in` is far cheaper than a regex scan): an ATX heading, strong emphasis,
# an inline link, a code fence.
_MARKDOWN_MARKS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("#",), re.compile(r"^[ ]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)),
    (("**", "__"), re.compile(r"(\*\*|__)(?=\S)[^\n]{1,500}?(?<=\S)\1")),
    (("](",), re.compile(r"\[[^\]\n]{1,300}\]\([^()\s]{1,2000}(?:[ \t]+\"[^\"\n]{0,300}\")?\)")),
    (("```",), re.compile(r"^[ ]{0,3}```", re.MULTILINE)),
)


# The header a web-to-markdown reader (Jina Reader and the like) puts above the page:
# "Title: ...", "URL Source: ...", "Published Time: ...", then "Markdown Content:".
_ENVELOPE_FIELD = re.compile(r"(Title|URL Source|Published Time|Description|Warning|Source URL):[ \t]*(.*)")
_ENVELOPE_END = "Markdown Content:"


def reader_envelope(lines: list[str], max_lines: int = 20) -> tuple[str | None, int]:
    """(the page title, number of lines) of a reader envelope at the top of `lines`, or
    (None, 0) when there is none.

    >>> reader_envelope(["Title: Gout | Site", "", "URL Source: https://x.org/gout", "Markdown Content:", "Gout"])
    ('Gout | Site', 4)
    >>> reader_envelope(["Title: a poem", "It rhymes."])
    (None, 0)
    """
    title: str | None = None
    for i, line in enumerate(lines[:max_lines]):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == _ENVELOPE_END:
            return (title, i + 1) if title is not None else (None, 0)
        field = _ENVELOPE_FIELD.fullmatch(stripped)
        if field is None:
            return None, 0
        if field.group(1) == "Title":
            title = field.group(2).strip() or None
    return None, 0


def is_markdown(text: str, min_lines: int = 3) -> bool:
    """True if at least `min_lines` lines of `text` carry a markdown-only mark (`_MARKDOWN_MARKS`).

    >>> is_markdown("# Gout\\n\\n**Gout** is an [arthritis](/a).\\n\\n## Causes\\n\\nUrate.")
    True
    >>> is_markdown("Gout\\nC# and F# are languages; 2 * 3 = 6.\\n[1] A reference.")
    False
    """
    if min_lines <= 0:
        return False
    lines: set[int] = set()  # start offsets of the marked lines
    for literals, rx in _MARKDOWN_MARKS:
        if not any(lit[0] in text and lit in text for lit in literals):  # one character: memchr-fast
            continue
        line_start = prev = 0
        for m in rx.finditer(text):
            cut = text.rfind("\n", prev, m.start())  # searched since the last match only: linear
            if cut >= 0:
                line_start = cut + 1
            prev = m.start()
            lines.add(line_start)
            if len(lines) >= min_lines:
                return True
    return False


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


def _finish(raw: str, metas: list[tuple[str | None, str | None]]) -> tuple[str, list[Link]]:
    """Collapse whitespace in `raw` and turn link sentinels into Link offsets."""
    if _LINK_OPEN not in raw:
        return collapse(raw), []
    out: list[str] = []
    opened: list[tuple[int, int]] = []
    spans: list[tuple[int, int, int]] = []
    prev_space = True
    n_links = 0
    for ch in raw:
        if ch == _LINK_OPEN:
            opened.append((len(out), n_links))
            n_links += 1
        elif ch == _LINK_CLOSE:
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
            parts.append(_LINK_CLOSE)
        elif isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                parts.append(str(node).replace(_LINK_OPEN, "").replace(_LINK_CLOSE, ""))
        elif isinstance(node, Tag):
            if node.name in drop or (chrome is not None and chrome(node)):
                continue
            if node.name == "br":
                parts.append(" ")
                continue
            if node.name == "a":
                metas.append((_attr(node, "href"), _attr(node, "title")))
                parts.append(_LINK_OPEN)
                stack.append(end_marker)
            stack.extend(reversed(node.contents))
            if node.name not in ("a", "span", "b", "i", "em", "strong", "sup", "sub", "u", "small", "mark"):
                parts.append(" ")  # block-ish boundaries inside inline content separate words
    return _finish("".join(parts), metas)


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


def is_hard_wrapped(lines: list[str], width: int = 100, share: float = 0.3) -> bool:
    """True if the text's paragraphs are wrapped over several lines (saved at a fixed width):
    blank lines separate paragraphs, no line is longer than about `width`, and at least `share`
    of the non-empty lines are continued mid-sentence (no closing punctuation, the next line
    starts in lowercase).

    >>> is_hard_wrapped(["A paragraph wrapped", "over three lines of", "text.", "", "Next one", "ends here."])
    True
    >>> is_hard_wrapped(["One paragraph per line.", "Another paragraph."] * 3)
    False
    """
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) < 4 or filled[-1] - filled[0] + 1 == len(filled) or any(len(lines[i]) > width * 1.2 for i in filled):
        return False  # too short, no blank line between paragraphs, or a long line: not wrapped
    continued = 0
    for i in filled:
        here = lines[i].rstrip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt.lstrip()[:1].islower() and here[-1:] not in ".!?:;" and not _TEXT_BULLET.match(nxt):
            continued += 1
    return continued >= share * len(filled)


# A numbered heading of wrapped text ("1.1 Epidemiology"): a paragraph of its own.
_NUMBERED_HEADING = re.compile(r"(?:\d{1,2}\.)*\d{1,2}\.?[ \t]+[A-Z][^.!?;:]{0,80}")
_HYPHEN_END = re.compile(r"([A-Za-z]+)-$")
_WORD_START = re.compile(r"[a-z]+")


def keeps_hyphen(first: str, second: str, min_zipf: float = 3.0) -> bool:
    """Whether a word broken at a line end, `first`- then `second`, keeps its hyphen: only
    when both halves are common words (Zipf frequency >= `min_zipf`, wordfreq) and the joined
    word is rarer than either ("self-limiting", "well-known"); else the hyphen only broke
    the word ("manage-ment", "viri-dans", "Transoeso-phageal").

    >>> keeps_hyphen("self", "limiting"), keeps_hyphen("manage", "ment"), keeps_hyphen("Transoeso", "phageal")
    (True, False, False)
    """
    from wordfreq import zipf_frequency

    z1, z2 = zipf_frequency(first.lower(), "en"), zipf_frequency(second.lower(), "en")
    return min(z1, z2) >= min_zipf and zipf_frequency((first + second).lower(), "en") < min(z1, z2)


def _join_line(parts: list[str], line: str, dehyphenate: bool) -> None:
    """Add a line to a wrapped paragraph: after a space, or glued to a word its hyphen broke."""
    if parts and dehyphenate and (end := _HYPHEN_END.search(parts[-1])):
        if (start := _WORD_START.match(line)) is not None:
            if keeps_hyphen(end.group(1), start.group(0)):
                parts[-1] += line
            else:
                parts[-1] = parts[-1][:-1] + line
            return
        if line[:1].isalnum():  # "HLA-" then "DQ2": a hyphenated name
            parts[-1] += line
            return
    parts.append(line)


def _wrapped_paragraphs(lines: list[str], dehyphenate: bool = True) -> Iterator[tuple[int, str]]:
    """(first line number, joined text) of each blank-line separated group; a line that starts
    with a bullet starts a new paragraph, a numbered heading line followed by a capital or a
    digit is one of its own ("1.1 Epidemiology" over "Men are affected..."), and a word broken
    by a hyphen at a line end is joined again (`keeps_hyphen`).

    >>> list(_wrapped_paragraphs(["1. Introduction", "Gout is an inflam-", "mation.", "", "2. Causes", "3.1 Urate"]))
    [(1, '1. Introduction'), (2, 'Gout is an inflammation.'), (5, '2. Causes'), (6, '3.1 Urate')]
    """
    start, parts = 0, []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        nxt = lines[number].lstrip() if number < len(lines) else ""
        if _NUMBERED_HEADING.fullmatch(stripped) and (not nxt or nxt[0].isupper() or nxt[0].isdigit()):
            if parts:
                yield start, " ".join(parts)
            yield number, stripped
            start, parts = number + 1, []
            continue
        if not stripped or _BULLET_START.match(stripped):
            if parts:
                yield start, " ".join(parts)
            start, parts = number, ([stripped] if stripped else [])
            continue
        if not parts:
            start = number
        _join_line(parts, stripped, dehyphenate)
    if parts:
        yield start, " ".join(parts)


def setext_headings(lines: list[str]) -> tuple[dict[int, int], list[str]]:
    """({index of an underlined heading: its level}, `lines` with the rule lines (`_RULE`)
    blanked). A line is underlined when it stands alone (a blank line or the start above it)
    and is short: otherwise its rule is a separator.

    >>> setext_headings(["Gout", "====", "", "Causes", "------", "Uric acid.", "-----"])
    ({0: 1, 3: 2}, ['Gout', '', '', 'Causes', '', 'Uric acid.', ''])
    """
    levels: dict[int, int] = {}
    cleaned = list(lines)
    for i, line in enumerate(lines):
        rule = _RULE.fullmatch(line)
        if rule is None:
            continue
        cleaned[i] = ""
        above = lines[i - 1].strip() if i else ""
        if (rule.group(1) in "=-" and above and len(above) <= _MAX_SETEXT_CHARS and not _RULE.fullmatch(above)
                and (i < 2 or not lines[i - 2].strip())):
            levels[i - 1] = 1 if rule.group(1) == "=" else 2
    return levels, cleaned


_BOX_BORDER = re.compile(r"[ \t]*\+[-=~_*+]{3,}\+?[ \t]*|[ \t]*\|[-=~_*]{3,}\|[ \t]*")
_BOX_LINE = re.compile(r"[ \t]*\|(.*)\|[ \t]*")


def unframe(lines: list[str]) -> list[str]:
    """`lines` with ASCII boxes opened: border lines (`+-----+`) blank, framed lines
    (`| text |`) without their frame, and an indented framed line (the rest of a wrapped
    bullet) joined to the line above, its own place left blank so line numbers hold.

    >>> unframe(["+------+", "| KEY POINTS |", "| • Thyroid makes |", "|   too little. |", "+------+", "x | y"])
    ['', 'KEY POINTS', '• Thyroid makes too little.', '', '', 'x | y']
    """
    out = list(lines)
    in_box = False
    for i, line in enumerate(lines):
        if _BOX_BORDER.fullmatch(line):
            out[i] = ""
            in_box = not in_box
            continue
        framed = _BOX_LINE.fullmatch(line) if in_box else None
        if framed is None:
            continue
        inner = framed.group(1).rstrip()
        prev = i - 1
        while prev >= 0 and not out[prev] and not _BOX_BORDER.fullmatch(lines[prev]):
            prev -= 1
        if inner.startswith("  ") and inner.strip() and prev >= 0 and out[prev] and _BOX_LINE.fullmatch(lines[prev]):
            out[prev] = f"{out[prev]} {inner.strip()}"
            out[i] = ""
        else:
            out[i] = inner.strip()
    return out


def text_blocks(
    text: str, join_wrapped: bool = True, wrap_width: int = 100, wrap_share: float = 0.3, dehyphenate: bool = True
) -> Iterator[Block]:
    """Blocks of a text monograph: one per non-empty line, inline markup flattened.

    >>> [(b.text, b.line, [l.href for l in b.links]) for b in text_blocks("a  b\\n\\n<a href='u'>x</a> &amp; y")]
    [('a b', 1, []), ('x & y', 3, ['u'])]

    Text saved hard-wrapped (`is_hard_wrapped`) gives one block per blank-line separated
    paragraph instead, its lines joined by spaces. A setext heading (a line underlined with
    `===` or `---`) is a heading block of level 1 or 2; rule lines give no block. A bulleted
    line ("• item", "- item", an indented "o item") is a list item without its bullet. An
    ASCII box (`+----+` borders, `| text |` lines) is opened (`unframe`).
    """
    split = text.split("\n")
    setext, lines = setext_headings(unframe(split) if "|" in text and "+" in text else split)  # a box has both
    wrapped = join_wrapped and is_hard_wrapped(lines, wrap_width, wrap_share)
    pieces = _wrapped_paragraphs(lines, dehyphenate) if wrapped else enumerate(lines, start=1)
    for number, line in pieces:
        if not line.strip():
            continue
        bullet = _TEXT_BULLET.match(line)
        if bullet:
            line = line[bullet.end():]
        if has_markup(line):
            flat, links = flatten(BeautifulSoup(line, "html.parser").contents)
            if bullet is None and (mark := _TEXT_BULLET.match(flat)):  # "&bull; item" is a bullet once decoded
                bullet, flat = mark, flat[mark.end():]
                links = [replace(k, start=k.start - mark.end(), end=k.end - mark.end()) for k in links]
        else:
            flat, links = collapse(line), []
        if flat:
            level = setext.get(number - 1)
            if bullet is not None:
                yield Block(text=flat, line=number, kind="item", links=links)
            elif level is None:
                yield Block(text=flat, line=number, links=links)
            else:
                yield Block(text=flat, line=number, kind="heading", level=level, links=links)


class _PageWalker:
    """Walks a parsed page in document order, emitting blocks (no recursion)."""

    def __init__(self, settings: Settings) -> None:
        self.drop = frozenset(settings.drop_tags)
        self.leaf = frozenset(settings.leaf_blocks)
        self.drop_attr = re.compile(settings.drop_attr_pattern)
        self.blockish = HEADINGS | self.leaf | _CONTAINERS
        self.max_bold_heading = settings.max_bold_heading_chars
        self.cell_separator = settings.table_cell_separator

    def dropped(self, tag: Tag) -> str | None:
        """Why `tag` is page chrome (`<nav>`, `<div class="cookie-banner">`), or None."""
        if tag.name == "header" and tag.find_parent(["article", "main"]) is not None:
            return None  # an article's own header holds its title, not site chrome
        if tag.name in self.drop:
            return f"<{tag.name}>"
        if tag.name in ("html", "body", "main", "article"):
            return None
        if tag.name in ("a", "sup"):
            raw = tag.get_text()
            if raw.lstrip()[:1] == "[" and _BRACKETED.fullmatch(collapse(raw)):
                return f"<{tag.name}> bracketed mark"  # citation marks [1][2], [PubMed], [edit]
        for attr in ("id", "class", "role"):
            value = _attr(tag, attr)
            if value and self.drop_attr.search(value.replace("_", "-")):
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

    def blocks(self, root: Tag, removed: list[Removal] | None = None) -> Iterator[Block]:
        """The blocks under `root`; each dropped element with text goes to `removed`, numbered
        as the block that follows it."""
        blocky = self.has_block_child(root)
        pending: list[Tag | NavigableString] = []
        ordinal = 0
        close = object()

        def flush() -> Iterator[Block]:
            nonlocal ordinal
            if pending:
                text, links = flatten(pending, self.drop, self.dropped)
                pending.clear()
                if text:
                    ordinal += 1
                    yield Block(text=text, line=ordinal, links=links)

        stack: list[object] = [root]
        while stack:
            node = stack.pop()
            if node is close:
                yield from flush()
                continue
            if isinstance(node, NavigableString):
                if not isinstance(node, _SKIP_STRINGS):
                    pending.append(node)
                continue
            if not isinstance(node, Tag):
                continue
            why = self.dropped(node)
            if why is not None:
                if removed is not None:
                    text = visible_text(node)
                    if text:
                        removed.append(Removal("strip_html", f"page chrome: {why}", ordinal + 1, ordinal + 1, text))
                continue
            name = node.name
            if name == "br" or name == "hr":
                yield from flush()
            elif name == "tr" and not any(id(cell) in blocky for cell in node.find_all(["td", "th"])):
                yield from flush()
                text, links = self.row(node)
                if text:
                    ordinal += 1
                    yield Block(text=text, line=ordinal, links=links)
            elif name in HEADINGS or (name in self.leaf and id(node) not in blocky):
                yield from flush()
                text, links = flatten(node.contents, self.drop, self.dropped)
                if text:
                    ordinal += 1
                    if name in HEADINGS:
                        yield Block(text=text, line=ordinal, kind="heading", level=int(name[1]), links=links)
                    elif name == "p" and bold_only(node) and len(text) <= self.max_bold_heading:
                        yield Block(text=text, line=ordinal, kind="heading", level=None, links=links)
                    elif name == "li":
                        yield Block(text=text, line=ordinal, kind="item", links=links)
                    else:
                        yield Block(text=text, line=ordinal, links=links)
            elif name in self.blockish or id(node) in blocky:
                yield from flush()
                stack.append(close)
                stack.extend(reversed(node.contents))
            else:
                pending.append(node)
        yield from flush()


def markdown_parser() -> MarkdownIt:
    """CommonMark with GitHub's tables and strikethrough; raw HTML is parsed (and flattened)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _bold_only(children: list[Token]) -> bool:
    """True if an inline's content is one strong-emphasis run (`**Diagnosis**`).

    >>> _bold_only(markdown_parser().parse("**Diagnosis**")[1].children or [])
    True
    >>> _bold_only(markdown_parser().parse("**Note:** text")[1].children or [])
    False
    """
    parts = [c for c in children if not (c.type == "text" and not c.content.strip())]
    if len(parts) < 3 or parts[0].type != "strong_open" or parts[-1].type != "strong_close":
        return False
    depth = 0
    for k, c in enumerate(parts):
        depth += (c.type == "strong_open") - (c.type == "strong_close")
        if depth == 0 and k < len(parts) - 1:
            return False  # the first run closes before the end: text follows it
    return True


def _inline_pieces(children: list[Token], split: bool) -> Iterator[tuple[int, str, list[Link]]]:
    """(line offset, text, links) of an inline's content: emphasis, code and image marks go,
    link text stays with its link. A hard line break ends a piece; a soft one does too when
    `split` (text written one paragraph per line), else it joins two lines of a paragraph."""
    parts: list[str] = []
    metas: list[tuple[str | None, str | None]] = []
    offset = first = 0
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content.replace(_LINK_OPEN, "").replace(_LINK_CLOSE, ""))
        elif kind == "link_open":
            href, title = child.attrGet("href"), child.attrGet("title")
            metas.append((None if href is None else str(href), None if title is None else str(title)))
            parts.append(_LINK_OPEN)
        elif kind == "link_close":
            parts.append(_LINK_CLOSE)
        elif kind in ("softbreak", "hardbreak"):
            offset += 1
            if kind == "hardbreak" or split:
                text, links = _finish("".join(parts), metas)
                if text:
                    yield first, text, links
                parts, metas, first = [], [], offset
            else:
                parts.append(" ")
    text, links = _finish("".join(parts), metas)
    if text:
        yield first, text, links


def markdown_blocks(
    text: str, md: MarkdownIt, walker: _PageWalker, split_lines: bool, removed: list[Removal] | None = None
) -> tuple[list[Block], int]:
    """(blocks, source lines in no block) of a markdown text (see the module docstring).

    `split_lines`: a line break inside a paragraph starts a new block (`text_blocks` reads
    unwrapped text one paragraph per line too). Raw HTML blocks are walked like a page's
    content, their chrome going to `removed` numbered by the block's first line.

    >>> md, walker = markdown_parser(), _PageWalker(Settings())
    >>> blocks, _ = markdown_blocks("# Gout\\n\\n**Urate** [crystals](/c) form.\\n\\n- *NSAIDs*", md, walker, True)
    >>> [(b.text, b.line, b.kind, b.level) for b in blocks]
    [('Gout', 1, 'heading', 1), ('Urate crystals form.', 3, 'text', None), ('NSAIDs', 5, 'item', None)]
    >>> [(link.text, link.href) for link in blocks[1].links]
    [('crystals', '/c')]
    """
    blocks: list[Block] = []
    covered: set[int] = set()
    in_item = 0
    level: int | None = None
    row: list[tuple[str, list[Link]]] | None = None  # the cells of the table row being read
    row_line = 0
    for tok in md.parse(text):
        kind = tok.type
        line = tok.map[0] + 1 if tok.map else (blocks[-1].line if blocks else 1)
        if kind == "tr_open":
            row, row_line = [], line
        elif kind == "tr_close" and row is not None:
            flat, links = join_cells(row, walker.cell_separator)
            if flat:
                blocks.append(Block(text=flat, line=row_line, links=links))
            row = None
        elif row is not None and kind == "inline":  # a table cell
            pieces = list(_inline_pieces(tok.children or [], False))
            row.append((pieces[0][1], pieces[0][2]) if pieces else ("", []))
            if tok.map:
                covered.update(range(tok.map[0], tok.map[1]))
        elif kind == "list_item_open":
            in_item += 1
        elif kind == "list_item_close":
            in_item -= 1
        elif kind == "heading_open":
            level = int(tok.tag[1])
        elif kind == "heading_close":
            level = None
        elif kind == "inline":
            children = tok.children or []
            if any(c.type == "html_inline" for c in children):  # raw tags inside: flatten as HTML
                html = md.renderer.renderInline(children, md.options, {})
                flat, links = flatten(BeautifulSoup(html, "html.parser").contents)
                pieces: Iterable[tuple[int, str, list[Link]]] = [(0, flat, links)] if flat else []
            else:
                pieces = _inline_pieces(children, split_lines and level is None)
            bold = level is None and not in_item and _bold_only(children)
            for offset, flat, links in pieces:
                if level is not None:
                    blocks.append(Block(text=flat, line=line, kind="heading", level=level, links=links))
                elif bold and len(flat) <= walker.max_bold_heading:
                    blocks.append(Block(text=flat, line=line + offset, kind="heading", level=None, links=links))
                else:
                    blocks.append(Block(text=flat, line=line + offset, kind="item" if in_item else "text", links=links))
        elif kind in ("fence", "code_block"):
            for offset, code_line in enumerate(tok.content.split("\n"), start=1 if kind == "fence" else 0):
                flat = collapse(code_line)
                if flat:
                    blocks.append(Block(text=flat, line=line + offset))
        elif kind == "html_block":
            dropped: list[Removal] = []
            for block in walker.blocks(BeautifulSoup(tok.content, "html.parser"), dropped):
                block.line = line
                blocks.append(block)
            if removed is not None:
                removed.extend(Removal(r.stage, r.reason, line, line, r.text) for r in dropped)
        else:
            continue
        if kind in ("inline", "fence", "code_block", "html_block") and tok.map:
            covered.update(range(tok.map[0], tok.map[1]))
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return blocks, n_lines - len(covered)


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


def content_root(soup: BeautifulSoup, article_min_share: float) -> Tag | None:
    """The page's single <main> or <article> (see `Settings.article_min_share`), or None.

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


def page_blocks(html: str, settings: Settings, walker: _PageWalker | None = None,
                removed: list[Removal] | None = None) -> tuple[str | None, list[Block]]:
    """(title, blocks) of a whole HTML page; what it drops that has text goes to `removed`."""
    soup = BeautifulSoup(html, "lxml")
    h1 = soup.find("h1")
    title_tag = soup.find("title")
    title = None
    if isinstance(h1, Tag):
        title = collapse(h1.get_text(" ")) or None
    if title is None and isinstance(title_tag, Tag):
        title = page_title(collapse(title_tag.get_text(" "))) or None
    root = content_root(soup, settings.article_min_share)
    if root is None:
        body = soup.find("body")
        root = body if isinstance(body, Tag) else soup
    blocks = list((walker or _PageWalker(settings)).blocks(root, removed))
    if removed is not None and root.name in ("main", "article"):
        before, after = outside(root)
        why = f"outside the page's <{root.name}>"

        def row(nodes: list[Tag | NavigableString], number: int) -> list[Removal]:
            texts = [text for text in map(visible_text, nodes) if text]
            return [Removal("strip_html", why, number, number, " ".join(texts))] if texts else []

        removed[:0] = row(before, 1)  # numbered as the first block
        removed.extend(row(after, len(blocks) + 1))  # as a block after the last
    return title, blocks


class StripHtml:
    name = "strip_html"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.walker = _PageWalker(settings)  # its tag sets and attribute regex, built once per run
        self.markdown = markdown_parser()

    def __call__(self, doc: Document) -> Document:
        st = self.settings
        title, n_envelope = reader_envelope(doc.text.split("\n", 20)) if doc.text.startswith("Title:") else (None, 0)
        if n_envelope:  # a reader's header: the title is kept, the rest listed as removed
            lines = doc.text.split("\n")
            envelope = [line.strip() for line in lines[:n_envelope] if line.strip()]
            doc.removed.append(Removal(self.name, "reader envelope (Title, URL Source, ...)", 1, n_envelope, "\n".join(envelope)))
            doc.text = "\n" * n_envelope + "\n".join(lines[n_envelope:])  # blank lines keep the numbering
        if is_html_page(doc.text, st.html_min_block_tags):
            doc.kind = "html"
            dropped: list[Removal] = []
            doc.title, doc.blocks = page_blocks(doc.text, st, self.walker, dropped)
            doc.removed.extend(dropped)
            doc.count(self.name, "lines_removed", len(dropped))  # page elements with text
        elif is_markdown(doc.text, st.markdown_min_lines):
            doc.kind = "markdown"
            lines = doc.text.split("\n")
            split = not (st.join_wrapped_lines and is_hard_wrapped(lines, st.wrap_width, st.wrap_share))
            dropped = []
            doc.blocks, outside_blocks = markdown_blocks(doc.text, self.markdown, self.walker, split, dropped)
            doc.removed.extend(dropped)
            # blank lines, rules, image-only lines: nothing of the text (plus chrome in raw HTML)
            doc.count(self.name, "lines_removed", outside_blocks + len(dropped))
        else:
            doc.kind = "text"
            doc.blocks = list(text_blocks(doc.text, st.join_wrapped_lines, st.wrap_width, st.wrap_share, st.dehyphenate))
        if n_envelope:
            doc.title = page_title(title) if title else doc.title
            if doc.kind == "html":  # text and markdown count the envelope's now blank lines already
                doc.count(self.name, "lines_removed", len(envelope))
        doc.count(self.name, "blocks", len(doc.blocks))
        doc.count(self.name, "links", sum(len(b.links) for b in doc.blocks))
        if doc.kind == "text":
            lines = doc.text.split("\n")
            # blank lines and rules (`-----`, setext underlines): nothing of the text
            box = "|" in doc.text and "+" in doc.text  # as `text_blocks` decides
            dropped = sum(
                1 for line in lines if not line.strip() or _RULE.fullmatch(line) or (box and _BOX_BORDER.fullmatch(line))
            )
            doc.count(self.name, "lines_removed", dropped)
            doc.count(self.name, "lines_joined", len(lines) - dropped - len(doc.blocks))  # hard-wrapped paragraphs
        return doc


def build(settings: Settings, ctx: RunContext) -> StripHtml:
    return StripHtml(settings)

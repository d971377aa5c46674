"""strip_html: markup -> blocks of plain text, keeping link text and links as data.

Four input kinds, chosen by content (not file extension):
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
  rows text blocks without their marks; emphasis and code marks go, link text stays (links
  kept as data), images go; a bold-only paragraph is a pseudo-heading, as on HTML pages;
- a reStructuredText document (`is_rst`: adorned section titles and explicit markup, such as
  `.. note::` or `.. _target:`; checked before markdown, which shares `**bold**`): parsed with
  docutils, each section's depth its heading's level (`pipeline.markup.rst`).
A text whose line breaks were lost (one line holding nearly all of it) first gets its known
headings back on lines of their own (`restore_breaks`). Encoded data (a data: URI, a long run
of base64: an inlined file) is taken out of the blocks of every kind and listed (`drop_base64`).
A web-to-markdown reader's envelope ("Title: ...", "URL Source: ...", "Markdown Content:") gives
the title and is listed as removed. The readers are `pipeline.markup.text`, `.html`,
`.markdown` and `.rst`; this module picks one by content and records what it removed.
Whitespace runs inside a block collapse to one space; the other changes to the text are the
removal of marks (bullets, markdown marks) and, in hard-wrapped text, the rejoining of words a
line-end hyphen broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from pydantic import Field

from pipeline.document import Block, Document, Link, Removal
from pipeline.markup.html import PageWalker, collapse, has_markup, is_html_page, page_blocks, page_title
from pipeline.markup.markdown import (
    front_matter,
    is_markdown,
    markdown_blocks,
    markdown_parser,
    obsidian_marks,
    reader_envelope,
)
from pipeline.markup.rst import is_rst, rst_blocks
from pipeline.markup.text import (
    BOX_BORDER,
    RULE,
    TEXT_BULLET,
    has_box,
    is_hard_wrapped,
    restore_breaks,
    running_heads,
    text_blocks,
)
from pipeline.stages import RunContext, StageError, StageSettings
from pipeline.stages.section_type import heading_key, load_rules

__all__ = [  # the stage, and the readers' entry points importable from it as before
    "BOX_BORDER", "RULE", "TEXT_BULLET", "PageWalker", "Settings", "StripHtml", "build", "collapse", "has_markup",
    "is_hard_wrapped", "is_html_page", "is_markdown", "markdown_blocks", "page_blocks", "reader_envelope", "text_blocks",
]


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
        r"|editsection|reference(?![-s])|hatnote|navbox|catlinks|noprint|infobox|sitenotice|sitesub"
        # page furniture: bylines, review dates, disclaimers, feedback boxes, related links
        r"|byline|review-date|disclaimer|feedback|page-header|page-actions|footer|related"
        # print-only header and footer (hidden on screen), the Wayback Machine's toolbar in its captures
        r"|print-only|print-header|print-footer|visible-print|wm-ipp-base|wm-ipp-print|donato)\b"
    )
    # A definition list (`<dl>`) whose class matches this names the article's metadata (Joomla's
    # `dl.article-info`: Details, Written by, Category, Published, Hits): chrome. Only a list:
    # the same words on a `<section>` may mark the article itself (Zendesk's `section.article-info`).
    metadata_list_pattern: str = r"(?i)\b(article-info|article-meta|entry-meta|post-meta)\b"
    # Words of `drop_attr_pattern` that name the wrapper of the page's title (Bootstrap's
    # `<div class="page-header"><h1>Celiac Disease</h1></div>`, Joomla's article title): such
    # an element is no chrome when it holds an `<h1>` or `<h2>` (without one it is a banner:
    # MedlinePlus' .gov notice).
    title_wrappers: list[str] = Field(default_factory=lambda: ["page-header"])
    # Comments that open and close a region of inserted page chrome (begin -> end): the region
    # between them is dropped and listed. The Wayback Machine writes these around the toolbar
    # it inserts into every capture, whatever the page.
    chrome_comment_regions: dict[str, str] = Field(
        default_factory=lambda: {"BEGIN WAYBACK TOOLBAR INSERT": "END WAYBACK TOOLBAR INSERT"}
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
    # A table cell with more text than this, or with a paragraph break (`<br><br>`), is page
    # layout (an old page laid out in a table), not data: it is read as a container, its
    # `<br>`-separated lines each a paragraph, and its row is not joined into one.
    max_table_cell_chars: int = Field(300, ge=1)
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
    # In text that is not hard-wrapped as a whole, a blank-line separated group is still one
    # paragraph when its lines but the last are at least this long and at least half of them
    # are continued mid-sentence (a scraper's later copy re-wrapped); shorter lines stay apart.
    wrapped_block_min_chars: int = Field(35, ge=1)
    # Text only: a short line of a title and a page number apart by 3+ spaces, the same title
    # on 2 or more lines, is a printed page's running head or foot (PDF or OCR text): removed.
    drop_running_heads: bool = True
    # A text is markdown when at least this many of its lines carry a markdown-only mark
    # (`# ` heading, `**bold**`/`__bold__`, `[text](url)`, a ``` fence); 0 never reads markdown.
    markdown_min_lines: int = Field(3, ge=0)
    # A text is reStructuredText (read with docutils) when it has at least this many adorned
    # section titles and markup only reStructuredText writes (`markup.rst.is_rst`); 0 never.
    rst_min_titles: int = Field(2, ge=0)
    # A text line longer than this holds a whole document whose line breaks were lost (a page
    # flattened to one line): the known headings in it (the section-type synonyms of
    # `flat_headings_from`), capitalised after a sentence end and before a capitalised word,
    # go back on lines of their own (`markup.text.restore_breaks`). 0: never.
    flat_line_chars: int = Field(3000, ge=0)
    # ...when the document has at most this many other non-blank lines (a title, a footer): a
    # long paragraph of a document that has its line breaks stays whole.
    flat_max_other_lines: int = Field(2, ge=0)
    flat_headings_from: str = "section_types.yaml"  # relative to the configs folder
    # A restored heading has at most this many words, and the title that opens the line
    # (before its first heading) at most `flat_title_words`.
    flat_heading_words: int = Field(4, ge=1)
    flat_title_words: int = Field(10, ge=0)
    # Encoded data in the text of any input kind: a data: URI ("data:image/png;base64,..."),
    # with the markdown image or link around it, and a run of at least this many characters of
    # the base64 alphabet without a space, mixing capitals, small letters and digits (an
    # inlined file; no word, address or gene sequence is that long and mixed) is removed and
    # listed (`drop_base64`). 1,000 is about 750 bytes of file, ten times the longest words
    # and most addresses. 0: never.
    base64_min_chars: int = Field(1000, ge=0)
    # A removed run of base64 is listed by its first this many characters and its length.
    removed_preview_chars: int = Field(80, ge=10)


RUNNING_HEAD = "running head or foot of a printed page"  # the reason of its removal rows
BASE64 = "encoded data (a data: URI or a base64 run)"  # the reason of `drop_base64`'s rows
_DATA_URI = r"data:[\w.+-]{1,64}/[\w.+-]{1,64}(?:;[\w.+-]{1,64}=[\w.+-]{1,64})*;base64,[A-Za-z0-9+/]*={0,2}"
# A data: URI, as a markdown image's or link's target with its brackets ("![Diagram](data:...)"), or alone.
DATA_URI = re.compile(rf'!?\[[^\[\]\n]{{0,500}}\]\(\s{{0,10}}{_DATA_URI}(?:\s{{1,10}}"[^"\n]{{0,500}}")?\s{{0,10}}\)|{_DATA_URI}')


def base64_run(min_chars: int) -> re.Pattern[str]:
    """A run of at least `min_chars` characters of the base64 alphabet, matched only from its
    start (the lookbehind: a linear scan, where a run one short would be retried from each of
    its positions)."""
    return re.compile(rf"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{{{min_chars},}}={{0,2}}")


def _mixed(run: str) -> bool:
    """True if `run` mixes capitals, small letters and digits, as encoded data does."""
    return any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)


def cut(text: str, links: list[Link], spans: list[tuple[int, int]]) -> tuple[str, list[Link]]:
    """`text` without the sorted, disjoint `spans`, each taking one space beside it along (no
    double or edge space is left), and its links moved along (those inside a span go).

    >>> from pipeline.document import Link
    >>> cut("see XX here", [Link("here", None, None, 7, 11)], [(4, 6)])
    ('see here', [Link(text='here', href=None, title=None, start=4, end=8, section_id=None, field='text')])
    >>> cut("XX tail", [], [(0, 2)])[0], cut("head XX", [], [(5, 7)])[0]
    ('tail', 'head')
    """
    wide: list[tuple[int, int]] = []
    for start, end in spans:
        if start > 0 and text[start - 1] == " " and (not wide or wide[-1][1] < start - 1):
            start -= 1
        elif end < len(text) and text[end] == " ":
            end += 1
        wide.append((start, end))

    def moved(pos: int) -> int:
        return pos - sum(min(end, pos) - start for start, end in wide if start < pos)

    out = "".join(text[a:b] for a, b in zip([0] + [e for _, e in wide], [s for s, _ in wide] + [len(text)], strict=True))
    kept: list[Link] = []
    for link in links:
        start, end = moved(link.start), moved(link.end)
        while start < end and out[start] == " ":
            start += 1
        while end > start and out[end - 1] == " ":
            end -= 1
        if start < end:
            kept.append(replace(link, text=out[start:end], start=start, end=end))
    return out, kept


def drop_base64(block: Block, min_chars: int, preview: int, run: re.Pattern[str] | None = None
                ) -> tuple[Block | None, list[str]]:
    """`block` without its encoded data (`DATA_URI`, and runs of `min_chars` or more base64
    characters that are `_mixed`; `run`: `base64_run(min_chars)`, built once by the caller),
    None when nothing else is left, and what was removed, each piece longer than `preview`
    characters shortened to its start and its length.

    >>> block = Block("Colour changes ![Diagram](data:image/png;base64,iVBORw0KGgo=) of the fingers.", 3)
    >>> kept, removed = drop_base64(block, 1000, 20)
    >>> kept.text, removed
    ('Colour changes of the fingers.', ['![Diagram](data:imag… (46 characters)'])
    >>> drop_base64(Block("aB3" * 400, 5), 1000, 20)
    (None, ['aB3aB3aB3aB3aB3aB3aB… (1,200 characters)'])
    >>> drop_base64(Block("ACGT" * 300, 5), 1000, 20)[0].line  # a gene sequence: no small letters
    5
    """
    text = block.text
    spans = [m.span() for m in DATA_URI.finditer(text)] if "base64," in text else []
    if len(text) >= min_chars:
        for found in (run or base64_run(min_chars)).finditer(text):
            if _mixed(found.group()) and not any(s <= found.start() < e for s, e in spans):
                spans.append(found.span())
    if not spans:
        return block, []
    spans.sort()
    removed = [text[s:e] if e - s <= preview else f"{text[s:s + preview]}… ({e - s:,} characters)" for s, e in spans]
    out, links = cut(text, block.links, spans)
    return (replace(block, text=out, links=links) if out.strip() else None), removed
# Lines a header at the top of a text (a reader's envelope, a YAML front matter) is looked for in.
_HEADER_SCAN = 64


class StripHtml:
    name = "strip_html"

    def __init__(self, settings: Settings, known_heading: Callable[[str], bool] | None = None) -> None:
        self.settings = settings
        self.known_heading = known_heading  # for `restore_breaks`; None: never restored
        self.walker = PageWalker(settings)  # its tag sets and attribute regex, built once per run
        self.markdown = markdown_parser()
        self.base64 = base64_run(settings.base64_min_chars) if settings.base64_min_chars else None

    def strip_header(self, doc: Document) -> tuple[str | None, int]:
        """Take a reader's envelope (`Title:`, `URL Source:`...) or a YAML front matter off the top
        of the text, listed as removed and left as blank lines (the numbering stays): its title and
        its number of non-blank lines, or (None, 0)."""
        if doc.text.startswith("Title:"):
            title, n = reader_envelope(doc.text.split("\n", _HEADER_SCAN))
            reason = "reader envelope (Title, URL Source, ...)"
        elif doc.text.startswith("---"):
            title, n = front_matter(doc.text.split("\n", _HEADER_SCAN))
            reason = "front matter (YAML)"
        else:
            return None, 0
        if not n:
            return None, 0
        lines = doc.text.split("\n")
        header = [line.strip() for line in lines[:n] if line.strip() and line.strip() not in ("---", "...")]
        doc.removed.append(Removal(self.name, reason, 1, n, "\n".join(header)))
        doc.text = "\n" * n + "\n".join(lines[n:])
        return title, len(header)

    def running_heads(self, doc: Document) -> frozenset[int]:
        """Numbers of the lines that are running heads or feet of printed pages (`running_heads`),
        each listed as removed: the text reader reads past them (in hard-wrapped text they were
        joined into the paragraph around them, which a page break may cut)."""
        if "   " not in doc.text:  # they stand 3 spaces apart from their page number
            return frozenset()
        lines = doc.text.split("\n")
        heads = running_heads(lines)
        for i in heads:
            doc.removed.append(Removal(self.name, RUNNING_HEAD, i + 1, i + 1, lines[i].strip()))
        return frozenset(i + 1 for i in heads)

    def restore_breaks(self, doc: Document) -> None:
        """Put the known headings of a flattened text's long lines back on lines of their own."""
        assert self.known_heading is not None
        lines = doc.text.split("\n")
        longest = max(lines, key=len)
        # Only a line that is nearly all of the document: a long paragraph of a document with
        # line breaks stays whole, whatever heading words its sentences start with.
        others = sum(1 for line in lines if line.strip()) - 1
        if len(longest) <= self.settings.flat_line_chars or others > self.settings.flat_max_other_lines:
            return
        st = self.settings
        restored = [restore_breaks(line, self.known_heading, st.flat_heading_words, st.flat_title_words)
                    if line is longest else line for line in lines]
        added = sum(r.count("\n") for r in restored)
        if added:
            doc.text = "\n".join(restored)
            doc.count(self.name, "flat_line_breaks_restored", added)

    def remove_encoded(self, doc: Document) -> int:
        """Take encoded data out of the blocks (`drop_base64`), each piece listed as removed;
        the number of blocks it left empty, which go."""
        st = self.settings
        if "base64," not in doc.text and all(len(block.text) < st.base64_min_chars for block in doc.blocks):
            return 0  # none in the document: no call per block
        kept: list[Block] = []
        pieces = 0
        for block in doc.blocks:
            new, removed = drop_base64(block, st.base64_min_chars, st.removed_preview_chars, self.base64)
            doc.removed.extend(Removal(self.name, BASE64, block.line, block.line, text) for text in removed)
            pieces += len(removed)
            if new is not None:
                kept.append(new)
        if pieces:
            doc.count(self.name, "base64_removed", pieces)
        emptied = len(doc.blocks) - len(kept)
        doc.blocks = kept
        return emptied

    def __call__(self, doc: Document) -> Document:
        st = self.settings
        title, n_header = self.strip_header(doc)
        heads: frozenset[int] = frozenset()  # running heads of a text (line numbers)
        if is_html_page(doc.text, st.html_min_block_tags):
            doc.kind = "html"
            dropped: list[Removal] = []
            doc.title, doc.blocks = page_blocks(doc.text, st, self.walker, dropped)
            doc.removed.extend(dropped)
            doc.count(self.name, "lines_removed", len(dropped))  # page elements with text
        elif st.rst_min_titles and is_rst(doc.text, st.rst_min_titles):
            doc.kind = "rst"
            dropped = []
            doc.blocks = rst_blocks(doc.text, st.table_cell_separator, dropped)
            doc.removed.extend(dropped)
            doc.count(self.name, "lines_removed", len(dropped))  # a table of contents, comments, markup in error
        elif is_markdown(doc.text, st.markdown_min_lines):
            doc.kind = "markdown"
            lines = doc.text.split("\n")
            split = not (st.join_wrapped_lines and is_hard_wrapped(lines, st.wrap_width, st.wrap_share))
            dropped = []
            doc.blocks, outside_blocks = markdown_blocks(obsidian_marks(doc.text), self.markdown, self.walker, split, dropped)
            doc.removed.extend(dropped)
            # blank lines, rules, image-only lines: nothing of the text (plus chrome in raw HTML)
            doc.count(self.name, "lines_removed", outside_blocks + len(dropped))
        else:
            doc.kind = "text"
            if st.flat_line_chars and self.known_heading is not None and len(doc.text) > st.flat_line_chars:
                self.restore_breaks(doc)  # a document flattened to one line
            heads = self.running_heads(doc) if st.drop_running_heads else frozenset()
            doc.blocks = list(text_blocks(
                doc.text, st.join_wrapped_lines, st.wrap_width, st.wrap_share, st.dehyphenate, st.table_cell_separator,
                st.wrapped_block_min_chars, heads,
            ))
        emptied = self.remove_encoded(doc) if st.base64_min_chars else 0
        if emptied:
            doc.count(self.name, "lines_removed", emptied)  # lines or elements of encoded data alone
        if n_header:
            doc.title = page_title(title) if title else doc.title
            if doc.kind == "html":  # text and markdown count the header's now blank lines already
                doc.count(self.name, "lines_removed", n_header)
        doc.count(self.name, "blocks", len(doc.blocks))
        doc.count(self.name, "links", sum(len(b.links) for b in doc.blocks))
        if doc.kind == "text":
            lines = doc.text.split("\n")
            # blank lines and rules (`-----`, setext underlines): nothing of the text
            box = has_box(doc.text)  # as `text_blocks` decides
            markup_lines = sum(
                1 for line in lines if not line.strip() or RULE.fullmatch(line) or (box and BOX_BORDER.fullmatch(line))
            )
            doc.count(self.name, "lines_removed", markup_lines + len(heads))  # running heads have rows
            doc.count(self.name, "lines_joined",  # wrapped paragraphs
                      len(lines) - markup_lines - len(heads) - len(doc.blocks) - emptied)
        return doc


def build(settings: Settings, ctx: RunContext) -> StripHtml:
    if not settings.flat_line_chars:
        return StripHtml(settings)
    try:
        rules = load_rules(ctx.config_dir / settings.flat_headings_from)
    except (OSError, ValueError) as exc:
        raise StageError("strip_html_headings", f"{exc} (fix the file or set strip_html.flat_headings_from)") from exc
    known = frozenset(heading_key(s) for t in rules.types.values() for s in t.synonyms)
    return StripHtml(settings, lambda phrase: heading_key(phrase) in known)

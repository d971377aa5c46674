"""Markdown -> blocks, parsed with markdown-it-py, and the detection of markdown text and of a
web-to-markdown reader's envelope. Used by the `strip_html` stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipeline.document import Block, Link, Removal
from pipeline.markup.html import LINK_CLOSE, LINK_OPEN, PageWalker, collapse, finish, flatten, join_cells

# Marks only markdown gives a line, each with the literals it needs (checked first: a plain
# text has none, and `in` is far cheaper than a regex scan): an ATX heading, strong emphasis,
# an inline link, a code fence.
_MARKDOWN_MARKS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("#",), re.compile(r"^[ ]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)),
    # strong emphasis: not "______" fill-in blanks nor "__/__/____" date fields
    (("**", "__"), re.compile(r"(\*\*|__)(?![\s*_/])[^\n]{1,500}?(?<![\s*_/])\1")),
    (("](",), re.compile(r"\[[^\]\n]{1,300}\]\([^()\s]{1,2000}(?:[ \t]+\"[^\"\n]{0,300}\")?\)")),
    (("```",), re.compile(r"^[ ]{0,3}```", re.MULTILINE)),
)


# The header a web-to-markdown reader (Jina Reader and the like) puts above the page:
# "Title: ...", "URL Source: ...", "Published Time: ...", then "Markdown Content:"; a
# readability or trafilatura dump writes such fields (Byline, Site Name, Excerpt...) and a blank line.
_ENVELOPE_FIELD = re.compile(
    r"(Title|URL Source|URL|Source URL|Published Time|Description|Warning|Byline|Author|Site ?Name|Hostname|Date"
    r"|Excerpt|Length|Language):[ \t]*(.*)"
)
_ENVELOPE_END = "Markdown Content:"
_ENVELOPE_URLS = frozenset({"URL Source", "URL", "Source URL"})


def reader_envelope(lines: list[str], max_lines: int = 20) -> tuple[str | None, int]:
    """(the page title, number of lines) of a reader envelope at the top of `lines`, or
    (None, 0) when there is none.

    >>> reader_envelope(["Title: Gout | Site", "", "URL Source: https://x.org/gout", "Markdown Content:", "Gout"])
    ('Gout | Site', 4)
    >>> reader_envelope(["Title: a poem", "It rhymes."])
    (None, 0)
    >>> reader_envelope(["Title: Gout", "URL Source: https://x.org/gout", "Byline: By A. Lee", "", "Gout"])
    ('Gout', 3)
    """
    title: str | None = None
    names: set[str] = set()
    for i, line in enumerate(lines[:max_lines]):
        stripped = line.strip()
        if not stripped:
            following = next((x.strip() for x in lines[i + 1:max_lines] if x.strip()), "")
            if (title is not None and names & _ENVELOPE_URLS and following != _ENVELOPE_END
                    and _ENVELOPE_FIELD.fullmatch(following) is None):
                return title, i  # a dump's fields, a title and an address among them, end at a blank line
            continue
        if stripped == _ENVELOPE_END:
            return (title, i + 1) if title is not None else (None, 0)
        field = _ENVELOPE_FIELD.fullmatch(stripped)
        if field is None:
            return None, 0
        names.add(field.group(1))
        if field.group(1) == "Title":
            title = field.group(2).strip() or None
    return None, 0


_FRONT_FIELD = re.compile(r"([A-Za-z_][\w-]{0,40}):(?:\s(.*))?")
_MAX_FRONT_MATTER_LINES = 60


def front_matter(lines: list[str]) -> tuple[str | None, int]:
    """(its `title:`, number of lines) of a YAML front matter block (`---` lines around
    `key: value` lines, as Jekyll, Hugo and Obsidian write) at the top of `lines`, or (None, 0).

    >>> front_matter(["---", "title: Type 2 Diabetes", "tags: [endocrinology]", "---", "# Type 2 Diabetes"])
    ('Type 2 Diabetes', 4)
    >>> front_matter(["---", "Not a field line.", "---"])
    (None, 0)
    """
    if not lines or lines[0].strip() != "---":
        return None, 0
    title: str | None = None
    for i, line in enumerate(lines[1:_MAX_FRONT_MATTER_LINES], start=1):
        stripped = line.strip()
        if stripped in ("---", "..."):
            return (title, i + 1) if i > 1 else (None, 0)
        field = _FRONT_FIELD.fullmatch(stripped)
        if field is None and not (line[:1].isspace() or stripped.startswith("- ") or not stripped):
            return None, 0  # not YAML: a rule line above text
        if field is not None and field.group(1).lower() == "title" and field.group(2):
            title = field.group(2).strip().strip("'\"") or None
    return None, 0


# Obsidian's marks: wikilinks ([[Page]], [[Page|shown text]]), callout types ("> [!NOTE]"),
# task boxes ("- [ ] ", "- [x] ") and inline #tags. Replaced in the source before parsing,
# so that offsets of links found by the parser stay right.
_WIKILINK = re.compile(r"\[\[([^\[\]|\n]{1,200})(?:\|([^\[\]\n]{1,200}))?\]\]")
_CALLOUT = re.compile(r"^([ \t]*>[ \t]*)\[![A-Za-z-]{1,20}\][+-]?[ \t]*", re.MULTILINE)
_TASK_BOX = re.compile(r"^([ \t]*[-*+][ \t]+)\[[ xX]\][ \t]+", re.MULTILINE)
_TAG = re.compile(r"(?<![^\s(])#[A-Za-z][\w/-]{0,50}(?=[\s.,;:)]|$)")
_TRAILING_BLANKS = re.compile(r"(?<=\S)[ \t]+$", re.MULTILINE)  # after a non-blank: linear
# Footnotes (GitHub, Pandoc): a reference "[^1]" goes, a definition "[^1]: text" keeps its text.
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]{1,40}\](?!:)")
_FOOTNOTE_DEF = re.compile(r"^([ \t]*)\[\^[^\]\s]{1,40}\]:[ \t]*", re.MULTILINE)


_PAGE_NAME = re.compile(r"[\w.]+(?:-[\w.]+)+")  # a wiki page's file name: words joined by hyphens


def wikilink_text(link: re.Match[str]) -> str:
    """The shown text of a wikilink: Obsidian writes `[[page|shown text]]`, GitHub's wikis (Gollum)
    `[[shown text|Page-Name]]`; a side written as a page name (hyphen-joined, no space) is the page.

    >>> [_WIKILINK.sub(wikilink_text, t) for t in ("[[Insulin|insulin therapy]]", "[[colchicine|Colchicine-dosing]]", "[[Gout]]")]
    ['insulin therapy', 'colchicine', 'Gout']
    """
    first, second = link.group(1), link.group(2)
    if second is None:
        return first
    if _PAGE_NAME.fullmatch(second.strip()) and not _PAGE_NAME.fullmatch(first.strip()):
        return first
    return second


def obsidian_marks(text: str) -> str:
    """`text` without Obsidian's marks: a wikilink becomes its shown text, a callout's type,
    a task's box and an inline tag go; and without footnote marks (a definition keeps its text).

    >>> obsidian_marks("- [x] Start [[Insulin|insulin therapy]] early. #endocrinology")
    '- Start insulin therapy early.'
    >>> obsidian_marks("> [!WARNING] Red flags")
    '> Red flags'
    >>> obsidian_marks("Asthma is common.[^1] [^1]: Global Asthma Report, 2022.")
    'Asthma is common. [^1]: Global Asthma Report, 2022.'
    >>> obsidian_marks("[^1]: Global Asthma Report, 2022.")
    'Global Asthma Report, 2022.'
    """
    if "[^" in text:  # footnotes, which markdown-it's core leaves as text
        text = _FOOTNOTE_REF.sub("", _FOOTNOTE_DEF.sub(r"\1", text))
    if "[[" in text:
        text = _WIKILINK.sub(wikilink_text, text)
    if "[!" in text:
        text = _CALLOUT.sub(r"\1", text)
    if "[" in text:
        text = _TASK_BOX.sub(r"\1", text)
    if "#" in text:
        untagged = _TAG.sub("", text)
        if untagged != text:
            text = _TRAILING_BLANKS.sub("", untagged)  # where a tag ended a line
    return text


def is_markdown(text: str, min_lines: int = 3) -> bool:
    """True if at least `min_lines` lines of `text` carry a markdown-only mark (`_MARKDOWN_MARKS`).

    >>> is_markdown("# Gout\\n\\n**Gout** is an [arthritis](/a).\\n\\n## Causes\\n\\nUrate.")
    True
    >>> is_markdown("Gout\\nC# and F# are languages; 2 * 3 = 6.\\n[1] A reference.")
    False
    >>> is_markdown("Name: __________\\nDate: ___/___/______\\nSigned: ______ Witness: ______")
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
            parts.append(child.content.replace(LINK_OPEN, "").replace(LINK_CLOSE, ""))
        elif kind == "link_open":
            href, title = child.attrGet("href"), child.attrGet("title")
            metas.append((None if href is None else str(href), None if title is None else str(title)))
            parts.append(LINK_OPEN)
        elif kind == "link_close":
            parts.append(LINK_CLOSE)
        elif kind in ("softbreak", "hardbreak"):
            offset += 1
            if kind == "hardbreak" or split:
                text, links = finish("".join(parts), metas)
                if text:
                    yield first, text, links
                parts, metas, first = [], [], offset
            else:
                parts.append(" ")
    text, links = finish("".join(parts), metas)
    if text:
        yield first, text, links


def markdown_blocks(
    text: str, md: MarkdownIt, walker: PageWalker, split_lines: bool, removed: list[Removal] | None = None
) -> tuple[list[Block], int]:
    """(blocks, source lines in no block) of a markdown text (see the module docstring).

    `split_lines`: a line break inside a paragraph starts a new block (`text_blocks` reads
    unwrapped text one paragraph per line too). Raw HTML blocks are walked like a page's
    content, their chrome going to `removed` numbered by the block's first line.

    >>> from pipeline.stages.strip_html import Settings
    >>> md, walker = markdown_parser(), PageWalker(Settings())
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
                blocks.append(Block(text=flat, line=row_line, kind="item", links=links))  # never a heading
            row = None
        elif row is not None and kind == "inline":  # a table cell
            pieces = list(_inline_pieces(tok.children or [], False))
            row.append((pieces[0][1], pieces[0][2]) if pieces else ("", []))
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

"""reStructuredText -> blocks, parsed with docutils, and the detection of reStructuredText.
Used by the `strip_html` stage.

A reStructuredText document ranks its section titles by the order in which each adornment
style (an underline of `=`, `-`, `~`..., with or without an overline) first appears, not by
the character: docutils builds that section tree, and each section's depth is its heading's
level. What its markup only holds (comments, link targets, a directive's name and options)
gives no block; a generated table of contents and the text of a markup error (an unknown
directive) are listed as removed. Admonitions (`.. note::`) keep their text. Roles that only
Sphinx knows (`:ref:`, `:doc:`, `:term:`) read as their text, and so does its `.. seealso::`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives, roles
from docutils.statemachine import StringList

from pipeline.document import Block, Link, Removal
from pipeline.markup.html import collapse

# A section title's adornment: one punctuation character repeated (3 or more times).
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*")
# A line that starts with three of one punctuation mark: every underline is one. Searched first,
# since its leading line break makes the scan fast: most texts have none and stop there.
_ADORNMENT_START = re.compile(r"\n([!-/:-@\[-`{-~])\1\1")
# Explicit markup only reStructuredText writes: a directive, a link target, a footnote.
_EXPLICIT = re.compile(r"^\.\. (?:[A-Za-z][\w-]*::|_[^:\n]{1,200}:|\[[^\]\n]{1,40}\] )", re.MULTILINE)

_SETTINGS = {
    "report_level": 5,  # no messages on stderr: errors are read from the tree
    "halt_level": 5,  # never raise on bad markup
    "file_insertion_enabled": False,  # `.. include::` and the like read no file
    "raw_enabled": False,
    "doctitle_xform": True,  # a lone top title is the document's (level 1), a lone next one its subtitle
    "sectsubtitle_xform": False,
    "warning_stream": False,
    "_disable_config": True,  # no docutils.conf of the machine changes the parse
    "input_encoding": "unicode",
}
# Sphinx's cross-reference roles: their text, or the title before a `<target>`.
_SPHINX_ROLES = ("ref", "doc", "term", "numref", "abbr", "any", "download", "envvar", "option", "keyword", "dfn",
                 "file", "program", "command", "menuselection", "guilabel", "samp", "math")
_TARGET = re.compile(r"<[^<>]*>\s*$")  # starts at its "<": no quadratic scan of a run of spaces


def is_rst(text: str, min_titles: int = 2) -> bool:
    """True if `text` is reStructuredText: `min_titles` or more adorned section titles, and
    explicit markup, which markdown and plain text do not write (`.. note::`, `.. _target:`,
    `.. [1]`). Underlines alone are not enough: plain-text handouts underline with `~~~~` and
    frame banners with `====` too, and reading them as reStructuredText would take their
    backslashes, merge their lists and flatten their tables.

    >>> is_rst("Gout\\n====\\n\\n.. note:: See a doctor.\\n\\nCauses\\n~~~~~~\\n\\nUric acid.\\n")
    True
    >>> is_rst("Gout\\n====\\n\\nCauses\\n~~~~~~\\n\\nUric acid.\\n")  # a plain text's underlines
    False
    """
    if _ADORNMENT_START.search(text) is None or _EXPLICIT.search(text) is None:
        return False
    lines = text.split("\n")
    titles = 0
    for i in range(1, len(lines)):
        mark = _ADORNMENT.fullmatch(lines[i])
        above = lines[i - 1].rstrip()
        if mark is None or not above.strip() or _ADORNMENT.fullmatch(above) or len(lines[i].rstrip()) < len(above.strip()):
            continue
        if i >= 2 and lines[i - 2].strip() and not _ADORNMENT.fullmatch(lines[i - 2]):
            continue  # a line under a paragraph's last line: a rule or a table border, not a title
        titles += 1
    return titles >= min_titles


class _Prose(Directive):
    """A Sphinx directive around prose: its content reads as text, after the lines of its
    arguments that are text too (`leading`)."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True

    def leading(self) -> list[str]:
        return []

    def run(self) -> list[nodes.Node]:
        box = nodes.container()
        lines = self.leading()
        self.state.nested_parse(StringList([*lines, *([""] if lines else []), *self.content]), self.content_offset, box)
        return [box]


class _SeeAlso(_Prose):
    """`.. seealso:: Text`: its argument is text (a box of the page)."""

    def leading(self) -> list[str]:
        return self.arguments[0].split("\n") if self.arguments else []


class _Content(_Prose):
    """`.. only:: html`, `.. glossary::`: the argument (a condition) is no text."""

    option_spec: ClassVar[dict[str, Any]] = {"sorted": directives.flag}  # glossary's


class _Versioned(_Prose):
    """`.. versionadded:: 3.0 Text` (and versionchanged, deprecated): the text after the
    version, on its line or below."""

    required_arguments = 1

    def leading(self) -> list[str]:
        return self.arguments[1].split("\n") if len(self.arguments) > 1 else []


_SPHINX_VERSIONED = ("versionadded", "versionchanged", "deprecated", "versionremoved")
_SPHINX_CONTENT = ("only", "glossary", "centered", "hlist", "tab", "tabs")


def _text_role(name: str, rawtext: str, text: str, lineno: int, inliner: Any,
               options: dict[str, Any] | None = None, content: list[str] | None = None) -> tuple[list[nodes.Node], list[Any]]:
    """A Sphinx role read as its text (":ref:`the causes <causes>`" is "the causes")."""
    shown = _TARGET.sub("", text).rstrip() if text.rstrip().endswith(">") and "<" in text else text
    return [nodes.inline(rawtext, shown.lstrip("~!") or text)], []


_registered: list[bool] = []


def _register_roles() -> None:
    if not _registered:
        for name in _SPHINX_ROLES:
            roles.register_local_role(name, _text_role)  # type: ignore[arg-type]
        directives.register_directive("seealso", _SeeAlso)
        for name in _SPHINX_CONTENT:
            directives.register_directive(name, _Content)
        for name in _SPHINX_VERSIONED:
            directives.register_directive(name, _Versioned)
        _registered.append(True)


def _line(node: nodes.Node, default: int) -> int:
    line = getattr(node, "line", None)
    if line is None and node.parent is not None:
        line = getattr(node.parent, "line", None)
    return int(line) if line else default


_MARKS = (nodes.footnote_reference, nodes.citation_reference)


def _text(node: nodes.Element) -> str:
    """The element's text without its footnote and citation marks ("infarction [#f1]_")."""
    if node.next_node(lambda n: isinstance(n, _MARKS)) is None:
        return str(node.astext())
    out = ""
    dropped = False
    for t in node.findall(nodes.Text):
        if any(isinstance(a, _MARKS) for a in _ancestors(t)):
            dropped = True
            continue
        text = t.astext()
        if dropped and text[:1] in ".,;:!?)":
            out = out.rstrip()  # "endoscopy [#f1]_." is "endoscopy."
        out += text
        dropped = False
    return out


def _ancestors(node: nodes.Node) -> list[nodes.Node]:
    out = []
    while node.parent is not None:
        node = node.parent
        out.append(node)
    return out


def _with_links(node: nodes.Element) -> tuple[str, list[Link]]:
    """A text element's whitespace-collapsed text and the links in it."""
    text = collapse(_text(node))
    links: list[Link] = []
    pos = 0
    for ref in node.findall(nodes.reference):
        href = ref.get("refuri")
        label = collapse(ref.astext())
        if not href or not label:
            continue
        start = text.find(label, pos)
        if start < 0:
            continue
        links.append(Link(label, str(href), None, start, start + len(label)))
        pos = start + len(label)
    return text, links


class _Reader:
    """Walks a docutils tree into blocks."""

    def __init__(self, cell_separator: str, removed: list[Removal] | None) -> None:
        self.blocks: list[Block] = []
        self.removed = removed
        self.cell_separator = cell_separator
        self.line = 1

    def drop(self, node: nodes.Node, reason: str) -> None:
        text = collapse(node.astext())
        if text and self.removed is not None:
            line = _line(node, self.line)
            self.removed.append(Removal("strip_html", reason, line, line, text))

    def add(self, node: nodes.Element, kind: str = "text", level: int | None = None) -> None:
        text, links = _with_links(node)
        if text:
            self.line = _line(node, self.line)
            self.blocks.append(Block(text=text, line=self.line, kind=kind, level=level, links=links))  # type: ignore[arg-type]

    def walk(self, node: nodes.Node, depth: int, item: bool) -> None:
        for child in node.children:
            self.visit(child, depth, item)

    def visit(self, node: nodes.Node, depth: int, item: bool) -> None:
        if isinstance(node, nodes.system_message):
            for block in node.findall(nodes.literal_block):  # the source of markup in error
                self.drop(block, "reStructuredText markup in error (an unknown directive)")
        elif isinstance(node, nodes.topic) and "contents" in node.get("classes", []):
            self.drop(node, "reStructuredText table of contents")
        elif isinstance(node, nodes.comment):
            self.drop(node, "reStructuredText comment")
        elif isinstance(node, (nodes.docinfo, nodes.meta)):
            self.drop(node, "reStructuredText document metadata")
        elif isinstance(node, nodes.title) and isinstance(node.parent, nodes.document):
            self.add(node, "heading", 1)  # the document's title: its sections are level 2
        elif isinstance(node, nodes.subtitle) and isinstance(node.parent, nodes.document):
            self.add(node)
        elif isinstance(node, (nodes.target, nodes.substitution_definition, nodes.pending, nodes.raw)):
            return
        elif isinstance(node, nodes.section):
            title = node.next_node(nodes.title)
            if title is not None and title.parent is node:
                self.add(title, "heading", min(depth + 1, 6))
            for child in node.children:
                if child is not title:
                    self.visit(child, depth + 1, item)
        elif isinstance(node, (nodes.rubric, nodes.term)):
            self.add(node, "heading", None)  # an informal heading, a defined term
        elif isinstance(node, (nodes.paragraph, nodes.line, nodes.attribution, nodes.title, nodes.caption)):
            self.add(node, "item" if item else "text")
        elif isinstance(node, (nodes.literal_block, nodes.math_block)):
            self.line = _line(node, self.line)
            for k, text in enumerate(node.astext().split("\n")):
                if text.strip():
                    self.blocks.append(Block(text=collapse(text), line=self.line + k, kind="item" if item else "text"))
        elif isinstance(node, nodes.list_item):
            self.walk(node, depth, True)
        elif isinstance(node, nodes.row):
            cells = [collapse(entry.astext()) for entry in node.children if isinstance(entry, nodes.entry)]
            text = self.cell_separator.join(c for c in cells if c)
            if text:
                self.line = _line(node, self.line)
                self.blocks.append(Block(text=text, line=self.line, kind="item"))
        elif isinstance(node, nodes.field):
            name, body = [*node.children, None, None][:2]
            text = collapse(f"{name.astext() if name is not None else ''}: {body.astext() if body is not None else ''}")
            if text.strip(": "):
                self.line = _line(node, self.line)
                self.blocks.append(Block(text=text, line=self.line, kind="item"))
        elif isinstance(node, nodes.Element):
            self.walk(node, depth, item)


def rst_blocks(text: str, cell_separator: str, removed: list[Removal] | None = None) -> list[Block]:
    """The blocks of a reStructuredText document (see the module docstring); what it drops
    that has text goes to `removed`.

    >>> blocks = rst_blocks("Gout\\n====\\n\\n.. note:: See a doctor.\\n\\nCauses\\n~~~~~~\\n\\n* Uric acid\\n", " | ")
    >>> [(b.text, b.kind, b.level) for b in blocks]
    [('Gout', 'heading', 1), ('See a doctor.', 'text', None), ('Causes', 'heading', 2), ('Uric acid', 'item', None)]
    """
    _register_roles()
    tree = publish_doctree(text, settings_overrides=_SETTINGS)
    reader = _Reader(cell_separator, removed)
    titled = any(isinstance(child, nodes.title) for child in tree.children)
    reader.walk(tree, 1 if titled else 0, False)
    return reader.blocks

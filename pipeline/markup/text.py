"""Plain-text markup -> blocks: one per line (or per paragraph of hard-wrapped text), with
setext headings, rules, bullets and ASCII boxes read as markup. Used by the `strip_html` stage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import pairwise

from bs4 import BeautifulSoup

from pipeline.document import Block
from pipeline.markup.html import collapse, flatten, has_markup

_BULLET_START = re.compile(r"[•·▪◦‣*\-–—]\s|\d{1,3}[.)]\s")
# A bulleted line of text: the mark goes and the line is a list item, as an HTML <li> is.
# An "o" is a bullet only when indented (a sub-bullet: "   o in women trying to conceive").
# All marks at once: idempotent.
TEXT_BULLET = re.compile(r"^(?:[ \t]*(?:[•·▪◦‣●○■□►▸➢➤→⇒✔✓*\-–—]|(?<=[ \t])o|o(?=\t))[ \t]+(?=\S))+")
# The mark of an FAQ's answer line.
_ANSWER_MARK = re.compile(r"(?:A|Answer)\s?:\s+(?=\S)")
# An item of a list numbered "1)" or lettered "a)", "a.": a list item that keeps its number
# (its order can matter) and is never a heading ("3) Perform urgent brain imaging:").
_LIST_ITEM = re.compile(r"^[ \t]*(?:\d{1,2}\)|[a-z][.)])[ \t]+(?=\S)")
# Columns of a table saved as text: cells apart by a tab or by 3 or more spaces.
_CELL_GAP = re.compile(r"(?<![ \t])[ \t]*\t[ \t]*|(?<! ) {3,}")  # from a run's start only: linear
# Fewest cells that make a line a table row (two could be a "3.2<tab>Imaging" heading).
MIN_TABLE_CELLS = 3


# Between the cells of a row of an ASCII grid table, once `unframe` has opened it: a control
# character no cleaned text holds (fix_text drops them), so the row stays a row downstream.
GRID_CELL = "\x1f"


def table_cells(line: str) -> list[str] | None:
    """The cells of a line of a text table (tab- or space-aligned columns, or a grid table's
    row that `unframe` opened), or None.

    >>> table_cells("G1\\t≥ 90\\tNormal or high"), table_cells("Furosemide 40 mg    X     Removes fluid")
    (['G1', '≥ 90', 'Normal or high'], ['Furosemide 40 mg', 'X', 'Removes fluid'])
    >>> table_cells("3.2\\tImaging"), table_cells("A sentence with  two spaces."), table_cells("Test\\x1fHow often")
    (None, None, ['Test', 'How often'])
    """
    if GRID_CELL in line:
        grid = [cell.strip() for cell in line.split(GRID_CELL)]
        return grid if any(grid) else None
    if "\t" not in line and "   " not in line:
        return None
    cells = _CELL_GAP.split(line.strip())
    return cells if len(cells) >= MIN_TABLE_CELLS and all(cells) else None

# A line of one repeated mark: a setext underline (`=====` under a level-1 heading, `-----`
# under a level-2 one) or a separator (`-----`, `*****`, `_____`): markup, not text.
RULE = re.compile(r"[ \t]{0,3}([=\-_*~#^+])(?:[ \t]?\1){2,}[ \t]*")
# Longest line that a setext underline makes a heading; longer, the underline is a separator.
_MAX_SETEXT_CHARS = 150


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
        if nxt.lstrip()[:1].islower() and here[-1:] not in ".!?:;" and not TEXT_BULLET.match(nxt):
            continued += 1
    return continued >= share * len(filled)


# A numbered heading of wrapped text ("1.1 Epidemiology"): a paragraph of its own.
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}\.)*\d{1,2}\.?[ \t]+[A-Z][^.!?;:]{0,80}")
_HYPHEN_END = re.compile(r"(?<![A-Za-z])([A-Za-z]+)-$")  # a word start: linear
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


def _heading_line(text: str) -> bool:
    """A short line that can head a wrapped paragraph: 1 to 6 words, a capital first, no
    closing punctuation ("Abstract", "Clinical presentation"; a wrapped line is longer).

    >>> _heading_line("Abstract"), _heading_line("Fever is common."), _heading_line("the heart")
    (True, False, False)
    """
    return 0 < text.count(" ") + 1 <= 6 and text[:1].isupper() and text[-1:] not in ".,;:!?"


# A footnote mark in exported text: superscript digits right after punctuation ("disease.²").
_SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
_SUPERSCRIPT_NOTE = re.compile(f"(?<=[.,;:)])[{_SUPERSCRIPTS}]+(?=\\s|$)")


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
        if (
            (_NUMBERED_HEADING.fullmatch(stripped) and (not nxt or nxt[0].isupper() or nxt[0].isdigit()))
            or (not parts and _heading_line(stripped) and nxt[:1].isupper())  # "Abstract" over its text
            or table_cells(stripped) is not None  # a table row
        ):  # a line that is a paragraph of its own
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


def is_wrapped_block(lines: list[str], min_chars: int = 35) -> bool:
    """True if a blank-line separated group of a text that is not hard-wrapped as a whole is
    still one paragraph wrapped over its lines (a scraper's later copy re-wrapped, a pasted
    quotation): 2 lines or more, each but the last at least `min_chars` long, the first no
    heading line (`_heading_line`), none a bullet, table row or numbered heading, and at least
    half of the line ends continued mid-sentence (no closing punctuation, the next line starts
    in lowercase).

    >>> is_wrapped_block(["The most common symptoms are heartburn, a burning", "feeling behind the breastbone."])
    True
    >>> is_wrapped_block(["Symptoms", "The most common symptoms are heartburn."])  # a heading over its text
    False
    >>> is_wrapped_block(["Fever is the first sign in most of the patients.", "Cough follows within days."])
    False
    """
    body = [line.strip() for line in lines]
    if len(body) < 2 or any(len(line) < min_chars for line in body[:-1]) or _heading_line(body[0]):
        return False  # a first line that can be a heading (six words or fewer) stays apart
    if any(_BULLET_START.match(line) or table_cells(line) is not None or _NUMBERED_HEADING.fullmatch(line)
           for line in body):
        return False
    continued = sum(1 for here, nxt in pairwise(body) if here[-1:] not in ".!?:;" and nxt[:1].islower())
    return 2 * continued >= len(body) - 1


def _mixed_paragraphs(lines: list[str], min_chars: int, dehyphenate: bool) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, except that the lines of a wrapped blank-line
    separated group (`is_wrapped_block`) are one paragraph, joined as in hard-wrapped text."""
    group: list[str] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            group.append(line)
            continue
        first = number - len(group)
        if len(group) > 1 and is_wrapped_block(group, min_chars):
            yield from ((first + k - 1, text) for k, text in _wrapped_paragraphs(group, dehyphenate))
        else:
            yield from enumerate(group, start=first)
        group = []
        if number <= len(lines):
            yield number, line


# A running head or foot of a printed page, as text extracted from a PDF or an OCR keeps it: a
# page number set apart by 3 or more spaces before or after a short title ("Chapter 7 · Thyroid
# Disorders    143", "144    Endocrinology Handbook").
# Matched on a stripped line, anchored: linear (`make bench-regex`).
_MAX_RUNNING_HEAD_CHARS = 100  # longest line looked at
_RUNNING_HEAD = re.compile(r"^(?:(\d{1,4})[ \t]{3,}(\S.{0,80})|(\S.{0,80}?\S)[ \t]{3,}(\d{1,4}))$")


def running_heads(lines: list[str]) -> list[int]:
    """Indexes of the lines that are running heads or feet of printed pages: a title and a page
    number apart by 3+ spaces (`_RUNNING_HEAD`), the same title on 2 or more lines of the text
    (a two-column table row, "Sodium    140", does not recur).

    >>> running_heads(["Chapter 7 Thyroid    143", "Text of the page.", "144    Handbook",
    ...                "More text.", "Chapter 7 Thyroid    145", "146    Handbook", "Sodium    140"])
    [0, 2, 4, 5]
    """
    titles: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if len(line) <= _MAX_RUNNING_HEAD_CHARS and (m := _RUNNING_HEAD.match(line.strip())):
            title = " ".join((m.group(2) or m.group(3)).split())
            titles.setdefault(title, []).append(i)
    return sorted(i for found in titles.values() if len(found) >= 2 for i in found)



def setext_headings(lines: list[str]) -> tuple[dict[int, int], list[str]]:
    """({index of an underlined heading: its level}, `lines` with the rule lines (`RULE`)
    blanked). A line is underlined when it stands alone (a blank line or the start above it,
    or an overline of the same mark) and is short: otherwise its rule is a separator.

    Levels: with `===` and `---` underlines only (markdown's setext), `=` is level 1 and `-`
    level 2. A text that also underlines with other marks (`~~~`, `***`, `^^^`) or frames a
    title between two rules ranks its styles as reStructuredText does: in the order each
    (mark, overlined) style first appears.

    >>> setext_headings(["Gout", "====", "", "Causes", "------", "Uric acid.", "-----"])
    ({0: 1, 3: 2}, ['Gout', '', '', 'Causes', '', 'Uric acid.', ''])
    >>> setext_headings(["####", "Gout", "####", "", "Causes", "~~~~~~", "", "Diet", "======", "Less meat."])[0]
    {1: 1, 4: 2, 7: 3}
    >>> setext_headings(["Gout", "====", "Urate.", "", "Clinic phone 0161 555", "===="])[0]  # a last line heads nothing
    {0: 1}
    """
    titles: list[tuple[int, tuple[str, bool]]] = []  # (index of the title, its style)
    cleaned = list(lines)
    for i, line in enumerate(lines):
        rule = RULE.fullmatch(line)
        if rule is None:
            continue
        cleaned[i] = ""
        above = lines[i - 1].strip() if i else ""
        if not above or len(above) > _MAX_SETEXT_CHARS or RULE.fullmatch(above):
            continue
        if rule.group(1) == "_":
            continue  # a line to sign or fill in under a name ("Dr A. Patel" over "________")
        over = RULE.fullmatch(lines[i - 2]) if i >= 2 else None
        overlined = over is not None and over.group(1) == rule.group(1) and (i < 3 or not lines[i - 3].strip())
        if overlined or i < 2 or not lines[i - 2].strip():
            titles.append((i - 1, (rule.group(1), overlined)))
    last = max((i for i, line in enumerate(cleaned) if line.strip()), default=-1)
    titles = [(i, style) for i, style in titles if i < last]  # a framed last line heads nothing: a footer
    styles = list(dict.fromkeys(style for _, style in titles))  # in order of first use
    if set(styles) <= {("=", False), ("-", False)}:
        return {i: 1 if style[0] == "=" else 2 for i, style in titles}, cleaned
    return {i: min(6, styles.index(style) + 1) for i, style in titles}, cleaned


BOX_BORDER = re.compile(r"^(?:[ \t]*\+[-=~_*+]{3,}\+?[ \t]*|[ \t]*\|[-=~_*]{3,}\|[ \t]*)$")
_BOX_LINE = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$")


def has_box(text: str) -> bool:
    """Whether `text` may hold an ASCII box or table: their frames need `|`."""
    return "|" in text


def _table_row(inner: str) -> list[str] | None:
    """The cells of a framed line that holds inner pipes (`| G1 | 90 or more |`), or None."""
    return [cell.strip() for cell in inner.split("|")] if "|" in inner else None


def unframe(lines: list[str]) -> list[str]:
    """`lines` with ASCII boxes and tables opened: border lines (`+-----+`) blank, framed lines
    (`| text |`) without their frame, and an indented framed line (the rest of a wrapped
    bullet) joined to the line above, its own place left blank so line numbers hold.

    Tables: in a grid (borders with inner `+`), or in a run of two or more framed lines with
    inner pipes (a table drawn with pipes only), a row's cells are kept apart by `GRID_CELL`; a
    row whose first cell is empty continues the row above, cell by cell (a cell wrapped over
    lines), and a `|---|---|` line is a separator. A border between two rows does not close
    the box. A framed line alone, outside a box, loses its frame.

    >>> unframe(["+------+", "| KEY POINTS |", "| • Thyroid makes |", "|   too little. |", "+------+", "x | y"])
    ['', 'KEY POINTS', '• Thyroid makes too little.', '', '', 'x | y']
    >>> unframe(["+----+-----+", "| G1 | ≥ 90 |", "+----+-----+", "| G2 | 60 |", "|    | to 89 |", "+----+-----+"])
    ['', 'G1\\x1f≥ 90', '', 'G2\\x1f60 to 89', '', '']
    >>> unframe(["| Score | Care |", "|---|---|", "| 0 | Home |", "", "| Tip: rest. |"])
    ['Score\\x1fCare', '', '0\\x1fHome', '', 'Tip: rest.']
    """
    out = list(lines)
    framed = [_BOX_LINE.fullmatch(line) for line in lines]
    in_box = False
    grid = False
    row = -1  # the line holding the table row being read (-1: none)
    for i, line in enumerate(lines):
        if BOX_BORDER.fullmatch(line):
            out[i] = ""
            inner = line.strip()[1:-1]
            in_box = i + 1 < len(lines) and framed[i + 1] is not None  # a border opens a box, parts two rows, or closes it
            grid = in_box and "+" in inner
            continue
        found = framed[i]
        if found is None:
            row = -1
            continue
        inner = found.group(1).rstrip()
        cells = _table_row(inner)
        near = [framed[k] for k in (i - 1, i + 1) if 0 <= k < len(lines) and framed[k] is not None]
        if cells is not None and (grid or (not in_box and any("|" in f.group(1) for f in near))):
            if all(not c.strip("-:= ") for c in cells):
                out[i] = ""  # "|---|---|": the header's separator
            elif not cells[0] and row >= 0:
                above = out[row].split(GRID_CELL)
                merged = [f"{a} {b}".strip() for a, b in zip(above, cells, strict=False)] + above[len(cells):]
                out[row] = GRID_CELL.join(merged)
                out[i] = ""
            else:
                out[i] = GRID_CELL.join(cells)
                row = i
            continue
        if not in_box:
            if cells is None:
                out[i] = inner.strip()  # a framed line alone: "| Tip: ... |"
            continue
        prev = i - 1
        while prev >= 0 and not out[prev] and not BOX_BORDER.fullmatch(lines[prev]):
            prev -= 1
        if inner.startswith("  ") and inner.strip() and prev >= 0 and out[prev] and _BOX_LINE.fullmatch(lines[prev]):
            out[prev] = f"{out[prev]} {inner.strip()}"
            out[i] = ""
        else:
            out[i] = inner.strip()
    return out


# Where a sentence ends in a line: its end mark (and a closing quote or bracket), then spaces.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]? +")
_WORD = re.compile(r"\S+")
_WORD_PUNCT = ".,;:!?\"'()[]"


def restore_breaks(line: str, is_heading: Callable[[str], bool], max_words: int = 4, max_title_words: int = 10) -> str:
    """A line that holds a whole document (its line breaks lost when the page was flattened)
    with its headings put back on lines of their own: a run of 1 to `max_words` words that
    `is_heading` knows, capitalised, after a sentence end (or after the title that opens the
    line, `max_title_words` words at most) and before a capitalised word or a number.

    >>> known = {"overview", "causes", "risk factors"}.__contains__
    >>> restore_breaks("Gout Overview Gout is common. Causes Urate builds up. Risk factors: Diet and drugs.",
    ...                lambda p: known(p.lower()))
    'Gout\\nOverview\\nGout is common.\\nCauses\\nUrate builds up.\\nRisk factors:\\nDiet and drugs.'
    """
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(line)]
    cuts: list[tuple[int, int]] = []  # (start, end) of each heading found
    for k, start in enumerate(starts):
        words = [(m.start(), m.end()) for m in _WORD.finditer(line, start, starts[k + 1] if k + 1 < len(starts) else len(line))]
        # at the line's start, the heading may follow the title ("Gout Overview Gout is...")
        firsts = range(min(len(words), max_title_words + 1)) if k == 0 else range(1 if words else 0)
        for first in firsts:
            found = _heading_at(line, words, first, is_heading, max_words)
            if found is not None:
                cuts.append(found)
                break
    if not cuts:
        return line
    out: list[str] = []
    pos = 0
    for start, end in cuts:
        out += (line[pos:start].rstrip(), "\n" if start else "", line[start:end], "\n")
        pos = end
        while pos < len(line) and line[pos] == " ":
            pos += 1
    out.append(line[pos:])
    return "".join(out).lstrip("\n")


def _heading_at(line: str, words: list[tuple[int, int]], first: int, is_heading: Callable[[str], bool],
                max_words: int) -> tuple[int, int] | None:
    """(start, end) of the longest known heading of `words` starting at word `first` and
    followed by a capitalised word or a number, or None."""
    if not line[words[first][0]].isupper():
        return None
    for n in range(min(max_words, len(words) - first - 1), 0, -1):
        nxt = line[words[first + n][0]]
        span = words[first: first + n]
        colon = line[span[-1][1] - 1] == ":"  # "Causes: Gallstones..."
        inner = [*span[:-1], (span[-1][0], span[-1][1] - colon)]
        if not (nxt.isupper() or nxt.isdigit()) or any(e <= s or line[e - 1] in _WORD_PUNCT for s, e in inner):
            continue
        if is_heading(line[inner[0][0]:inner[-1][1]]):
            return span[0][0], span[-1][1]
    return None


def text_blocks(
    text: str, join_wrapped: bool = True, wrap_width: int = 100, wrap_share: float = 0.3, dehyphenate: bool = True,
    cell_separator: str = " | ", wrapped_block_min_chars: int = 35, skip_lines: frozenset[int] = frozenset(),
) -> Iterator[Block]:
    """Blocks of a text monograph: one per non-empty line, inline markup flattened.

    >>> [(b.text, b.line, [l.href for l in b.links]) for b in text_blocks("a  b\\n\\n<a href='u'>x</a> &amp; y")]
    [('a b', 1, []), ('x & y', 3, ['u'])]

    Text saved hard-wrapped (`is_hard_wrapped`) gives one block per blank-line separated
    paragraph instead, its lines joined by spaces; in other text, so does a blank-line separated
    group that is one paragraph wrapped over its lines (`is_wrapped_block`). A setext heading (a
    line underlined with `===` or `---`) is a heading block of level 1 or 2; rule lines give no block. A bulleted
    line ("• item", "- item", an indented "o item") is a list item without its bullet. An
    ASCII box (`+----+` borders, `| text |` lines) is opened (`unframe`). The lines numbered in
    `skip_lines` (running heads) are read as if absent: a paragraph goes on across them.

    >>> text = "A paragraph that runs over the end of one printed page\\nTitle    12\\nand on at the top of the next."
    >>> [b.text for b in text_blocks(text, skip_lines=frozenset({2}))]
    ['A paragraph that runs over the end of one printed page and on at the top of the next.']
    """
    split = text.split("\n")
    setext, lines = setext_headings(unframe(split) if has_box(text) else split)
    kept = [i for i in range(len(lines)) if i + 1 not in skip_lines] if skip_lines else None
    view = lines if kept is None else [lines[i] for i in kept]
    wrapped = join_wrapped and is_hard_wrapped(view, wrap_width, wrap_share)
    if wrapped:
        pieces: Iterable[tuple[int, str]] = _wrapped_paragraphs(view, dehyphenate)
    elif join_wrapped:
        pieces = _mixed_paragraphs(view, wrapped_block_min_chars, dehyphenate)
    else:
        pieces = enumerate(view, start=1)
    if kept is not None:  # numbers of the lines read back to the text's
        pieces = ((kept[number - 1] + 1, line) for number, line in pieces)
    superscripts = any(c in text for c in _SUPERSCRIPTS)  # once per text: most have none
    for number, line in pieces:
        if not line.strip():
            continue
        cells = table_cells(line)
        if cells is not None and not has_markup(line):  # a row of a text table: one paragraph, its cells joined
            yield Block(text=cell_separator.join(collapse(c) for c in cells), line=number, kind="item")  # never a heading
            continue
        bullet = TEXT_BULLET.match(line)
        if bullet:
            line = line[bullet.end():]
        if has_markup(line):
            flat, links = flatten(BeautifulSoup(line, "html.parser").contents)
            if bullet is None and (mark := TEXT_BULLET.match(flat)):  # "&bull; item" is a bullet once decoded
                bullet, flat = mark, flat[mark.end():]
                links = [replace(k, start=k.start - mark.end(), end=k.end - mark.end()) for k in links]
        else:
            flat, links = collapse(line), []
        if flat[:1] == "A" and not links and (answer := _ANSWER_MARK.match(flat)):
            flat = flat[answer.end():]  # an FAQ's "A: ..." (its question is a heading)
        if flat and superscripts and any(c in flat for c in _SUPERSCRIPTS):
            flat = _SUPERSCRIPT_NOTE.sub("", flat) if not links else flat  # links' offsets would move
        if flat:
            level = setext.get(number - 1)
            if bullet is not None:
                yield Block(text=flat, line=number, kind="item", links=links)
            elif level is None:
                yield Block(text=flat, line=number, kind="item" if _LIST_ITEM.match(line) else "text", links=links)
            else:
                yield Block(text=flat, line=number, kind="heading", level=level, links=links)

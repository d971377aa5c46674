"""Abbreviation definitions, Schwartz-Hearst style: `Long Form (ABBR)` and `ABBR (Long Form)`.

Schwartz & Hearst (2003), "A simple algorithm for identifying abbreviation definitions in
biomedical text": a short form is a parenthesised 2-10 character token with a capital
letter; its long form is the shortest run of words before the parenthesis, within
`min(len(ABBR) + 5, 2 * len(ABBR))` words, whose characters contain the short form's
characters in order, the first one starting a word. Whatever follows the closing
parenthesis (":", ",", ".") does not matter, which is what finds "Chronic Inflammatory
Demyelinating Polyneuropathy (CIDP):".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_PAREN = re.compile(r"\(([^()\n]{1,120})\)")
_WORD = re.compile(r"[^\s]+")
_BOUNDARY = re.compile(r"[.;:!?\n]\s")
# At most this many whitespace characters between the short form and `(Long Form)`.
_MAX_GAP = 20


class Definition(NamedTuple):
    """An abbreviation definition with character offsets of both forms in the text."""

    short: str
    long: str
    short_start: int
    long_start: int
    long_end: int


def is_short_form(text: str) -> bool:
    """A plausible abbreviation: 2-10 chars, one word, starts with an alphanumeric
    character, has a capital letter, and is not an ordinary capitalised word.

    >>> [is_short_form(s) for s in ["CIDP", "IL-6", "IgG", "P", "Drugs", "40-50"]]
    [True, True, True, False, False, False]
    """
    if not 2 <= len(text) <= 10 or " " in text or not text[0].isalnum():
        return False
    if not any(c.isupper() for c in text):
        return False
    return sum(c.isupper() for c in text) >= 2 or any(c.isdigit() for c in text)


def best_long_form(short: str, candidate: str) -> int | None:
    """Start offset inside `candidate` of the long form of `short`, or None (the
    Schwartz-Hearst backward character match).

    >>> c = "the nerve damage due to chronic inflammatory demyelinating polyneuropathy"
    >>> c[best_long_form("CIDP", c):]
    'chronic inflammatory demyelinating polyneuropathy'
    >>> c2 = "elevated levels of vascular endothelial growth factor"
    >>> c2[best_long_form("VEGF", c2):]
    'vascular endothelial growth factor'
    >>> best_long_form("XYZ", "nothing here") is None
    True
    """
    s = short.lower()
    lf = candidate.lower()
    s_i = len(s) - 1
    l_i = len(lf) - 1
    while s_i >= 0:
        ch = s[s_i]
        if not ch.isalnum():
            s_i -= 1
            continue
        while l_i >= 0 and (lf[l_i] != ch or (s_i == 0 and l_i > 0 and lf[l_i - 1].isalnum())):
            l_i -= 1
        if l_i < 0:
            return None
        l_i -= 1
        s_i -= 1
    start = lf.rfind(" ", 0, l_i + 1) + 1
    return start


# How far back (characters) the long form of a definition is looked for: a bounded
# window keeps the search linear on a huge paragraph (at most 20 words are used anyway).
_WINDOW = 1000


def _words_before(text: str, end: int, max_words: int) -> int:
    """Offset where the last `max_words` words before `end` start, not crossing a
    sentence or line boundary."""
    limit = max(0, end - _WINDOW)
    for m in _BOUNDARY.finditer(text, limit, end):
        limit = m.end()
    words = list(_WORD.finditer(text, limit, end))
    if not words:
        return end
    return words[max(0, len(words) - max_words)].start()


def find_definitions(text: str) -> list[Definition]:
    """All abbreviation definitions in `text`, in text order.

    >>> defs = find_definitions(
    ...     "Systemic Lupus Erythematosus (SLE): SLE is rare. Serum VEGF (Vascular Endothelial"
    ...     " Growth Factor) levels. Polyneuropathy (P) and immunoglobulin G (IgG).")
    >>> [(d.short, d.long) for d in defs]  # doctest: +NORMALIZE_WHITESPACE
    [('SLE', 'Systemic Lupus Erythematosus'), ('VEGF', 'Vascular Endothelial Growth Factor'),
     ('IgG', 'immunoglobulin G')]
    """
    found: list[Definition] = []
    if "(" not in text:  # most paragraphs
        return found
    for m in _PAREN.finditer(text):
        inner = m.group(1).strip()
        inner_start = m.start(1) + (len(m.group(1)) - len(m.group(1).lstrip()))
        if is_short_form(inner):
            max_words = min(len(inner) + 5, 2 * len(inner))
            cand_start = _words_before(text, m.start(), max_words)
            candidate = text[cand_start : m.start()].rstrip()
            if not candidate:
                continue
            rel = best_long_form(inner, candidate)
            if rel is None:
                continue
            long_start = cand_start + rel
            long_form = text[long_start : cand_start + len(candidate)]
            if len(long_form) <= len(inner) or long_form.lower().startswith(inner.lower()):
                continue
            found.append(Definition(inner, long_form, inner_start, long_start, long_start + len(long_form)))
            continue
        # `ABBR (Long Form)`: the word right before the parenthesis is the short form.
        window_start = max(0, m.start() - 100)
        before = last_word(text[window_start : m.start()])
        if before is None or not is_short_form(before[1]) or len(inner.split()) < 2:
            continue
        if before[0] == 0 and window_start > 0 and not text[window_start - 1].isspace():
            continue  # the window cut a longer word
        short = before[1]
        rel = best_long_form(short, inner)
        if rel != 0:  # the whole parenthesis must be the long form
            continue
        found.append(Definition(short, inner, window_start + before[0], inner_start, inner_start + len(inner)))
    return found


def last_word(text: str) -> tuple[int, str] | None:
    r"""(start, word) of the last word of `text` when at most `_MAX_GAP` whitespace characters
    follow it (a final line break may be one more): what the regex `(\S+)\s{0,20}$` finds, in
    string methods (`str.isspace` is the regex's `\s`, a test checks every code point), without
    the regex's attempt at every position of the text.

    >>> last_word("is rare; SLE  "), last_word("SLE" + " " * 21), last_word("  ")
    ((9, 'SLE'), None, None)
    """
    stripped = text.rstrip()
    gap = len(text) - len(stripped)
    if not stripped or gap > _MAX_GAP + (text[-1:] == "\n"):  # `$` also matches before a final "\n"
        return None
    word = stripped.rsplit(None, 1)[-1]
    return len(stripped) - len(word), word


def _word_char(c: str) -> bool:
    r"""`[\w-]` of a regex, for one character (`\w`: `str.isalnum()` and "_")."""
    return c.isalnum() or c == "_" or c == "-"


def short_form_uses(short: str, text: str) -> Iterator[tuple[int, int]]:
    r"""(start, end) of the whole-word, case-sensitive uses of a short form in `text`: neither
    side touches a word character or a hyphen (the regex `(?<![\w-])ABBR(?![\w-])`, found with
    `str.find` rather than a regex that, with a look-behind first, is tried at every position).

    >>> list(short_form_uses("SLE", "SLE, SLEs, aSLE (SLE) non-SLE"))
    [(0, 3), (17, 20)]
    """
    size, n = len(short), len(text)
    i = text.find(short)
    while i >= 0:
        end = i + size
        if (i == 0 or not _word_char(text[i - 1])) and (end == n or not _word_char(text[end])):
            yield i, end
            i = text.find(short, end)
        else:
            i = text.find(short, i + 1)


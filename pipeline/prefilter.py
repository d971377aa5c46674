"""Prefilters for regexes: skip a regex search when something every match needs is absent.

Python's `re` scans case-insensitive patterns that start with `\\b` character by character
(about 17 ns per character each), and a list of patterns costs one such scan each. Two
analyses of a pattern's parse tree say what every match must contain:

- `required_literals(pattern)`: strings (casefolded), one of which every match contains.
  `PrefilteredSet` gates named patterns with them: one Aho-Corasick scan (pyahocorasick) finds
  every literal a text holds, and only the patterns those literals gate run (the boilerplate
  cues, the section-type patterns).
- `required_chars(pattern)`: characters, one of which every match contains (the fix_text
  stage's gate in front of ftfy, read from ftfy's mojibake regex).

Conservative by construction: only runs of ASCII or caseless literals count (for those,
`re.IGNORECASE` equivalence is casefold equality, except the dotless `ı`, which `fold` maps to
`i`); anything else (classes, lookarounds, optional parts) only ends a run, and a pattern it
cannot read is searched on every text. A wrong answer can only let text through, never skip a
match; tests compare the gated searches with plain ones.

The parse tree comes from `re._parser` (the module `re` itself uses; `sre_parse` before 3.11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import ahocorasick

try:  # Python >= 3.11
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]


def fold(text: str) -> str:
    """The form literals are tested in: casefolded, dotless i as i.

    >>> fold("SUBSCRIBE Now")
    'subscribe now'
    """
    return text.casefold().replace("ı", "i")  # re.IGNORECASE: "i" matches the dotless i; casefold keeps it


Literals = frozenset[str]
_REPEATS = {op for op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) if op is not None}
_ATOMIC = getattr(_c, "ATOMIC_GROUP", None)


def _caseless_safe(ch: str) -> bool:
    """True if `fold` keeps every character re.IGNORECASE equates with `ch` equal to fold(ch):
    ASCII, or a character with no case at all (©, €, digits, punctuation)."""
    return ch.isascii() or ch.lower() == ch.upper() == ch.casefold() == ch


def _best(candidates: list[Literals]) -> Literals | None:
    """The candidate whose shortest literal is longest (fewest false hits), then the smallest set."""
    if not candidates:
        return None
    return max(candidates, key=lambda s: (min(map(len, s)), -len(s), sorted(s)))


def _sequence(items: Any) -> Literals | None:
    candidates: list[Literals] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({fold("".join(run))}))
            run.clear()

    for op, arg in items:
        if op is _c.LITERAL and _caseless_safe(chr(arg)):
            run.append(chr(arg))
            continue
        close()
        inner: Literals | None = None
        if op is _c.SUBPATTERN:
            inner = _sequence(arg[-1])
        elif op is _c.BRANCH:
            alternatives = [_sequence(alt) for alt in arg[1]]
            if alternatives and all(a is not None for a in alternatives):
                inner = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in _REPEATS and arg[0] >= 1:
            inner = _sequence(arg[2])
        elif op is _ATOMIC:
            inner = _sequence(arg)
        if inner:
            candidates.append(inner)
    close()
    return _best(candidates)


def required_literals(pattern: str, flags: int = 0) -> Literals | None:
    """Casefolded strings one of which every match of `pattern` contains; None if unknown.

    >>> sorted(required_literals(r"\\bsubscri(?:be|ption)s?\\b"))
    ['subscri']
    >>> sorted(required_literals(r"\\bshare (?:this|on)\\b|\\bfollow us\\b"))
    ['follow us', 'share ']
    >>> required_literals(r"\\w+") is None
    True
    """
    try:
        parsed = _p.parse(pattern, flags)
    except Exception:  # an unreadable tree only disables the prefilter
        return None
    found = _sequence(list(parsed))
    return found if found and all(found) else None


@dataclass(frozen=True)
class Prefiltered:
    """A compiled regex and the literals that gate it (None: always search)."""

    regex: re.Pattern[str]
    literals: Literals | None

    @classmethod
    def compile(cls, pattern: str, flags: int = 0) -> Prefiltered:
        return cls(re.compile(pattern, flags), required_literals(pattern, flags))


# ---------------------------------------------------------------- required characters

Chars = frozenset[str]
_MAX_RANGE = 0x3000  # a class wider than this is no useful alarm (and costs memory)


def _class_chars(items: Any) -> Chars | None:
    """The characters a `[...]` class matches, or None if it is negated or uses a category."""
    chars: set[str] = set()
    for op, arg in items:
        if op is _c.LITERAL:
            chars.add(chr(arg))
        elif op is _c.RANGE and arg[1] - arg[0] <= _MAX_RANGE:
            chars.update(map(chr, range(arg[0], arg[1] + 1)))
        else:  # NEGATE, CATEGORY (\s, \w), a huge range
            return None
    return frozenset(chars)


def _typographic(ch: str) -> bool:
    """Dashes, quotes, bullets and the ellipsis (U+2010-U+2027): the non-ASCII that clean text uses most."""
    return "\u2010" <= ch <= "\u2027"


def _choose(candidates: list[Chars], have: Chars = frozenset()) -> Chars | None:
    """The candidate that adds least to `have`: no ASCII, then fewest new typographic
    characters, then fewest new characters, then the smallest."""
    if not candidates:
        return None

    def cost(c: Chars) -> tuple[bool, int, int, int, list[str]]:
        new = c - have
        return any(ch.isascii() for ch in c), sum(map(_typographic, new)), len(new), len(c), sorted(c)

    return min(candidates, key=cost)


def _char_candidates(items: Any) -> list[Chars]:
    """Sets of characters such that every match of the sequence `items` holds one of each set."""
    found: list[Chars] = []
    for op, arg in items:
        if op is _c.LITERAL:
            found.append(frozenset({chr(arg)}))
        elif op is _c.IN:
            chars = _class_chars(arg)
            if chars:
                found.append(chars)
        elif op is _c.SUBPATTERN:
            found += _char_candidates(arg[-1])
        elif op in _REPEATS and arg[0] >= 1:
            found += _char_candidates(arg[2])
        elif op is _ATOMIC:
            found += _char_candidates(arg)
        elif op is _c.BRANCH:
            union = _branch_chars([_char_candidates(alt) for alt in arg[1]])
            if union is not None:
                found.append(union)
    return found


def _branch_chars(alternatives: list[list[Chars]]) -> Chars | None:
    """One set per alternative, chosen so that their union stays small; None if one has none."""
    if any(not alt for alt in alternatives):
        return None
    chosen: list[Chars] = [_choose(alt) or alt[0] for alt in alternatives]
    for _ in range(4):  # re-choose each against the others' choices until nothing changes
        changed = False
        for i, alt in enumerate(alternatives):
            if len(alt) > 1:
                others: Chars = frozenset().union(*chosen[:i], *chosen[i + 1:])
                best = _choose(alt, others) or alt[0]
                changed |= best != chosen[i]
                chosen[i] = best
        if not changed:
            break
    return frozenset().union(*chosen)


def required_chars(pattern: str, flags: int = 0) -> Chars | None:
    """Characters one of which every match of `pattern` contains; None if unknown.

    For a pattern of alternatives (like ftfy's mojibake detector), one set is chosen per
    alternative, preferring non-ASCII characters and keeping the union small. Case-insensitive
    patterns are not analysed.

    >>> sorted(required_chars(r"[ÂÃ][€™]|x\\s?é|[^a]ß"))
    ['Â', 'Ã', 'ß', 'é']
    >>> required_chars(r"\\w+") is None
    True
    """
    if flags & re.IGNORECASE:
        return None
    try:
        parsed = _p.parse(pattern, flags)
    except Exception:  # an unreadable tree only disables the gate
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _choose(_char_candidates(list(parsed)))


@dataclass(frozen=True)
class PrefilteredSet:
    """Named prefiltered regexes, tested together: one Aho-Corasick scan (pyahocorasick) finds
    every literal a text holds, and only the patterns gated by one of them (or by none) run.
    A text with no literal (most lines) costs one scan in C instead of a test per pattern."""

    patterns: dict[str, Prefiltered]
    automaton: Any  # ahocorasick.Automaton: literal -> the names of the patterns it gates; None if no literals
    always: frozenset[str]  # the patterns without literals (searched on every text)

    @classmethod
    def compile(cls, patterns: dict[str, str], flags: int = 0) -> PrefilteredSet:
        compiled = {name: Prefiltered.compile(p, flags) for name, p in patterns.items()}
        gates: dict[str, set[str]] = {}
        for name, p in compiled.items():
            for lit in p.literals or ():
                gates.setdefault(lit, set()).add(name)
        automaton = None
        if gates:
            automaton = ahocorasick.Automaton()
            for lit, names in sorted(gates.items()):
                automaton.add_word(lit, frozenset(names))
            automaton.make_automaton()
        return cls(compiled, automaton, frozenset(name for name, p in compiled.items() if p.literals is None))

    def names(self, text: str) -> list[str]:
        """The names of the patterns that match `text`, in the order they were given.

        >>> PrefilteredSet.compile({"a": "subscri", "b": r"\\d{4}", "c": "log ?in"}, re.I).names("Subscribe in 2024")
        ['a', 'b']
        """
        gated = set(self.always)
        if self.automaton is not None:
            for _, names in self.automaton.iter(fold(text)):
                gated |= names
        return [name for name, p in self.patterns.items() if name in gated and p.regex.search(text) is not None]

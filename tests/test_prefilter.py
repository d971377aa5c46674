"""The literal prefilter never changes what a regex finds, only how often it runs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.prefilter import PrefilteredSet, fold, required_chars, required_literals
from pipeline.stages.boilerplate import Settings

CUES = Settings().marketing_cues
PATTERNS = [
    *CUES.values(),
    r"(?:foo|bar)+baz", r"a{2,3}b", r"x*yz", r"(?i:Hello) world", r"(?>atomic)\d", r"[a-c]at|dog",
    r"ﬁle\b", r"straße", r"\bİstanbul", r"(?=look)ahead", r"k+elvin",
]
# Pieces that hit the patterns' literals, their case variants and Unicode case look-alikes.
PIECES = [
    "subscribe", "SUBSCRIPTION", "ſubscribe", "sign up", "Log in", "cookie", "cookie cutter", "share this",
    "© 2024", "COPYRIGHT", "App Store", "your medtigo app", "CME", "cme", "ce credit", "certificate",
    "points to redeem", "= 5 points", "$ 5", "€9", "USD", "free trial", "privacy policy", "read more",
    "course completion", "enroll", "disclaimer", "not a substitute for medical advice", "Back to top",
    "last updated", "medically reviewed by", "foobarbaz", "aab", "yz", "HELLO world", "atomic7", "cat", "dog",
    "file", "ﬁle", "STRASSE", "straße", "istanbul", "İstanbul", "lookahead", "KELVIN", "\u212aelvin", "ı", "K",
    " ", "\n", "x", "-", "the patient",
]


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=8), pattern=st.sampled_from(PATTERNS))
def test_prefiltered_search_equals_plain_search(parts: list[str], pattern: str) -> None:
    text = "".join(parts)
    for flags in (0, re.IGNORECASE):
        plain = re.search(pattern, text, flags) is not None
        assert PrefilteredSet.compile({"p": pattern}, flags).names(text) == (["p"] if plain else []), (pattern, flags, text)


@pytest.mark.parametrize("name", sorted(CUES))
def test_every_default_cue_has_a_prefilter(name: str) -> None:
    assert required_literals(CUES[name], re.IGNORECASE), f"cue {name} would run unfiltered on every line"


def test_literal_characters_fold_like_ignorecase() -> None:
    """Every character re.IGNORECASE equates with a literal character of the default cues
    folds to that character (searched over the whole Basic Multilingual Plane)."""
    chars = sorted({ch for p in CUES.values() for lits in [required_literals(p, re.IGNORECASE) or ()]
                    for lit in lits for ch in lit})
    bad = []
    for ch in chars:
        one = re.compile(re.escape(ch), re.IGNORECASE)
        for code in range(0x10000):
            other = chr(code)
            if one.fullmatch(other) and ch not in fold(other):
                bad.append((ch, hex(code)))
    assert not bad


def test_unknown_shapes_run_unfiltered() -> None:
    assert required_literals(r"\w+\d") is None
    assert required_literals(r"(?:abc)?def|\d") is None  # one alternative has no literal
    assert required_literals("(") is None  # does not parse
    assert PrefilteredSet.compile({"d": r"\d+"}).names("a 12") == ["d"]


NAMED = {f"p{i}": p for i, p in enumerate(PATTERNS)} | {"no_literal": r"\d{3}", "empty_class": r"[^\W\d_]{40}"}
SETS = {flags: PrefilteredSet.compile(NAMED, flags) for flags in (0, re.IGNORECASE)}


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=8))
def test_prefiltered_set_names_equal_plain_searches(parts: list[str]) -> None:
    text = "".join(parts)
    for flags, compiled in SETS.items():
        plain = [name for name, p in NAMED.items() if re.search(p, text, flags)]
        assert compiled.names(text) == plain, (flags, text)


def test_prefiltered_set_without_literals() -> None:
    assert PrefilteredSet.compile({}).names("anything") == []
    assert PrefilteredSet.compile({"d": r"\d"}).names("a1") == ["d"]


BRANCHY = [r"[ÂÃ][€™]|x\s?é|[^a]ß", r"ab?c[de]", r"(?:q|r+)s", r"[a-z]{2}(?=\d)Ø", r"(x|yz)*w", r"\s[À-Ñ][¢£]"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("abcdeqrswxyzÂÃ€™éßØ1 \n¢£ÀÑ")), max_size=12),
       pattern=st.sampled_from(BRANCHY))
def test_required_chars_are_in_every_match(text: str, pattern: str) -> None:
    """A text without any of `required_chars` never matches."""
    chars = required_chars(pattern)
    assert chars is not None
    if not any(c in chars for c in text):
        assert re.search(pattern, text) is None, (pattern, text)

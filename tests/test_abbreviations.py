"""Abbreviation definitions (Schwartz-Hearst): golden cases as data."""

from __future__ import annotations

import random
import re
import sys

import pytest

from pipeline.terminology.abbreviations import best_long_form, find_definitions, is_short_form, last_word, short_form_uses

# (text, expected [(short, long)])
CASES = [
    (
        "Chronic Inflammatory Demyelinating Polyneuropathy (CIDP): CIDP is a disorder.",
        [("CIDP", "Chronic Inflammatory Demyelinating Polyneuropathy")],
    ),
    ("Systemic Lupus Erythematosus (SLE), a disease.", [("SLE", "Systemic Lupus Erythematosus")]),
    ("given as Intravenous Immunoglobulin (IVIG).", [("IVIG", "Intravenous Immunoglobulin")]),
    ("levels of vascular endothelial growth factor (VEGF) rise", [("VEGF", "vascular endothelial growth factor")]),
    ("Serum VEGF (Vascular Endothelial Growth Factor) levels", [("VEGF", "Vascular Endothelial Growth Factor")]),
    (
        "Interleukin-1 (IL-1), interleukin-6 (IL-6) and immunoglobulin G (IgG)",
        [("IL-1", "Interleukin-1"), ("IL-6", "interleukin-6"), ("IgG", "immunoglobulin G")],
    ),
    (
        "Autologous Stem Cell Transplantation (ASCT): for eligible patients",
        [("ASCT", "Autologous Stem Cell Transplantation")],
    ),
    ("Electromyography (EMG) and nerve conduction studies", [("EMG", "Electromyography")]),
    # not definitions
    ("Polyneuropathy (P) and Organomegaly (O)", []),
    ("osteosclerosis (increased bone density)", []),
    ("doses ranging from 40-50 cGy (see Table 2)", []),
    ("a protein (usually an immunoglobulin) in the blood", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_find_definitions(text: str, expected: list[tuple[str, str]]) -> None:
    found = find_definitions(text)
    assert [(d.short, d.long) for d in found] == expected
    for d in found:
        assert text[d.long_start : d.long_end] == d.long
        assert text[d.short_start : d.short_start + len(d.short)] == d.short


def test_definition_does_not_cross_sentence() -> None:
    (d,) = find_definitions("Stem cells are used. Chronic Inflammatory Demyelinating Polyneuropathy (CIDP) is rare.")
    assert d.long == "Chronic Inflammatory Demyelinating Polyneuropathy"


@pytest.mark.parametrize("text", ["Drugs", "P", "it", "1990", "a b"])
def test_not_short_forms(text: str) -> None:
    assert not is_short_form(text)


def test_long_form_needs_first_letter_at_word_start() -> None:
    assert best_long_form("SLE", "is a possible") is None


def test_short_form_uses_are_whole_word_and_case_sensitive() -> None:
    text = "SLE and sle and SLEs and (SLE): and non-SLE"
    assert list(short_form_uses("SLE", text)) == [(0, 3), (26, 29)]


def test_string_methods_find_what_the_regexes_found() -> None:
    """`short_form_uses` and `last_word` replace two regexes: the same results on random texts
    of word characters, hyphens, spaces, line breaks and non-ASCII letters and digits, and the
    same character classes (`\\w` is `str.isalnum()` or "_", `\\s` is `str.isspace()`) on every
    code point."""
    rng = random.Random(3)
    alphabet = ["SLE", "SL", "S", "L", "E", "x", "_", "-", " ", "  ", "\n", "é", "٣", "Ⅻ", "(", ")", ".", "\t"]
    last = re.compile(r"(\S+)\s{0,20}$")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        text += rng.choice(["", " " * rng.randrange(15, 25), " " * rng.randrange(15, 25) + "\n", "\n"])
        for short in ("SLE", "SL", "E-", "x_"):
            expected = [m.span() for m in re.finditer(r"(?<![\w-])" + re.escape(short) + r"(?![\w-])", text)]
            assert list(short_form_uses(short, text)) == expected, (short, text)
        m = last.search(text)
        assert last_word(text) == (None if m is None else (m.start(1), m.group(1))), repr(text)
    for c in map(chr, range(sys.maxunicode + 1)):
        assert bool(re.match(r"\w", c)) == (c.isalnum() or c == "_") and bool(re.match(r"\s", c)) == c.isspace(), hex(ord(c))

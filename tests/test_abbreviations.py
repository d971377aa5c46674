"""Abbreviation definitions (Schwartz-Hearst): golden cases as data."""

from __future__ import annotations

import pytest

from pipeline.terminology.abbreviations import best_long_form, find_definitions, is_short_form, short_form_pattern

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


def test_short_form_pattern_is_whole_word_and_case_sensitive() -> None:
    text = "SLE and sle and SLEs and (SLE): and non-SLE"
    assert [m.start() for m in short_form_pattern("SLE").finditer(text)] == [0, 26]

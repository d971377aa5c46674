import random
import re

import ftfy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages.fix_text import (
    _SURE_GHOST_A,
    FtfyGate,
    Settings,
    control_line_breaks,
    fix,
    ftfy_config,
    ftfy_fix,
    normalize_hyphens,
    normalize_spaces,
    remove_ghost_a_circumflex,
)

S = Settings()


def test_sample_defects_are_removed(sample_bytes: bytes) -> None:
    text, counts = fix(sample_bytes.decode("utf-8"), S)
    assert "\u00c2" not in text and "\u00a0" not in text and "\u202f" not in text
    assert counts["ghost_a_removed"] == 432


@pytest.mark.parametrize(
    "dirty,clean",
    [
        ("syndrome:\u00c2\n", "syndrome:\n"),
        ("Age Group:\u00c2 \u00c2\n", "Age Group: \n"),
        ("\u00c2\n", "\n"),
        ("lenalidomide\u00c2", "lenalidomide"),
        ("it\u00e2\u20ac\u2122s", "it\u2019s"),  # double-encoded apostrophe
        ("caf\u00c3\u00a9", "café"),
        ("10\u00e2\u20ac\u201c20", "10–20"),
        ("a\u00a0b\u202fc", "a b c"),
    ],
)
def test_mojibake_and_spaces(dirty: str, clean: str) -> None:
    assert fix(dirty, S)[0] == clean


@pytest.mark.parametrize(
    "text",
    [
        "Sjögren syndrome is an autoimmune disease.",
        "Ménière disease causes vertigo.",
        "Café-au-lait spots in neurofibromatosis “type 1” – see below…",
        "Âge is French; naïve Bayes; Gruß; Ærøskøbing; 5 µg/kg; ≥ 2 °C",
        "The patient’s CD4 count <200 cells/µL.",
    ],
)
def test_correct_text_is_unchanged(text: str) -> None:
    assert fix(text, S)[0] == text


def test_fix_is_idempotent(sample_bytes: bytes) -> None:
    once = fix(sample_bytes.decode("utf-8"), S)[0]
    assert fix(once, S)[0] == once


@pytest.mark.parametrize("text", ["\u00a0\u00dc\x98", "x\u00a0\u00dc\x98 y\nnext \u00a0line"])
def test_a_space_made_of_a_no_break_space_is_fixed_again(text: str) -> None:
    """ftfy leaves `\xa0Ü\x98` as text but decodes ` Ü\x98` (U+0718): once the no-break
    space is a space, the line goes through ftfy again, so a second fix changes nothing
    (found by the property test `test_fix_text_is_idempotent`)."""
    once = fix(text, S)[0]
    assert "\u0718" in once
    assert fix(once, S)[0] == once


def test_rules_can_be_switched_off() -> None:
    settings = Settings(remove_ghost_a_circumflex=False, normalize_spaces=False)
    assert fix("a\u00c2\n\u00a0", settings)[0] == "a\u00c2\n\u00a0"


@pytest.mark.parametrize(
    "dirty,clean",
    [
        ("It tends\x0bto start", "It tends\nto start"),  # Word's manual line break
        ("a\x1cb\x1dc\x1ed", "a\nb\nc\nd"),
        ("a\x0b\x0bb", "a\n\nb"),
        ("Some\u2028more\u2029text", "Some\nmore\ntext"),  # ftfy's fix_line_breaks, as before
        ("page end\n\x0cNext page", "page end\n\x0cNext page"),  # a page break stays whitespace
        ("a\x01b\x1fc", "abc"),  # other controls are still removed
    ],
)
def test_line_breaking_controls_become_line_breaks(dirty: str, clean: str) -> None:
    assert fix(dirty, S)[0] == clean


@pytest.mark.parametrize(
    "dirty,clean",
    [
        ("hydroxy\u00adchloro\u00adquine", "hydroxychloroquine"),
        ("non\u2011Hodgkin lymphoma, anti\u2010Ro", "non-Hodgkin lymphoma, anti-Ro"),
        ("hydroxy\u00c2\u00adchloroquine", "hydroxychloroquine"),  # the soft hyphen's mojibake
        ("non\u00e2\u20ac\u2018Hodgkin", "non-Hodgkin"),
        ("<p>neuro&shy;pathy, long&#8209;term, &#X2010;x, &amp;shy;</p>", "<p>neuropathy, long-term, -x, &amp;shy;</p>"),
    ],
)
def test_soft_and_unicode_hyphens_are_normalized(dirty: str, clean: str) -> None:
    assert fix(dirty, S)[0] == clean


def test_new_rules_can_be_switched_off_and_count() -> None:
    text = "non\u2011Hodgkin\x0bhydroxy\u00adchloroquine"
    off = Settings(normalize_hyphens=False, control_line_breaks=False)
    assert fix(text, off)[0] == "non\u2011Hodgkinhydroxy\u00adchloroquine"  # ftfy deletes the \v
    fixed, counts = fix(text, S)
    assert fixed == "non-Hodgkin\nhydroxychloroquine"
    assert counts["hyphens_normalized"] == 2 and counts["control_line_breaks"] == 1
    assert "hyphens_normalized" not in fix("plain", S)[1]  # counted only when something changed
    assert normalize_hyphens("a\u2010b")[1] == 1 and control_line_breaks("\x0b\x1c")[1] == 2


def test_helpers_count() -> None:
    assert remove_ghost_a_circumflex("x\u00c2 y\u00c2")[1] == 2
    assert normalize_spaces("\u2009\u200b")[1] == 2


MOJIBAKE = st.sampled_from(
    ["Â", "Ã©", "â€™", "â€“", "\u00a0", "&amp;", "&#8217;", "<b>", "\x1b[31m", "\x85", "é", "’", "\r\n", "\n", " ", "x",
     "“", "”", "–", "—", "…", "•", "°", "µ", "±", "≥", "Ø", "ВЂ", "Â\u00a0", "e\u0301", "\u2028", "\ufeff", "ﬁ", "ｘ"]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(MOJIBAKE, st.text(max_size=8)), max_size=40))
def test_ftfy_fix_equals_ftfy_fix_text(parts: list[str]) -> None:
    """The memoised, line-skipping loop gives exactly what ftfy.fix_text gives."""
    text = "".join(parts)
    config = ftfy_config(S)
    assert ftfy_fix(text, config) == ftfy.fix_text(text, config)


@pytest.mark.parametrize("switch", ["fix_latin_ligatures", "fix_character_width", "uncurl_quotes", "fix_encoding"])
@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.one_of(MOJIBAKE, st.text(max_size=8)), max_size=40))
def test_ftfy_fix_equals_ftfy_fix_text_with_other_switches(switch: str, parts: list[str]) -> None:
    """The gate follows ftfy's switches: ligatures, widths and quotes are alarms only when fixed."""
    settings_ = Settings.model_validate({"ftfy": {switch: switch != "fix_encoding"}})
    text = "".join(parts)
    config = ftfy_config(settings_)
    assert ftfy_fix(text, config) == ftfy.fix_text(text, config)


def test_gate_passes_only_what_ftfy_leaves_unchanged() -> None:
    """Every code point the gate lets through, between random neighbours, is left as is by ftfy."""
    config = ftfy_config(S)
    gate = FtfyGate.of(config)
    passing = [chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000 and not gate.needs_ftfy(chr(c))]
    assert len(passing) > 1_000_000 and "\u2019" in passing and "\u201c" in passing and "\u2013" in passing
    assert gate.needs_ftfy("\u00c2") and gate.needs_ftfy("\u20ac") and gate.needs_ftfy("e\u0301")
    rng = random.Random(0)
    checked = 0
    for i in range(0, len(passing), 400):
        line = "".join(c + rng.choice(" ax.'") for c in passing[i : i + 400])
        if not gate.needs_ftfy(line):  # a combining mark after its neighbour may not be normalized
            assert ftfy.fix_text(line, config) == line
            checked += 1
    assert checked > len(passing) // 400 * 0.9


def test_sure_ghost_regex_equals_its_definition() -> None:
    """`Â` at a line start or after ASCII, before ASCII whitespace or the end (the readable form):
    before a no-break space it is mojibake that ftfy reads with what follows."""
    definition = re.compile(r"(?:(?<=[\x00-\x7f])|^)\u00c2(?=[ \t\r\f\v]|\n|$)", re.MULTILINE)
    rng = random.Random(1)
    alphabet = ["\u00c2", "\u00c2", "\n", " ", "\u00a0", "a", "é", "’", "\t", "\r"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _SURE_GHOST_A.subn("", text) == definition.subn("", text), repr(text)

"""fix_text: repair mojibake with ftfy, then remove what ftfy leaves behind.

ftfy repairs whole mojibake sequences (`â€™` -> `'`, `Ã©` -> `é`, `Â\\u00a0` -> NBSP). A
scraper that decoded a UTF-8 no-break space as cp1252 and then dropped the space leaves a
lone `Â` that ftfy cannot see as mojibake; `remove_ghost_a_circumflex` removes it where it
stands before whitespace or a line end. Then every Unicode space separator becomes a plain
space, zero-width characters and soft hyphens are dropped, and the hyphens U+2010 and U+2011
become `-`. Before ftfy, the control characters that `str.splitlines` breaks lines at and
ftfy would delete (Word's manual line break `\\v`, and `\\x1c`-`\\x1e`) become line breaks.
Nothing else of the text changes.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import ftfy
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS, LIGATURES, WIDTH_MAP
from pydantic import Field

from pipeline.document import Document
from pipeline.prefilter import required_chars
from pipeline.stages import RunContext, StageSettings


class FtfySettings(StageSettings):
    """ftfy's switches (`ftfy.TextFixerConfig`); a default differs from ftfy's only with a reason."""

    # Entities are decoded by strip_html (BeautifulSoup) with the markup they sit in; "auto"
    # lets ftfy decode them only in text that has no tags at all.
    unescape_html: Literal["auto"] | bool = "auto"
    remove_terminal_escapes: bool = True
    # The core repair: mojibake such as `â€™` or `Ã©`.
    fix_encoding: bool = True
    restore_byte_a0: bool = True
    replace_lossy_sequences: bool = True
    decode_inconsistent_utf8: bool = True
    fix_c1_controls: bool = True
    # Off: full-width forms and curly quotes are correct text, not damage; the corpus keeps
    # the author's typography ("nothing else of the text changes"). Latin ligatures ("ﬁ") are
    # text extracted from a PDF or an OCR, and hide words from the lexicon: the default
    # config (configs/default.yaml) turns their fix on.
    fix_latin_ligatures: bool = False
    fix_character_width: bool = False
    uncurl_quotes: bool = False
    fix_line_breaks: bool = True
    fix_surrogates: bool = True
    remove_control_chars: bool = True
    # NFC composes accents (e + U+0301 -> é) so that the same word has one spelling.
    normalization: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = "NFC"
    max_decode_length: int = Field(default=1_000_000, gt=0)


class Settings(StageSettings):
    ftfy: FtfySettings = FtfySettings()
    # Remove a lone `Â` before whitespace or a line end (the ghost of a no-break space).
    remove_ghost_a_circumflex: bool = True
    # Turn U+00A0, U+202F and the other Unicode space separators into plain spaces.
    normalize_spaces: bool = True
    # Drop soft hyphens (U+00AD, `&shy;` in a page: invisible hyphenation hints) and turn the
    # hyphen U+2010 and the non-breaking hyphen U+2011 (and their entities) into `-`: they are
    # typography, and hide terms from the lexicon (`hydroxy<U+00AD>chloroquine`, `non<U+2011>Hodgkin`).
    normalize_hyphens: bool = True
    # Turn `\v` (Word's and PowerPoint's manual line break) and the separators `\x1c`-`\x1e`,
    # which `str.splitlines` breaks lines at, into line breaks before ftfy, which would delete
    # them and glue the words around them (`tends\vto` -> `tendsto`). ftfy's fix_line_breaks
    # does so for U+2028 and U+2029; a form feed stays (a page break: whitespace to the readers,
    # where a line break would split a paragraph running over two pages), and U+0085 is left to
    # ftfy, which reads it as the cp1252 ellipsis it usually is.
    control_line_breaks: bool = True


_GHOST_A = re.compile(r"\u00c2(?=[^\S\n]|\n|$)")
# The same ghost where it cannot belong to a mojibake sequence: mojibake is a run of non-ASCII
# characters, so a `Â` at a line start or after an ASCII character, before whitespace, is a
# ghost whatever ftfy would decide. Removing these before ftfy leaves most scraped lines
# plain ASCII, which ftfy then need not look at (`FtfyGate`). "At a line start or after an
# ASCII character" is "not after a non-ASCII one" (a line break is ASCII); starting with the
# literal lets `re` jump from `Â` to `Â` instead of trying every position. Only before ASCII
# whitespace: "Â" + no-break space is itself mojibake (of a no-break space), which can start a
# longer run that ftfy needs whole ("38Â\u00a0Â°C" is "38\u00a0°C").
_SURE_GHOST_A = re.compile(r"\u00c2(?<![^\x00-\x7f]\u00c2)(?=[ \t\r\n\f\v]|\Z)")
# Unicode category Zs except the plain space, listed explicitly so the set is reviewable.
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff]")
# Soft hyphens, and U+2010 HYPHEN and U+2011 NON-BREAKING HYPHEN; as characters (replaced with
# str methods: one fast scan each, where a regex character class is slow on every text), and
# as the entities of a page (strip_html decodes those later; `re` scans fast for the `&`).
_SOFT_HYPHEN = "\u00ad"
_SOFT_HYPHEN_ENTITY = re.compile("&(?:shy|#0*173|#[xX]0*[aA][dD]);")
_UNICODE_HYPHENS = "\u2010\u2011"
_UNICODE_HYPHEN_ENTITY = re.compile("&(?:hyphen|dash|#0*820[89]|#[xX]0*201[01]);")
# The controls `str.splitlines` breaks lines at that ftfy deletes (its remove_control_chars).
_CONTROL_BREAKS = "\x0b\x1c\x1d\x1e"
# Characters the rules after ftfy remove, joining their neighbours (see `_MAX_PASSES`).
_JOINERS = "\u200b\u2060\ufeff\u00ad"


def remove_ghost_a_circumflex(text: str) -> tuple[str, int]:
    """Remove each `Â` that stands before whitespace or a line end; return (text, count).

    >>> remove_ghost_a_circumflex("syndrome:\\u00c2\\nAge Group:\\u00c2 \\u00c2\\n\\u00c2")
    ('syndrome:\\nAge Group: \\n', 4)
    >>> remove_ghost_a_circumflex("\\u00c2me")
    ('Âme', 0)
    """
    return _GHOST_A.subn("", text)


def normalize_spaces(text: str) -> tuple[str, int]:
    """Make Unicode spaces plain and drop zero-width characters; return (text, count).

    >>> normalize_spaces("a\\u00a0b\\u202fc\\u200bd")
    ('a b cd', 3)
    """
    text, n_spaces = _SPACES.subn(" ", text)
    text, n_zero = _ZERO_WIDTH.subn("", text)
    return text, n_spaces + n_zero


def normalize_hyphens(text: str) -> tuple[str, int]:
    """Drop soft hyphens and make U+2010 and U+2011 a plain `-`; return (text, count).

    >>> normalize_hyphens("hydroxy\\u00adchloro&shy;quine, non\\u2011Hodgkin, long&#8209;term")
    ('hydroxychloroquine, non-Hodgkin, long-term', 4)
    """
    n = text.count(_SOFT_HYPHEN)
    text = text.replace(_SOFT_HYPHEN, "")
    for ch in _UNICODE_HYPHENS:
        n += text.count(ch)
        text = text.replace(ch, "-")
    if "&" in text:
        text, n_soft = _SOFT_HYPHEN_ENTITY.subn("", text)
        text, n_hyphens = _UNICODE_HYPHEN_ENTITY.subn("-", text)
        n += n_soft + n_hyphens
    return text, n


def control_line_breaks(text: str) -> tuple[str, int]:
    """Turn the line-breaking controls that ftfy would delete into line breaks; return (text, count).

    >>> control_line_breaks("It tends\\vto start\\x1elater\\fin life")
    ('It tends\\nto start\\nlater\\x0cin life', 2)
    """
    n = 0
    for ch in _CONTROL_BREAKS:
        if ch in text:  # rare: a scan per character is faster than a regex character class
            n += text.count(ch)
            text = text.replace(ch, "\n")
    return text, n


_ASCII_TRIGGERS = "&\x00-\x08\x0b-\x1f\x7f"  # entities (unescape_html), controls, \r, ANSI escapes


@dataclass(frozen=True)
class FtfyGate:
    """Decides, from a segment's characters alone, that ftfy cannot change it.

    ftfy changes a segment only through one of its fixes, each triggered by characters:
    entities by `&`; mojibake only where `ftfy.badness.is_bad` matches, and every match of its
    regex holds one of `prefilter.required_chars` of it; C1 controls, odd line breaks,
    surrogates and the control characters ftfy removes; ligatures, full-width forms and curly
    quotes only when those fixes are on; and normalization only where the segment is not
    already normalized. A segment free of all these `alarm` characters and normalized is
    passed through. When the mojibake regex cannot be read, only ASCII segments pass.
    """

    alarm: re.Pattern[str]
    normalization: str | None
    non_ascii: bool  # False: every non-ASCII segment goes to ftfy

    @classmethod
    @functools.lru_cache(maxsize=8)
    def of(cls, config: ftfy.TextFixerConfig) -> FtfyGate:
        chars: set[str] = set()
        non_ascii = True
        if config.fix_encoding:
            bad = required_chars(BADNESS_RE.pattern, BADNESS_RE.flags)
            non_ascii = bad is not None
            chars |= bad or set()
        if config.fix_encoding or config.fix_c1_controls:  # fix_encoding fixes C1 controls too
            chars.update(map(chr, range(0x80, 0xA0)))
        if config.fix_line_breaks:
            chars.update("\u2028\u2029\x85")
        if config.fix_surrogates:
            chars.update(map(chr, range(0xD800, 0xE000)))
        if config.remove_control_chars:
            chars.update(map(chr, CONTROL_CHARS))
        if config.fix_latin_ligatures:
            chars.update(map(chr, LIGATURES))
        if config.fix_character_width:
            chars.update(map(chr, WIDTH_MAP))
        if config.uncurl_quotes:
            chars.update(map(chr, range(0x2018, 0x2020)), "\u02bc")
        ranges = "".join(re.escape(ch) for ch in sorted(ch for ch in chars if not ch.isascii()))
        alarm = re.compile(f"[{_ASCII_TRIGGERS}{ranges}]")
        return cls(alarm, config.normalization, non_ascii)

    def needs_ftfy(self, segment: str) -> bool:
        """False when no ftfy fix can change `segment`.

        >>> gate = FtfyGate.of(ftfy_config(Settings()))
        >>> [gate.needs_ftfy(s) for s in ("plain\\n", "AT&amp;T", "it\\u2019s \\u201cok\\u201d", "caf\\u00c3\\u00a9", "e\\u0301")]
        [False, True, False, True, True]
        """
        if self.alarm.search(segment):
            return True
        if segment.isascii():
            return False
        if not self.non_ascii:
            return True
        return self.normalization is not None and not unicodedata.is_normalized(self.normalization, segment)


def ftfy_fix(text: str, config: ftfy.TextFixerConfig) -> str:
    """`ftfy.fix_text(text, config)`, computed only where ftfy can change something, and once
    per distinct line.

    ftfy fixes each line on its own (`unescape_html="auto"` off from the first line holding
    `<`). A line the `gate` passes is copied unchanged, and a repeated line is fixed once: a
    scraped page repeats most of its lines. When the whole text is normalized (so is each
    line: a line break never composes), only lines holding an alarm character are looked at,
    found by one regex scan of the text.
    """
    gate = FtfyGate.of(config)  # built once per config
    if (len(text) > config.max_decode_length or not gate.non_ascii
            or (gate.normalization is not None and not unicodedata.is_normalized(gate.normalization, text))):
        return _ftfy_each_line(text, config, gate)
    first_tag = text.find("<")
    no_unescape = config._replace(unescape_html=False)
    out: list[str] = []
    memo: dict[tuple[str, object], str] = {}
    pos = 0
    while (alarm := gate.alarm.search(text, pos)) is not None:
        start = text.rfind("\n", 0, alarm.start()) + 1
        cut = text.find("\n", alarm.start()) + 1 or len(text)
        segment = text[start:cut]
        line_config = no_unescape if config.unescape_html == "auto" and 0 <= first_tag < cut else config
        key = (segment, line_config.unescape_html)
        fixed = memo.get(key)
        if fixed is None:
            fixed = memo[key] = ftfy.fix_and_explain(segment, line_config).text
        out += (text[pos:start], fixed)
        pos = cut
    out.append(text[pos:])
    return "".join(out)


def _ftfy_each_line(text: str, config: ftfy.TextFixerConfig, gate: FtfyGate) -> str:
    """ftfy's own loop (segments at line breaks or every `max_decode_length` characters), with the gate."""
    out: list[str] = []
    memo: dict[tuple[str, object], str] = {}
    pos = 0
    while pos < len(text):
        cut = text.find("\n", pos) + 1 or len(text)
        if cut - pos > config.max_decode_length:
            cut = pos + config.max_decode_length
        segment = text[pos:cut]
        if config.unescape_html == "auto" and "<" in segment:
            config = config._replace(unescape_html=False)
        if gate.needs_ftfy(segment):
            key = (segment, config.unescape_html)
            fixed = memo.get(key)
            if fixed is None:
                fixed = memo[key] = ftfy.fix_and_explain(segment, config).text
            segment = fixed
        out.append(segment)
        pos = cut
    return "".join(out)


def ftfy_config(settings: Settings) -> ftfy.TextFixerConfig:
    """ftfy's config from our settings (explanations off: they cost time and are not used)."""
    return ftfy.TextFixerConfig(**settings.ftfy.model_dump(), explain=False)


# The rules after ftfy can make a line ftfy would change: a removed zero-width character or
# soft hyphen (`_JOINERS`) can join the halves of a mojibake sequence it kept apart
# (`Ü<U+00AD>\x86` is `Ü†`, the mojibake of U+0706), and a no-break space made a space changes
# ftfy's verdict on its neighbours (`\xa0Ü\x98` is left as text, ` Ü\x98` decoded). ftfy then
# runs again on the lines they changed (entities are not decoded twice), until nothing
# changes, so that fixing a fixed text changes nothing; two passes suffice but for contrived
# text, and the bound keeps it finite.
_MAX_PASSES = 3


def refix_changed_lines(before: str, after: str, config: ftfy.TextFixerConfig) -> str:
    """`after` with ftfy run again on each line that differs from `before`'s, where the gate
    says ftfy could change it (the two texts have the same lines, some changed in place).

    >>> config = ftfy_config(Settings())
    >>> refix_changed_lines("a\\n\\u00dc\\u00ad\\u2020\\nb", "a\\n\\u00dc\\u2020\\nb", config)
    'a\\n\u0706\\nb'
    """
    gate = FtfyGate.of(config)
    old, new = before.split("\n"), after.split("\n")
    changed = False
    for i, (line, was) in enumerate(zip(new, old, strict=True)):
        if line != was and gate.needs_ftfy(line):
            fixed = ftfy_fix(line, config)
            changed |= fixed != line
            new[i] = fixed
    return "\n".join(new) if changed else after


def fix(text: str, settings: Settings, config: ftfy.TextFixerConfig | None = None) -> tuple[str, dict[str, int]]:
    """Apply ftfy and the rules around it; return the text and counts of what changed.

    >>> fix("caf\\u00c3\\u00a9 \\u00e2\\u20ac\\u201c ok\\u00c2\\n", Settings())[0]
    'café – ok\\n'
    >>> fix("fever of 38\\u00c2\\u00a0\\u00c2\\u00b0C", Settings())[0]
    'fever of 38 °C'
    >>> fix("It tends\\vto start; non\\u2011Hodgkin", Settings())[0]
    'It tends\\nto start; non-Hodgkin'
    """
    config = config or ftfy_config(settings)
    n_breaks = n_ghost = n_spaces = n_hyphens = 0
    if settings.control_line_breaks:
        text, n_breaks = control_line_breaks(text)
    if settings.remove_ghost_a_circumflex:
        text, n_ghost = _SURE_GHOST_A.subn("", text)
    fixed = ftfy_fix(text, config)
    ftfy_changed = fixed != text
    for n_pass in range(1, _MAX_PASSES + 1):
        text = fixed
        if settings.remove_ghost_a_circumflex:
            text, n = remove_ghost_a_circumflex(text)
            n_ghost += n
        if settings.normalize_spaces:
            text, n = normalize_spaces(text)
            n_spaces += n
        if settings.normalize_hyphens:
            text, n = normalize_hyphens(text)
            n_hyphens += n
        if text == fixed or n_pass == _MAX_PASSES:
            break
        fixed = refix_changed_lines(fixed, text, config._replace(unescape_html=False))
        if fixed == text:
            break
        ftfy_changed = True
    counts: dict[str, int] = {}
    if n_breaks:
        counts["control_line_breaks"] = n_breaks
    if ftfy_changed:
        counts["ftfy_changed"] = 1
    if settings.remove_ghost_a_circumflex:
        counts["ghost_a_removed"] = n_ghost
    if settings.normalize_spaces:
        counts["spaces_normalized"] = n_spaces
    if n_hyphens:
        counts["hyphens_normalized"] = n_hyphens
    return text, counts


class FixText:
    name = "fix_text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = ftfy_config(settings)  # built once per run

    def __call__(self, doc: Document) -> Document:
        doc.text, counts = fix(doc.text, self.settings, self.config)
        for key, n in counts.items():
            doc.count(self.name, key, n)
        return doc


def build(settings: Settings, ctx: RunContext) -> FixText:
    return FixText(settings)

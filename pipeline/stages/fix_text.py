"""fix_text: repair mojibake with ftfy, then remove what ftfy leaves behind.

ftfy repairs whole mojibake sequences (`â€™` -> `'`, `Ã©` -> `é`, `Â\\u00a0` -> NBSP). A
scraper that decoded a UTF-8 no-break space as cp1252 and then dropped the space leaves a
lone `Â` that ftfy cannot see as mojibake; `remove_ghost_a_circumflex` removes it where it
stands before whitespace or a line end. Then every Unicode space separator becomes a plain
space and zero-width characters are dropped. Nothing else of the text changes.
"""

from __future__ import annotations

import re
from typing import Literal

import ftfy
from pydantic import Field

from pipeline.document import Document
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
    # Off: ligatures, full-width forms and curly quotes are correct text, not damage; the
    # corpus keeps the author's typography ("nothing else of the text changes").
    fix_latin_ligatures: bool = False
    fix_character_width: bool = False
    uncurl_quotes: bool = False
    fix_line_breaks: bool = True
    fix_surrogates: bool = True
    remove_control_chars: bool = True
    # NFC composes accents (e + U+0301 -> é) so that the same word has one spelling.
    normalization: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = "NFC"
    max_decode_length: int = Field(1_000_000, gt=0)


class Settings(StageSettings):
    ftfy: FtfySettings = FtfySettings()
    # Remove a lone `Â` before whitespace or a line end (the ghost of a no-break space).
    remove_ghost_a_circumflex: bool = True
    # Turn U+00A0, U+202F and the other Unicode space separators into plain spaces.
    normalize_spaces: bool = True


_GHOST_A = re.compile(r"\u00c2(?=[^\S\n]|\n|$)")
# The same ghost where it cannot belong to a mojibake sequence: mojibake is a run of non-ASCII
# characters, so a `Â` at a line start or after an ASCII character, before whitespace, is a
# ghost whatever ftfy would decide. Removing these before ftfy leaves most scraped lines
# plain ASCII, which ftfy then need not look at (`segment_needs_ftfy`).
_SURE_GHOST_A = re.compile(r"(?:(?<=[\x00-\x7f])|^)\u00c2(?=[^\S\n]|\n|$)", re.MULTILINE)
# Unicode category Zs except the plain space, listed explicitly so the set is reviewable.
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff]")


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


_NEEDS_FTFY_IN_ASCII = re.compile(r"[&\x00-\x08\x0b-\x1f\x7f]")


def segment_needs_ftfy(segment: str) -> bool:
    """False when no ftfy fix can change `segment`: plain ASCII without `&` (entities) or
    control characters has no mojibake, no C1 controls, no odd line breaks and is NFC.

    >>> segment_needs_ftfy("plain text\\n"), segment_needs_ftfy("AT&amp;T"), segment_needs_ftfy("caf\u00e9")
    (False, True, True)
    """
    return not segment.isascii() or bool(_NEEDS_FTFY_IN_ASCII.search(segment))


def ftfy_fix(text: str, config: ftfy.TextFixerConfig) -> str:
    """`ftfy.fix_text(text, config)`, computed once per distinct line.

    Same loop as ftfy's own (independent segments at line breaks, `unescape_html="auto"` off
    from the first segment holding `<`), but a segment that ftfy cannot change is passed
    through and a repeated segment is fixed once: a scraped page repeats most of its lines.
    """
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
        if segment_needs_ftfy(segment):
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


def fix(text: str, settings: Settings, config: ftfy.TextFixerConfig | None = None) -> tuple[str, dict[str, int]]:
    """Apply ftfy and the two rules; return the text and counts of what changed.

    >>> fix("caf\\u00c3\\u00a9 \\u00e2\\u20ac\\u201c ok\\u00c2\\n", Settings())[0]
    'café – ok\\n'
    """
    counts: dict[str, int] = {}
    n_sure = 0
    if settings.remove_ghost_a_circumflex:
        text, n_sure = _SURE_GHOST_A.subn("", text)
    fixed = ftfy_fix(text, config or ftfy_config(settings))
    if fixed != text:
        counts["ftfy_changed"] = 1
    if settings.remove_ghost_a_circumflex:
        fixed, n = remove_ghost_a_circumflex(fixed)
        counts["ghost_a_removed"] = n + n_sure
    if settings.normalize_spaces:
        fixed, n = normalize_spaces(fixed)
        counts["spaces_normalized"] = n
    return fixed, counts


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

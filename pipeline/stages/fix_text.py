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


def fix(text: str, settings: Settings) -> tuple[str, dict[str, int]]:
    """Apply ftfy and the two rules; return the text and counts of what changed.

    >>> fix("caf\\u00c3\\u00a9 \\u00e2\\u20ac\\u201c ok\\u00c2\\n", Settings())[0]
    'café – ok\\n'
    """
    counts: dict[str, int] = {}
    fixed = ftfy.fix_text(text, ftfy.TextFixerConfig(**settings.ftfy.model_dump()))
    if fixed != text:
        counts["ftfy_changed"] = 1
    if settings.remove_ghost_a_circumflex:
        fixed, n = remove_ghost_a_circumflex(fixed)
        counts["ghost_a_removed"] = n
    if settings.normalize_spaces:
        fixed, n = normalize_spaces(fixed)
        counts["spaces_normalized"] = n
    return fixed, counts


class FixText:
    name = "fix_text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, doc: Document) -> Document:
        doc.text, counts = fix(doc.text, self.settings)
        for key, n in counts.items():
            doc.count(self.name, key, n)
        return doc


def build(settings: Settings, ctx: RunContext) -> FixText:
    return FixText(settings)

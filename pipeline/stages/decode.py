"""decode: raw bytes -> text, with the encoding recorded and line endings made LF.

UTF-8 (with or without BOM) and UTF-16/32 with a BOM are read directly; anything else is
detected with charset-normalizer. Bytes that are not text (PDF, zip, images, NUL-laden
binary) are refused with a one-line reason.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from pydantic import Field

from pipeline.document import Document
from pipeline.stages import RunContext, StageError, StageSettings


class Settings(StageSettings):
    # Share of invalid bytes tolerated in an otherwise valid UTF-8 file: such bytes are
    # dropped and counted (a scraper's damaged byte should not cost the whole document).
    max_invalid_utf8_ratio: float = Field(0.001, ge=0, le=1)
    # ... and at least this many in any file, so a short file with one damaged character is
    # not handed to charset detection (a real cp1252 file has no valid UTF-8 sequences).
    min_invalid_utf8_tolerated: int = Field(4, ge=0)
    # Files larger than this are refused (bytes); 0 disables the limit.
    max_bytes: int = Field(200_000_000, ge=0)
    # Encodings charset-normalizer may choose from when the bytes are not UTF-8 and carry no
    # BOM. Restricting it to the Western encodings English monographs come in keeps it from
    # picking an East Asian or Central European code page for a short cp1252 file; cp1252 is
    # a superset of Latin-1's printable range, and latin_1 catches cp1252's five holes.
    candidate_encodings: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATES)
    )


DEFAULT_CANDIDATES = ("cp1252", "latin_1")

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF file"),
    (b"PK\x03\x04", "a zip archive (docx/xlsx/zip)"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"\xd0\xcf\x11\xe0", "an OLE document (doc/xls)"),
    (b"{\\rtf", "an RTF document (save it as text or HTML first)"),
)

_NEWLINES = re.compile(r"\r\n?")


def sniff_binary(raw: bytes) -> str | None:
    """Say what non-text `raw` is, or None if it may be text.

    >>> sniff_binary(b"%PDF-1.7 ...")
    'a PDF file'
    >>> sniff_binary(b"{\\\\rtf1 Malaria}")
    'an RTF document (save it as text or HTML first)'
    >>> sniff_binary("héllo".encode()) is None
    True
    """
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return what
    if b"\x00" in raw[:65536] and bom_encoding(raw) is None:
        return "binary data (NUL bytes)"
    return None


def bom_encoding(raw: bytes) -> str | None:
    """The encoding announced by a byte-order mark, if any.

    >>> bom_encoding(b"\\xef\\xbb\\xbfabc")
    'utf-8-sig'
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    return None


def decode_bytes(
    raw: bytes, max_invalid_ratio: float = 0.001, candidates: list[str] | None = None, min_invalid: int = 4
) -> tuple[str, str, int]:
    """Decode `raw`; return (text, encoding name, number of invalid bytes dropped).

    >>> decode_bytes("Ménière".encode("cp1252"))[0]
    'Ménière'
    >>> decode_bytes(b"ok \\xff ok \\xc3\\xa9" + b"x" * 5000)[1:]
    ('utf-8', 1)
    """
    bom = bom_encoding(raw)
    if bom:
        try:
            return raw.decode(bom).removeprefix("\ufeff"), bom.replace("-sig", ""), 0
        except UnicodeDecodeError as exc:
            raise StageError("decode_error", f"invalid {bom} after its byte-order mark: {exc.reason}") from exc
    try:
        return raw.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    replaced = raw.decode("utf-8", errors="replace")
    invalid = replaced.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
    multibyte = sum(1 for ch in replaced if ord(ch) > 127 and ch != "\ufffd")
    if multibyte >= invalid and invalid <= max(min_invalid, int(len(raw) * max_invalid_ratio)):
        return raw.decode("utf-8", errors="ignore"), "utf-8", invalid
    best = from_bytes(raw, cp_isolation=list(candidates or DEFAULT_CANDIDATES)).best()
    if best is None or best.encoding is None:
        raise StageError("not_text", "no text encoding fits these bytes; is this a text or HTML file?")
    return str(best), best.encoding, 0


class Decode:
    name = "decode"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, doc: Document) -> Document:
        raw = doc.raw
        if self.settings.max_bytes and len(raw) > self.settings.max_bytes:
            raise StageError("too_large", f"{len(raw)} bytes exceeds decode.max_bytes={self.settings.max_bytes}")
        what = sniff_binary(raw)
        if what:
            raise StageError("not_text", f"refused: looks like {what}, not a text or HTML monograph")
        text, encoding, invalid = decode_bytes(
            raw, self.settings.max_invalid_utf8_ratio, self.settings.candidate_encodings,
            self.settings.min_invalid_utf8_tolerated,
        )
        text = _NEWLINES.sub("\n", text)
        if "\x00" in text:
            raise StageError("not_text", "refused: NUL characters in the decoded text (binary data?)")
        if not text.strip():
            raise StageError("empty", "the file is empty or whitespace only")
        doc.text = text
        doc.encoding = encoding
        doc.count(self.name, "bytes", len(raw))
        if invalid:
            doc.count(self.name, "invalid_bytes_dropped", invalid)
        return doc


def build(settings: Settings, ctx: RunContext) -> Decode:
    return Decode(settings)

"""decode: raw bytes -> text, with the encoding recorded and line endings made LF.

UTF-8 (with or without BOM) and UTF-16/32 with a BOM are read directly; so is UTF-8 with
stray single bytes (Word text pasted into a UTF-8 page), each stray byte read as cp1252, and
UTF-16 without a BOM (its NUL bytes all on one side of each code unit); anything else is
detected with charset-normalizer. Bytes that are not text (PDF, zip, images, NUL-laden
binary) and formats that are no monograph (RTF, JSON) are refused with a one-line reason.
"""

from __future__ import annotations

import codecs
import json
import re

from charset_normalizer import from_bytes
from pydantic import Field

from pipeline.document import Document
from pipeline.stages import RunContext, StageError, StageSettings

DEFAULT_CANDIDATES = ("cp1252", "latin_1")


class Settings(StageSettings):
    # Bytes that are not all valid UTF-8 but hold at least one valid multi-byte sequence are
    # UTF-8 with stray single bytes (Word text pasted into a UTF-8 page): each stray byte is
    # read as cp1252 (`\x92` -> `’`) and counted, when they are at most this share of the
    # file's bytes. Pasted smart quotes and accented letters are a few bytes in a hundred;
    # random binary data that happens to have no NUL byte (a short file) has four in ten.
    # A cp1252 or Latin-1 file has no valid sequence (an accented letter is followed by ASCII,
    # not by a continuation byte) and goes to charset detection, which gives up on a mixture
    # (one made by chance, `É”` being U+0254, reads as UTF-8: only that pair changes).
    max_stray_byte_ratio: float = Field(default=0.1, ge=0, le=1)
    # ... and at least this many in any file, so that a short file is not refused for a few.
    min_stray_bytes_tolerated: int = Field(default=4, ge=0)
    # Files larger than this are refused (bytes); 0 disables the limit.
    max_bytes: int = Field(default=200_000_000, ge=0)
    # Encodings charset-normalizer may choose from when the bytes are not UTF-8 and carry no
    # BOM. Restricting it to the Western encodings English monographs come in keeps it from
    # picking an East Asian or Central European code page for a short cp1252 file; cp1252 is
    # a superset of Latin-1's printable range, and latin_1 catches cp1252's five holes.
    candidate_encodings: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATES)
    )
    # Bytes with NULs and no BOM are read as UTF-16 when at least this share of their NUL
    # bytes sit on one side of the code units (the high byte of each ASCII character: odd
    # offsets for UTF-16-LE, even for BE); the other byte is NUL only for the rare U+xx00
    # character. Binary data has its NULs on both sides.
    utf16_min_nul_side_share: float = Field(default=0.95, gt=0.5, le=1)
    # ... and when at least this share of their code units have a NUL there: an English text
    # is nearly all ASCII, while a text file with a stray NUL byte is no UTF-16 (its pairs of
    # ASCII bytes would read as CJK characters, printable ones).
    utf16_min_ascii_share: float = Field(default=0.5, gt=0, le=1)
    # ... and when at least this share of the characters they decode to is printable (or
    # whitespace): binary data that happens to have its NULs in step decodes to control
    # characters and unpaired surrogates.
    utf16_min_printable_share: float = Field(default=0.99, gt=0, le=1)


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
JSON_FILE = "a JSON file (extract its text field first)"

_NEWLINES = re.compile(r"\r\n?")
_FIRST_CHAR = re.compile(r"\S")
# How many leading bytes are looked at for NULs (binary data, or UTF-16 without a BOM).
_SNIFF_BYTES = 65536
# The non-ASCII bytes, deleted to count the ASCII ones.
_HIGH_BYTES = bytes(range(0x80, 0x100))
# A byte that is not part of valid UTF-8, as `surrogateescape` decodes it (U+DC80-U+DCFF).
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _as_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # cp1252's five holes (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        return chr(byte)  # Latin-1: the C1 control of that number


# Each escaped stray byte -> its cp1252 character (Latin-1 in cp1252's holes).
_STRAY_AS_CP1252 = {0xDC00 + b: _as_cp1252(b) for b in range(0x80, 0x100)}


def sniff_binary(raw: bytes, settings: Settings | None = None) -> str | None:
    """Say what non-text `raw` is, or None if it may be text.

    >>> sniff_binary(b"%PDF-1.7 ...")
    'a PDF file'
    >>> sniff_binary(b"{\\\\rtf1 Malaria}")
    'an RTF document (save it as text or HTML first)'
    >>> sniff_binary("héllo".encode()) is None, sniff_binary("Gout is arthritis.".encode("utf-16-be")) is None
    (True, True)
    >>> sniff_binary(b"\\x01\\x00\\x02\\x00\\x00\\x03")
    'binary data (NUL bytes)'
    """
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return what
    if b"\x00" in raw[:_SNIFF_BYTES] and bom_encoding(raw) is None and utf16_without_bom(raw, settings) is None:
        return "binary data (NUL bytes)"
    return None


def sniff_json(text: str) -> bool:
    """True when `text` is a JSON object or array (an API's dump, not a monograph).

    Only a text whose first non-blank character is `{` or `[` is parsed.

    >>> sniff_json('  {"title": "Gout", "body_html": "<p>Gout is...</p>"}'), sniff_json("[1, 2]")
    (True, True)
    >>> sniff_json("[Note] Gout is a form of arthritis."), sniff_json("Gout {1}")
    (False, False)
    """
    first = _FIRST_CHAR.search(text)
    if first is None or first.group() not in ("{", "["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def bom_encoding(raw: bytes) -> str | None:
    """The encoding announced by a byte-order mark, if any.

    >>> bom_encoding(b"\\xef\\xbb\\xbfabc")
    'utf-8-sig'
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    return None


def utf16_without_bom(raw: bytes, settings: Settings | None = None) -> str | None:
    """"utf-16-le" or "utf-16-be" when `raw`, which has no BOM, reads as that; else None.

    Its first bytes must have their NULs on one side of the code units (the high byte of
    the ASCII characters), in most code units, and decode to printable text.

    >>> utf16_without_bom("Raynaud’s phenomenon\\r\\n".encode("utf-16-le"))
    'utf-16-le'
    >>> utf16_without_bom("Kawasaki disease".encode("utf-16-be"))
    'utf-16-be'
    >>> utf16_without_bom(bytes([0, 1, 0, 0, 2, 0, 0, 0])) is None  # NULs on both sides
    True
    >>> utf16_without_bom(b"\\x01\\x00\\x02\\x00\\x1b\\x00\\x7f\\x00") is None  # controls
    True
    >>> utf16_without_bom(b"Gout is a form of arthritis.\\x00\\n") is None  # a stray NUL
    True
    """
    s = settings or Settings()
    if bom_encoding(raw) is not None:
        return None
    sample = raw[:_SNIFF_BYTES]
    sample = sample[: len(sample) - len(sample) % 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if even + odd == 0:
        return None
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    side = max(even, odd)
    if side < s.utf16_min_nul_side_share * (even + odd) or side < s.utf16_min_ascii_share * len(sample) / 2:
        return None
    # A sample cut inside a surrogate pair is no error: decode the whole units only.
    text = sample.decode(encoding, errors="surrogatepass")
    if text and "\ud800" <= text[-1] <= "\udbff":
        text = text[:-1]
    if any("\ud800" <= ch <= "\udfff" for ch in text):  # an unpaired surrogate: no UTF-16 text
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch.isspace())
    if printable < s.utf16_min_printable_share * len(text):
        return None
    return encoding


def utf8_with_strays(raw: bytes, settings: Settings | None = None) -> tuple[str, int] | None:
    """Read `raw` as UTF-8 whose stray bytes are cp1252 (Word text pasted into a UTF-8 page):
    (text, number of stray bytes); None when it holds no valid multi-byte sequence (a
    single-byte file, for charset detection) or more of its bytes are stray than
    `max_stray_byte_ratio` allows (binary data).

    >>> utf8_with_strays("Sjögren’s: ".encode() + b"Raynaud\\x92s \\x96 rare")
    ('Sjögren’s: Raynaud’s – rare', 2)
    >>> utf8_with_strays("Ménière – café".encode("cp1252")) is None  # no valid sequence
    True
    >>> utf8_with_strays("é".encode() + bytes(range(0x80, 0x100))) is None  # mostly stray
    True
    """
    s = settings or Settings()
    text = raw.decode("utf-8", errors="surrogateescape")
    strays = len(_ESCAPED_BYTE.findall(text))
    ascii_chars = len(raw.translate(None, _HIGH_BYTES))
    valid = len(text) - ascii_chars - strays  # characters of valid multi-byte sequences
    if valid == 0 or strays > max(s.min_stray_bytes_tolerated, s.max_stray_byte_ratio * len(raw)):
        return None
    return text.translate(_STRAY_AS_CP1252), strays


def decode_bytes(raw: bytes, settings: Settings | None = None) -> tuple[str, str, int]:
    """Decode `raw`; return (text, encoding name, number of stray bytes read as cp1252).

    >>> decode_bytes("Ménière".encode("cp1252"))[:2]
    ('Ménière', 'cp1252')
    >>> decode_bytes(b"\\xef\\xbb\\xbfgangrene \\x96 rare \\xc3\\xa9")
    ('gangrene – rare é', 'utf-8', 1)
    >>> decode_bytes("Gout\\n".encode("utf-16-le"))
    ('Gout\\n', 'utf-16-le', 0)
    """
    s = settings or Settings()
    bom = bom_encoding(raw)
    if bom == "utf-8-sig":  # read as UTF-8 without it (and a doubled one), stray bytes and all
        raw = raw[len(codecs.BOM_UTF8):].removeprefix(codecs.BOM_UTF8)
    elif bom:
        try:
            return raw.decode(bom).removeprefix("\ufeff"), bom, 0
        except UnicodeDecodeError as exc:
            raise StageError("decode_error", f"invalid {bom} after its byte-order mark: {exc.reason}") from exc
    elif b"\x00" in raw[:_SNIFF_BYTES] and (utf16 := utf16_without_bom(raw, s)):
        try:
            return raw.decode(utf16), utf16, 0
        except UnicodeDecodeError as exc:
            raise StageError("decode_error", f"invalid {utf16} (read without a byte-order mark): {exc.reason}") from exc
    try:
        return raw.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    read = utf8_with_strays(raw, s)
    if read is not None:
        return read[0], "utf-8", read[1]
    best = from_bytes(raw, cp_isolation=list(s.candidate_encodings)).best()
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
        what = sniff_binary(raw, self.settings)
        if what:
            raise StageError("not_text", f"refused: looks like {what}, not a text or HTML monograph")
        text, encoding, strays = decode_bytes(raw, self.settings)
        text = _NEWLINES.sub("\n", text)
        if "\x00" in text:
            raise StageError("not_text", "refused: NUL characters in the decoded text (binary data?)")
        if not text.strip():
            raise StageError("empty", "the file is empty or whitespace only")
        if sniff_json(text):
            raise StageError("not_text", f"refused: looks like {JSON_FILE}, not a text or HTML monograph")
        doc.text = text
        doc.encoding = encoding
        doc.count(self.name, "bytes", len(raw))
        if strays:
            doc.count(self.name, "stray_bytes_read_as_cp1252", strays)
        return doc


def build(settings: Settings, ctx: RunContext) -> Decode:
    return Decode(settings)

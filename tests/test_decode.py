import codecs
import random

import pytest

from pipeline.document import Document
from pipeline.stages import StageError
from pipeline.stages.decode import Decode, Settings, decode_bytes, sniff_binary, utf8_with_strays

TEXT = "Sjögren syndrome, Ménière disease and café-au-lait spots – “quoted”.\nSecond line\n"


def _doc(raw: bytes) -> Document:
    return Document(doc_id="d", source="d.txt", raw=raw, sha256="x")


@pytest.mark.parametrize(
    "raw,encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-32"), "utf-32-le"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_decode_to_the_same_text(raw: bytes, encoding: str) -> None:
    doc = Decode(Settings())(_doc(raw))
    assert doc.text == TEXT
    assert doc.encoding == encoding


def test_latin1_text_decodes() -> None:
    text = "Ménière disease: vertigo and tinnitus in the café.\n" * 3
    assert Decode(Settings())(_doc(text.encode("latin-1"))).text == text


def test_line_endings_become_lf() -> None:
    doc = Decode(Settings())(_doc(b"a\r\nb\rc\n"))
    assert doc.text == "a\nb\nc\n"


def test_stray_byte_inside_utf8_is_read_as_cp1252_and_counted() -> None:
    raw = ("Ménière " * 50).encode() + b"\xff" + (" café" * 50).encode()
    doc = Decode(Settings())(_doc(raw))
    assert doc.encoding == "utf-8"
    assert "\ufffd" not in doc.text and "Ménière ÿ café" in doc.text
    assert doc.stats["decode"]["stray_bytes_read_as_cp1252"] == 1


UTF8_PART = "Sjögren’s syndrome – a “dry” disease; Ménière’s disease – vertigo.\n"


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
@pytest.mark.parametrize("strays", [1, 2, 10, 40])
def test_utf8_with_word_bytes_pasted_in_reads_them_as_cp1252(bom: bytes, strays: int) -> None:
    """Word text pasted into a UTF-8 page: stray cp1252 bytes, BOM or not, as many as the
    valid UTF-8 sequences or more."""
    word = "Raynaud’s \u2013 “nifedipine”\n"  # 4 stray bytes as cp1252
    lines = [UTF8_PART] * max(strays, 4)
    lines[1:1] = [word] * (strays // 4) + ["Raynaud’s is common\n"] * (strays % 4)
    raw = bom + "".join(lines).encode().replace(word.encode(), word.encode("cp1252"))
    raw = raw.replace("Raynaud’s is".encode(), "Raynaud’s is".encode("cp1252"))
    doc = Decode(Settings())(_doc(raw))
    assert doc.text == "".join(lines)
    assert doc.encoding == "utf-8"
    assert doc.stats["decode"]["stray_bytes_read_as_cp1252"] == strays


def test_stray_bytes_undefined_in_cp1252_go_through_latin1() -> None:
    raw = UTF8_PART.encode() + b"a\x81b\x8dc\x8fd\x90e\x9df"
    assert decode_bytes(raw) == (UTF8_PART + "a\x81b\x8dc\x8fd\x90e\x9df", "utf-8", 5)


def test_single_byte_file_still_goes_to_charset_detection() -> None:
    """A cp1252 file has no valid UTF-8 sequence: an accented letter is followed by ASCII."""
    text = "Ménière’s disease – vertigo, tinnitus and “fullness” of the ear; Sjögren, café.\n" * 3
    doc = Decode(Settings())(_doc(text.encode("cp1252")))
    assert (doc.text, doc.encoding) == (text, "cp1252")
    assert "stray_bytes_read_as_cp1252" not in doc.stats["decode"]


def test_a_valid_sequence_made_by_chance_is_read_as_utf8() -> None:
    """Known limit: `É”` is U+0254 in UTF-8, so a cp1252 file holding it is read as UTF-8; every
    other byte is still read as cp1252, so only those two characters change."""
    text = "CAFÉ” and Ménière’s disease – vertigo.\n"
    assert decode_bytes(text.encode("cp1252")) == (text.replace("É”", "\u0254"), "utf-8", 4)


def test_stray_byte_ratio_is_a_setting() -> None:
    """Stray bytes beyond the ratio are binary data, or a file in another encoding."""
    raw = "Café is French. ".encode() + "He said “yes” and “no” to the café.".encode("cp1252")  # 5 stray of 57
    assert decode_bytes(raw, Settings(max_stray_byte_ratio=0.1)) == (
        "Café is French. He said “yes” and “no” to the café.", "utf-8", 5)
    assert decode_bytes(raw, Settings(max_stray_byte_ratio=0.05, min_stray_bytes_tolerated=4))[:2] == (
        "CafÃ© is French. He said “yes” and “no” to the café.", "cp1252")


def test_mostly_stray_bytes_are_not_utf8() -> None:
    """Random bytes without a NUL have about one valid UTF-8 sequence to ten stray bytes."""
    raw = bytes(random.Random(0).choice(range(1, 256)) for _ in range(200))
    assert utf8_with_strays(raw) is None


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(encoding: str) -> None:
    doc = Decode(Settings())(_doc(TEXT.encode(encoding)))
    assert (doc.text, doc.encoding) == (TEXT, encoding)


@pytest.mark.parametrize(
    "raw",
    [
        bytes(range(256)) * 4,  # NULs on one side, but controls and unpaired surrogates
        b"\x00\x00\x00\x01" * 50,  # NULs on both sides
        "Gout".encode("utf-16-le") + b"\x01\x00\x02\x00\x03\x00" * 10,  # mostly controls
        b"Gout is a form of arthritis.\x00\n" * 3,  # a text with stray NULs: no UTF-16
    ],
)
def test_binary_with_nuls_is_still_refused(raw: bytes) -> None:
    with pytest.raises(StageError) as err:
        Decode(Settings())(_doc(raw))
    assert err.value.kind == "not_text" and "NUL bytes" in err.value.message


def test_utf16_without_bom_cut_at_an_odd_byte_is_a_decode_error() -> None:
    with pytest.raises(StageError) as err:
        Decode(Settings())(_doc(TEXT.encode("utf-16-le") + b"x"))
    assert err.value.kind == "decode_error" and "without a byte-order mark" in err.value.message


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": "Gout", "body_html": "<h2>Treatment</h2><p>Colchicine.</p>"}',
        b'\n  [{"title": "Gout"}, {"title": "Lupus"}]\n',
        codecs.BOM_UTF8 + b'{"a": 1}',
    ],
)
def test_json_file_is_refused(raw: bytes) -> None:
    with pytest.raises(StageError) as err:
        Decode(Settings())(_doc(raw))
    assert err.value.kind == "not_text" and "JSON" in err.value.message and "\n" not in err.value.message


@pytest.mark.parametrize("text", ["[Note] Gout is arthritis.\n", "{{Infobox disease}}\nGout is arthritis.\n", "[1]\nGout"])
def test_text_opening_with_a_bracket_is_not_json(text: str) -> None:
    assert Decode(Settings())(_doc(text.encode())).text == text


@pytest.mark.parametrize(
    "raw,kind",
    [
        (b"%PDF-1.7\n...", "not_text"),
        (b"PK\x03\x04\x14\x00", "not_text"),
        (b"\x89PNG\r\n\x1a\n", "not_text"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl} Malaria\\par}", "not_text"),
        (b"abc\x00\x00def" * 10, "not_text"),
        (b"", "empty"),
        (b"   \n\t \r\n", "empty"),
    ],
)
def test_refused_inputs_have_a_kind_and_one_line_reason(raw: bytes, kind: str) -> None:
    with pytest.raises(StageError) as err:
        Decode(Settings())(_doc(raw))
    assert err.value.kind == kind
    assert "\n" not in err.value.message


def test_sniff_binary_lets_utf16_through() -> None:
    assert sniff_binary("hello".encode("utf-16")) is None


def test_decode_bytes_pure_ascii() -> None:
    assert decode_bytes(b"plain") == ("plain", "utf-8", 0)

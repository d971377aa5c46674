import codecs

import pytest

from pipeline.document import Document
from pipeline.stages import StageError
from pipeline.stages.decode import Decode, Settings, decode_bytes, sniff_binary

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


def test_invalid_byte_inside_utf8_is_dropped_and_counted() -> None:
    raw = ("Ménière " * 50).encode() + b"\xff" + (" café" * 50).encode()
    doc = Decode(Settings())(_doc(raw))
    assert doc.encoding == "utf-8"
    assert "\ufffd" not in doc.text and "Ménière" in doc.text
    assert doc.stats["decode"]["invalid_bytes_dropped"] == 1


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

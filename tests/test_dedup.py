from pipeline.document import Block, Document
from pipeline.stages.dedup import Dedup, Settings, block_key, find_runs


def _dedup(lines: list[str], **kw: object) -> list[str]:
    doc = Document(doc_id="d", source="d", raw=b"", sha256="")
    doc.blocks = [Block(t, i + 1) for i, t in enumerate(lines)]
    return [b.text for b in Dedup(Settings(**kw))(doc).blocks]


HEADED = ["Intro para one.", "Intro para two.", "Epidemiology", "Epi para one.", "Epi para two.",
          "Treatment", "Drug A", "Treat para.", "Drug A", "Another para.", "Imaging: X-rays.", "Last para."]
PLAIN = [line for line in HEADED if line not in ("Epidemiology", "Treatment")]


def test_copies_without_headings_are_removed_and_legit_repeats_stay() -> None:
    lines = [*HEADED, "Epi para one.", "Imaging: X-rays.", *PLAIN]
    assert _dedup(lines) == [*HEADED, "Epi para one.", "Imaging: X-rays."]


def test_two_to_four_copies() -> None:
    for n in (2, 3, 4):
        assert _dedup(HEADED + PLAIN * (n - 1)) == HEADED


def test_truncated_copy_and_copy_with_headings() -> None:
    assert _dedup(HEADED + PLAIN[:5] + HEADED) == HEADED


def test_near_identical_repeat_is_removed() -> None:
    altered = list(PLAIN)
    altered[2] = "Epi para one, slightly changed."  # a few words changed
    long = [f"Sentence number {i} about the disease and its many treatments today." for i in range(8)]
    near = list(long)
    near[3] = near[3].replace("many", "several")
    assert _dedup(long + near) == long


def test_every_line_repeated() -> None:
    assert _dedup(["same line"] * 50) == ["same line"]


def test_dedup_is_idempotent() -> None:
    once = _dedup(HEADED + PLAIN + PLAIN)
    assert _dedup(once) == once


def test_removals_record_line_ranges() -> None:
    doc = Document(doc_id="d", source="d", raw=b"", sha256="")
    doc.blocks = [Block(t, i + 1) for i, t in enumerate(HEADED + PLAIN)]
    doc = Dedup(Settings())(doc)
    [removal] = doc.removed
    assert (removal.line_start, removal.line_end) == (len(HEADED) + 1, len(HEADED) + len(PLAIN))


def test_keys_ignore_case_and_punctuation() -> None:
    assert block_key("Supportive Care:") == block_key("supportive care")
    assert find_runs([], Settings()) == ([], [])

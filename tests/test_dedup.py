from pipeline.document import Block, Document
from pipeline.stages.dedup import Dedup, Settings, block_key, find_runs
from tests.test_review_shapes import wrap


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


BODY = [
    "Overview",
    "Bell's palsy is a sudden weakness of the muscles on one side of the face. It happens when the facial "
    "nerve becomes inflamed and swollen.",
    "The condition usually affects only one side of the face. Most people recover fully within a few months.",
    "Symptoms",
    "Symptoms tend to come on quickly, often over a day or two. You may notice:",
    "drooping of the mouth or eyelid on one side",
    "difficulty closing one eye",
    "Treatment",
    "Steroid tablets started within 72 hours improve the chance of a full recovery. Most people recover fully "
    "within a few months.",
]


def _wrapped(lines: list[str], width: int) -> list[str]:
    """The body's text lines wrapped at `width`, without its headings: a scraper's later copy."""
    return [part for line in lines if line not in ("Overview", "Symptoms", "Treatment")
            for part in wrap(line, width).split("\n")]


def test_a_copy_wrapped_at_another_width_is_removed() -> None:
    for width in (40, 65):
        assert _dedup([*BODY, "Reader view", *_wrapped(BODY, width)]) == [*BODY, "Reader view"]


def test_a_copy_run_together_into_longer_paragraphs_is_removed() -> None:
    merged = [" ".join(BODY[1:3]), " ".join(BODY[4:7]), BODY[8]]
    assert _dedup(BODY + merged) == BODY


def test_short_lines_and_sentences_that_recur_are_no_wrapped_copy() -> None:
    recap = ["Key points", "drooping of the mouth or eyelid on one side", "difficulty closing one eye",
             "Most people recover fully within a few months."]
    assert _dedup(BODY + recap) == BODY + recap  # 3 recurring lines, but under 40 words
    assert _dedup(BODY + recap, rewrap_min_words=0) == BODY + recap

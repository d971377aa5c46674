"""dedup: remove the scraper's repeated copies of the body, keeping the first copy.

A repeat is a *run*: at least `min_run_lines` consecutive blocks that each occurred earlier,
in the same order (the earlier occurrences may skip up to `max_gap` blocks, because later
copies often lack the headings of the first). A copy wrapped at another width matches no block
whole: a run of blocks whose words each stand unbroken, in order, in the text kept above is
one too, when it holds `rewrap_min_words` words or more (`rewrapped_runs`). A single line that legitimately recurs (the
same sub-heading or paragraph under two headings) is not a run and stays. Lines changed by a
few words inside a run still belong to it (`near_ratio`). A block identical to the block just
before it is always a repeat. Every removal is recorded with its line range.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from pydantic import Field

from pipeline.document import Block, Document, Removal
from pipeline.stages import RunContext, StageSettings


class Settings(StageSettings):
    # Shortest run of repeated blocks removed as a copy; 3 keeps a repeated heading plus its
    # paragraph pair, while any real scraper copy is far longer.
    min_run_lines: int = Field(3, ge=2)
    # Blocks the earlier copy may hold between two matched blocks (headings missing later).
    max_gap: int = Field(20, ge=0)
    # Word-level similarity at which a block inside a run counts as a near-identical repeat.
    near_ratio: float = Field(0.85, gt=0, le=1)
    # Earlier occurrences tried as the start of a run (bounds work on pathological input).
    max_candidates: int = Field(4, ge=1)
    # Passes until nothing more is removed (a bound for pathological input; one is typical).
    max_passes: int = Field(10, ge=1)
    # A run of `min_run_lines` or more short lines (at most this many words) that recur below,
    # in their order, as the lines they list is a table of contents: removed (0: never).
    toc_max_words: int = Field(12, ge=0)
    # ...unless the line above the run ends in a colon and has at least this many words: a
    # sentence that introduces a list ("Four classes of drug are used first line:").
    toc_lead_in_words: int = Field(5, ge=1)
    # A copy wrapped at another width (or with its paragraphs run together) matches no earlier
    # block whole: a run of `min_run_lines` or more blocks whose words each stand, in order, in
    # the text kept above it is such a copy when the run holds at least this many words (a few
    # short list items that recur, "fever", "cough", "headache", are no copy) (0: never).
    rewrap_min_words: int = Field(40, ge=0)


_NON_WORD = re.compile(r"[\W_]+")
# The reason of a table of contents' removal row (the segment stage drops a heading left empty by it).
TOC_REASON = "table of contents: its lines recur below as headings"


def block_key(text: str) -> str:
    """The form blocks are compared in: lowercase words only.

    >>> block_key("Supportive Care:  ")
    'supportive care'
    """
    key = _NON_WORD.sub(" ", text.lower()).strip()
    return key or text


def near(a: str, b: str, ratio: float) -> bool:
    """True if keys `a` and `b` differ by only a few words.

    >>> near("the cat sat on the mat today", "the cat sat on a mat today", 0.8)
    True
    >>> near("alpha beta", "gamma delta", 0.8)
    False
    """
    wa, wb = a.split(), b.split()
    if not wa or not wb or min(len(wa), len(wb)) / max(len(wa), len(wb)) < ratio:
        return False
    matcher = SequenceMatcher(None, wa, wb, autojunk=False)
    # quick_ratio (shared words, order ignored) bounds ratio from above and is linear: most
    # pairs of different paragraphs fail it, and only the others pay for the full comparison.
    return matcher.quick_ratio() >= ratio and matcher.ratio() >= ratio


@dataclass(frozen=True)
class Run:
    start: int
    end: int  # exclusive
    source_start: int


def _next_match(keys: list[str], positions: dict[str, list[int]], i: int, after: int, limit: int,
                max_gap: int, ratio: float, removed: list[bool]) -> int | None:
    """Index j in (after, after+max_gap+1] and < limit whose block matches block i."""
    hi = min(after + max_gap + 1, limit - 1)
    occ = positions.get(keys[i])
    if occ:
        k = bisect_right(occ, after)
        if k < len(occ) and occ[k] <= hi:
            return occ[k]
    for j in range(after + 1, hi + 1):
        if not removed[j] and near(keys[i], keys[j], ratio):
            return j
    return None


def find_runs(keys: list[str], settings: Settings) -> tuple[list[Run], list[int]]:
    """Runs of repeated blocks and indices of immediate repeats, in a single left-to-right pass.

    >>> keys = "a b c x d e a b c d e y".split()
    >>> find_runs(keys, Settings(min_run_lines=3, max_gap=2))
    ([Run(start=6, end=11, source_start=0)], [])
    >>> find_runs("h p q h r".split(), Settings())[0]
    []
    >>> find_runs("a a a b".split(), Settings())[1]
    [1, 2]
    """
    n = len(keys)
    removed = [False] * n
    positions: dict[str, list[int]] = {}
    runs: list[Run] = []
    repeats: list[int] = []
    last_kept: str | None = None
    i = 0
    while i < n:
        key = keys[i]
        if key == last_kept:
            removed[i] = True
            repeats.append(i)
            i += 1
            continue
        best: tuple[int, int] | None = None
        for j in positions.get(key, [])[: settings.max_candidates]:
            end, cur = i + 1, j
            while end < n:
                nxt = _next_match(keys, positions, end, cur, i, settings.max_gap, settings.near_ratio, removed)
                if nxt is None:
                    break
                end, cur = end + 1, nxt
            if best is None or end > best[0]:
                best = (end, j)
        if best is not None and best[0] - i >= settings.min_run_lines:
            runs.append(Run(i, best[0], best[1]))
            for k in range(i, best[0]):
                removed[k] = True
            i = best[0]
            continue
        positions.setdefault(key, []).append(i)
        last_kept = key
        i += 1
    return runs, repeats


_ANCHOR_WORDS = 4  # a run starts at a block whose first words stood above, this many of them


def rewrapped_runs(keys: list[str], settings: Settings, whole: list[bool] | None = None) -> list[Run]:
    """Runs of blocks that repeat earlier text wrapped at another width: `min_run_lines` or more
    consecutive blocks whose words each stand unbroken in the words of the blocks above the
    run, each after where the block before it stood, with `rewrap_min_words` words or more in
    all. A run starts at a block that begins as a block above began (its first 4 words): a
    copy wrapped otherwise still starts its paragraphs where the first copy did. And one of its
    blocks is cut mid-sentence (`whole[k]` False: a block that does not end a sentence) or
    stands across two blocks above (paragraphs run together): a summary of whole sentences
    that the body says again ("Key points") is no copy.

    >>> text = "the face droops on one side it is hard to close the eye or to smile evenly"
    >>> copy = ["the face droops on", "one side it is", "hard to close the eye", "or to smile evenly"]
    >>> keys = [text[:27], text[28:], "x y", *copy]
    >>> rewrapped_runs(keys, Settings(rewrap_min_words=10))
    [Run(start=3, end=7, source_start=0)]
    >>> rewrapped_runs(keys, Settings(rewrap_min_words=20))
    []
    """
    runs: list[Run] = []
    if not settings.rewrap_min_words:
        return runs
    norm = [" ".join(key.split()) for key in keys]
    text = f" {' '.join(norm)} "
    offsets = [0]  # where each block's leading space stands in `text`
    for key in norm:
        offsets.append(offsets[-1] + len(key) + 1)
    anchors = [key.split(" ", _ANCHOR_WORDS)[:_ANCHOR_WORDS] for key in norm]
    first_seen: dict[str, int] = {}  # a block's first words -> the first block that starts so
    for k in range(len(norm) - 1, -1, -1):
        if len(anchors[k]) == _ANCHOR_WORDS:
            first_seen[" ".join(anchors[k])] = k
    i, n = 0, len(keys)
    while i < n:
        if len(anchors[i]) < _ANCHOR_WORDS or first_seen[" ".join(anchors[i])] >= i:
            i += 1
            continue
        limit = offsets[i] + 1  # a needle ends at or before block i's leading space
        end, pos, total, rewrapped = i, 0, 0, False
        while end < n:
            found = text.find(f" {norm[end]} ", pos, limit)
            if found < 0 or not norm[end]:
                break
            after = found + len(norm[end]) + 1
            rewrapped = (rewrapped or (whole is not None and not whole[end])
                         or bisect_right(offsets, found) != bisect_right(offsets, after - 1))
            pos, total, end = after, total + norm[end].count(" ") + 1, end + 1
        if end - i >= settings.min_run_lines and total >= settings.rewrap_min_words and rewrapped:
            source = bisect_right(offsets, text.find(f" {norm[i]} ", 0, limit)) - 1
            runs.append(Run(i, end, source))
            i = end
            continue
        i += 1
    return runs


def _removal(blocks: list[Block], start: int, end: int, reason: str) -> Removal:
    return Removal("dedup", reason, blocks[start].line, blocks[end - 1].line,
                   "\n".join(b.text for b in blocks[start:end]))


class Dedup:
    name = "dedup"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def lead_in(self, text: str) -> bool:
        """A sentence that introduces a list ("Four classes of drug are used first line:")."""
        text = text.rstrip()
        return text.endswith(":") and len(text.split()) >= self.settings.toc_lead_in_words

    def __call__(self, doc: Document) -> Document:
        # Removing a copy can make lines adjacent that now form a repeat of their own, so the
        # pass repeats until nothing more goes (in practice once; each pass only removes):
        # that makes the stage idempotent.
        keys: dict[str, str] = {}  # a scraped page repeats most of its lines: key each once
        for _ in range(self.settings.max_passes):
            blocks = doc.blocks
            for b in blocks:
                if b.text not in keys:
                    keys[b.text] = block_key(b.text)
            block_keys = [keys[b.text] for b in blocks]
            runs, repeats = find_runs(block_keys, self.settings)
            what = "repeated copy"
            if not runs and not repeats:  # whole blocks first; then a copy wrapped otherwise
                whole = [b.text.rstrip()[-1:] in ".!?:" for b in blocks]
                runs, what = rewrapped_runs(block_keys, self.settings, whole), "repeated copy, wrapped otherwise,"
            if runs or repeats:
                drop: set[int] = set(repeats)
                for run in runs:
                    drop.update(range(run.start, run.end))
                    doc.removed.append(_removal(blocks, run.start, run.end,
                                                f"{what} of lines from {blocks[run.source_start].line}"))
                for i in repeats:
                    doc.removed.append(_removal(blocks, i, i + 1, "line repeated immediately"))
                doc.blocks = [b for i, b in enumerate(blocks) if i not in drop]
                doc.count(self.name, "lines_removed", len(drop))
                doc.count(self.name, "copies_removed", len(runs))
                continue
            # Then a table of contents, in the same loop: what it leaves may repeat in turn.
            toc = table_of_contents([keys[b.text] for b in blocks], [b.kind for b in blocks], self.settings,
                                    lambda k, blocks=blocks: self.lead_in(blocks[k].text),
                                    lambda k, blocks=blocks: blocks[k].text.rstrip()[-1:] in ".!")
            if toc is None:
                break
            doc.removed.append(_removal(blocks, toc[0], toc[1], TOC_REASON))
            doc.blocks = blocks[:toc[0]] + blocks[toc[1]:]
            doc.count(self.name, "lines_removed", toc[1] - toc[0])
        return doc


def table_of_contents(keys: list[str], kinds: list[str], settings: Settings,
                      lead_in: Callable[[int], bool] | None = None,
                      sentence: Callable[[int], bool] | None = None) -> tuple[int, int] | None:
    """(start, end) of the first run of `min_run_lines` or more short blocks (at most
    `toc_max_words` words, no heading) each of which recurs, after the run, in the same order
    ("1. What Metformin is", "2. How to take it" listed above the sections they name), or None
    (always None when `toc_max_words` is 0). `lead_in(k)`: whether block k introduces a list
    (`Dedup.lead_in`); a run right under one is that list, not a table of contents.
    `sentence(k)`: whether block k ends a sentence ("Most children have no symptoms."): no entry
    of a table of contents, but a key fact the body repeats.

    >>> table_of_contents("intro a b c x a y b z c".split(), ["text"] * 10, Settings())
    (1, 4)
    >>> table_of_contents("intro a b c x a y b z c".split(), ["text"] * 10, Settings(), lambda k: k == 0)
    >>> table_of_contents("a b c x c b a".split(), ["text"] * 7, Settings())  # not in their order below
    """
    if not settings.toc_max_words:
        return None
    n = len(keys)
    positions: dict[str, list[int]] = {}  # key -> where it stands, in order
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)

    def next_at(key: str, at: int) -> int:
        """The first position of `key` at or after `at` (n if none)."""
        found = positions[key]
        k = bisect_left(found, at)
        return found[k] if k < len(found) else n

    start = 0
    while start < n:
        end, pos = start, start
        while (end < n and kinds[end] != "heading" and keys[end].count(" ") < settings.toc_max_words
               and positions[keys[end]][-1] > pos and (end == start or keys[end] != keys[end - 1])
               and not (sentence is not None and sentence(end))):
            pos = next_at(keys[end], max(pos, end) + 1)
            end += 1
        if (end - start >= settings.min_run_lines and not (lead_in is not None and start > 0 and lead_in(start - 1))
                and all(next_at(keys[k], end) < n for k in range(start, end))):
            return start, end
        start = max(end, start + 1)
    return None


def build(settings: Settings, ctx: RunContext) -> Dedup:
    return Dedup(settings)

"""Near-duplicate documents: MinHash over word shingles of the cleaned section text.

Deterministic: a fixed seed and hash (datasketch's sha1-based default), documents ranked by
their position in the corpus (input order, which `discover` sorts), candidate pairs from LSH
sorted before use. Pairs are `(a, b)` with `a` earlier than `b`; dropping keeps the earliest
document of each group.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datasketch import MinHash, MinHashLSH

from pipeline.products.settings import DuplicateSettings

_WORD = re.compile(r"\w+")
DUPLICATE_COLUMNS = ["doc_a", "doc_b", "similarity"]


def words(record: dict[str, Any]) -> list[str]:
    """Lowercased words of every section's text (headings left out: templates share them)."""
    return [w for s in record["sections"] for w in _WORD.findall(s["text"].lower())]


def shingles(tokens: list[str], k: int) -> set[bytes]:
    """Word k-shingles, UTF-8 encoded.

    >>> sorted(shingles("a b c a b".split(), 2))
    [b'a b', b'b c', b'c a']
    >>> shingles(["a"], 3)
    {b'a'}
    """
    if len(tokens) < k:
        return {" ".join(tokens).encode("utf-8")} if tokens else set()
    return {" ".join(tokens[i:i + k]).encode("utf-8") for i in range(len(tokens) - k + 1)}


@dataclass(frozen=True)
class Signature:
    doc_id: str
    rank: int  # position in the corpus (input order)
    minhash: MinHash


class Signer:
    """Builds MinHash signatures with one set of permutations (seeded once per run)."""

    def __init__(self, settings: DuplicateSettings) -> None:
        self.s = settings
        self.permutations = MinHash(num_perm=settings.num_perm, seed=settings.seed).permutations

    def sign(self, record: dict[str, Any], rank: int) -> Signature | None:
        tokens = words(record)
        if len(tokens) < self.s.min_words:
            return None
        mh = MinHash(num_perm=self.s.num_perm, seed=self.s.seed, permutations=self.permutations)
        mh.update_batch(sorted(shingles(tokens, self.s.shingle_words)))
        return Signature(record["doc_id"], rank, mh)


@dataclass(frozen=True)
class Pair:
    doc_a: str
    doc_b: str
    similarity: float


def find_pairs(signatures: Iterable[Signature], threshold: float, num_perm: int) -> list[Pair]:
    """Pairs at or above `threshold` (estimated Jaccard), sorted by the ranks of (a, b).

    The result does not depend on the order `signatures` come in: they are sorted by rank.
    """
    sigs = sorted(signatures, key=lambda s: s.rank)
    if len(sigs) < 2:
        return []
    by_id = {s.doc_id: s for s in sigs}
    # LSH bands can miss pairs just above the threshold: index at a lower one, filter exactly.
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=num_perm)
    for s in sigs:
        lsh.insert(s.doc_id, s.minhash)
    found: list[tuple[int, int, Pair]] = []
    for s in sigs:
        for other_id in lsh.query(s.minhash):
            other = by_id[other_id]
            if other.rank <= s.rank:
                continue
            sim = round(float(s.minhash.jaccard(other.minhash)), 4)
            if sim >= threshold:
                found.append((s.rank, other.rank, Pair(s.doc_id, other.doc_id, sim)))
    return [p for _, _, p in sorted(found, key=lambda t: (t[0], t[1]))]


def choose_drops(pairs: list[Pair], ranks: dict[str, int]) -> dict[str, Pair]:
    """The later documents to drop, each with the pair that names the kept one it copies.

    A document is dropped when it duplicates an earlier document that is kept; among those,
    the most similar (then the earliest) is its original.

    >>> ranks = {"a": 0, "b": 1, "c": 2}
    >>> drops = choose_drops([Pair("a", "b", 0.9), Pair("b", "c", 0.95)], ranks)
    >>> sorted(drops)  # c copies b, which is dropped, so c stays unless it copies a too
    ['b']
    """
    earlier: dict[str, list[Pair]] = {}
    for p in pairs:
        earlier.setdefault(p.doc_b, []).append(p)
    dropped: dict[str, Pair] = {}
    for doc in sorted(earlier, key=lambda d: ranks[d]):
        kept = [p for p in earlier[doc] if p.doc_a not in dropped]
        if kept:
            dropped[doc] = min(kept, key=lambda p: (-p.similarity, ranks[p.doc_a]))
    return dropped


def duplicates_csv(pairs: list[Pair]) -> str:
    """duplicates.csv: header and one row per pair, similarity with 4 decimals."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DUPLICATE_COLUMNS)
    for p in pairs:
        writer.writerow([p.doc_a, p.doc_b, f"{p.similarity:.4f}"])
    return buf.getvalue()

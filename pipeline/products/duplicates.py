"""Near-duplicate documents: MinHash over word shingles of the cleaned section text.

Shingles are hashed with numpy, not one Python call per shingle: each distinct word gets a
CRC-32, a shingle's hash is a polynomial of its words' hashes, mixed by the splitmix64
finalizer (top 32 bits kept); datasketch's seeded permutations are then applied to those
values, and candidates found with datasketch's LSH bands, all computed here with numpy and
tested equal to datasketch's (which stays a test dependency: importing it imports scipy).

Deterministic: a fixed seed and hash, documents ranked by
their position in the corpus (input order, which `discover` sorts). A pair is `(a, b)`: `b`
is a later document that nearly copies `a`, an original (a document that copies none before
it); dropping removes the `b`s.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.products.settings import DuplicateSettings

_WORD = re.compile(r"\w+")
DUPLICATE_COLUMNS = ["doc_a", "doc_b", "similarity"]


def words(record: dict[str, Any]) -> list[str]:
    """Lowercased words of every section's text (headings left out: templates share them)."""
    return [w for s in record["sections"] for w in _WORD.findall(s["text"].lower())]


def shingles(tokens: list[str], k: int) -> set[bytes]:
    """Word k-shingles, UTF-8 encoded (the sets `shingle_hashes` hashes; kept for reading).

    >>> sorted(shingles("a b c a b".split(), 2))
    [b'a b', b'b c', b'c a']
    >>> shingles(["a"], 3)
    {b'a'}
    """
    if len(tokens) < k:
        return {" ".join(tokens).encode("utf-8")} if tokens else set()
    return {" ".join(tokens[i:i + k]).encode("utf-8") for i in range(len(tokens) - k + 1)}


_POLY = np.uint64(0x100000001B3)  # FNV-64 prime: the polynomial's base
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64 finalizer


def shingle_hashes(tokens: list[str], k: int) -> np.ndarray:
    """The distinct 32-bit hashes of the word k-shingles of `tokens`, sorted.

    Equal shingles get equal hashes; a text shorter than `k` words is one shingle.

    >>> h = shingle_hashes("a b c a b".split(), 2)
    >>> len(h), h.dtype.name
    (3, 'uint64')
    >>> bool((shingle_hashes("x a b".split(), 2)[:, None] == h).any(axis=1).sum() == 1)  # shares "a b"
    True
    """
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    ids = {t: zlib.crc32(t.encode("utf-8")) for t in set(tokens)}  # each distinct word hashed once
    word = np.fromiter(map(ids.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    n = max(1, len(tokens) - k + 1)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(min(k, len(tokens))):  # uint64 arithmetic wraps around: that is the intent
        h = h * _POLY + word[j:j + n]
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return np.unique(h >> np.uint64(32))


_PRIME = np.uint64((1 << 61) - 1)  # datasketch's permutations: (a * h + b) mod 2^61-1, low 32 bits
_MAX_HASH = np.uint64((1 << 32) - 1)
_SHIFT = np.uint64(61)


def min_hashes(values: np.ndarray, a: np.ndarray, b: np.ndarray, rows: int = 128) -> np.ndarray:
    """MinHash values of `values` under the permutations `(a, b)`: what datasketch's
    `update_batch` computes, in blocks of `rows` values so that the work stays in cache
    (a whole 3,000 x 128 matrix is 3 MB, and 2.9 times slower).

    >>> a, b = np.array([3, 5], dtype=np.uint64), np.array([1, 2], dtype=np.uint64)
    >>> min_hashes(np.array([7, 2], dtype=np.uint64), a, b).tolist()
    [7, 12]
    """
    out = np.full(len(a), _MAX_HASH, dtype=np.uint64)
    buf = np.empty((rows, len(a)), dtype=np.uint64)
    high = np.empty((rows, len(a)), dtype=np.uint64)
    for i in range(0, len(values), rows):
        chunk = values[i:i + rows].reshape(-1, 1)
        block, top = buf[: len(chunk)], high[: len(chunk)]
        np.multiply(chunk, a, out=block)  # uint64 wraps around, as in datasketch
        block += b
        # x mod (2^61 - 1) without a division: 2^61 = 1 (mod 2^61 - 1), so x = (x >> 61) + (x & P)
        # (mod P), a sum below 2P that one conditional subtraction brings below P.
        np.right_shift(block, _SHIFT, out=top)
        block &= _PRIME
        block += top
        np.subtract(block, _PRIME, out=block, where=block >= _PRIME)
        block &= _MAX_HASH
        np.minimum(out, block.min(axis=0), out=out)
    return out


@dataclass(frozen=True, slots=True)
class Signature:
    doc_id: str
    rank: int  # position in the corpus (input order)
    values: np.ndarray  # the MinHash values, uint32 (`Signer.values`)


class Signer:
    """Builds MinHash signatures with one set of permutations (seeded once per run)."""

    def __init__(self, settings: DuplicateSettings) -> None:
        self.s = settings
        self.permutations = permutations(settings.num_perm, settings.seed)

    def values(self, record: dict[str, Any]) -> np.ndarray | None:
        """The record's MinHash values, as uint32 (None: too few words to compare). They are
        datasketch's, all below 2^32 (`min_hashes`), in half the bytes of its uint64: what a
        worker sends and the writing process keeps per document until the corpus is compared."""
        tokens = words(record)
        if len(tokens) < self.s.min_words:
            return None
        a, b = self.permutations
        return min_hashes(shingle_hashes(tokens, self.s.shingle_words), a, b).astype(np.uint32)

    @staticmethod
    def signature(doc_id: str, rank: int, values: np.ndarray) -> Signature:
        return Signature(doc_id, rank, np.asarray(values, dtype=np.uint32))

    def sign(self, record: dict[str, Any], rank: int) -> Signature | None:
        values = self.values(record)
        return None if values is None else self.signature(record["doc_id"], rank, values)


@dataclass(frozen=True)
class Pair:
    doc_a: str
    doc_b: str
    similarity: float


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The `(a, b)` parameters of datasketch's `MinHash(num_perm, seed).permutations`, drawn
    the same way (numpy's `RandomState(seed)`, a then b for each permutation), without
    importing datasketch, whose import brings scipy's (0.55 s in every process that runs a
    batch; the tests compare the two).

    >>> a, b = permutations(2, 1)
    >>> a.dtype.name, bool((a >= 1).all() and (a < _PRIME).all() and (b < _PRIME).all())
    ('uint64', True)
    """
    gen = np.random.RandomState(seed)
    drawn = [(gen.randint(1, _PRIME, dtype=np.uint64), gen.randint(0, _PRIME, dtype=np.uint64)) for _ in range(num_perm)]
    a, b = np.array(drawn, dtype=np.uint64).T
    return a, b


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that datasketch's `MinHashLSH` picks for `threshold` (equal
    weights): among every `b` bands of `r` rows with `b * r <= num_perm`, in that order, the
    first with the least sum of the false-positive probability, the integral over [0,
    threshold] of `1 - (1 - s^r)^b`, and the false-negative one, that of `(1 - s^r)^b` over
    [threshold, 1]. datasketch integrates each with scipy's `quad` (1,290 calls, 0.12 s per
    run); both integrands are polynomials of degree `r * b <= num_perm`, which Gauss-Legendre
    quadrature with `num_perm // 2 + 1` nodes integrates exactly, every `r` of a band count
    at once (the tests compare the two over a grid of thresholds and sizes).

    >>> lsh_bands(0.65, 128)
    (16, 8)
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)  # on [-1, 1]
    below = threshold / 2 * (nodes + 1)  # the nodes on [0, threshold] and on [threshold, 1]
    above = (1 - threshold) / 2 * nodes + (1 + threshold) / 2
    errors, pairs = [], []
    for b in range(1, num_perm + 1):  # one band count at a time: memory stays (rows x nodes)
        rows = np.arange(1, num_perm // b + 1, dtype=np.float64)[:, None]
        false_pos = (1 - (1 - below ** rows) ** b) @ weights * threshold / 2
        false_neg = (1 - above ** rows) ** b @ weights * (1 - threshold) / 2
        errors.append(false_pos * 0.5 + false_neg * 0.5)
        pairs.extend((b, r) for r in range(1, num_perm // b + 1))
    return pairs[int(np.argmin(np.concatenate(errors)))]  # the first of the least, as datasketch's loop


def band_groups(values: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(bands, documents) group numbers: two documents share a band's group exactly when their
    values in that band are equal (what datasketch's LSH hash tables key on), found by sorting
    the bands' bytes, so no hash can collide.

    >>> v = np.array([[1, 2, 3, 4], [1, 2, 5, 6], [0, 2, 5, 6]], dtype=np.uint32)
    >>> band_groups(v, 2, 2).tolist()
    [[1, 1, 0], [0, 1, 1]]
    """
    groups = np.empty((bands, len(values)), dtype=np.int32)
    width = np.dtype((np.void, rows * values.dtype.itemsize))
    for band in range(bands):
        block = np.ascontiguousarray(values[:, band * rows:(band + 1) * rows]).view(width).ravel()
        groups[band] = np.unique(block, return_inverse=True)[1].ravel()
    return groups


def find_pairs(signatures: Iterable[Signature], threshold: float, num_perm: int) -> list[Pair]:
    """One pair per later document that nearly copies an earlier one: `(original, copy, similarity)`,
    sorted by the copy's rank.

    Documents are taken in rank order. Each is compared with the originals found so far (the
    documents that copy none before them): if one is at or above `threshold` (estimated
    Jaccard), the document is a copy of the most similar (then the earliest) and stays out of
    the index; else it becomes an original. A corpus of 10,000 copies of one monograph thus
    costs 10,000 comparisons and 9,999 rows, not the 50 million pairs of all against all; the
    originals are exactly the documents `choose_drops` keeps. The result does not depend on the
    order `signatures` come in.

    The candidates are those of datasketch's `MinHashLSH` at `threshold - 0.15` (LSH bands can
    miss pairs just above the threshold: index at a lower one, filter exactly): the originals
    that share all the values of at least one band. The index is arrays, not its hash tables:
    per band, the latest original of each group of equal values and, per original, the one
    before it in the group. That is 8 bytes per band and document (128 with 16 bands) where
    `MinHashLSH` kept about 5 KB of Python objects per original, so a corpus of distinct
    documents (where every document is an original) is compared in little memory. A test
    checks the pairs against `MinHashLSH`'s.
    """
    sigs = sorted(signatures, key=lambda s: s.rank)
    if len(sigs) < 2:
        return []
    n_bands, rows = lsh_bands(max(0.05, threshold - 0.15), num_perm)
    values = np.stack([s.values for s in sigs])
    groups = band_groups(values, n_bands, rows)
    latest = [array("i", [-1]) * len(sigs) for _ in range(n_bands)]  # band, group -> latest original
    before = [array("i", [-1]) * len(sigs) for _ in range(n_bands)]  # band, original -> the one before it
    found: list[Pair] = []
    for k, s in enumerate(sigs):
        mine = groups[:, k].tolist()
        candidates: set[int] = set()
        for band, group in enumerate(mine):
            j = latest[band][group]
            while j >= 0:
                candidates.add(j)
                j = before[band][j]
        best = _most_similar(values, k, candidates, threshold)
        if best is None:
            for band, group in enumerate(mine):
                before[band][k] = latest[band][group]
                latest[band][group] = k
        else:
            found.append(Pair(sigs[best[0]].doc_id, s.doc_id, best[1]))
    return found


def _most_similar(values: np.ndarray, k: int, candidates: set[int], threshold: float) -> tuple[int, float] | None:
    """The candidate most similar to document `k` (estimated Jaccard, `MinHash.jaccard`
    rounded to 4 places), the earliest among equals, and that similarity, if at or above
    `threshold`; rows of `values` are in rank order. Compared all at once: a document of a
    family of near-copies can have hundreds of candidates. The most similar is the one sharing
    the most values, since two counts' similarities differ by at least 1/num_perm before
    rounding.

    >>> v = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 3, 4], [1, 2, 3, 4]], dtype=np.uint32)
    >>> _most_similar(v, 3, {2, 0, 1}, 0.7), _most_similar(v, 1, {0}, 0.8)
    ((0, 1.0), None)
    """
    if not candidates:
        return None
    ranked = np.fromiter(candidates, dtype=np.intp, count=len(candidates))
    ranked.sort()  # argmax takes the first of equals: the earliest
    shared = np.count_nonzero(values[ranked] == values[k], axis=1)
    top = int(shared.argmax())
    sim = round(float(shared[top]) / float(values.shape[1]), 4)
    return (int(ranked[top]), sim) if sim >= threshold else None


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

"""The batch pre-pass's reading and its kept digests (the counting: `pipeline.batch_lines`).

The pre-pass reads every input once and counts its lines. What it finds per input, the
sha256 of the raw bytes and the sorted digests of its countable lines (`doc_line_keys`,
`line_digest`), is written as it goes to `OUTPUT/.state/lines`::

    digests of input 1 | digests of input 2 | ... | index (a JSON line) | the index's offset (8 bytes)

The index holds the file's format, its key (what the digests depend on: the package's
source and the config) and, per input in input order, its source, sha256 and number of
digests. The run then plans each document from it: a reused document is matched to its
state by the sha256 and the learned lines its digests hold, without reading the input again
or cutting it into lines a second time. The next run counts an unchanged input (same source,
same sha256) from it: its bytes are read and hashed, not decoded and cut into lines.

It is a cache: missing, of another key, or unreadable, the lines are computed. It is
written to a temporary name and renamed into place once the pre-pass is done; its bytes
depend only on the inputs and the key, so a killed and resumed run leaves the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from pipeline.batch_lines import (
    DIGEST_BYTES,
    LineCounter,
    content_hash,
    doc_line_keys,
    keyed_digests,
    line_digest,
    lines_in,
)
from pipeline.runner import InputFile, Task, read_task
from pipeline.stages.decode import Settings as DecodeSettings

LINES_NAME = "lines"  # under OUTPUT/.state/
LINES_FORMAT = 1
_OFFSET_BYTES = 8


def lines_key(code: str, config_digest: str) -> str:
    """What the kept digests depend on: the package's source (`source_fingerprint`: how lines
    are decoded, cut and keyed) and the config (its decode settings)."""
    return hashlib.sha256(f"{LINES_FORMAT}:{code}:{config_digest}".encode("ascii")).hexdigest()[:16]


@dataclass
class Prepass:
    """What the pre-pass found: the recurring lines, those learned (the boilerplate stage acts
    on them), and per input (by its position in the batch) the sha256 of its raw bytes and
    where its line digests lie in `fh` (None: the input was not read, or the pre-pass did not
    run)."""

    recurring: dict[str, int] = field(default_factory=dict)
    learned: dict[str, int] = field(default_factory=dict)
    shas: list[bytes | None] = field(default_factory=list)
    offsets: array[int] = field(default_factory=lambda: array("q"))
    counts: array[int] = field(default_factory=lambda: array("q"))
    fh: IO[bytes] | None = None
    learned_digests: dict[bytes, str] = field(init=False)  # `learned` by digest

    def __post_init__(self) -> None:
        self.learned_digests = {line_digest(line): line for line in self.learned}

    def sha256(self, index: int) -> str | None:
        """The hex sha256 the pre-pass read for input `index` (None: not known)."""
        sha = self.shas[index] if index < len(self.shas) else None
        return sha.hex() if sha is not None else None

    def held(self, index: int) -> tuple[str, ...] | None:
        """The learned lines input `index` holds, sorted (`batch_lines.lines_in` of its keys),
        found by digest; None when its digests cannot be read back (the file was cut since)."""
        if not self.learned_digests:
            return ()
        n = self.counts[index] * DIGEST_BYTES
        try:
            blob = os.pread(self.fh.fileno(), n, self.offsets[index]) if self.fh is not None else b""
        except OSError:
            return None
        if len(blob) != n:
            return None
        learned = self.learned_digests
        return tuple(sorted(learned[d] for d in _chunks(blob) if d in learned))

    def identity(self, index: int) -> str | None:
        """Input `index`'s cache identity (`batch_lines.content_hash`) as the pre-pass read it
        (None: it did not, or its digests cannot be read back)."""
        sha = self.sha256(index)
        held = self.held(index) if sha is not None else None
        return content_hash(sha, held) if sha is not None and held is not None else None

    def of_bytes(self, index: int, raw: bytes, decode: DecodeSettings | None,
                 sha: str | None = None) -> tuple[str, tuple[str, ...]]:
        """The cache identity of input `index` read as `raw` (whose hex sha256 is `sha`, when
        known), and the learned lines it holds: from the pre-pass's digests when these are the
        bytes it read, else from the bytes."""
        sha = hashlib.sha256(raw).hexdigest() if sha is None else sha
        if not self.learned:
            return sha, ()
        held = self.held(index) if sha == self.sha256(index) else None
        if held is None:  # not read by the pre-pass, changed since, or its digests are gone
            held = lines_in(doc_line_keys(raw, decode), self.learned)
        return content_hash(sha, held), held

    def read_other(self, index: int, sha: str | None) -> bool:
        """Whether the pre-pass ran and read input `index` otherwise than as bytes of hex sha256
        `sha` (or could not read it): what it learned was counted on other bytes."""
        return index < len(self.shas) and self.sha256(index) != sha

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _chunks(blob: bytes) -> Iterator[bytes]:
    return (blob[i:i + DIGEST_BYTES] for i in range(0, len(blob), DIGEST_BYTES))


@dataclass
class _Kept:
    """The previous run's digest file: per source, (sha256, offset, number of digests)."""

    fd: int
    index: dict[str, tuple[bytes, int, int]]

    def digests(self, source: str, sha: bytes) -> bytes | None:
        entry = self.index.pop(source, None)  # each source is asked once: the index shrinks as the pass goes
        if entry is None or entry[0] != sha:
            return None
        _, offset, count = entry
        blob = os.pread(self.fd, count * DIGEST_BYTES, offset)
        return blob if len(blob) == count * DIGEST_BYTES else None


def _open_kept(path: Path, key: str) -> _Kept | None:
    """The digest file at `path` when it is complete and of `key`, else None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        at = int.from_bytes(os.pread(fd, _OFFSET_BYTES, size - _OFFSET_BYTES), "little")
        head = json.loads(os.pread(fd, size - _OFFSET_BYTES - at, at))
        if head.get("format") != LINES_FORMAT or head.get("key") != key:
            raise ValueError("another key")
        index, offset = {}, 0
        for source, sha, count in head["docs"]:
            index[source] = (bytes.fromhex(sha), offset, count)
            offset += count * DIGEST_BYTES
        if offset != at:
            raise ValueError("index and digests disagree")
        return _Kept(fd, index)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        os.close(fd)
        return None


@contextmanager
def _kept(path: Path, key: str) -> Iterator[_Kept | None]:
    kept = _open_kept(path, key)
    try:
        yield kept
    finally:
        if kept is not None:
            os.close(kept.fd)


Imap = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]  # ordered, lazy `map` (`Executor.imap`)


@dataclass
class _Read:
    """One input as the pre-pass's reading found it: `sha` None (unreadable), else `kept` (its
    digests from the last run) or `raw` (to be cut into lines, by `keyed_digests`)."""

    index: int
    source: str
    sha: bytes | None = None
    kept: bytes | None = None
    raw: bytes | None = None


def _reads(items: list[InputFile], kept: _Kept | None) -> Iterator[_Read]:
    for index, item in enumerate(items):
        task = read_task(item)
        if not isinstance(task, Task):  # unreadable: its own run reports it
            yield _Read(index, item.source)
            continue
        sha = hashlib.sha256(task.raw).digest()
        blob = kept.digests(item.source, sha) if kept is not None else None
        yield _Read(index, item.source, sha, blob, task.raw if blob is None else None)


def _cut(reads: Iterator[_Read], decode: DecodeSettings | None, imap: Imap, group: int, group_bytes: int,
         ) -> Iterator[tuple[_Read, tuple[tuple[str, ...], tuple[bytes, ...]] | None]]:
    """Each read input, in order, with its line keys and digests when it was cut: groups of
    `group` inputs, and of `group_bytes` bytes at most to cut (an input larger than that is a
    group alone), go to `imap` (the batch's workers), while this process reads ahead."""
    queued: deque[list[_Read]] = deque()

    def groups() -> Iterator[list[bytes | None]]:
        batch: list[_Read] = []
        size = 0
        for read in reads:
            n = len(read.raw) if read.raw is not None else 0
            if batch and (len(batch) == group or size + n > group_bytes):
                queued.append(batch)
                yield [r.raw for r in batch]
                batch, size = [], 0
            batch.append(read)
            size += n
        if batch:
            queued.append(batch)
            yield [r.raw for r in batch]

    for keyed in imap(partial(keyed_digests, decode=decode), groups()):
        yield from zip(queued.popleft(), keyed, strict=True)


def run_prepass(
    items: list[InputFile], min_docs: int, decode: DecodeSettings | None, state_dir: Path, key: str,
    learn: Callable[[dict[str, int]], dict[str, int]], imap: Imap = map, group: int = 16,
    group_bytes: int = 1 << 20,
) -> Prepass:
    """Read every input once, count its lines (documents holding each) and write the digest
    file; `learn` picks the learned lines among the recurring ones. Nothing is read and the
    digest file is removed when the batch has fewer than `min_docs` inputs (or `min_docs` is
    0): no line can recur in enough of them.

    This process reads each input and hashes it; cutting it into lines and hashing those,
    most of the work, is done by `imap` (the batch's workers: `Executor.imap`) on groups of
    `group` inputs and `group_bytes` bytes at most (what is in flight stays small whatever the
    inputs' sizes). The counts are made here in input order, so the result is the same bytes
    whoever cut the lines."""
    path = state_dir / LINES_NAME
    if not min_docs or len(items) < min_docs:
        path.unlink(missing_ok=True)  # of an earlier batch: no longer what the inputs hold
        return Prepass()
    state_dir.mkdir(parents=True, exist_ok=True)
    counter = LineCounter(min_docs)
    shas: list[bytes | None] = []
    offsets, counts = array("q"), array("q")
    entries: list[tuple[str, str, int]] = []
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fh = tmp.open("w+b")
    try:
        with _kept(path, key) as kept:
            offset = 0
            for read, keyed in _cut(_reads(items, kept), decode, imap, max(1, group), group_bytes):
                if read.sha is None:
                    shas.append(None)
                    offsets.append(offset)
                    counts.append(0)
                    continue
                blob = read.kept
                if blob is not None:
                    counter.add_digests(_chunks(blob), read.index)
                else:
                    assert keyed is not None  # a read input without kept digests is cut
                    counter.add_keyed(*keyed)
                    blob = b"".join(sorted(keyed[1]))
                fh.write(blob)
                shas.append(read.sha)
                offsets.append(offset)
                counts.append(len(blob) // DIGEST_BYTES)
                entries.append((read.source, read.sha.hex(), len(blob) // DIGEST_BYTES))
                offset += len(blob)
        counter.fill(lambda index: _keys_of(items[index], decode))
        recurring = counter.recurring()
        learned = learn(recurring)
        head = json.dumps({"format": LINES_FORMAT, "key": key, "docs": entries}, ensure_ascii=False)
        fh.write(head.encode("utf-8", "surrogatepass") + b"\n" + offset.to_bytes(_OFFSET_BYTES, "little"))
        fh.flush()
        os.replace(tmp, path)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise
    return Prepass(recurring, learned, shas, offsets, counts, fh)


def _keys_of(item: InputFile, decode: DecodeSettings | None) -> set[str]:
    """The line keys of `item`, read again (empty when it cannot be read now)."""
    task = read_task(item)
    return doc_line_keys(task.raw, decode) if isinstance(task, Task) else set()

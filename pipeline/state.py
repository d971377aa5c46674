"""Per-document results kept under `OUTPUT/.state/`: the cache of incremental runs and the
checkpoint of interrupted ones.

Layout::

    OUTPUT/.state/lock                 held (flock) by the run writing OUTPUT
    OUTPUT/.state/docs/<name>.json     one file per input document, <name> = sha256(source)[:32]
    OUTPUT/.state/docs/<name>.out      its share of the output files, as made (`run.output_cache`)
    OUTPUT/.state/lines                what the batch pre-pass read of each input (`pipeline.prepass`)

A document file has the key it was computed under on its first line (source, doc id, sha256
of the raw bytes, run key, and the parts of the run key for people reading it), the
`DocResult` without its record and removed lines (error, stats, the raw bytes' sha256) on the
second, the corpus record on the third, which is the document's corpus.jsonl line, byte for
byte (`null` when it failed), then its removed.jsonl lines, byte for byte, to the end. It
is written to a temporary name and renamed into place, so a file that exists is complete. A
document is reused when its whole key is equal; the run key (`run_key`) hashes everything else
that can change the output: pipeline and schema versions, a fingerprint of the package's
source, the config hash and the stages' provenance (the entities lexicon version, ...).

The `.out` file keeps what the worker made from the record for the output files and the
products (CSV text, Arrow rows, summary, MinHash values, the hash of the document page), after
a line with its key: a reused document is then written without parsing its record or making
any of it again (made again, about 11 ms per document in the writing process). It is a cache:
missing, foreign or unreadable, the document is made again from its `.json` file. It is a
pickle, so, like any cache of pickles, it is only for output folders written by your own runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.records import json_line, read_removed_lines
from pipeline.runner import DocResult

STATE_DIR = ".state"
STATE_FORMAT = 3  # 2: the record on a line of its own; the `.out` file. 3: the removed lines at the end
OUTPUT_SUFFIX = ".out"
PACKAGE_DIR = Path(__file__).resolve().parent


class StateLocked(Exception):
    """Another run holds the output folder."""


@dataclass(frozen=True)
class DocKey:
    """What a document's result depends on; equal keys give byte-identical output."""

    source: str
    doc_id: str
    sha256: str
    run_key: str


def source_fingerprint(package_dir: Path = PACKAGE_DIR) -> str:
    """A hash of the package's Python source, so editing a stage invalidates its results
    even when `__version__` was not bumped."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_parts(
    pipeline_version: str, schema_version: str, code: str, config_hash: str, provenance: dict[str, Any]
) -> dict[str, Any]:
    """The named parts of the run key, as stored in each document's state file."""
    blob = json.dumps(provenance, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return {
        "pipeline_version": pipeline_version, "schema_version": schema_version, "code": code,
        "config_hash": config_hash, "provenance_hash": hashlib.sha256(blob).hexdigest()[:16],
    }


def run_key(parts: dict[str, Any]) -> str:
    """One hash of `run_parts`.

    >>> run_key({"a": 1}) == run_key({"a": 1}) != run_key({"a": 2})
    True
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def state_name(source: str) -> str:
    """File name of a document's state: a hash of its source path (which may hold '/').

    >>> state_name("a/b.txt")
    '5550000d3b1cf1ff9d8ad3380f759f84.json'
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32] + ".json"


def result_to_json(result: DocResult) -> dict[str, Any]:
    """What the state keeps of a result on its line, but its record and removed lines (lines of
    their own, after it). Not its stage times: they change from run to run, and the state files
    must not, so that a resumed run's folder is byte-identical to an uninterrupted run's,
    `.state/` included."""
    return {
        "doc_id": result.doc_id, "source": result.source, "status": result.status,
        "error": result.error, "stats": result.stats, "sha256": result.sha256,
    }


def record_line(result: DocResult) -> str:
    """The record's JSON as the state keeps it: `record_json` when the result carries it (the
    worker encoded it once, for corpus.jsonl), else the record encoded; "null" for none.

    >>> record_line(DocResult("d", "d.txt", "ok", record={"a": 1})), record_line(DocResult("d", "d.txt", "failed"))
    ('{"a":1}', 'null')
    """
    return result.record_json if result.record_json is not None else json_line(result.record)


def result_from_lines(body: str, record: str, removed: str, parse_record: bool = True) -> DocResult:
    """The result of a state file's second line, third line and the rest (its removed lines),
    with its record and removed lines parsed, unless not `parse_record` (then `record_json`
    and `removed_json` only: what a result with its output loaded needs, `load_output`).

    >>> r = DocResult("d", "d.txt", "ok", record={"a": 1}, removed=[{"line": 3}], sha256="f0")
    >>> back = result_from_lines(json_line(result_to_json(r)), record_line(r), r.removed_text())
    >>> back == r, back.record_json, back.sha256, back.removed_json
    (True, '{"a":1}', 'f0', '{"line":3}\\n')
    """
    result = DocResult(**json.loads(body))
    result.removed_json = removed
    record_json = record.rstrip("\n")
    if parse_record:
        result.record = json.loads(record_json)
        result.removed = read_removed_lines(removed)
    if record_json != "null":
        result.record_json = record_json
    return result


def output_blob(rows: Any, derived: Any) -> tuple[bytes, str | None]:
    """A document's output as its `.out` file keeps it after the key line, and its page, which
    that does not hold: a pickle of its rows without the corpus line (the state file's record
    line), its products' part without the page (written under report/) and the page's sha256."""
    page = getattr(derived, "page", None)
    page_sha256 = hashlib.sha256(page.encode("utf-8")).hexdigest() if page is not None else None
    blob = pickle.dumps((replace(rows, corpus_line=""), replace(derived, page=None), page_sha256), protocol=5)
    return blob, page


def read_output_blob(blob: bytes, corpus_line: str, page: str | None) -> tuple[Any, Any, str | None]:
    """(rows, derived, the page's sha256) of an `output_blob`, given what it left out."""
    rows, derived, page_sha256 = pickle.loads(blob)
    return replace(rows, corpus_line=corpus_line), replace(derived, page=page), page_sha256


def has_output(result: DocResult) -> bool:
    """Whether `result` carries what its worker made for the output (rows and products, the
    record dropped as valid), which the `.out` file keeps."""
    return (result.kept is not None or (result.rows is not None and result.derived is not None)) \
        and result.record is None and result.record_json is not None


WORKER_STAGE = "worker"  # the `stage` of the error of a document whose worker process died (`pipeline.executors`)


def cacheable(result: DocResult) -> bool:
    """Whether a result depends only on its key: read errors (permissions, a file that
    vanished) and a worker's death (memory the machine lacked this time) may not happen next
    time, so they are retried."""
    return result.error is None or result.error.get("stage") not in ("read", WORKER_STAGE)


class StateStore:
    """The per-document state files of one output folder."""

    def __init__(self, out_dir: Path, parts: dict[str, Any]) -> None:
        self.dir = out_dir / STATE_DIR / "docs"
        self.parts = parts
        self.run_key = run_key(parts)

    def key(self, source: str, doc_id: str, sha256: str) -> DocKey:
        return DocKey(source=source, doc_id=doc_id, sha256=sha256, run_key=self.run_key)

    def path(self, source: str) -> Path:
        return self.dir / state_name(source)

    def matches(self, key: DocKey) -> bool:
        """Whether a complete result computed under `key` is stored (reads the first line only)."""
        try:
            with self.path(key.source).open(encoding="utf-8") as fh:
                header = json.loads(fh.readline())
        except (OSError, ValueError):
            return False
        return _of(header, key)

    def _lines(self, key: DocKey) -> tuple[str, str, str] | None:
        """The state file's result line, record line and removed lines, when the file holds a
        result computed under `key` and is whole; raises `OSError` or `ValueError` when it
        cannot be read."""
        with self.path(key.source).open(encoding="utf-8", newline="\n") as fh:
            if not _of(json.loads(fh.readline()), key):
                return None
            body, record, removed = fh.readline(), fh.readline(), fh.read()
        if not record.endswith("\n") or (removed and not removed.endswith("\n")):
            raise ValueError("cut short")  # a power loss
        return body, record, removed

    def load(self, key: DocKey) -> DocResult | None:
        """The stored result for `key`, or None when missing, unreadable or computed under another key."""
        try:
            lines = self._lines(key)
            return result_from_lines(*lines) if lines is not None else None
        except (OSError, ValueError, TypeError):
            return None

    def output_path(self, source: str) -> Path:
        return self.path(source).with_suffix(OUTPUT_SUFFIX)

    def load_output(self, key: DocKey, page: Path | None = None) -> DocResult | None:
        """The stored result for `key` with the output it was written with (`rows`, `derived`,
        its record left unparsed: `record_json` only), or None when the `.out` file is missing,
        unreadable or not of `key`, or when the document page it made is not at `page` as it
        made it (then the caller loads the result and makes them again)."""
        try:
            with self.output_path(key.source).open("rb") as fh:
                if not _of(json.loads(fh.readline()), key):
                    return None
                blob = fh.read()
            lines = self._lines(key)
            if lines is None or lines[1] == "null\n":  # no record: nothing was kept for it
                return None
            result = result_from_lines(*lines, parse_record=False)
            assert result.record_json is not None
            result.rows, result.derived, page_sha256 = read_output_blob(blob, result.record_json, None)
            if page_sha256 is not None and page is not None:
                if hashlib.sha256(page.read_bytes()).hexdigest() != page_sha256:
                    return None  # rewritten since (a duplicate's page), or gone: made again
        except Exception:  # a cache: whatever is wrong with it, the document is made again
            return None
        return result

    def save(self, key: DocKey, result: DocResult, output: bool = True) -> None:
        """Write the result atomically (temporary file, rename), and, when `output` is set and
        the result carries what its worker made for the output (`rows`, `derived`, the record
        dropped as valid), that too, as the `.out` file (else any old one is removed). The
        `.out` file first: a run killed between the two has no state for the document and makes
        it again, so a resumed run keeps the same files as an uninterrupted one. No fsync: the
        files survive the process being killed; after a power loss a truncated file fails to
        parse and is recomputed."""
        self.dir.mkdir(parents=True, exist_ok=True)
        out = self.output_path(key.source)
        if output and has_output(result):
            blob = result.kept if result.kept is not None else output_blob(result.rows, result.derived)[0]
            _write_atomic(out, json.dumps({"format": STATE_FORMAT, "key": asdict(key)}).encode("utf-8") + b"\n" + blob)
        else:
            out.unlink(missing_ok=True)
        header = {"format": STATE_FORMAT, "key": asdict(key), "run": self.parts}
        _write_atomic(self.path(key.source), "".join((
            json.dumps(header, ensure_ascii=False), "\n",
            json_line(result_to_json(result)), "\n",
            record_line(result), "\n",
            result.removed_text(),
        )).encode("utf-8"))

    def prune(self, sources: set[str], outputs: bool = True) -> int:
        """Delete the files of documents no longer in the input, stale temporary files, and,
        unless `outputs`, every kept output (`.out`: the cache was switched off)."""
        if not self.dir.is_dir():
            return 0
        keep = {state_name(s) for s in sources}
        if outputs:
            keep |= {Path(name).with_suffix(OUTPUT_SUFFIX).name for name in keep}
        removed = 0
        for path in self.dir.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _of(header: Any, key: DocKey) -> bool:
    """Whether a state file's first line says it holds a result computed under `key`, in this format."""
    return isinstance(header, dict) and header.get("key") == asdict(key) and header.get("format") == STATE_FORMAT


def _write_atomic(path: Path, data: bytes) -> None:
    """`data` to a temporary name beside `path` (the name `clean_tmp` removes after a kill), then
    renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def clean_tmp(out_dir: Path) -> None:
    """Remove the state's temporary files left by a killed run (its own and the pre-pass's,
    `pipeline.prepass`)."""
    for folder in (out_dir / STATE_DIR, out_dir / STATE_DIR / "docs"):
        if folder.is_dir():
            for path in folder.glob(".*.tmp-*"):
                path.unlink(missing_ok=True)


def is_output_dir(path: Path) -> bool:
    """Whether `path` is an output folder of this pipeline (a run took its lock there); False
    when that cannot be seen (a folder that cannot be entered)."""
    return os.path.isfile(path / STATE_DIR / "lock")


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold `OUTPUT/.state/lock` for a run: a second run on the same folder fails at once
    (the kernel releases the lock when the process dies, SIGKILL included)."""
    lock_path = out_dir / STATE_DIR / "lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StateLocked(f"another run is writing to {out_dir}") from exc
        yield

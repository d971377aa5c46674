"""Per-document results kept under `OUTPUT/.state/`: the cache of incremental runs and the
checkpoint of interrupted ones.

Layout::

    OUTPUT/.state/lock                 held (flock) by the run writing OUTPUT
    OUTPUT/.state/docs/<name>.json     one file per input document, <name> = sha256(source)[:32]

A document file has two JSON lines: the key it was computed under (source, doc id, sha256 of
the raw bytes, run key, and the parts of the run key for people reading it), then the
`DocResult` (corpus record, removed lines, error, stats, stage seconds). It is written to a
temporary name and renamed into place, so a file that exists is complete. A document is
reused when its whole key is equal; the run key (`run_key`) hashes everything else that can
change the output: pipeline and schema versions, a fingerprint of the package's source, the
config hash and the stages' provenance (the entities lexicon version, ...).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.records import json_line
from pipeline.runner import DocResult

STATE_DIR = ".state"
STATE_FORMAT = 1
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
    """What the state keeps of a result. Not its stage times: they change from run to run, and
    the state files must not, so that a resumed run's folder is byte-identical to an
    uninterrupted run's, `.state/` included."""
    return {
        "doc_id": result.doc_id, "source": result.source, "status": result.status, "record": result.record,
        "removed": result.removed, "error": result.error, "stats": result.stats,
    }


_RECORD_NULL = '"record":null'


def state_body(result: DocResult) -> str:
    """`json_line(result_to_json(result))`, with the record's JSON spliced in when the result
    carries it (`record_json`) instead of encoding the record a second time; a result whose
    worker dropped the record (keeping only its JSON) is stored the same.

    >>> record = {"x": '"record":null'}
    >>> r = DocResult("d", "d.txt", "ok", record=record, record_json=json_line(record))
    >>> state_body(r) == json_line(result_to_json(r))
    True
    >>> state_body(DocResult("d", "d.txt", "ok", record_json=json_line(record))) == state_body(r)
    True
    """
    if result.record_json is None:
        return json_line(result_to_json(result))
    text = json_line({**result_to_json(result), "record": None})
    at = text.index(_RECORD_NULL)  # the key itself: inside a JSON string its quotes would be escaped
    return text[:at] + '"record":' + result.record_json + text[at + len(_RECORD_NULL):]


def result_from_json(data: dict[str, Any]) -> DocResult:
    result = DocResult(**data)
    if isinstance(result.record, dict):
        result.sha256 = result.record.get("sha256")
    return result


def cacheable(result: DocResult) -> bool:
    """Whether a result depends only on its key: read errors (permissions, a file that
    vanished) may not happen next time, so they are retried."""
    return result.error is None or result.error.get("stage") != "read"


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
        return isinstance(header, dict) and header.get("key") == asdict(key)

    def load(self, key: DocKey) -> DocResult | None:
        """The stored result for `key`, or None when missing, unreadable or computed under another key."""
        try:
            with self.path(key.source).open(encoding="utf-8") as fh:
                header = json.loads(fh.readline())
                if not isinstance(header, dict) or header.get("key") != asdict(key):
                    return None
                return result_from_json(json.loads(fh.readline()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, key: DocKey, result: DocResult) -> None:
        """Write the result atomically (temporary file, rename). No fsync: the file survives the
        process being killed; after a power loss a truncated file fails to parse and is recomputed."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(key.source)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        header = {"format": STATE_FORMAT, "key": asdict(key), "run": self.parts}
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(json.dumps(header, ensure_ascii=False) + "\n")
            fh.write(state_body(result) + "\n")
        os.replace(tmp, path)

    def prune(self, sources: set[str]) -> int:
        """Delete state files of documents no longer in the input and stale temporary files."""
        if not self.dir.is_dir():
            return 0
        keep = {state_name(s) for s in sources}
        removed = 0
        for path in self.dir.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def clean_tmp(out_dir: Path) -> None:
    """Remove the state's temporary files left by a killed run."""
    docs = out_dir / STATE_DIR / "docs"
    if docs.is_dir():
        for path in docs.glob(".*.tmp-*"):
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

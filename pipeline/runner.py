"""Run the stages over a batch: discover inputs, process each document, isolate failures.

`Pipeline` holds the stages, built once per run (once per worker process). `run` turns one
`Task` (a document's raw bytes and names) into a `DocResult` (plain data, picklable); a failure
in one document becomes an error entry and never stops the batch. Where tasks run is the
business of `pipeline.executors`; what is reused and written, of `pipeline.batch`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.config import Config
from pipeline.document import Document
from pipeline.records import corpus_record, json_line, removal_rows, removed_lines
from pipeline.sites import compile_site
from pipeline.stages import RunContext, Stage, StageError, build_stage, stage_provenance


@dataclass
class DocResult:
    doc_id: str
    source: str
    status: str  # "ok" | "failed"
    record: dict[str, Any] | None = None
    # What the stages removed (removed.jsonl's rows). Left empty when `removed_json` holds
    # them and nothing more is made from them (the products are in `derived`): a result sent
    # by a worker (`pipeline.executors.ship`) or loaded with its output (`StateStore.load_output`).
    removed: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, str] | None = None
    stats: dict[str, dict[str, int | float]] = field(default_factory=dict)
    # Stage times: measured, not part of the result (never stored, never compared).
    seconds: dict[str, float] = field(default_factory=dict, compare=False)
    # `json_line(record)`, encoded once where the record is made: corpus.jsonl and the state
    # file both hold it. Travels with the result, never stored in the state.
    record_json: str | None = field(default=None, compare=False, repr=False)
    # sha256 of the raw bytes (also the record's `sha256`), for the manifest when the record
    # itself no longer travels with the result. Never stored in the state (the record holds it).
    sha256: str | None = field(default=None, compare=False, repr=False)
    # Made by the worker that processed the document, which then drops the record (see
    # `pipeline.executors.Worker`): its share of the corpus files (`pipeline.writers.DocRows`)
    # and of the corpus products (`pipeline.products.Derived`). Travel with the result, never
    # stored in the state.
    rows: Any = field(default=None, compare=False, repr=False)
    derived: Any = None
    # `removed_lines(removed)`, the document's removed.jsonl lines, encoded once (by the worker
    # that made them, or read back from the state, which keeps them as they are written).
    removed_json: str | None = field(default=None, compare=False, repr=False)
    # `rows` and `derived` as the `.out` file keeps them (`pipeline.state.output_blob`), pickled
    # once by the worker in another process: they cross to the writing process in it, and it is
    # written as it came. `kept_page`: the page, which the blob does not hold, while in transit.
    kept: bytes | None = field(default=None, compare=False, repr=False)
    kept_page: str | None = field(default=None, compare=False, repr=False)
    # Its manifest entry's text (`pipeline.writers.manifest_text`), made by its worker.
    manifest_json: str | None = field(default=None, compare=False, repr=False)

    def removed_text(self) -> str:
        """Its removed.jsonl lines: as encoded once (`removed_json`), else encoded now."""
        return self.removed_json if self.removed_json is not None else removed_lines(self.removed)


@dataclass(frozen=True)
class InputFile:
    path: Path
    doc_id: str
    source: str  # path relative to the input dir, with forward slashes (`printable_name`)
    # A folder that could not be listed (its reason): an item whose read fails, so that what it
    # holds is no silent loss.
    unlisted: str | None = None


@dataclass(frozen=True)
class Task:
    """One document to process: its raw bytes travel with it, so a worker needs no access to the input folder."""

    doc_id: str
    source: str
    raw: bytes
    # Lines of this document learned from the batch (see pipeline.batch_lines).
    batch_lines: tuple[str, ...] = ()


def read_task(item: InputFile) -> Task | DocResult:
    """The task of an input file, or its `read` error result when the file (or folder) cannot be read."""
    if item.unlisted is not None:
        return _read_error(item, f"cannot list {item.source}: {item.unlisted}")
    try:
        return Task(item.doc_id, item.source, item.path.read_bytes())
    except OSError as exc:
        return _read_error(item, f"cannot read {item.source}: {exc.strerror or exc}")


def _read_error(item: InputFile, message: str) -> DocResult:
    error = {"doc": item.doc_id, "stage": "read", "kind": "unreadable", "message": one_line(message)}
    return DocResult(doc_id=item.doc_id, source=item.source, status="failed", error=error)


# What a doc id or source may not hold: the bytes of a name that are not UTF-8 (`os.fsdecode`
# makes them lone surrogates, which no UTF-8 file can hold), control characters and line
# separators (a section id, `<doc_id>:<nnn>`, is one line of text).
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE_BYTES = range(0xDC80, 0xDD00)  # surrogateescape: U+DC80 + byte, for bytes 0x80-0xFF


def printable_name(name: str) -> str:
    """`name` as valid one-line text: each byte that is not UTF-8 and each control character
    written as an escape, `\\xNN` (a byte or a character up to U+00FF) or `\\uNNNN`.

    >>> printable_name(os.fsdecode(b"caf\\xe9 new\\nline.txt"))
    'caf\\\\xe9 new\\\\x0aline.txt'
    >>> printable_name("gout – ünïcode.txt")
    'gout – ünïcode.txt'
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code in _SURROGATE_BYTES:
            code -= 0xDC00
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_TEXT.sub(escape, name)


# A doc id's forms, each tried when the one before clashes with another file's id: the stem, the
# relative path, then the relative path and a hash of the file's path as found (bytes), short
# and then whole (so two ids that still clash are two names that print the same).
ID_HASH_CHARS = (8, 64)


def doc_ids(rels: list[str]) -> list[str]:
    """Unique doc ids for relative paths (as found: `/`-separated, undecodable bytes as
    surrogates). An id is the file's stem (`printable_name`); when two files share a stem, or
    an id clashes with another file's, the files of the clash whose ids are the shortest form
    (stem first, then relative path) move on to their next form (see `ID_HASH_CHARS`).
    The ids depend only on the set of paths, never on their order.

    >>> doc_ids(["a/gout.html", "b/gout.html", "raynaud.txt"])
    ['a/gout.html', 'b/gout.html', 'raynaud']
    >>> doc_ids(["gout.html", "gout.txt", "gout.html.txt"])
    ['gout.html', 'gout.txt', 'gout.html.txt']
    >>> doc_ids(["x\\udce9.txt", "x\\\\xe9.txt"])
    ['x\\\\xe9.txt-e1ced441', 'x\\\\xe9.txt-0192520c']
    """
    stems = [printable_name(PurePosixPath(rel).stem) for rel in rels]
    shared = Counter(stems)

    def form(i: int, level: int) -> str:
        if level == 0:
            return stems[i]
        name = printable_name(rels[i])
        if level == 1:
            return name
        digest = hashlib.sha256(os.fsencode(rels[i])).hexdigest()
        return f"{name}-{digest[:ID_HASH_CHARS[level - 2]]}"

    levels = [0 if shared[stem] == 1 else 1 for stem in stems]
    ids = [form(i, level) for i, level in enumerate(levels)]
    while True:
        clashes: dict[str, list[int]] = {}
        for i, doc_id in enumerate(ids):
            clashes.setdefault(doc_id, []).append(i)
        moved = False
        for members in clashes.values():
            if len(members) < 2:
                continue
            lowest = min(levels[i] for i in members)
            for i in members:
                if levels[i] == lowest and lowest <= len(ID_HASH_CHARS):
                    levels[i] += 1
                    ids[i] = form(i, levels[i])
                    moved = True
        if not moved:
            return ids


def _is_input(path: Path) -> bool:
    """Whether a listed entry that is no folder is an input: a file or a symlink (a dangling one
    fails when read), or an entry whose kind cannot be seen (its read says why); not a FIFO,
    socket or device."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return True
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def discover(input_dir: Path, skip: Callable[[Path], bool] | None = None) -> list[InputFile]:
    """Input files under `input_dir`, sorted, with unique doc ids (`doc_ids`).

    Hidden files and folders are left out, and so is every folder below `input_dir` that
    `skip` names (the batch's: the output folder, and any folder holding a pipeline output).
    A folder that cannot be listed becomes an item whose read fails (`unlisted`), so that what
    it holds is no silent loss; `input_dir` itself raises `OSError` then.
    """
    found: list[tuple[Path, str | None]] = []

    def unlisted(exc: OSError) -> None:
        if exc.filename is None or Path(exc.filename) == input_dir:
            raise exc
        found.append((Path(exc.filename), exc.strerror or str(exc)))

    for root, dirs, files in os.walk(input_dir, onerror=unlisted):
        here = Path(root)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (skip is not None and skip(here / d))]
        # A symlink to a folder is not followed: it is an item, whose read fails.
        found.extend((here / d, None) for d in dirs if os.path.islink(here / d))
        found.extend((here / f, None) for f in files if not f.startswith(".") and _is_input(here / f))
    found.sort()
    rels = [path.relative_to(input_dir).as_posix() for path, _ in found]
    return [
        InputFile(path, doc_id, printable_name(rel), reason)
        for (path, reason), rel, doc_id in zip(found, rels, doc_ids(rels), strict=True)
    ]


def one_line(text: str, limit: int = 300) -> str:
    """Collapse a message to one line of at most `limit` characters.

    >>> one_line("a\\n  b" + "x" * 400)[:6]
    'a bxxx'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Pipeline:
    """The configured stages, built once; `process` runs them on one input file."""

    def __init__(self, config: Config) -> None:
        self.config = config
        sites = {name: compile_site(site) for name, site in config.sites.items()}
        self.ctx = RunContext(
            config_dir=config.config_dir, sites=sites, site=config.run.site,
        )
        self.stages: list[Stage] = [build_stage(name, config.stages[name], self.ctx) for name in config.run.stages]

    @property
    def provenance(self) -> dict[str, Any]:
        return {s.name: s.provenance for s in self.stages if hasattr(s, "provenance")}

    def process(self, item: InputFile) -> DocResult:
        """Read `item` and run the stages on it."""
        task = read_task(item)
        return task if isinstance(task, DocResult) else self.run(task)

    def run(self, task: Task) -> DocResult:
        """Run the stages on one document; `seconds` gets each stage's time."""
        result = DocResult(doc_id=task.doc_id, source=task.source, status="failed")
        raw = task.raw
        doc = Document(doc_id=task.doc_id, source=task.source, raw=raw, sha256=hashlib.sha256(raw).hexdigest(),
                       batch_lines=frozenset(task.batch_lines))
        for stage in self.stages:
            start = time.perf_counter()
            try:
                doc = stage(doc)
            except StageError as exc:
                result.error = {"doc": task.doc_id, "stage": stage.name, "kind": exc.kind, "message": one_line(exc.message)}
                result.removed = removal_rows(doc)  # what the stages before it removed: the error may point to them
                return result
            except Exception as exc:
                result.error = {"doc": task.doc_id, "stage": stage.name, "kind": "internal_error",
                                "message": one_line(f"{type(exc).__name__}: {exc}")}
                result.removed = removal_rows(doc)
                return result
            finally:
                result.seconds[stage.name] = time.perf_counter() - start
            doc.steps.append(stage.name)
        doc.raw = b""
        result.status = "ok"
        result.record = corpus_record(doc)
        result.record_json = json_line(result.record)
        result.sha256 = doc.sha256
        result.removed = removal_rows(doc)
        result.stats = doc.stats
        return result


def pipeline_provenance(config: Config) -> dict[str, Any]:
    """`Pipeline(config).provenance` without building the stages (`stage_provenance`)."""
    ctx = RunContext(config_dir=config.config_dir, site=config.run.site)
    found = {name: stage_provenance(name, config.stages[name], ctx) for name in config.run.stages}
    return {name: p for name, p in found.items() if p is not None}


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

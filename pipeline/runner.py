"""Run the stages over a batch: discover inputs, process each document, isolate failures.

`Pipeline` holds the stages, built once per run (once per worker process). `run` turns one
`Task` (a document's raw bytes and names) into a `DocResult` (plain data, picklable); a failure
in one document becomes an error entry and never stops the batch. Where tasks run is the
business of `pipeline.executors`; what is reused and written, of `pipeline.batch`.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.document import Document
from pipeline.records import corpus_record, json_line, removal_rows
from pipeline.sites import compile_site
from pipeline.stages import RunContext, Stage, StageError, build_stage


@dataclass
class DocResult:
    doc_id: str
    source: str
    status: str  # "ok" | "failed"
    record: dict[str, Any] | None = None
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


@dataclass(frozen=True)
class InputFile:
    path: Path
    doc_id: str
    source: str  # path relative to the input dir, with forward slashes


@dataclass(frozen=True)
class Task:
    """One document to process: its raw bytes travel with it, so a worker needs no access to the input folder."""

    doc_id: str
    source: str
    raw: bytes
    # Lines of this document learned from the batch (see pipeline.batch_lines).
    batch_lines: tuple[str, ...] = ()


def read_task(item: InputFile) -> Task | DocResult:
    """The task of an input file, or its `read` error result when the file cannot be read."""
    try:
        return Task(item.doc_id, item.source, item.path.read_bytes())
    except OSError as exc:
        error = {"doc": item.doc_id, "stage": "read", "kind": "unreadable",
                 "message": one_line(f"cannot read {item.source}: {exc.strerror or exc}")}
        return DocResult(doc_id=item.doc_id, source=item.source, status="failed", error=error)


def discover(input_dir: Path) -> list[InputFile]:
    """Input files under `input_dir` (hidden files skipped), sorted, with unique doc ids.

    A doc id is the file stem; when two files share a stem, their relative paths are used.
    """
    paths = sorted(
        p for p in input_dir.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(input_dir).parts)
        and (p.is_file() or p.is_symlink())
    )
    rels = [p.relative_to(input_dir).as_posix() for p in paths]
    stems: dict[str, int] = {}
    for p in paths:
        stems[p.stem] = stems.get(p.stem, 0) + 1
    return [
        InputFile(p, p.stem if stems[p.stem] == 1 else rel, rel)
        for p, rel in zip(paths, rels, strict=True)
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


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

"""One batch run: inputs -> results (executors) -> per-document state -> files (writers) -> a summary.

The run streams. Input files are read and hashed one by one, in input order; a document whose
stored state (`pipeline.state`) was computed under the same key is reused, any other is
submitted to the executor. At most `window` submitted documents are unfinished or waiting to
be written at any time, so memory stays flat whatever the corpus size. Each result is saved
as the document's state file as soon as it arrives (in whatever order workers finish), and
the corpus files are written from the results in input order, to temporary names renamed
into place at the end. Hence:

- the output is byte-identical whatever the number of workers, the executor, or which
  documents were reused;
- a killed run loses at most the documents in flight: the next run reuses every saved one;
- Ctrl-C stops with the previous corpus files untouched (`BatchInterrupted`).
"""

from __future__ import annotations

import ctypes
import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline import SCHEMA_VERSION, __version__, stamp
from pipeline.batch_lines import actionable, learned_csv
from pipeline.config import Config
from pipeline.executors import Executor, make_executor, output_failed
from pipeline.prepass import Imap, Prepass, lines_key, run_prepass
from pipeline.products import Scan, products_settings, write_products
from pipeline.products.report import page_name
from pipeline.runner import DocResult, InputFile, Task, discover, pipeline_provenance, read_task
from pipeline.stages import StageError
from pipeline.stages.decode import Settings as DecodeSettings
from pipeline.state import (
    STATE_DIR,
    DocKey,
    StateStore,
    cacheable,
    clean_tmp,
    is_output_dir,
    output_lock,
    run_parts,
    source_fingerprint,
)
from pipeline.writers import CorpusWriter, doc_rows, manifest_text, remove_stale_tmp


@dataclass
class Summary:
    ok: int = 0
    failed: int = 0
    sections: int = 0
    mentions: int = 0
    processed: int = 0
    reused: int = 0
    total: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # stage (and doc_output) -> seconds, in this run
    output: Path | None = None
    learned_lines: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # main-process seconds: up_to_date, prepass, products
    products: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False  # the output was already what this run would write: nothing was written

    # What `pipeline.stamp` keeps of a complete run, for an up-to-date run to report again.
    KEPT = ("ok", "failed", "sections", "mentions", "removed", "learned_lines", "products")

    def kept(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.KEPT}

    def restore(self, kept: dict[str, Any]) -> bool:
        """Take the counts of `kept()` back (False, nothing taken: not such a record)."""
        types = {"removed": dict, "products": dict}
        if set(kept) != set(self.KEPT) or not all(isinstance(kept[k], types.get(k, int)) for k in self.KEPT):
            return False
        for name in self.KEPT:
            setattr(self, name, kept[name])
        return True

    def add(self, result: DocResult) -> None:
        if result.status == "ok":
            self.ok += 1
        else:
            self.failed += 1
        self.sections += int(result.stats.get("segment", {}).get("sections", 0))
        self.mentions += int(result.stats.get("entities", {}).get("mentions", 0))
        for stage, counts in result.stats.items():
            if "lines_removed" in counts:
                self.removed[stage] = self.removed.get(stage, 0) + int(counts["lines_removed"])

    def add_seconds(self, result: DocResult) -> None:
        for stage, secs in result.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + secs

    def line(self) -> str:
        removed = ", ".join(f"{k} {v}" for k, v in self.removed.items()) or "none"
        text = (
            f"{self.ok + self.failed} documents: {self.ok} ok, {self.failed} failed | "
            f"{self.sections} sections | {self.mentions} mentions | lines removed: {removed} | "
            f"{self.processed} processed, {self.reused} reused"
        )
        if self.up_to_date:
            text += " | up to date: nothing written"
        if self.learned_lines:
            text += f" | {self.learned_lines} lines learned from the batch"
        if self.products.get("duplicate_pairs"):
            text += f" | {self.products['duplicate_pairs']} near-duplicates"
        if self.failed and self.output is not None:
            text += f" | errors: {self.output / 'errors.jsonl'}"
        return text

    def interrupted_line(self) -> str:
        return (
            f"interrupted: {self.processed} documents processed and {self.reused} reused of {self.total}; "
            f"finished documents are saved in {self.output}/.state, the previous corpus files are unchanged: "
            "run again to finish"
        )


class BatchInterrupted(Exception):
    """Ctrl-C during a batch; `summary` says how far it got."""

    def __init__(self, summary: Summary) -> None:
        super().__init__(summary.interrupted_line())
        self.summary = summary


def manifest(config: Config, pipeline_provenance: dict[str, Any], docs: dict[str, Any], summary: Summary) -> dict[str, Any]:
    return {
        "pipeline_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "config": config.path.name,
        "config_hash": config.digest,
        "stages": list(config.run.stages),
        "provenance": pipeline_provenance,
        "totals": {
            "documents": summary.ok + summary.failed, "ok": summary.ok, "failed": summary.failed,
            "sections": summary.sections, "mentions": summary.mentions, "lines_removed": summary.removed,
        },
        "documents": docs,
    }


@dataclass
class _Slot:
    """One input document on its way to the writer."""

    item: InputFile
    index: int  # its position in the batch
    key: DocKey | None = None  # None: not cacheable (unreadable file)
    task: Task | None = None  # kept until submitted, for a reused state that turns out unreadable
    result: DocResult | None = None
    reuse: bool = False
    # The hex sha256 of the bytes its output is made from (None: unreadable), and whether these
    # are the bytes the pre-pass read (`Prepass.read_other`): what the stamp may record.
    sha: str | None = None
    settled: bool = True


def learn_batch_lines(config: Config, items: list[InputFile], state_dir: Path, key: str, imap: Imap = map) -> Prepass:
    """The batch pre-pass (see pipeline.batch_lines and pipeline.prepass): the recurring
    lines, those the boilerplate stage acts on, and what it read of each input. `imap`: where
    the inputs are cut into lines (the batch's workers, `Executor.imap`)."""
    settings = config.stages.get("boilerplate")
    min_docs = int(getattr(settings, "batch_min_docs", 0) or 0)
    return run_prepass(items, min_docs, decode_settings(config), state_dir, key,
                       lambda recurring: actionable(recurring, settings),  # type: ignore[arg-type]
                       imap, config.run.prepass_group, config.run.prepass_group_bytes)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def cap_heap(threshold: int) -> bool:
    """Fix glibc's mmap threshold of this process at `threshold` bytes (0: leave it); whether it
    was set (False where the C library has no `mallopt`: macOS, musl).

    glibc serves a large allocation from its own mapping, returned to the system when freed,
    and raises that threshold (up to 32 MB) each time such a block is freed: after a few
    documents, their large strings (corpus lines, CSV text, report pages) come from the heap
    instead, whose freed space is kept and fragments. A fixed threshold keeps them mapped: the
    writing process of a 2-worker batch of 2,000 documents peaked at 344 MB instead of 478.
    The setting stays for the rest of the process (a program calling `run_batch` keeps it)."""
    if threshold <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def decode_settings(config: Config) -> DecodeSettings | None:
    """The run's decode settings, which the pre-pass reads documents with as the stage does."""
    settings = config.stages.get("decode")
    return settings if isinstance(settings, DecodeSettings) else None


def _with_batch_lines(task: Task, index: int, prepass: Prepass, decode: DecodeSettings | None) -> tuple[Task, str, str]:
    """The task carrying its learned lines, its cache identity (bytes + those lines) and the
    sha256 of its bytes."""
    sha = hashlib.sha256(task.raw).hexdigest()
    identity, held = prepass.of_bytes(index, task.raw, decode, sha)
    return (Task(task.doc_id, task.source, task.raw, held) if held else task), identity, sha


def _plan(index: int, item: InputFile, store: StateStore, force: bool, prepass: Prepass,
          decode: DecodeSettings | None) -> _Slot:
    """Reuse the input's stored result when its identity, as the pre-pass read it, matches
    one (the input is not read again); else read it and make it a task."""
    known = prepass.identity(index) if not force else None
    if known is not None:
        key = store.key(item.source, item.doc_id, known)
        if store.matches(key):
            return _Slot(item, index, key=key, reuse=True, sha=prepass.sha256(index))
    slot, identity = _read_slot(index, item, store, prepass, decode)
    if identity is not None and not force and identity != known and store.matches(slot.key):  # type: ignore[arg-type]
        slot.task, slot.reuse = None, True  # changed since the pre-pass, or not read by it: reused
    return slot


def _read_slot(index: int, item: InputFile, store: StateStore, prepass: Prepass,
               decode: DecodeSettings | None) -> tuple[_Slot, str | None]:
    """Input `index` read: its slot with the task to submit, its key, the sha256 of its bytes
    and whether the pre-pass read these bytes, and its cache identity; or, unreadable, its
    slot with the read error (and None)."""
    task = read_task(item)
    if isinstance(task, DocResult):
        return _Slot(item, index, result=task), None
    task, identity, sha = _with_batch_lines(task, index, prepass, decode)
    key = store.key(item.source, item.doc_id, identity)
    return _Slot(item, index, key=key, task=task, sha=sha, settled=not prepass.read_other(index, sha)), identity


def outputs_of(output_dir: Path) -> Callable[[Path], bool]:
    """Which folders `discover` leaves out: `output_dir` (which may lie inside the input
    folder, read back next time otherwise) and any other folder holding a pipeline output."""
    target = output_dir.resolve()
    return lambda folder: folder.resolve() == target or is_output_dir(folder)


def run_batch(
    config: Config,
    input_dir: Path,
    output_dir: Path,
    workers: int | None = 1,
    progress: bool = True,
    executor: str | Executor = "local",
    address: str | None = None,
    force: bool = False,
    window: int | None = None,
) -> Summary:
    """Process every file under `input_dir` into `output_dir`; never raises for a bad document.

    `executor` is "local" (`workers` processes, 1 = this process), "ray" (at `address`) or an
    `Executor`. Documents already processed under the same key (see `pipeline.state`) are
    reused unless `force`; when the whole output is already what this run would write (see
    `pipeline.stamp`), nothing is built or written and `Summary.up_to_date` is set. Raises
    `BatchInterrupted` on Ctrl-C, `ExecutorError` when workers cannot run and `StateLocked`
    when another run holds `output_dir`.
    """
    items = discover(input_dir, skip=outputs_of(output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary(output=output_dir, total=len(items))
    pool = make_executor(executor, config, workers, address) if isinstance(executor, str) else executor
    with output_lock(output_dir):  # before touching anything in output_dir
        remove_stale_tmp(output_dir)
        clean_tmp(output_dir)
        if not force and _up_to_date(config, items, output_dir, summary):
            pool.close()
            return summary
        stamp.forget(output_dir)  # before anything is written: a run stopped midway leaves none
        prepass = Prepass()
        inputs: str | None = None
        try:
            # The workers start (a local pool forks them) before the pre-pass: forked after it,
            # they inherited its memory, which grows with the batch, and their allocations
            # copied its pages (a worker's peak 412 MB at 10,000 documents, 321 MB without it).
            provenance = pool.start()
            if pool.workers > 1:  # this process only writes: its heap, not the workers'
                cap_heap(config.run.writer_mmap_threshold)
            code = source_fingerprint()
            started = time.perf_counter()
            prepass = learn_batch_lines(config, items, output_dir / STATE_DIR, lines_key(code, config.digest),
                                        pool.imap)
            summary.phases["prepass"] = time.perf_counter() - started
            summary.learned_lines = len(prepass.learned)
            parts = run_parts(__version__, SCHEMA_VERSION, code, config.digest, provenance)
            store = StateStore(output_dir, parts)
            scan = Scan(products_settings(config), pages_dir=output_dir / "report")
            inputs = _stream(items, store, pool, summary, provenance, config, output_dir, force, progress,
                             window or max(4, 4 * pool.workers), prepass, scan)
        except KeyboardInterrupt:
            pool.close(cancel=True)
            raise BatchInterrupted(summary) from None
        except BaseException:
            pool.close(cancel=True)
            raise
        finally:
            prepass.close()
        try:
            store.prune({item.source for item in items}, outputs=config.run.output_cache)
            started = time.perf_counter()
            # In this process, from what the scan collected as the records were written (a
            # pool forked from it would inherit, and count, its memory, which grows with the
            # corpus); only the report's plots go to the workers, idle by now.
            summary.products = write_products(output_dir, config, scanned=scan, map_fn=pool.map)
            summary.phases["products"] = time.perf_counter() - started
        finally:
            pool.close()
        if inputs is not None:
            stamp.write(output_dir, stamp.stamp_key(config, provenance), items, inputs, summary.kept())
    return summary


def _up_to_date(config: Config, items: list[InputFile], output_dir: Path, summary: Summary) -> bool:
    """Whether `output_dir` already holds what this run would write (`pipeline.stamp.check`);
    if so, `summary` gets the stamped counts. A stage that cannot say its provenance (a
    missing rules file, a stale lexicon that may not be built) makes it False: the run then
    fails, or rebuilds, as it would have."""
    started = time.perf_counter()
    try:
        kept = stamp.check(output_dir, lambda: stamp.stamp_key(config, pipeline_provenance(config)), items)
    except StageError:
        kept = None
    summary.phases["up_to_date"] = time.perf_counter() - started
    if kept is None or not summary.restore(kept):
        return False
    summary.reused, summary.up_to_date = len(items), True
    return True


def _load(store: StateStore, key: DocKey, config: Config, scan: Scan) -> DocResult | None:
    """A reused document's stored result: with the output it was written with, when kept and
    its page is still in place (`StateStore.load_output`), else with its record, to make
    them from."""
    if config.run.output_cache:
        page = scan.pages_dir / page_name(key.doc_id) if scan.pages_dir is not None else None
        result = store.load_output(key, page)
        if result is not None:
            return result
    return store.load(key)


def _stampable(slot: _Slot, result: DocResult) -> bool:
    """Whether the next run may take `result` as what `slot`'s input gives (`pipeline.stamp`):
    read from bytes the pre-pass read, and not an error that the next run could meet otherwise
    (a read error is retried; an internal error, a bug, made the old runs try again too)."""
    internal = result.error is not None and result.error.get("kind") == "internal_error"
    return slot.sha is not None and slot.settled and cacheable(result) and not internal


def _ready(result: DocResult, scan: Scan) -> DocResult:
    """`result` with what writing it needs, made before any of it is written: its rows and
    products when it arrives with only a record (reused from the state). A failure there is
    the document's error (`output_failed`), like one in a worker's `pack`."""
    if result.record is None:
        return result
    try:
        if result.rows is None:
            result.rows = doc_rows(result.record, result.record_json)
        if result.derived is None:
            result.derived = scan.derive(result.record, result.removed)
    except Exception as exc:
        return output_failed(result, exc)
    return result


def _stream(
    items: list[InputFile], store: StateStore, pool: Executor, summary: Summary, provenance: dict[str, Any],
    config: Config, output_dir: Path, force: bool, progress: bool, window: int, prepass: Prepass, scan: Scan,
) -> str | None:
    """The sliding window: plan ahead in input order, submit, save results as they finish,
    write them in input order. Returns the digest of the inputs as written (`stamp.InputsDigest`),
    None when the output may not be stamped: a document that could not be read, or read
    otherwise than by the pre-pass (a full run may then write other bytes)."""
    inputs: stamp.InputsDigest | None = stamp.InputsDigest()
    pending: deque[_Slot] = deque()
    tickets: dict[int, _Slot] = {}
    decode = decode_settings(config)
    unwritten = 0  # submitted and not yet written: bounds the results held in memory
    todo = iter(enumerate(items))
    exhausted = False
    n_written = 0  # documents written (ok or failed): the manifest's entries went to the writer
    bar = tqdm(total=len(items), unit="doc", disable=not progress or len(items) < 2, leave=False)
    with bar, CorpusWriter(output_dir) as writer:  # the bar is cleared on Ctrl-C too
        while True:
            while not exhausted and unwritten < window and len(pending) < 16 * window:
                planned = next(todo, None)
                if planned is None:
                    exhausted = True
                    break
                slot = _plan(*planned, store, force, prepass, decode)
                if slot.task is not None:
                    tickets[pool.submit(slot.task)] = slot
                    slot.task = None
                    unwritten += 1
                pending.append(slot)
            if not pending:
                break
            head = pending[0]
            if head.reuse and head.result is None:
                head.result = _load(store, head.key, config, scan) if head.key is not None else None
                if head.result is None:  # vanished or corrupted since planned: process it after all
                    pending[0] = head = _read_slot(head.index, head.item, store, prepass, decode)[0]
                    if head.task is not None:
                        tickets[pool.submit(head.task)] = head
                        head.task = None
                        unwritten += 1
            if head.result is None:
                if not tickets:
                    raise RuntimeError("internal error: waiting for a document that was never submitted")
                for ticket, result in pool.wait():
                    slot = tickets.pop(ticket)
                    if slot.key is not None and cacheable(result):
                        store.save(slot.key, result, output=config.run.output_cache)
                    slot.result = result
                    summary.processed += 1
                    summary.add_seconds(result)
                continue
            pending.popleft()
            if head.reuse:
                summary.reused += 1
            elif head.key is None:
                summary.processed += 1  # unreadable: never submitted
            else:
                unwritten -= 1
            result = _ready(head.result, scan)
            if inputs is not None and _stampable(head, result):
                inputs.add(head.item.source, head.sha)  # type: ignore[arg-type]  # not None: stampable
            else:
                inputs = None
            counts = writer.write(result, result.rows)
            if result.status == "ok":
                scan.add(result.doc_id, n_written, counts, result.derived, result.record, result.removed)
            result.rows = result.derived = result.kept = None  # written, or kept by `scan`
            summary.add(result)
            writer.add_manifest_text(manifest_text(result))
            n_written += 1
            bar.update(1)
        bar.close()  # before the commit, whose time is no document's
        extra = [("learned_boilerplate.csv", learned_csv(prepass.recurring, prepass.learned))]
        writer.commit(manifest(config, provenance, {}, summary), extra=extra)  # its entries: streamed
    return inputs.hexdigest() if inputs is not None else None

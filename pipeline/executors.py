"""Where documents are processed: in this process, in a local process pool, or on Ray.

Every executor runs the same function, `Pipeline.run(task)`, on a pipeline built once per
worker (process or Ray actor). The interface is deliberately small, so that the batch owns
the sliding window, the order of the output and the checkpoints:

- `start()` builds the workers, returns once every one is built, and returns the stages'
  provenance (part of the cache key; Ray: every actor's must agree with this process's code);
- `submit(task)` queues one document and returns a ticket (an int);
- `wait()` blocks until at least one submitted document is done and returns `(ticket, result)`
  pairs for every finished one;
- `close(cancel)` stops the workers (`cancel=True`: drop what has not started);
- `map(fn, items)`: `[fn(x) for x in items]` on the idle workers, after the documents (the
  batch's report plots render there, side by side);
- `imap(fn, items)`: `fn` over `items` on the workers, in order and lazily, a bounded number in
  flight, before the documents (the batch pre-pass cuts its inputs into lines there).
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import platform
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from pipeline import __version__
from pipeline.config import Config
from pipeline.products import Deriver, products_settings
from pipeline.products.report import warm_up as report_warm_up
from pipeline.records import removed_lines
from pipeline.runner import DocResult, Pipeline, Task, one_line
from pipeline.state import WORKER_STAGE, has_output, output_blob, read_output_blob, source_fingerprint
from pipeline.writers import doc_rows, manifest_text, table_rows, warm_up

EXECUTORS = ("local", "ray")
OUTPUT_STEP = "doc_output"  # the key in `DocResult.seconds` of the worker's `Worker.run` after the stages
T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(Exception):
    """The workers cannot run (a worker died, Ray is missing or unreachable); the message says what to do."""


class Executor(Protocol):
    workers: int

    def start(self) -> dict[str, Any]: ...

    def submit(self, task: Task) -> int: ...

    def wait(self) -> list[tuple[int, DocResult]]: ...

    def close(self, cancel: bool = False) -> None: ...

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R]: ...

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...


class Worker:
    """What each worker holds: the pipeline, built once, and what turns a record into the
    document's share of the output, made here so that the process writing the output only
    writes it: its lines and rows of the corpus files (`pipeline.writers.DocRows`) and its
    part of the corpus products (summary, MinHash signature, document page, schema check).
    The record itself is then dropped from the result, unless it failed the schema check
    (the writer reports the violations, with line and row numbers only it knows): what
    crosses to the writer is strings and Arrow buffers, cheap to pickle, instead of the
    record's nested dicts (~7 ms per document to pickle and unpickle).

    What it loaded is kept out of garbage collection: the lexicon and the spaCy vocabulary
    are long-lived objects every full collection would walk again (0.7 s of a 12 s run of
    200 documents); `gc.freeze` moves everything alive now into a generation the collector
    skips, and each document's garbage is collected as before. pyarrow's one-time import of
    pandas is done before it too (`writers.warm_up`), like every other one-time cost of a worker,
    and so are the imports of displaCy and matplotlib (`report.warm_up`: a forked worker has
    them from the process that started the pool; a Ray actor or a spawned worker makes them).
    """

    def __init__(self, config: Config) -> None:
        self.pipeline = Pipeline(config)
        self.derive = Deriver(products_settings(config), check=True)
        warm_up()
        report_warm_up(products_settings(config))
        gc.collect()
        gc.freeze()

    @property
    def provenance(self) -> dict[str, Any]:
        return self.pipeline.provenance

    def run(self, task: Task) -> DocResult:
        result = self.pipeline.run(task)
        if result.record is not None:
            start = time.perf_counter()
            try:
                pack(result, self.derive)
            except Exception as exc:  # this document's failure, never the batch's
                output_failed(result, exc)
            result.manifest_json = manifest_text(result)
            result.seconds[OUTPUT_STEP] = time.perf_counter() - start
        return result


def pack(result: DocResult, derive: Deriver) -> DocResult:
    """Give a result with a record its `rows` and `derived`, and drop the record unless it
    failed the schema check (see `Worker`)."""
    assert result.record is not None, "pack a result with a record"
    tables = table_rows(result.record)
    result.rows = doc_rows(result.record, result.record_json, tables)
    result.derived = derive(result.record, result.removed, tables)
    result.removed_json = removed_lines(result.removed)
    if result.derived.valid is not False:
        result.record = None
    return result


def output_failed(result: DocResult, exc: Exception) -> DocResult:
    """Make `result` the failure of its output step (`OUTPUT_STEP`: its rows or products could
    not be made from its record), keeping what its stages removed, as a stage failure does.

    >>> r = output_failed(DocResult("d", "d.txt", "ok", record={}, stats={"segment": {}}), ValueError("bad"))
    >>> (r.status, r.record, r.stats, r.error)
    ('failed', None, {}, {'doc': 'd', 'stage': 'doc_output', 'kind': 'internal_error', 'message': 'ValueError: bad'})
    """
    result.status = "failed"
    result.error = {"doc": result.doc_id, "stage": OUTPUT_STEP, "kind": "internal_error",
                    "message": one_line(f"{type(exc).__name__}: {exc}")}
    result.record = result.record_json = result.sha256 = result.rows = result.derived = result.kept = result.manifest_json = None
    result.stats = {}
    return result


class InlineExecutor:
    """Runs each document in this process, when submitted (one worker)."""

    workers = 1

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pipeline: Worker | None = None
        self.done: list[tuple[int, DocResult]] = []
        self.next_ticket = 0

    def start(self) -> dict[str, Any]:
        self.pipeline = Worker(self.config)
        return self.pipeline.provenance

    def submit(self, task: Task) -> int:
        assert self.pipeline is not None, "submit before start"
        ticket, self.next_ticket = self.next_ticket, self.next_ticket + 1
        self.done.append((ticket, self.pipeline.run(task)))
        return ticket

    def wait(self) -> list[tuple[int, DocResult]]:
        done, self.done = self.done, []
        return done

    def close(self, cancel: bool = False) -> None:
        self.pipeline = None

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        return [fn(x) for x in items]

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return map(fn, items)


# The per-worker pipeline of a pool process: the one module-level state, built by the initializer.
_WORKER: Worker | None = None
# The pool's barrier (`PoolExecutor._start_pool`): each worker's `_provenance` waits at it.
_READY: Any = None


def _init_worker(config: Config, ready: Any = None) -> None:
    global _WORKER, _READY
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    _READY = ready
    _WORKER = Worker(config)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a killed run leaves no orphan worker."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _provenance() -> dict[str, Any]:
    """This worker's provenance, once every worker of the pool has built its pipeline: it
    waits at the pool's barrier, so the pool's `workers` calls run on as many processes."""
    assert _WORKER is not None, "worker used before its initializer ran"
    if _READY is not None:
        _READY.wait()
    return _WORKER.provenance


def _run(task: Task) -> DocResult:
    assert _WORKER is not None, "worker used before its initializer ran"
    return ship(_WORKER.run(task))


def ship(result: DocResult) -> DocResult:
    """`result` as it crosses to the writing process from another: its rows and products as
    one pickle, the `.out` file's (`kept`, see `pipeline.state.output_blob`), which the writing
    process then writes as it came instead of pickling them again (0.5 ms per document), with
    the page's hash made here too."""
    if has_output(result) and result.kept is None:
        result.kept, result.kept_page = output_blob(result.rows, result.derived)
        result.rows = result.derived = None
        if result.removed_json is not None:
            result.removed = []  # its text goes as it will be written; the products are made
    return result


def unship(result: DocResult) -> DocResult:
    """`result` with its rows and products out of its `kept` pickle, which it keeps (for the state)."""
    if result.kept is not None and result.rows is None and result.record_json is not None:
        result.rows, result.derived, _ = read_output_blob(result.kept, result.record_json, result.kept_page)
        result.kept_page = None
    return result


def worker_died(task: Task) -> DocResult:
    """The failed result of a document whose worker process died while running it alone."""
    error = {"doc": task.doc_id, "stage": WORKER_STAGE, "kind": "worker_died",
             "message": "its worker process died while processing it, run alone (out of memory, or a crash in a "
                        "library); tried again on the next run"}
    return DocResult(doc_id=task.doc_id, source=task.source, status="failed", error=error)


def one_at_a_time(suspects: list[tuple[int, Task]], run: Callable[[Task], DocResult],
                  died: type[BaseException], replace: Callable[[], None]) -> list[tuple[int, DocResult]]:
    """The documents that were in flight when a worker died, each run alone (`run`, on a fresh
    worker): a death now (`died` raised) is that document's (`worker_died`), and `replace`
    gives the next one a fresh worker again."""
    out: list[tuple[int, DocResult]] = []
    for ticket, task in suspects:
        try:
            out.append((ticket, unship(run(task))))
        except died:
            out.append((ticket, worker_died(task)))
            replace()
    return out


def identity(provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """What must be the same in every process of a run for its output not to depend on which
    one made a document: the package's version and source (`source_fingerprint`), the Python
    version, and the stages' `provenance` (lexicon, packages) where the pipeline is built."""
    found: dict[str, Any] = {"version": __version__, "code": source_fingerprint(), "python": platform.python_version()}
    if provenance is not None:
        found["provenance"] = provenance
    return found


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two nested dicts.

    >>> _differences({"x": 1, "p": {"lex": "4", "n": 2}}, {"x": 1, "p": {"lex": "5", "n": 2}, "y": 0})
    ['p.lex', 'y']
    """
    out: list[str] = []
    for key in sorted(a.keys() | b.keys()):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}")
    return out


def agreed(found: list[dict[str, Any]], here: dict[str, Any]) -> dict[str, Any]:
    """The provenance of workers (their `identity`) that agree with this process (`here`:
    version, code, Python) and with each other on everything; else an `ExecutorError` that
    names what differs: on a cluster, a node with another version of the package, of Python,
    of a library or of the lexicon would make its documents differ from the others'."""
    for index, other in enumerate(found):
        differ = [key for key in here if other.get(key) != here[key]]
        if differ:
            raise ExecutorError(
                f"worker {index} differs from this process in {', '.join(differ)} "
                f"({', '.join(f'{key} {other.get(key)} against {here[key]}' for key in differ)}): every node needs "
                "the same monograph-pipeline, Python and packages")
        differ = _differences(found[0], other)
        if differ:
            raise ExecutorError(f"worker {index} differs from worker 0 in {', '.join(differ)}: every node needs the same "
                                "packages, configs and lexicon")
    provenance: dict[str, Any] = found[0]["provenance"]
    return provenance


_END: Any = object()


def ahead_map(fn: Callable[[T], R], items: Iterable[T], ahead: int, submit: Callable[[T], Any],
              get: Callable[[Any], R], died: type[BaseException], revive: Callable[[], None]) -> Iterator[R]:
    """`fn` over `items`, in order, lazily: each item handed to `submit` (which starts `fn` on
    it elsewhere and returns a handle for `get`), at most `ahead` in flight. The workers dying
    (`died` raised) is not the items' fault: `revive` gives the batch new ones, and the items
    not yet returned run here, in this process."""
    it = iter(items)
    pending: deque[list[Any]] = deque()  # [item, handle]
    try:
        while True:
            while len(pending) < ahead and (x := next(it, _END)) is not _END:
                pending.append([x, None])
                pending[-1][1] = submit(x)
            if not pending:
                return
            result = get(pending[0][1])
            pending.popleft()
            yield result
    except died:
        revive()
        yield from (fn(x) for x, _handle in pending)
        yield from map(fn, it)


class PoolExecutor:
    """A local process pool; each process builds the pipeline once (`_init_worker`).

    A worker process that dies (killed for memory, a crash in a C library) breaks the whole
    pool, and every document in flight with it. The pool is then started again and those
    documents run again one at a time: the one that kills its worker alone gets a failed
    result (`worker_died`), the others their own, and the batch goes on in parallel."""

    def __init__(self, config: Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict[Future[DocResult], int] = {}
        self.tasks: dict[int, Task] = {}  # ticket -> task, until its result is returned
        self.broken = False  # the pool broke at a `submit`: the next `wait` recovers
        self.next_ticket = 0

    def start(self) -> dict[str, Any]:
        if multiprocessing.get_start_method() == "fork":
            # Forked workers inherit what this process has imported: importing here, once, what
            # they render and make rows with (displaCy, matplotlib, pyarrow) spares each of them
            # the import's CPU, and they share its memory. A run that starts no pool (nothing
            # to do) imports none of it.
            report_warm_up(products_settings(self.config))
            import pyarrow.parquet  # noqa: F401
        return self._start_pool()

    def _start_pool(self) -> dict[str, Any]:
        """A new pool, once every one of its workers has built its pipeline (each waits for the
        others at a barrier, `_provenance`): the batch's pre-pass then has all of them, and a
        pool that cannot start is the run's error, not a document's (an initializer that fails
        would fail for every one)."""
        ready = multiprocessing.get_context().Barrier(self.workers)
        self.pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker,
                                        initargs=(self.config, ready))
        try:
            found = [future.result() for future in [self.pool.submit(_provenance) for _ in range(self.workers)]]
        except BrokenProcessPool as exc:
            self._drop_pool()
            raise ExecutorError(f"the worker processes could not start: {exc}") from exc
        provenance: dict[str, Any] = found[0]
        return provenance

    def submit(self, task: Task) -> int:
        assert self.pool is not None, "submit before start"
        ticket, self.next_ticket = self.next_ticket, self.next_ticket + 1
        self.tasks[ticket] = task
        try:
            self.futures[self.pool.submit(_run, task)] = ticket
        except BrokenProcessPool:
            self.broken = True  # a worker died since the last `wait`: this task waits for the recovery
        return ticket

    def wait(self) -> list[tuple[int, DocResult]]:
        out: list[tuple[int, DocResult]] = []
        if self.futures and not self.broken:
            done, _ = wait_futures(list(self.futures), return_when=FIRST_COMPLETED)
            for future in done:
                if future.exception() is None:
                    ticket = self.futures.pop(future)
                    out.append((ticket, unship(future.result())))
                    del self.tasks[ticket]
                elif isinstance(future.exception(), BrokenProcessPool):
                    self.broken = True
                else:  # `_run` turns every document's error into its result: this is a bug, raised as is
                    future.result()
        if self.broken:
            out += self._recover()
        return out

    def _recover(self) -> list[tuple[int, DocResult]]:
        """After the pool broke: the results that were done before it, then every other document
        in flight run alone in a new pool, in order, each death of that pool the death of its one
        document; then a new pool for the rest of the batch."""
        out: list[tuple[int, DocResult]] = []
        for future, ticket in self.futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                out.append((ticket, unship(future.result())))
                del self.tasks[ticket]
        self.futures.clear()
        self._restart_pool()
        suspects = [(ticket, self.tasks.pop(ticket)) for ticket in sorted(self.tasks)]
        out += one_at_a_time(suspects, self._run_alone, BrokenProcessPool, self._restart_pool)
        self.broken = False
        return out

    def _run_alone(self, task: Task) -> DocResult:
        assert self.pool is not None
        result: DocResult = self.pool.submit(_run, task).result()
        return result

    def _restart_pool(self) -> None:
        self._drop_pool()
        self._start_pool()

    def _drop_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
            self.pool = None
        self.futures.clear()
        self.tasks.clear()

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        return list(self.imap(fn, items))

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn` over `items` on the workers, in order, two per worker in flight; a worker's
        death restarts the pool and runs the rest here (`ahead_map`)."""
        if self.pool is None:
            return map(fn, items)
        pool = self.pool
        return ahead_map(fn, items, 2 * self.workers, lambda x: pool.submit(fn, x), Future.result,
                         BrokenProcessPool, self._restart_pool)


class RayExecutor:
    """Ray actors, each building the pipeline once; connects to `address` or a running/local Ray.

    Documents travel as bytes and results come back to this process, so the input and output
    folders need only exist here; the workers need the package (same version) and the configs.
    """

    def __init__(self, config: Config, workers: int | None, address: str | None) -> None:
        self.config = config
        self.workers = workers or 0
        self.address = address
        self.owns_ray = False
        self.actors: list[Any] = []
        self.load: list[int] = []
        self.refs: dict[Any, tuple[int, int]] = {}  # ObjectRef -> (ticket, actor index)
        self.tasks: dict[int, Task] = {}  # ticket -> task, until its result is returned
        self.actor_class: Any = None
        self.identity: dict[str, Any] = {}  # the workers' (`identity`), once started
        self.here: dict[str, Any] = {}  # this process's (`identity()`), taken once at the start
        self.next_ticket = 0

    def start(self) -> dict[str, Any]:
        try:
            import ray
        except ImportError as exc:
            raise ExecutorError("Ray is not installed: pip install 'monograph-pipeline[ray]'") from exc
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"cannot connect to Ray at {self.address or 'a new local instance'}: {exc}") from exc
            self.owns_ray = True
        if not self.workers:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.actor_class = ray.remote(num_cpus=1)(PipelineActor)
        self.actors = [self.actor_class.remote(self.config, os.getcwd()) for _ in range(self.workers)]
        self.load = [0] * len(self.actors)
        try:
            found = ray.get([actor.identity.remote() for actor in self.actors])
        except ray.exceptions.RayError as exc:
            raise ExecutorError(f"the Ray workers could not build the pipeline: {exc}") from exc
        self.identity, self.here = found[0], identity()
        return agreed(found, self.here)

    def submit(self, task: Task) -> int:
        index = min(range(len(self.actors)), key=self.load.__getitem__)  # the least busy actor
        ticket, self.next_ticket = self.next_ticket, self.next_ticket + 1
        self.tasks[ticket] = task
        self.refs[self.actors[index].run.remote(task)] = (ticket, index)
        self.load[index] += 1
        return ticket

    def wait(self) -> list[tuple[int, DocResult]]:
        """As `PoolExecutor.wait`, an actor's death included: its documents in flight run again
        one at a time on a new actor (`_recover`), the one that kills it alone failing."""
        import ray

        refs = list(self.refs)
        ray.wait(refs, num_returns=1)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)  # the first one and whatever else is done
        out = []
        dead: set[int] = set()
        for ref in ready:
            ticket, index = self.refs[ref]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError:
                dead.add(index)  # recovered below, with the actor's other documents in flight
                continue
            except ray.exceptions.RayError as exc:
                raise ExecutorError(f"a Ray worker failed; finished documents are saved: run again to resume ({exc})") from exc
            del self.refs[ref], self.tasks[ticket]
            self.load[index] -= 1
            out.append((ticket, unship(result)))
        for index in sorted(dead):
            out += self._recover(index)
        return out

    def _recover(self, index: int) -> list[tuple[int, DocResult]]:
        """Actor `index` died: a new one in its place runs its documents in flight one at a
        time, in order; each death of it the death of its one document (`worker_died`)."""
        import ray

        suspects = [(ticket, self.tasks.pop(ticket)) for ticket, i in sorted(self.refs.values()) if i == index]
        self.refs = {ref: (ticket, i) for ref, (ticket, i) in self.refs.items() if i != index}
        self.load[index] = 0
        self._replace_actor(index)
        return one_at_a_time(suspects, lambda task: ray.get(self.actors[index].run.remote(task)),
                             ray.exceptions.RayActorError, lambda: self._replace_actor(index))

    def _replace_actor(self, index: int) -> None:
        """A new actor in place of actor `index`, once it has built its pipeline (else the run's error)."""
        import ray

        ray.kill(self.actors[index], no_restart=True)
        self.actors[index] = self.actor_class.remote(self.config, os.getcwd())
        try:
            found = ray.get(self.actors[index].identity.remote())
        except ray.exceptions.RayError as exc:
            raise ExecutorError(f"a Ray worker died and its replacement could not build the pipeline: {exc}") from exc
        agreed([self.identity, found], self.here)

    def close(self, cancel: bool = False) -> None:
        if not self.actors and not self.owns_ray:  # never started (an up-to-date output): no Ray to import
            return
        import ray

        if cancel:
            for ref in self.refs:
                ray.cancel(ref)
        for actor in self.actors:
            ray.kill(actor)
        self.actors, self.load, self.refs, self.tasks = [], [], {}, {}
        if self.owns_ray:
            ray.shutdown()
            self.owns_ray = False

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """On the actors, idle by then, as the local pool's (`imap`'s list)."""
        return list(self.imap(fn, items))

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn` over `items` on the actors in turn, in order, two per actor in flight. An
        actor's death runs the rest here; the actor is replaced when a document finds it dead
        (`wait`)."""
        if not self.actors:
            return map(fn, items)
        import ray

        turns = itertools.cycle(list(self.actors))
        return ahead_map(fn, items, 2 * len(self.actors), lambda x: next(turns).call.remote(fn, x),
                         ray.get, ray.exceptions.RayActorError, lambda: None)


class PipelineActor:
    """A Ray actor holding one pipeline (wrapped by `ray.remote` in `RayExecutor.start`)."""

    def __init__(self, config: Config, cwd: str) -> None:
        if os.path.isdir(cwd):
            os.chdir(cwd)  # relative config paths (lexicon cache) as in the driver, when the folder is shared
        self.pipeline = Worker(config)

    def identity(self) -> dict[str, Any]:
        """Its package, Python and stages' provenance (`identity`), which the driver compares."""
        return identity(self.pipeline.provenance)

    def run(self, task: Task) -> DocResult:
        return ship(self.pipeline.run(task))

    def call(self, fn: Callable[[T], R], x: T) -> R:
        """`fn(x)` on this actor (`RayExecutor.imap`)."""
        return fn(x)


def make_executor(kind: str, config: Config, workers: int | None, address: str | None = None) -> Executor:
    """The executor named `kind` ("local" or "ray"); local with one worker runs in this process."""
    if kind == "ray":
        return RayExecutor(config, workers, address)
    if kind != "local":
        raise ExecutorError(f"unknown executor {kind!r}; known: {', '.join(EXECUTORS)}")
    n = workers or 1
    return InlineExecutor(config) if n <= 1 else PoolExecutor(config, n)

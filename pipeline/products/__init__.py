"""Corpus products, made from a committed output folder after a run.

`write_products(output_dir, config)` reads `corpus.jsonl`, `manifest.json`, `removed.jsonl`,
`errors.jsonl` and the Parquet files, then

1. validates every record and row against the versioned schemas (`pipeline/schemas/`);
2. finds near-duplicate documents (MinHash) and writes `duplicates.csv`; with
   `duplicates.drop` it rewrites the corpus files without the later copies;
3. writes the dataset card `README.md`, the QA report `report.html` and `report/<doc>.html`.

Every file is written to a temporary name and renamed into place. The same folder and
settings give byte-identical products. `python -m pipeline.products OUTPUT_DIR` regenerates them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from pipeline.products.card import card
from pipeline.products.duplicates import Signature, Signer, choose_drops, duplicates_csv, find_pairs
from pipeline.products.files import OutputDir, ProductsError, remove_stale_tmp, rewrite_corpus, write_atomic
from pipeline.products.report import MapFn, corpus_report, doc_page, page_name
from pipeline.products.schema import Checker, ValidationReport, Validators, record_errors, row_errors
from pipeline.products.settings import DuplicateSettings, ProductsSettings, ReportSettings
from pipeline.products.stats import ConceptIndex, CorpusSummary, DocSummary, flags, summarize
from pipeline.writers import table_rows

T = TypeVar("T")
R = TypeVar("R")

if TYPE_CHECKING:  # pipeline.config imports this package's settings
    from pipeline.config import Config

__all__ = [
    "Derived", "Deriver", "DuplicateSettings", "ProductsError", "ProductsSettings", "ReportSettings", "Scan",
    "products_settings",
    "validate_output", "write_products",
]


def _parquet_rows(path: Path, batch_size: int = 4096) -> Iterator[list[dict[str, Any]]]:
    import pyarrow.parquet as pq  # not with the module: see pipeline.writers

    if path.exists():
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
            yield batch.to_pylist()


def validate_output(output_dir: Path, limit: int = 20) -> ValidationReport:
    """Check corpus.jsonl and the section/entity Parquet rows against the schemas."""
    out = OutputDir.load(output_dir)
    checker = Checker(limit)
    for file, n, record in out.iter_records():
        checker.record(record, f"{file} line {n}")
    _check_tables(checker, output_dir)
    return checker.report


TABLES = (("section", "sections.parquet"), ("mention", "entities.parquet"))


def _check_tables(checker: Checker, output_dir: Path) -> None:
    for kind, file in TABLES:
        first = 1
        for rows in _parquet_rows(output_dir / file):
            checker.rows(kind, rows, file, first)
            first += len(rows)


# (record, where, removed rows, rank) -> (schema errors, summary, MinHash signature)
ScanItem = tuple[dict[str, Any], str, list[dict[str, Any]], int]
ScanResult = tuple[list[str], DocSummary, "Signature | None"]


@dataclass
class Derived:
    """A document's share of the products that needs only its own record: what `Deriver`
    makes in the worker that processed it."""

    summary: DocSummary  # flags included
    minhash: np.ndarray | None  # MinHash values; None: not compared (duplicates off, or too short)
    page: str | None  # report/<doc>.html as if the document were kept (None: no pages)
    # Whether the record and its Parquet rows pass the schemas; None: not checked where made.
    # The messages (which name line and row numbers) are made where the files are written.
    valid: bool | None = None


class Deriver:
    """Makes `Derived` from a record (built once per worker); `pages=False`: never the page;
    `check=True`: validate too (when the settings ask for it)."""

    def __init__(self, settings: ProductsSettings, pages: bool = True, check: bool = False) -> None:
        self.settings = settings
        self.signer = Signer(settings.duplicates) if settings.duplicates.enabled else None
        self.pages = pages and settings.report.pages
        self.validators = Validators.load() if check and settings.validate_schema else None

    def __call__(self, record: dict[str, Any], removed: list[dict[str, Any]],
                 tables: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None) -> Derived:
        """`tables`: the record's (section, mention) Parquet rows, checked with it."""
        summary = summarize(record, removed)
        summary.flags = flags(summary, self.settings.report)
        return Derived(
            summary=summary,
            minhash=self.signer.values(record) if self.signer is not None else None,
            page=doc_page(record, removed, summary) if self.pages else None,
            valid=self.is_valid(record, tables) if self.validators is not None else None,
        )

    def is_valid(self, record: dict[str, Any], tables: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None) -> bool:
        validators = self.validators
        assert validators is not None
        sections, mentions = tables if tables is not None else table_rows(record)
        return not (record_errors(validators, record, "") or row_errors(validators, "section", sections, "")
                    or row_errors(validators, "mention", mentions, ""))

    def signature(self, doc_id: str, rank: int, derived: Derived) -> Signature | None:
        if derived.minhash is None or self.signer is None:
            return None
        return self.signer.signature(doc_id, rank, derived.minhash)


class _DocWork:
    """The per-document part of the products made from the files (validate, summarize, sign;
    pages are `_write_pages`'), built once per process: in this one, or in each pool worker."""

    def __init__(self, settings: ProductsSettings) -> None:
        self.derive = Deriver(settings, pages=False)
        self.validators = Validators.load() if settings.validate_schema else None

    def scan(self, record: dict[str, Any], where: str, removed: list[dict[str, Any]],
             rank: int) -> ScanResult:
        errors = record_errors(self.validators, record, where) if self.validators is not None else []
        derived = self.derive(record, removed)
        return errors, derived.summary, self.derive.signature(record["doc_id"], rank, derived)

    def scan_args(self, args: ScanItem) -> ScanResult:
        return self.scan(*args)


class Scan:
    """The per-document products collected while a batch writes its records, in output order,
    so that `write_products` need not read the corpus back (and, with a pool of workers, the
    work overlaps theirs instead of following the batch). The same results as `_scan`."""

    def __init__(self, settings: ProductsSettings, pages_dir: Path | None = None) -> None:
        self.derive = Deriver(settings)
        self.validators = Validators.load() if settings.validate_schema else None
        # Document pages are rendered here too when given (report/ of the output folder);
        # `write_products` re-renders only the pages a corpus-level result changes.
        self.pages_dir = pages_dir if settings.report.pages else None
        self.summaries: list[DocSummary] = []
        self.concepts = ConceptIndex()  # the summaries' concept counts are packed against it
        self.signatures: list[Signature] = []
        # One report per file, in the order `validate_output` checks them (records, then the
        # rows of each table), each keeping at most `max_errors` messages.
        self.reports = {file: ValidationReport(settings.max_errors) for file in ("corpus.jsonl", *(f for _, f in TABLES))}

    def add(self, doc_id: str, rank: int, counts: tuple[int, int], derived: Derived | None = None,
            record: dict[str, Any] | None = None, removed: list[dict[str, Any]] | None = None) -> None:
        """A document just written as the next line of corpus.jsonl, with `counts` (section,
        mention) Parquet rows; `rank`: its input position. `derived`: its summary, signature,
        page and validity if the worker made them; else they are made here from `record`,
        which is also needed (and then kept by the worker) when the worker found it invalid."""
        if derived is None:
            if record is None:
                raise ValueError(f"{doc_id}: neither the derived products nor the record")
            derived = self.derive(record, removed or [])
        self.summaries.append(derived.summary)
        signature = self.derive.signature(doc_id, rank, derived)
        if signature is not None:
            self.signatures.append(signature)
        if self.pages_dir is not None and derived.page is not None:
            write_atomic(self.pages_dir / page_name(derived.summary.doc_id), derived.page)
        self.concepts.pack(derived.summary)
        validators = self.validators
        if validators is None:
            return
        if derived.valid is True:  # checked by the worker: only counted here
            messages: list[str] = []
            tables: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        elif record is None:
            raise ValueError(f"{doc_id}: the record is needed to report its schema violations")
        else:
            messages = record_errors(validators, record, f"corpus.jsonl line {len(self.summaries)}")
            tables = table_rows(record)
        self.reports["corpus.jsonl"].add("corpus.jsonl", messages)
        for (kind, file), n, table in zip(TABLES, counts, tables, strict=True):
            report = self.reports[file]
            report.add(file, row_errors(validators, kind, table, file, report.checked.get(file, 0) + 1), n=n)

    def report_to(self, checker: Checker) -> None:
        """Add what was checked, in the order `validate_output` checks it."""
        for report in self.reports.values():
            checker.report.merge(report)


_WORK: _DocWork | None = None  # set only inside pool workers, by their initializer


def _init_worker(settings: ProductsSettings) -> None:
    global _WORK
    _WORK = _DocWork(settings)


def _scan_one(args: ScanItem) -> ScanResult:
    assert _WORK is not None, "products worker used before its initializer ran"
    return _WORK.scan_args(args)


def _page_one(args: tuple[Path, dict[str, Any], list[dict[str, Any]], DocSummary]) -> None:
    path, record, removed, summary = args
    write_atomic(path, doc_page(record, removed, summary))


def _ordered(fn: Callable[[T], R], items: Iterable[T], pool: ProcessPoolExecutor | None, window: int = 64) -> Iterator[R]:
    """`map(fn, items)` in order, on `pool` when given, with at most `window` items in flight
    (so a large corpus is never held in memory at once)."""
    if pool is None:
        yield from map(fn, items)
        return
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _scan(out: OutputDir, checker: Checker | None, pool: ProcessPoolExecutor | None,
          work: _DocWork | None) -> tuple[list[DocSummary], list[Signature], ConceptIndex]:
    """One streaming pass over the records: validate, summarize, sign (in `pool`, or with
    `work` in this process)."""
    summaries: list[DocSummary] = []
    concepts = ConceptIndex()
    signatures: list[Signature] = []
    items = (
        (record, f"{file} line {n}", out.removed.get(record["doc_id"], []), out.order.get(record["doc_id"], len(out.order) + i))
        for i, (file, n, record) in enumerate(out.iter_records())
    )
    if pool is not None:
        scan_one = _scan_one
    else:
        assert work is not None, "without a pool the work runs in this process"
        scan_one = work.scan_args
    for errors, summary, signature in _ordered(scan_one, items, pool):
        if checker is not None:
            checker.report.add("corpus.jsonl", errors)
        concepts.pack(summary)
        summaries.append(summary)
        if signature is not None:
            signatures.append(signature)
    return summaries, signatures, concepts


def _write_pages(out: OutputDir, by_id: dict[str, DocSummary], pool: ProcessPoolExecutor | None,
                 only: set[str] | None = None) -> int:
    """The document pages (`only`: just these documents' pages; the others are up to date)."""
    pages_dir = out.path / "report"
    written = {page_name(doc_id) for doc_id in by_id}

    def items() -> Iterator[tuple[Path, dict[str, Any], list[dict[str, Any]], DocSummary]]:
        if only is not None and not only:
            return
        removed = out.removed
        for _, _, record in out.iter_records():
            if only is None or record["doc_id"] in only:
                doc_id = record["doc_id"]
                yield pages_dir / page_name(doc_id), record, removed.get(doc_id, []), by_id[doc_id]

    for _ in _ordered(_page_one, items(), pool):
        pass
    if pages_dir.is_dir():  # pages of documents no longer in the output
        for stale in pages_dir.glob("*.html"):
            if stale.name not in written:
                stale.unlink()
    return len(written)


def products_settings(config: Config) -> ProductsSettings:
    return getattr(config, "products", None) or ProductsSettings()


def write_products(output_dir: Path, config: Config, settings: ProductsSettings | None = None,
                   workers: int = 1, scanned: Scan | None = None, map_fn: MapFn | None = None) -> dict[str, int]:
    """Validate, deduplicate and describe the corpus in `output_dir`; returns counts for the summary.

    `scanned`: the per-document results a batch collected while writing this very output
    (made with the same settings); without it they are computed from the files. `map_fn`
    renders the report's plots (the batch passes its idle workers' `map`). The
    per-document work (validation, summaries, signatures, report pages) runs in a pool of
    `workers` processes when `workers > 1`; the products are the same bytes either way.
    Raises `ProductsError` when the folder holds no corpus, or when records break the schema
    and `fail_on_invalid` is set (nothing is written then).
    """
    settings = settings or products_settings(config)
    if workers <= 1:
        return _write_products(Path(output_dir), settings, None, scanned, map_fn)
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,)) as pool:
        return _write_products(Path(output_dir), settings, pool, scanned, map_fn or _pool_map(pool))


def _pool_map(pool: ProcessPoolExecutor) -> MapFn:
    def map_fn(fn: Callable[[Any], str], items: list[Any]) -> list[str]:
        return list(pool.map(fn, items))

    return map_fn


def _write_products(output_dir: Path, settings: ProductsSettings, pool: ProcessPoolExecutor | None,
                    scanned: Scan | None, map_fn: MapFn | None) -> dict[str, int]:
    out = OutputDir.load(output_dir)
    remove_stale_tmp(output_dir)
    checker = Checker(settings.max_errors) if settings.validate_schema else None
    # `scanned` describes a batch's own output: nothing merged back from duplicates.jsonl
    scan = scanned if scanned is not None and not out.dropped else None
    if scan is not None:
        summaries, signatures, concepts = scan.summaries, scan.signatures, scan.concepts
        if checker is not None:
            scan.report_to(checker)
    else:
        # Without a pool, the per-document work (its schemas compiled) is built only now.
        summaries, signatures, concepts = _scan(out, checker, pool, None if pool else _DocWork(settings))
        if checker is not None:
            _check_tables(checker, output_dir)
    if checker is not None:
        report = checker.report
        if report.n_errors and settings.fail_on_invalid:
            shown = "\n  ".join(report.errors)
            raise ProductsError(f"{report.n_errors} schema violation(s) in {output_dir} (a pipeline bug; "
                                f"set products.fail_on_invalid: false to write the products anyway):\n  {shown}")
    d = settings.duplicates
    pairs = find_pairs(signatures, d.threshold, d.num_perm) if d.enabled else []
    ranks = {s.doc_id: i for i, s in enumerate(summaries)}
    drops = choose_drops(pairs, ranks) if d.enabled and d.drop else {}
    if set(drops) != set(out.dropped):
        rewrite_corpus(out, drops, len(pairs))
    by_id = {s.doc_id: s for s in summaries}
    for s in summaries:  # their flags were set with them (`Deriver`)
        s.duplicate_of = drops[s.doc_id].doc_a if s.doc_id in drops else None
    summary = CorpusSummary(docs=summaries, failed=[e for errs in out.errors.values() for e in errs], pairs=pairs,
                            concept_index=concepts)
    if checker is not None:
        summary.schema_errors, summary.schema_messages = checker.report.n_errors, checker.report.errors
        summary.schema_checked = checker.report.checked
    write_atomic(output_dir / "duplicates.csv", duplicates_csv(pairs))
    if settings.card:
        write_atomic(output_dir / "README.md", card(summary, out.manifest, settings))
    pages = 0
    if settings.report.enabled:
        write_atomic(output_dir / "report.html", corpus_report(summary, out.manifest, settings, map_fn))
        if settings.report.doc_pages:
            rendered = scan is not None and scan.pages_dir == output_dir / "report"
            pages = _write_pages(out, by_id, pool, only=set(drops) if rendered else None)
    return {
        "documents": len(summaries), "schema_errors": summary.schema_errors, "duplicate_pairs": len(pairs),
        "duplicates_dropped": len(drops), "flagged": len(summary.flagged), "pages": pages,
    }

"""Settings of the corpus products: the `products:` block of a run config.

Unknown keys are rejected; every default says why it is what it is.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DuplicateSettings(_Strict):
    # Look for the same monograph saved twice (MinHash over word shingles of the section text).
    enabled: bool = True
    # Estimated Jaccard similarity of the shingle sets at or above which two documents are
    # reported: a copy with a few dozen words changed in a 2,000-word monograph stays above
    # 0.9; two different monographs from one site template share well under 0.3.
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    # Words per shingle: 5 is long enough that shared stock phrases do not make two
    # monographs similar, short enough that one changed word only breaks 5 shingles.
    shingle_words: int = Field(5, ge=1)
    # MinHash permutations: 128 gives a standard error of about 0.04 on the estimate.
    num_perm: int = Field(128, ge=16)
    # Fixed seed: the same hash permutations in every run, so the output is reproducible.
    seed: int = 1
    # Documents with fewer cleaned words are not compared: too few shingles for a
    # meaningful estimate (and empty documents would all look identical).
    min_words: int = Field(50, ge=1)
    # Remove the later document of each duplicate pair from corpus.jsonl, the CSVs and the
    # Parquet files. Off by default: reporting is safe, dropping changes the corpus. Dropped
    # documents are kept, whole, in duplicates.jsonl and marked in manifest.json.
    drop: bool = False


class ReportSettings(_Strict):
    # Write report.html (plots, flagged documents) and report/<doc>.html pages.
    enabled: bool = True
    # One page per document (cleaned sections with mentions highlighted, removals with reasons).
    doc_pages: bool = True

    @property
    def pages(self) -> bool:
        """Whether report/<doc>.html pages are written."""
        return self.enabled and self.doc_pages
    # Concepts shown in the plot and the dataset card.
    top_concepts: int = Field(20, ge=1)
    # Documents shown in the per-document removal plot (most removed first); the table lists all.
    plot_docs: int = Field(40, ge=1)
    # Near-duplicates listed in report.html (the first, in input order); duplicates.csv has
    # them all (one row per document that copies an earlier one).
    max_pairs: int = Field(1000, ge=0)
    # Flag: fewer cleaned words than this (a monograph is typically 1,500-5,000 words).
    min_words: int = Field(200, ge=0)
    # Flag: more than this fraction of the characters removed by the cleaning stages.
    max_removed_fraction: float = Field(0.6, ge=0.0, le=1.0)
    # Flag: more than this fraction of the headings unknown to the section_type rules,
    # when there are at least `min_unknown_headings` of them (one odd heading is normal).
    max_unknown_fraction: float = Field(0.5, ge=0.0, le=1.0)
    min_unknown_headings: int = Field(3, ge=1)


class ProductsSettings(_Strict):
    # Validate corpus.jsonl and the section/entity Parquet rows against pipeline/schemas/*.json
    # (~0.3 ms per document and its rows with jsonschema-rs installed: cheap enough to leave on).
    validate_schema: bool = True
    # An invalid record is a pipeline bug: raise (the run fails) rather than ship it.
    # False only counts the errors and lists them in the report.
    fail_on_invalid: bool = True
    # Error messages kept (and shown) at most; all of them are counted.
    max_errors: int = Field(20, ge=1)
    # processed/README.md, the dataset card.
    card: bool = True
    duplicates: DuplicateSettings = DuplicateSettings()
    report: ReportSettings = ReportSettings()

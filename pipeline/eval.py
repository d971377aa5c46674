"""Concept-level evaluation of the pipeline's entity mentions against hand-labelled gold.

Usage::

    python -m pipeline.eval [--docs tests/eval/docs] [--gold tests/eval/gold] [--corpus PATH]
                            [--config PATH] [--verbose] [--json PATH]

Without ``--corpus`` the pipeline is run on ``--docs`` into a temporary folder
(``python -m pipeline run --input DOCS --output TMP``) and ``TMP/corpus.jsonl`` is scored;
with ``--corpus`` an existing ``corpus.jsonl`` is scored instead. The exit code is 0 once
scores are printed (the evaluation reports, it does not gate); 2 means nothing could be
scored (the pipeline wrote no corpus, a gold file is invalid, ...).

Gold files
----------
``GOLD/<doc_id>.yaml`` (``doc_id`` = the document's file stem) is a YAML list, one entry per
concept mentioned in the document's real content (body and headings)::

    - {name: vascular endothelial growth factor, label: PROTEIN, variants: [VEGF, vascular endothelial growth factor]}
    - {name: corticosteroids, label: DRUG, class: true, variants: [corticosteroids]}

Optional keys: ``class: true`` (a drug class), ``also: [LABEL, ...]`` (other labels that are
acceptable for a genuinely two-sided concept), ``optional: true`` (a concept that is fine to
predict but not required: only mentioned inside a longer concept name, or borderline),
``note`` (free text).

Normalisation
-------------
A mention text or a gold variant is normalised by `normalize`: Unicode NFKC, lower case,
curly apostrophes made straight, hyphens and dashes made spaces (so "IL-6" = "IL 6", as in
the matcher's keys), whitespace collapsed, and punctuation stripped at both ends. For
matching only, `match_keys` adds plural folds of the last word: "-ies" -> "-y", "-es" ->
"", "-s" -> "" (words of at most 3 letters and words ending in "ss", "us" or "is" are never
folded, so "sarcoidosis", "mellitus" or "MS" stay whole). Two strings match when their key
sets intersect.

Scoring rules
-------------
Per document, the *predicted concepts* are the set of distinct (normalised text, label)
pairs of ``entities`` + ``heading_entities``; empty texts are ignored.

1. A predicted concept matches a gold concept when its text matches one of the concept's
   variants and its label is acceptable for the concept: the gold label, any label of
   ``also``, or DRUG when the concept is a drug class (``class: true``). Exact normalised
   matches are preferred: plural folds are only tried when no exact variant matched.
2. There is no blanket DRUG/PROTEIN equivalence. A biologic given as a drug (IVIG, a
   monoclonal antibody class) lists PROTEIN in ``also``, so either label is right; an
   endogenous molecule (VEGF, interferon-gamma, parathyroid hormone) is PROTEIN only, so a
   predicted DRUG for it is an error even when a drug of that name exists.
3. Precision of a label = matched predicted concepts of that (predicted) label / predicted
   concepts of that label. A predicted concept whose text is a gold variant but whose label
   is not acceptable is a false positive ("label" in the verbose list).
4. Recall of a label = required gold concepts of that (gold) label matched by at least one
   predicted concept / required gold concepts of that label. ``optional`` concepts count
   for precision (predicting them is right) but never for recall.
5. F1 = harmonic mean of precision and recall. Overall and micro-averaged rows sum the raw
   counts (over labels, then over documents) before dividing. A ratio with a zero
   denominator is printed as "-" and written as null.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = ROOT / "tests" / "eval" / "docs"
DEFAULT_GOLD = ROOT / "tests" / "eval" / "gold"
LABELS: tuple[str, ...] = ("DISEASE", "DRUG", "SYMPTOM", "PROTEIN", "PROCEDURE", "ANATOMY")
OVERALL = "overall"

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_APOSTROPHES = "\u2018\u2019\u02bc`"
_NO_FOLD_ENDINGS = ("ss", "us", "is")


class GoldError(ValueError):
    """A gold file that cannot be used."""


# --------------------------------------------------------------------------- normalisation


def normalize(text: str) -> str:
    """The comparison form of a mention or variant.

    >>> normalize("  (Interleukin-6), ")
    'interleukin 6'
    >>> normalize("“Castleman  Disease”")
    'castleman disease'
    >>> normalize("Crohn’s disease")
    "crohn's disease"
    """
    text = unicodedata.normalize("NFKC", text).lower()
    for ch in _APOSTROPHES:
        text = text.replace(ch, "'")
    for ch in _DASHES:
        text = text.replace(ch, " ")
    text = " ".join(text.split())
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def plural_folds(norm: str) -> set[str]:
    """Singular candidates of a normalised text (its last word folded); empty if none.

    >>> sorted(plural_folds("lymph nodes"))
    ['lymph nod', 'lymph node']
    >>> sorted(plural_folds("neuropathies"))
    ['neuropathy']
    >>> plural_folds("sarcoidosis"), plural_folds("ms"), plural_folds("edema")
    (set(), set(), set())
    """
    last = norm.rsplit(" ", 1)[-1]
    if len(last) <= 3 or not last.isalpha() or last.endswith(_NO_FOLD_ENDINGS):
        return set()
    if last.endswith("ies"):
        return {norm[:-3] + "y"}
    if last.endswith("es"):
        return {norm[:-2], norm[:-1]}
    if last.endswith("s"):
        return {norm[:-1]}
    return set()


def match_keys(norm: str) -> set[str]:
    """Everything a normalised text may match: itself and its plural folds."""
    return {norm, *plural_folds(norm)}


# --------------------------------------------------------------------------- gold


@dataclass(frozen=True)
class GoldConcept:
    name: str
    label: str
    variants: tuple[str, ...]
    is_class: bool = False
    optional: bool = False
    also: frozenset[str] = frozenset()

    def accepts(self, label: str) -> bool:
        """Is a predicted `label` right for this concept?"""
        return label == self.label or label in self.also or (self.is_class and label == "DRUG")

    @property
    def norm_variants(self) -> frozenset[str]:
        return frozenset(normalize(v) for v in self.variants) - {""}


def parse_gold(entries: Any, where: str = "gold") -> list[GoldConcept]:
    """Gold concepts from the parsed YAML (a list of mappings); `GoldError` if malformed."""
    if not isinstance(entries, list):
        raise GoldError(f"{where}: expected a list of concepts")
    concepts = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise GoldError(f"{at}: expected a mapping")
        unknown = set(entry) - {"name", "label", "variants", "class", "optional", "also", "note"}
        if unknown:
            raise GoldError(f"{at}: unknown key(s) {sorted(unknown)}")
        name, label, variants = entry.get("name"), entry.get("label"), entry.get("variants")
        also = entry.get("also", [])
        if not isinstance(name, str) or not name.strip():
            raise GoldError(f"{at}: 'name' must be a non-empty string")
        if label not in LABELS:
            raise GoldError(f"{at} ({name}): label {label!r} is not one of {', '.join(LABELS)}")
        if not isinstance(variants, list) or not variants or not all(isinstance(v, str) for v in variants):
            raise GoldError(f"{at} ({name}): 'variants' must be a non-empty list of strings")
        if not isinstance(also, list) or not set(also) <= set(LABELS):
            raise GoldError(f"{at} ({name}): 'also' must be a list of labels")
        concepts.append(GoldConcept(
            name=name, label=label, variants=tuple(variants), is_class=bool(entry.get("class", False)),
            optional=bool(entry.get("optional", False)), also=frozenset(also),
        ))
    return concepts


def gold_problems(concepts: Sequence[GoldConcept], text: str | None = None) -> list[str]:
    """Consistency problems of a gold list: shared variants, and (given the document text)
    variants that do not occur in it (case-insensitive, after normalising whitespace)."""
    problems = []
    owner: dict[str, str] = {}
    for c in concepts:
        for v in sorted(c.norm_variants):
            if v in owner and owner[v] != c.name:
                problems.append(f"variant {v!r} belongs to both {owner[v]!r} and {c.name!r}")
            owner.setdefault(v, c.name)
    if text is not None:
        haystack = normalize(f" {text} ")
        for c in concepts:
            for v in c.variants:
                if normalize(v) not in haystack:
                    problems.append(f"{c.name!r}: variant {v!r} not found in the document")
    return problems


def load_gold_dir(gold_dir: Path) -> dict[str, list[GoldConcept]]:
    """Every `*.yaml` of `gold_dir`, keyed by file stem."""
    gold = {}
    for path in sorted(gold_dir.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            gold[path.stem] = parse_gold(yaml.safe_load(fh), where=path.name)
    return gold


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Predicted:
    text: str   # normalised
    label: str
    surface: str  # one surface form, for the reports


def predicted_concepts(record: Mapping[str, Any]) -> list[Predicted]:
    """Distinct (normalised text, label) pairs of a corpus record's mentions, sorted."""
    seen: dict[tuple[str, str], Predicted] = {}
    for mention in [*record.get("entities", []), *record.get("heading_entities", [])]:
        surface, label = str(mention.get("text", "")), str(mention.get("label", ""))
        norm = normalize(surface)
        if norm and (norm, label) not in seen:
            seen[(norm, label)] = Predicted(norm, label, surface)
    return [seen[k] for k in sorted(seen)]


def load_corpus(path: Path) -> dict[str, dict[str, Any]]:
    """`corpus.jsonl` records keyed by doc_id."""
    records = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                records[str(record["doc_id"])] = record
    return records


# --------------------------------------------------------------------------- scoring


@dataclass
class Counts:
    pred: int = 0      # predicted concepts
    pred_tp: int = 0   # ... that match a gold concept
    gold: int = 0      # required gold concepts
    gold_tp: int = 0   # ... matched by a prediction

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.pred + other.pred, self.pred_tp + other.pred_tp,
                      self.gold + other.gold, self.gold_tp + other.gold_tp)

    @property
    def precision(self) -> float | None:
        return self.pred_tp / self.pred if self.pred else None

    @property
    def recall(self) -> float | None:
        return self.gold_tp / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"pred": self.pred, "pred_tp": self.pred_tp, "gold": self.gold, "gold_tp": self.gold_tp,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class DocScore:
    doc_id: str
    counts: dict[str, Counts]
    false_positives: list[tuple[Predicted, str]] = field(default_factory=list)  # (prediction, why)
    false_negatives: list[GoldConcept] = field(default_factory=list)

    @property
    def overall(self) -> Counts:
        return sum(self.counts.values(), Counts())


def index_gold(concepts: Sequence[GoldConcept]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(exact normalised variant -> concept indices, plural-fold key -> concept indices)."""
    exact: dict[str, set[int]] = {}
    folded: dict[str, set[int]] = {}
    for i, c in enumerate(concepts):
        for v in c.norm_variants:
            exact.setdefault(v, set()).add(i)
            for key in match_keys(v):
                folded.setdefault(key, set()).add(i)
    return exact, folded


def candidates(norm: str, exact: Mapping[str, set[int]], folded: Mapping[str, set[int]]) -> list[set[int]]:
    """Gold concept indices a text may match, by decreasing strictness (exact, then folds)."""
    fold = set().union(*(folded.get(k, set()) for k in match_keys(norm)))
    return [exact.get(norm, set()), fold]


def match_prediction(pred: Predicted, concepts: Sequence[GoldConcept], exact: Mapping[str, set[int]],
                     folded: Mapping[str, set[int]]) -> tuple[set[int], str]:
    """Gold concepts matched by `pred` and, when none, why: "label" (a variant with another
    label) or "unknown" (no variant)."""
    text_hit = False
    for level in candidates(pred.text, exact, folded):
        if not level:
            continue
        text_hit = True
        hits = {i for i in level if concepts[i].accepts(pred.label)}
        if hits:
            return hits, ""
    return set(), "label" if text_hit else "unknown"


def score_document(doc_id: str, predictions: Sequence[Predicted], concepts: Sequence[GoldConcept]) -> DocScore:
    """Concept-level counts of one document (see the module docstring for the rules)."""
    exact, folded = index_gold(concepts)
    counts: dict[str, Counts] = {label: Counts() for label in LABELS}
    score = DocScore(doc_id, counts)
    matched: set[int] = set()
    for pred in predictions:
        c = counts.setdefault(pred.label, Counts())
        c.pred += 1
        hits, why = match_prediction(pred, concepts, exact, folded)
        if hits:
            c.pred_tp += 1
            matched |= hits
        else:
            score.false_positives.append((pred, why))
    for i, concept in enumerate(concepts):
        if concept.optional:
            continue
        counts[concept.label].gold += 1
        if i in matched:
            counts[concept.label].gold_tp += 1
        else:
            score.false_negatives.append(concept)
    return score


def micro(scores: Iterable[DocScore]) -> dict[str, Counts]:
    """Counts per label summed over documents."""
    total: dict[str, Counts] = {label: Counts() for label in LABELS}
    for s in scores:
        for label, c in s.counts.items():
            total[label] = total.get(label, Counts()) + c
    return total


def score_corpus(records: Mapping[str, Mapping[str, Any]], gold: Mapping[str, Sequence[GoldConcept]]
                 ) -> tuple[list[DocScore], list[str]]:
    """Scores of every gold document (a document missing from `records` predicts nothing),
    and warnings (missing documents, records without gold)."""
    warnings = [f"{doc_id}: no prediction record, scored as predicting nothing"
                for doc_id in sorted(gold) if doc_id not in records]
    warnings += [f"{doc_id}: no gold file, not scored" for doc_id in sorted(records) if doc_id not in gold]
    scores = [score_document(doc_id, predicted_concepts(records.get(doc_id, {})), concepts)
              for doc_id, concepts in sorted(gold.items())]
    return scores, warnings


# --------------------------------------------------------------------------- reports


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def table(counts: Mapping[str, Counts]) -> str:
    """A fixed-width table: one row per label (extra predicted labels included), then overall."""
    rows = [label for label in LABELS] + sorted(set(counts) - set(LABELS))
    lines = [f"{'label':<10} {'pred':>5} {'tp':>5} {'P':>6} {'gold':>5} {'found':>5} {'R':>6} {'F1':>6}"]
    for label in [*rows, OVERALL]:
        c = sum(counts.values(), Counts()) if label == OVERALL else counts.get(label, Counts())
        lines.append(f"{label:<10} {c.pred:>5} {c.pred_tp:>5} {_ratio(c.precision):>6} "
                     f"{c.gold:>5} {c.gold_tp:>5} {_ratio(c.recall):>6} {_ratio(c.f1):>6}")
    return "\n".join(lines)


def error_lines(score: DocScore) -> list[str]:
    """The verbose list: false positives (with the reason) and false negatives."""
    lines = [f"  false positives ({len(score.false_positives)}):"]
    lines += [f"    {p.label:<10} {p.surface!r}{'  [text is gold, label is not]' if why == 'label' else ''}"
              for p, why in score.false_positives]
    lines.append(f"  false negatives ({len(score.false_negatives)}):")
    lines += [f"    {c.label:<10} {c.name}  (variants: {', '.join(c.variants)})" for c in score.false_negatives]
    return lines


def report(scores: Sequence[DocScore], verbose: bool = False) -> str:
    parts = []
    for s in scores:
        parts.append(f"== {s.doc_id}\n{table(s.counts)}")
        if verbose:
            parts.append("\n".join(error_lines(s)))
    parts.append(f"== micro-average over {len(scores)} documents\n{table(micro(scores))}")
    return "\n\n".join(parts)


def scores_json(scores: Sequence[DocScore]) -> dict[str, Any]:
    def block(counts: Mapping[str, Counts]) -> dict[str, Any]:
        out = {label: c.as_dict() for label, c in counts.items()}
        out[OVERALL] = sum(counts.values(), Counts()).as_dict()
        return out

    return {
        "labels": list(LABELS),
        "micro": block(micro(scores)),
        "documents": {
            s.doc_id: {
                "scores": block(s.counts),
                "false_positives": [{"text": p.surface, "label": p.label, "reason": why}
                                    for p, why in s.false_positives],
                "false_negatives": [{"name": c.name, "label": c.label, "variants": list(c.variants)}
                                    for c in s.false_negatives],
            }
            for s in scores
        },
    }


# --------------------------------------------------------------------------- running


def run_pipeline(docs: Path, out_dir: Path, config: Path | None = None) -> Path:
    """Run `python -m pipeline run` on `docs` into `out_dir`; the corpus path."""
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", str(docs.resolve()), "--output", str(out_dir)]
    if config is not None:
        cmd += ["--config", str(config.resolve())]
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    if proc.returncode != 0:
        print(f"warning: the pipeline exited with code {proc.returncode}", file=sys.stderr)
    return out_dir / "corpus.jsonl"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="folder of evaluation monographs")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="folder of gold YAML files")
    parser.add_argument("--corpus", type=Path, help="score this corpus.jsonl instead of running the pipeline")
    parser.add_argument("--config", type=Path, help="run config passed to the pipeline (default: its own)")
    parser.add_argument("--json", type=Path, help="also write the scores to this JSON file")
    parser.add_argument("-v", "--verbose", action="store_true", help="list false positives and false negatives")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        gold = load_gold_dir(args.gold)
    except (GoldError, OSError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not gold:
        print(f"error: no gold files in {args.gold}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="monograph-eval-") as tmp:
        corpus = args.corpus if args.corpus is not None else run_pipeline(args.docs, Path(tmp), args.config)
        if not corpus.is_file():
            print(f"error: no corpus at {corpus}", file=sys.stderr)
            return 2
        records = load_corpus(corpus)
    scores, warnings = score_corpus(records, gold)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(report(scores, verbose=args.verbose))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(scores_json(scores), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""processed/README.md: the dataset card, as Markdown (pure; deterministic, no timestamps)."""

from __future__ import annotations

from typing import Any

from pipeline.products.schema import SCHEMA_FILES, load_schema
from pipeline.products.settings import ProductsSettings
from pipeline.products.stats import CorpusSummary, ranked

LIMITS = [
    "Text comes from scraped web pages: cleaning removes boilerplate and repeated copies by rules, "
    "so some site chrome may remain and some body lines may be lost (each removed line is in `removed.jsonl`).",
    "Headings are found by rules (markup, site vocabulary, layout); a document with no recognizable "
    "headings is one untitled section.",
    "`section_type` is assigned by the synonym and pattern rules of `configs/section_types.yaml` from the heading "
    "and its ancestors; headings the rules do not know are `other`.",
    "Mentions are dictionary matches (exact and head-noun), not a trained model: ambiguous words and "
    "unlisted synonyms are missed or mislabelled; offsets are exact.",
    "Near-duplicate detection is MinHash over word shingles: the similarity is an estimate (about ±0.04), "
    "and documents shorter than the minimum are not compared.",
    "The monographs are medical reference texts for research, not clinical advice.",
]


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; `|` in cells escaped.

    >>> print(md_table(["a", "b"], [[1, "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def type_name(prop: dict[str, Any]) -> str:
    """A short type description of a JSON Schema property.

    >>> type_name({"type": ["string", "null"]})
    'string or null'
    >>> type_name({"type": "array", "items": {"$ref": "#/$defs/mention"}})
    'list of mention'
    """
    if "const" in prop:
        return f'"{prop["const"]}"'
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"]) if len(prop["enum"]) <= 3 else f"one of {len(prop['enum'])} values"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    kind = prop.get("type", "any")
    if kind == "array":
        return "list of " + type_name(prop.get("items", {}))
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def schema_section(name: str) -> str:
    schema = load_schema(name)
    rows = [[f"`{k}`", type_name(v), v.get("description", "")] for k, v in schema["properties"].items()]
    parts = [f"### `{SCHEMA_FILES[name]}`: {schema['title']}", "", schema["description"], "",
             md_table(["field", "type", "meaning"], rows)]
    for def_name, sub in schema.get("$defs", {}).items():
        sub_rows = [[f"`{k}`", type_name(v), v.get("description", "")] for k, v in sub["properties"].items()]
        parts += ["", f"`{def_name}`:", "", md_table(["field", "type", "meaning"], sub_rows)]
    return "\n".join(parts)


def card(summary: CorpusSummary, manifest: dict[str, Any], settings: ProductsSettings) -> str:
    kept = summary.kept
    concept_docs = summary.concept_totals[1]
    n_sections = sum(d.sections for d in kept)
    n_mentions = sum(d.mentions for d in kept)
    dropped = [d for d in summary.docs if d.duplicate_of]
    totals = manifest.get("totals", {})
    lines = [
        "# Monograph corpus",
        "",
        "Medical disease monographs scraped from the web, cleaned and split into typed sections, "
        "with dictionary entity mentions linked to ontology ids. Written by monograph-pipeline; "
        "this card is regenerated with every run.",
        "",
        "## What it holds",
        "",
        md_table(["", "count"], [
            ["documents in the input", totals.get("documents", len(summary.docs) + len(summary.failed))],
            ["documents in the corpus", len(kept)],
            ["failed (see `errors.jsonl`)", len(summary.failed)],
            ["near-duplicates: documents copying an earlier one (see `duplicates.csv`)", len(summary.pairs)],
            ["dropped as duplicates (see `duplicates.jsonl`)", len(dropped)],
            ["sections", n_sections],
            ["words", sum(d.words for d in kept)],
            ["mentions", n_mentions],
        ]),
        "",
        "### Sections by type",
        "",
        md_table(["section_type", "sections", "share"],
                 [[f"`{t}`", n, f"{n / n_sections:.1%}"] for t, n in ranked(summary.total("types"))]),
        "",
        "### Mentions by label",
        "",
        md_table(["label", "mentions", "share"],
                 [[label, n, f"{n / n_mentions:.1%}"] for label, n in ranked(summary.total("labels"))])
        if n_mentions else "No mentions (the `entities` stage did not run or found nothing).",
        "",
        f"### Top {settings.report.top_concepts} concepts",
        "",
        md_table(["concept", "id", "label", "mentions", "documents"],
                 [[name, kb_id or "", label, n, concept_docs[(label, kb_id, name)]]
                  for (label, kb_id, name), n in summary.top_concepts(settings.report.top_concepts)])
        if n_mentions else "None.",
        "",
        "## How it was made",
        "",
        md_table(["", ""], [
            ["pipeline version", manifest.get("pipeline_version")],
            ["schema version", manifest.get("schema_version")],
            ["config", f"`{manifest.get('config')}` (hash `{manifest.get('config_hash')}`)"],
            ["stages", ", ".join(f"`{s}`" for s in manifest.get("stages", []))],
            ["duplicates", f"MinHash, {settings.duplicates.shingle_words}-word shingles, {settings.duplicates.num_perm} "
                           f"permutations, seed {settings.duplicates.seed}, threshold {settings.duplicates.threshold}, "
                           f"{'later copies dropped' if settings.duplicates.drop else 'reported, not dropped'}"
             if settings.duplicates.enabled else "not checked"],
        ]),
        "",
    ]
    provenance = manifest.get("provenance", {})
    for stage in sorted(provenance):
        lines += [f"Provenance of `{stage}`:", "",
                  md_table(["key", "value"], [[k, f"`{v}`"] for k, v in sorted(provenance[stage].items())]), ""]
    if not provenance:
        lines += ["No stage recorded provenance (terminology versions appear when `entities` runs).", ""]
    lines += [
        "## Files",
        "",
        md_table(["file", "holds"], [
            ["`corpus.jsonl`", "one document per line (schema below)"],
            ["`sections.csv`, `sections.parquet`", "one row per section"],
            ["`entities.csv`, `entities.parquet`", "one row per body mention"],
            ["`removed.jsonl`", "every removed line with its stage and reason"],
            ["`errors.jsonl`", "documents that failed, with stage and reason"],
            ["`duplicates.csv`", "one row per near-duplicate: `doc_b` copies the earlier `doc_a`, estimated `similarity`"],
            ["`manifest.json`", "versions, config hash, provenance, per-document counters"],
            ["`report.html`, `report/`", "QA report with plots, flagged documents and one page per document"],
        ]),
        "",
        "## Schema",
        "",
        f"JSON Schema (draft 2020-12) files ship in `pipeline/schemas/`; every run validates its output against "
        f"them. Version `{manifest.get('schema_version')}`: a new optional field or section type is a minor bump, "
        "a removed, renamed or retyped field a major one.",
        "",
    ]
    for name in SCHEMA_FILES:
        lines += [schema_section(name), ""]
    lines += ["## Known limits", ""] + [f"- {x}" for x in LIMITS]
    if summary.flagged:
        lines.append(f"- {len(summary.flagged)} document(s) look suspicious (no headings, very short, mostly removed "
                     "or many unknown headings): see `report.html`.")
    if summary.schema_errors:
        lines.append(f"- {summary.schema_errors} schema violation(s) were found in this output: see `report.html`.")
    return "\n".join(lines) + "\n"

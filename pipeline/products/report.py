"""report.html and report/<doc>.html: self-contained QA pages (pure: record/summary -> HTML).

Plots are inline SVG images (base64 `data:` URIs), styles are inline: the pages load nothing
from the network. Document pages render each section's mentions with spaCy's displaCy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any

from pipeline.products.settings import ProductsSettings
from pipeline.products.stats import CorpusSummary, DocSummary, ranked

if TYPE_CHECKING:
    from spacy.displacy.render import EntityRenderer

# spaCy (for displaCy, ~1.3 s to import) and matplotlib (~0.5 s) are imported where a page or a
# plot is made, or by `warm_up` (a worker, and the process that forks a local pool), not with
# this module: a run with nothing to render, such as a re-run with nothing changed, or a Ray
# driver, whose actors render, does not pay for them.

CSS = " ".join("""
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem} h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.n{text-align:right} .flag{color:#b00020} .muted{color:#777}
.plots img{display:block;max-width:100%;margin:1rem 0}
.type{font-size:.75rem;background:#eef;border-radius:.3rem;padding:.1rem .4rem;margin-left:.5rem}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5rem;font-size:.8rem;max-height:20rem;overflow:auto}
mark.entity{padding:.45em .6em;margin:0 .25em;line-height:1;border-radius:.35em}
mark.entity span{font-size:.8em;font-weight:bold;line-height:1;vertical-align:middle;margin-left:.5rem}
section.sec{margin:1rem 0}
""".split())
LABEL_COLORS = ["#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197", "#f0d0ff",
                "#bfe1d9", "#e4e7d2"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# A page's name before its hash and `.html`: file names hold at most 255 bytes (NAME_MAX on
# Linux and macOS file systems), and a page is written under a longer temporary name first
# (`files.write_atomic`: a dot, `.tmp-products-` and a process id); 120 leaves room for all of it.
PAGE_NAME_CHARS = 120


def page_name(doc_id: str) -> str:
    """A file name for a document page; ids with other characters, or longer than
    `PAGE_NAME_CHARS`, get a hash suffix (after their first `PAGE_NAME_CHARS` characters).

    >>> page_name("000_abc")
    '000_abc.html'
    >>> page_name("a/b c")
    'a_b_c-9f597a63.html'
    >>> len(page_name("x" * 300))
    134
    """
    safe = _UNSAFE.sub("_", doc_id).strip("._") or "doc"
    if safe != doc_id or len(safe) > PAGE_NAME_CHARS:
        safe = safe[:PAGE_NAME_CHARS] + "-" + hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8]
    return safe + ".html"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def svg_img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """An HTML table; cells are already-escaped HTML."""
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def label_colors(labels: list[str]) -> dict[str, str]:
    """Fixed colours by sorted label, so a label has the same colour on every page."""
    return {label: LABEL_COLORS[i % len(LABEL_COLORS)] for i, label in enumerate(sorted(labels))}


MapFn = Callable[[Callable[[Any], str], list[Any]], list[str]]


def render_plot(spec: tuple[str, tuple[Any, ...]]) -> str:
    """`plots.render`, matplotlib imported on first use: what `map_fn` runs, so that a process
    handing the plots to workers (a Ray driver) need not import it."""
    from pipeline.products import plots

    return plots.render(spec)


def warm_up(settings: ProductsSettings) -> None:
    """Import now what this process will render with: displaCy for the document pages and
    matplotlib for the report's plots. A worker does it before its first document, as it
    does its other one-time work, so that no document and no plot pays for it."""
    if settings.report.pages:
        _renderer(())
    if settings.report.enabled:
        from pipeline.products import plots  # noqa: F401


def _serial_map(fn: Callable[[Any], str], items: list[Any]) -> list[str]:
    return [fn(x) for x in items]


def corpus_plots(summary: CorpusSummary, settings: ProductsSettings, map_fn: MapFn | None = None) -> list[str]:
    """The report's plots as <img> tags; `map_fn` renders the specs (`plots.render`), in other
    processes if it likes: matplotlib takes ~0.1 s per plot whatever the corpus size."""
    kept, r = summary.kept, settings.report
    worst = sorted(summary.docs, key=lambda d: (-sum(d.chars_removed.values()), d.doc_id))[: r.plot_docs]
    stages = sorted({s for d in worst for s in d.chars_removed})
    types = ranked(summary.total("types"))
    labels = ranked(summary.total("labels"))
    concepts = [(f"{name} ({label})", n) for (label, _, name), n in summary.top_concepts(r.top_concepts)]
    specs: list[tuple[tuple[str, tuple[Any, ...]], str]] = [
        (("stacked_barh", ([d.doc_id for d in worst], {s: [d.chars_removed.get(s, 0) for d in worst] for s in stages},
                           f"Characters removed per document, by stage (top {len(worst)})", "characters")),
         "characters removed per document by stage"),
        (("histogram", ([100 * d.removed_fraction for d in summary.docs], "Share of the text removed", "% of characters")),
         "share of text removed"),
        (("histogram", ([d.sections for d in kept], "Sections per document", "sections")), "sections per document"),
        (("barh", (types, "Sections by type", "sections")), "sections by type"),
        (("barh", (labels, "Mentions by label", "mentions")), "mentions by label"),
        (("barh", (concepts, f"Top {len(concepts)} concepts", "mentions")), "top concepts"),
    ]
    svgs = (map_fn or _serial_map)(render_plot, [spec for spec, _ in specs])
    return [svg_img(svg, alt) for svg, (_, alt) in zip(svgs, specs, strict=True)]


def doc_row(d: DocSummary, link: bool) -> list[str]:
    name = f'<a href="report/{escape(page_name(d.doc_id))}">{escape(d.doc_id)}</a>' if link else escape(d.doc_id)
    notes = [f'<span class="flag">{escape(f)}</span>' for f in d.flags]
    if d.duplicate_of:
        notes.append(f'<span class="muted">dropped: duplicate of {escape(d.duplicate_of)}</span>')
    return [name, escape(d.source), str(d.sections), str(d.headings),
            "" if d.unknown_headings is None else str(d.unknown_headings), str(d.words),
            ", ".join(f"{escape(k)} {v}" for k, v in d.lines_removed.items()), f"{d.removed_fraction:.0%}",
            str(d.mentions), "<br>".join(notes)]


DOC_HEADER = ["document", "source", "sections", "headings", "unknown headings", "words", "lines removed", "removed",
              "mentions", "flags"]
DOC_NUMERIC = {2, 3, 4, 5, 7, 8}


def corpus_report(summary: CorpusSummary, manifest: dict[str, Any], settings: ProductsSettings,
                  map_fn: MapFn | None = None) -> str:
    link = settings.report.doc_pages
    kept = summary.kept
    parts = [
        "<h1>Corpus QA report</h1>",
        f'<p class="muted">pipeline {escape(str(manifest.get("pipeline_version")))}, schema '
        f'{escape(str(manifest.get("schema_version")))}, config {escape(str(manifest.get("config")))} '
        f'(hash {escape(str(manifest.get("config_hash")))})</p>',
        table(["documents", "in corpus", "failed", "near-duplicates", "flagged", "sections", "mentions", "schema errors"],
              [[str(len(summary.docs) + len(summary.failed)), str(len(kept)), str(len(summary.failed)),
                str(len(summary.pairs)), str(len(summary.flagged)), str(sum(d.sections for d in kept)),
                str(sum(d.mentions for d in kept)), str(summary.schema_errors)]], set(range(8))),
        "<h2>Flagged documents</h2>",
        table(DOC_HEADER, [doc_row(d, link) for d in summary.flagged], DOC_NUMERIC) if summary.flagged
        else "<p>None: every document has headings, enough text, and mostly known headings.</p>",
    ]
    if summary.failed:
        parts += ["<h2>Failed documents</h2>",
                  table(["document", "stage", "kind", "message"],
                        [[escape(e[k]) for k in ("doc", "stage", "kind", "message")] for e in summary.failed])]
    if summary.schema_errors:
        parts += [f"<h2>Schema violations ({summary.schema_errors})</h2>",
                  "<pre>" + escape("\n".join(summary.schema_messages)) + "</pre>"]
    shown = summary.pairs[: settings.report.max_pairs]
    parts += ["<h2>Near-duplicates</h2>",
              table(["doc_a", "doc_b", "similarity"],
                    [[escape(p.doc_a), escape(p.doc_b), f"{p.similarity:.4f}"] for p in shown], {2})
              if summary.pairs else "<p>No document above the threshold.</p>"]
    if len(summary.pairs) > len(shown):
        parts.append(f'<p class="muted">The first {len(shown):,} of {len(summary.pairs):,} near-duplicates; all of '
                     "them are in duplicates.csv.</p>")
    parts += ['<h2>Plots</h2>\n<div class="plots">', *corpus_plots(summary, settings, map_fn), "</div>",
              "<h2>All documents</h2>", table(DOC_HEADER, [doc_row(d, link) for d in summary.docs], DOC_NUMERIC)]
    return page("Corpus QA report", "\n".join(parts))


def render_section(section: dict[str, Any], mentions: list[dict[str, Any]], colors: dict[str, str],
                   renderer: EntityRenderer | None = None) -> str:
    """The section's text with its mentions marked (displaCy's markup, manual mode); overlaps skipped.

    Pass one `renderer` for all sections of a page: its markup is then made by `render_ents`
    with that renderer's colours and template. Without one, `displacy.render` makes it."""
    ents, end = [], 0
    for m in sorted(mentions, key=lambda m: (m["start"], -m["end"])):
        if m["start"] >= end and m["end"] > m["start"]:
            ents.append({"start": m["start"], "end": m["end"], "label": m["label"]})
            end = m["end"]
    if renderer is None:
        from spacy import displacy

        item = {"text": section["text"], "ents": ents, "title": None}
        html: str = displacy.render(item, style="ent", manual=True, page=False, jupyter=False,
                                    options={"colors": colors, "template": MARK_TEMPLATE})
        return html
    return render_ents(renderer, section["text"], ents)


def render_ents(renderer: EntityRenderer, text: str, ents: list[dict[str, Any]]) -> str:
    """What `renderer.render([{"text": text, "ents": ents}])` returns, byte for byte, in one
    pass: displaCy's own loop splits and escapes the text around every mention and grows the
    markup by concatenation, 3 times slower on a monograph's sections. Escaping a run of text
    whole and then writing its line breaks as `<br>` gives the same markup, since escaping
    never makes or removes a line break. For `ents` without `kb_id` or `params` (ours)."""
    direction, template, escape_html = _displacy_markup()
    parts: list[str] = []
    offset = 0
    marks: dict[str, tuple[str, str]] = {}  # label -> its template's text before and after the mention
    shown = renderer.ents
    for span in ents:
        label, start, end = span["label"], span["start"], span["end"]
        parts.append(escape_html(text[offset:start]).replace("\n", "<br>"))
        entity = escape_html(text[start:end])
        if shown is None or label.upper() in shown:
            if (mark := marks.get(label)) is None:
                mark = marks[label] = _mark(renderer, label)
            parts += (mark[0], entity, mark[1])
        else:
            parts.append(entity)
        offset = end
    parts.append(escape_html(text[offset:]).replace("\n", "<br>"))
    return template.format(content="".join(parts), dir=direction)


@lru_cache(maxsize=1)
def _displacy_markup() -> tuple[str, str, Callable[[str], str]]:
    """displaCy's text direction, its template of a text with mentions and its HTML escaping:
    imported once (spaCy on first use), not on every section."""
    from spacy.displacy.render import DEFAULT_DIR
    from spacy.displacy.templates import TPL_ENTS
    from spacy.util import escape_html

    return DEFAULT_DIR, TPL_ENTS, escape_html


_TEXT = "\x00"  # where a mention's text goes in its filled template: no label or colour holds it


def _mark(renderer: EntityRenderer, label: str) -> tuple[str, str]:
    """The renderer's template for `label`, filled, as the text before and after the mention's."""
    color = renderer.colors.get(label.upper(), renderer.default_color)
    before, after = renderer.ent_template.format(label=label, text=_TEXT, bg=color, kb_link="").split(_TEXT)
    return before, after


# displaCy's template of a mention, its styles moved to the page's stylesheet (`CSS`): its
# default repeats them in every mention, 360 bytes each, 70% of a bench document's page.
MARK_TEMPLATE = '<mark class="entity" style="background: {bg}">{text}<span>{label}{kb_link}</span></mark>'


@lru_cache(maxsize=64)
def _renderer(colors: tuple[tuple[str, str], ...]) -> EntityRenderer:
    """One displaCy renderer per colour table: making one reads spaCy's registry of colours."""
    from spacy.displacy.render import EntityRenderer

    return EntityRenderer({"colors": dict(colors), "template": MARK_TEMPLATE})


def doc_page(record: dict[str, Any], removed: list[dict[str, Any]], summary: DocSummary) -> str:
    by_section: dict[str, list[dict[str, Any]]] = {}
    for m in record["entities"]:
        by_section.setdefault(m["section_id"], []).append(m)
    colors = label_colors(sorted({m["label"] for m in record["entities"]}))
    renderer = _renderer(tuple(colors.items()))
    parts = [
        '<p><a href="../report.html">← corpus report</a></p>',
        f"<h1>{escape(record['title'] or record['doc_id'])}</h1>",
        table(["document", "source", "encoding", "site", "sections", "words", "mentions", "removed"],
              [[escape(record["doc_id"]), escape(record["source"]), escape(str(record["encoding"])), escape(str(record["site"])),
                str(summary.sections), str(summary.words), str(summary.mentions), f"{summary.removed_fraction:.0%}"]]),
    ]
    if summary.flags:
        parts.append("<p>" + "; ".join(f'<span class="flag">{escape(f)}</span>' for f in summary.flags) + "</p>")
    if summary.duplicate_of:
        parts.append(f'<p class="flag">Dropped from the corpus: near-duplicate of {escape(summary.duplicate_of)}.</p>')
    parts.append("<h2>Sections</h2>")
    for s in record["sections"]:
        level = min(6, 2 + max(1, s["level"]))
        heading = escape(s["heading"]) if s["heading"] is not None else '<span class="muted">(untitled opening)</span>'
        body = (render_section(s, by_section.get(s["section_id"], []), colors, renderer) if s["text"]
                else '<p class="muted">(empty)</p>')
        parts.append(f'<section class="sec" id="{escape(s["section_id"])}"><h{level}>{heading}'
                     f'<span class="type">{escape(s["section_type"])}</span></h{level}>{body}</section>')
    parts.append(f"<h2>Removed ({len(removed)})</h2>")
    parts.append(table(["stage", "reason", "lines", "text"],
                       [[escape(r["stage"]), escape(r["reason"]), f"{r['line_start']}–{r['line_end']}",
                         f"<pre>{escape(r['text'])}</pre>"] for r in removed])
                 if removed else "<p>Nothing was removed.</p>")
    return page(f"{record['doc_id']}: document report", "\n".join(parts))

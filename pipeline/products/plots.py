"""Deterministic matplotlib plots as SVG text (byte-identical across runs).

No pyplot and no global state: each plot is a bare `Figure` saved under an `rc_context` with
a fixed `svg.hashsalt` (element ids) and no Date/Creator metadata. Glyphs are drawn as paths
(`svg.fonttype: path`), so the page looks the same without the fonts installed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

RC = {
    "svg.hashsalt": "monograph-pipeline",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
METADATA = {"Date": None, "Creator": None}
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]


def render(spec: tuple[str, tuple[Any, ...]]) -> str:
    """One plot from its spec, `(function name, arguments)`: a picklable unit of work, so that
    the plots of a report can render in several processes (`write_products(map_fn=...)`).

    >>> render(("histogram", ([1.0, 2.0], "t", "x"))).startswith("<?xml")
    True
    """
    name, args = spec
    if name not in ("barh", "stacked_barh", "histogram"):
        raise ValueError(f"unknown plot {name!r}")
    svg: str = globals()[name](*args)
    return svg


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata=METADATA, bbox_inches="tight")
    return buf.getvalue()


def _figure(n_rows: int) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(7.0, max(1.6, 0.6 + 0.22 * n_rows)), dpi=96)


def barh(items: Sequence[tuple[str, float]], title: str, xlabel: str) -> str:
    """Horizontal bars, first item on top."""
    with matplotlib.rc_context(RC):
        fig = _figure(len(items))
        ax = fig.add_subplot()
        labels = [k for k, _ in items][::-1]
        values = [v for _, v in items][::-1]
        ax.barh(range(len(items)), values, color=PALETTE[0])
        ax.set_yticks(range(len(items)), labels)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        if not items:
            ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes)
        return to_svg(fig)


def stacked_barh(rows: Sequence[str], series: dict[str, Sequence[float]], title: str, xlabel: str) -> str:
    """One bar per row, split by series (e.g. characters removed per stage per document)."""
    with matplotlib.rc_context(RC):
        fig = _figure(len(rows))
        ax = fig.add_subplot()
        y = list(range(len(rows)))[::-1]
        left = [0.0] * len(rows)
        for i, (name, values) in enumerate(series.items()):
            ax.barh(y, values, left=left, color=PALETTE[i % len(PALETTE)], label=name)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(y, list(rows))
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        if series:
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.text(0.5, 0.5, "nothing removed", ha="center", va="center", transform=ax.transAxes)
        return to_svg(fig)


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 20) -> str:
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.0, 2.4), dpi=96)
        ax = fig.add_subplot()
        if values:
            ax.hist(list(values), bins=min(bins, max(1, len(set(values)))), color=PALETTE[0])
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
        return to_svg(fig)

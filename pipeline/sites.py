"""Site configs at run time: compiled once per run, chosen per document by detection."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config import SiteConfig
from pipeline.prefilter import Prefiltered, fold


@dataclass(frozen=True)
class CompiledSite:
    name: str
    detect: tuple[Prefiltered, ...]  # searched in a whole document: gated by their literals
    boilerplate_lines: tuple[re.Pattern[str], ...]
    tail_start: tuple[re.Pattern[str], ...]
    level1: frozenset[str]
    level2: frozenset[str]
    level1_patterns: tuple[re.Pattern[str], ...]
    level2_patterns: tuple[re.Pattern[str], ...]


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def heading_key(text: str) -> str:
    """The form headings are compared in: lowercase, slug dashes as spaces, no end colon.

    >>> heading_key("Lifestyle-Modifications:")
    'lifestyle modifications'
    """
    text = text.strip().rstrip(":").strip()
    if "-" in text and " " not in text:
        text = text.replace("-", " ")
    return " ".join(text.lower().split())


def compile_site(site: SiteConfig) -> CompiledSite:
    return CompiledSite(
        name=site.name,
        detect=tuple(Prefiltered.compile(p, re.IGNORECASE) for p in site.detect),
        boilerplate_lines=_compile(site.boilerplate.lines),
        tail_start=_compile(site.boilerplate.tail_start),
        level1=frozenset(heading_key(h) for h in site.headings.level1),
        level2=frozenset(heading_key(h) for h in site.headings.level2),
        level1_patterns=_compile(site.headings.level1_patterns),
        level2_patterns=_compile(site.headings.level2_patterns),
    )


def detect_site(text: str, sites: dict[str, CompiledSite], chosen: str = "auto") -> CompiledSite | None:
    """The site named by the run config, or the first site (by name) whose detector matches."""
    if chosen == "none":
        return None
    if chosen != "auto":
        return sites[chosen]
    folded: str | None = None  # casefolded once, when a detector has literals to look for
    for name in sorted(sites):
        for p in sites[name].detect:
            if p.literals is not None:
                folded = fold(text) if folded is None else folded
                if not any(lit in folded for lit in p.literals):
                    continue  # a `\b`-led regex scans a long page character by character: ~1 ms
            if p.regex.search(text):
                return sites[name]
    return None

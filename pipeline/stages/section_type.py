"""section_type: give every section a canonical type from a small controlled vocabulary.

The vocabulary and its rules live in `configs/section_types.yaml` (validated here by
`SectionTypeRules`; the file's header explains the order of the rules). A heading is
normalized (`heading_key`), looked up among the synonyms, then matched against the types'
patterns in the order the types are listed; a heading no rule knows takes the type of its
nearest typed ancestor (`section.path`), else the default type, and counts as unknown.
The untitled opening is the `opening` type. Pure functions do the work; `SectionType` is
the thin stage around them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.document import Document, Section
from pipeline.prefilter import PrefilteredSet
from pipeline.stages import RunContext, StageError, StageSettings

_NON_WORD = re.compile(r"[^0-9a-z]+")
_KEEP_S = ("ss", "us", "is", "ous")


class Settings(StageSettings):
    # The vocabulary and rules, relative to the configs folder (beside default.yaml), so a
    # run config and its rules travel together. Its `version` and content hash are recorded
    # in the manifest's provenance, since the config hash covers only this path.
    rules: str = "section_types.yaml"


class TypeRules(BaseModel):
    """One canonical type: what it holds, exact synonyms and regex patterns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regex: {exc}") from exc
        return patterns


class SectionTypeRules(BaseModel):
    """The whole `section_types.yaml`: the vocabulary (`types`, in pattern priority order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    opening: str
    default: str
    inherit: bool = True
    types: dict[str, TypeRules] = Field(min_length=1)

    @field_validator("types")
    @classmethod
    def _type_names(cls, types: dict[str, TypeRules]) -> dict[str, TypeRules]:
        bad = [t for t in types if not re.fullmatch(r"[a-z][a-z0-9_]*", t)]
        if bad:
            raise ValueError(f"type names must be snake_case: {', '.join(bad)}")
        return types

    @model_validator(mode="after")
    def _consistent(self) -> SectionTypeRules:
        for key in ("opening", "default"):
            if getattr(self, key) not in self.types:
                raise ValueError(f"{key} {getattr(self, key)!r} is not one of the types")
        owner: dict[str, str] = {}
        for name, rules in self.types.items():
            for syn in rules.synonyms:
                k = heading_key(syn)
                if owner.get(k, name) != name:
                    raise ValueError(f"synonym {syn!r} ({k!r}) belongs to both {owner[k]} and {name}")
                owner[k] = name
        return self


def singular(word: str) -> str:
    """A crude singular, applied alike to headings and synonyms so plurals meet.

    >>> [singular(w) for w in ["diagnoses", "studies", "factors", "diagnosis", "doses", "status", "ct"]]
    ['diagnosis', 'study', 'factor', 'diagnosis', 'dose', 'status', 'ct']
    """
    if len(word) <= 3 or word.endswith(_KEEP_S):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("oses") and len(word) > 6:
        return word[:-2] + "is"
    return word[:-1] if word.endswith("s") else word


def heading_key(text: str) -> str:
    """The form headings, synonyms and patterns meet in: lowercase words, singular.

    >>> heading_key("Differential Diagnoses")
    'differential diagnosis'
    >>> heading_key("differential-diagnosis:")
    'differential diagnosis'
    >>> heading_key("How is POEMS Syndrome diagnosed?")
    'how is poem syndrome diagnosed'
    >>> heading_key("B. Sources")  # a section letter is no word of its name
    'source'
    """
    return " ".join(singular(w) for w in _NON_WORD.sub(" ", _LETTER.sub("", text).lower()).split())


_LETTER = re.compile(r"^[A-Z]\.\s+(?=\w)")  # "A. Background": a section's letter


@dataclass(frozen=True)
class Classifier:
    """The compiled rules: `classify(heading)` gives a type or None."""

    synonyms: dict[str, str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    gated: PrefilteredSet  # the same patterns keyed by position, behind one literal scan
    opening: str
    default: str
    inherit: bool

    @classmethod
    def from_rules(cls, rules: SectionTypeRules) -> Classifier:
        synonyms = {heading_key(s): name for name, t in rules.types.items() for s in t.synonyms}
        patterns = tuple((name, re.compile(p)) for name, t in rules.types.items() for p in t.patterns)
        gated = PrefilteredSet.compile({str(i): p.pattern for i, (_name, p) in enumerate(patterns)})
        return cls(synonyms, patterns, gated, rules.opening, rules.default, rules.inherit)

    def classify(self, heading: str) -> str | None:
        """The type of the first pattern (in rule order) that matches, after the synonyms."""
        key = heading_key(heading)
        if key in self.synonyms:
            return self.synonyms[key]
        matched = self.gated.names(key)  # in pattern order: the first is the one a plain loop finds
        return self.patterns[int(matched[0])][0] if matched else None

    def assign(self, heading: str | None, path: list[str]) -> tuple[str, str]:
        """(type, how): how is "opening", "heading", "ancestor" or "unknown"."""
        if heading is None:
            return self.opening, "opening"
        own = self.classify(heading)
        if own is not None:
            return own, "heading"
        if self.inherit:
            for ancestor in reversed(path):
                inherited = self.classify(ancestor)
                if inherited is not None:
                    return inherited, "ancestor"
        return self.default, "unknown"


def load_rules(path: Path) -> SectionTypeRules:
    """Read and validate the rules file; a `ValueError` names the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read section type rules: {exc}") from exc
    try:
        return SectionTypeRules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ValueError(f"{path}: {where}: {err['msg']}") from exc


def rules_digest(rules: SectionTypeRules) -> str:
    blob = json.dumps(rules.model_dump(mode="json"), sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def assign_types(sections: list[Section], classifier: Classifier, title: str | None = None) -> dict[str, int]:
    """Set `section_type` on every section; return how many were typed which way.

    A section headed by the document's own title (a page's <h1>, a leading `# Title`), first or
    after an untitled opening, is its opening, like an untitled one: "Celiac Disease" is no
    unknown heading, and "Anticoagulation for stroke prevention" no lifestyle section. Nor does
    a section inherit a type from the title: the title names the document, not a topic of it."""
    counts = {"opening": 0, "heading": 0, "ancestor": 0, "unknown": 0}
    for i, section in enumerate(sections):
        if i <= 1 and title is not None and section.heading == title:
            section.section_type, how = classifier.opening, "opening"
        else:
            path = [p for p in section.path if p != title] if title is not None else section.path
            section.section_type, how = classifier.assign(section.heading, path)
        counts[how] += 1
    return counts


class SectionType:
    name: ClassVar[str] = "section_type"

    def __init__(self, classifier: Classifier, provenance: dict[str, str]) -> None:
        self.classifier = classifier
        self.provenance = provenance

    def __call__(self, doc: Document) -> Document:
        if "segment" not in doc.steps:
            raise StageError("stage_order", "section_type needs the sections of `segment`; list it after segment")
        counts = assign_types(doc.sections, self.classifier, doc.title)
        doc.count(self.name, "typed_by_heading", counts["heading"])
        doc.count(self.name, "typed_by_ancestor", counts["ancestor"])
        doc.count(self.name, "unknown_headings", counts["unknown"])
        return doc


def _rules(settings: Settings, ctx: RunContext) -> SectionTypeRules:
    try:
        return load_rules(ctx.config_dir / settings.rules)
    except ValueError as exc:
        raise StageError("section_type_rules", f"{exc} (fix the file or point section_type.rules elsewhere)") from exc


def _provenance(settings: Settings, rules: SectionTypeRules) -> dict[str, str]:
    return {"rules": settings.rules, "rules_version": str(rules.version), "rules_hash": rules_digest(rules)}


def provenance(settings: Settings, ctx: RunContext) -> dict[str, str]:
    """The built stage's `provenance`, without building it (`pipeline.stages.stage_provenance`)."""
    return _provenance(settings, _rules(settings, ctx))


def build(settings: Settings, ctx: RunContext) -> SectionType:
    rules = _rules(settings, ctx)
    return SectionType(Classifier.from_rules(rules), _provenance(settings, rules))

"""The stage contract and the registry of stages.

A stage is built once per run from its validated settings and the run context, then called
on each document: `stage(doc) -> doc`. The module, the config key and the provenance entry
(`doc.steps`) of a stage share one name. A stage whose output depends on more than its
settings (a rules file, a built terminology) has a `provenance` dict, part of every document's
cache key; its module then also defines `provenance(settings, ctx)`, which gives the same dict
without building the stage (`stage_provenance`). The runner owns the loop, timing, counters and
the error policy; a stage raises `StageError` for input it refuses, with a one-line reason.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from pipeline.document import Document


class StageSettings(BaseModel):
    """Base of every stage's settings: unknown keys are rejected, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Fields that change speed or memory only, never the output: left out of the config
    # digest, so changing one reprocesses nothing (each stage's tests check the claim).
    not_output: ClassVar[frozenset[str]] = frozenset()


class StageError(Exception):
    """A document the stage refuses. `kind` is a short machine-readable error kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class RunContext:
    """What every stage may read besides its own settings: where configs live, the sites."""

    config_dir: Path
    sites: dict[str, Any] = field(default_factory=dict)  # name -> pipeline.sites.CompiledSite
    site: str = "auto"  # the run config's choice: "auto", "none" or a site name


class Stage(Protocol):
    name: ClassVar[str]

    def __call__(self, doc: Document) -> Document: ...


# Stage order is set in configs/default.yaml; this table only maps names to modules.
STAGE_MODULES: dict[str, str] = {
    "decode": "pipeline.stages.decode",
    "fix_text": "pipeline.stages.fix_text",
    "strip_html": "pipeline.stages.strip_html",
    "boilerplate": "pipeline.stages.boilerplate",
    "dedup": "pipeline.stages.dedup",
    "segment": "pipeline.stages.segment",
    "section_type": "pipeline.stages.section_type",
    "entities": "pipeline.stages.entities",
}


def settings_class(name: str) -> type[StageSettings]:
    """The settings model of stage `name` (each stage module defines `Settings`)."""
    module = importlib.import_module(STAGE_MODULES[name])
    cls: type[StageSettings] = module.Settings
    return cls


def build_stage(name: str, settings: StageSettings, ctx: RunContext) -> Stage:
    """Build stage `name` once for a run (each stage module defines `build`)."""
    module = importlib.import_module(STAGE_MODULES[name])
    stage: Stage = module.build(settings, ctx)
    return stage


def stage_provenance(name: str, settings: StageSettings, ctx: RunContext) -> dict[str, Any] | None:
    """What the built stage `name` would have as its `provenance`, without building it (None:
    the stage has none). Cheap: the up-to-date check of a batch (`pipeline.stamp`) reads it
    before deciding whether anything needs building at all."""
    module = importlib.import_module(STAGE_MODULES[name])
    make = getattr(module, "provenance", None)
    return None if make is None else dict(make(settings, ctx))

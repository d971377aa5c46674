"""Load and validate a run config: `configs/default.yaml` plus the site configs.

A config is YAML with the ordered stage list under `stages` and one mapping per stage,
validated by that stage's own `Settings` model (unknown keys are errors). Site configs live
in `configs/sites/<name>.yaml` and are validated by `SiteConfig`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.stages import STAGE_MODULES, StageSettings, settings_class

if TYPE_CHECKING:  # imported lazily: the products package itself reads Config
    from pipeline.products.settings import ProductsSettings


class ConfigError(Exception):
    """A config file that cannot be used; the message says which file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteBoilerplate(_Strict):
    lines: list[str] = Field(default_factory=list, description="regexes; a matching line is removed")
    tail_start: list[str] = Field(
        default_factory=list, description="regexes; the first matching line starts a trailing zone removed to the end"
    )


class SiteHeadings(_Strict):
    level1: list[str] = Field(default_factory=list, description="known main headings (case-insensitive)")
    level2: list[str] = Field(default_factory=list, description="known sub-headings (case-insensitive)")
    level1_patterns: list[str] = Field(default_factory=list, description="regexes for main headings")
    level2_patterns: list[str] = Field(default_factory=list, description="regexes for sub-headings")


class SiteConfig(_Strict):
    name: str
    detect: list[str] = Field(default_factory=list, description="regexes searched in the decoded text")
    boilerplate: SiteBoilerplate = SiteBoilerplate()
    headings: SiteHeadings = SiteHeadings()


class RunSettings(_Strict):
    site: str = "auto"
    stages: list[str]
    # glibc's malloc threshold (bytes) above which an allocation gets its own mapping, fixed in
    # the process that writes the output while workers process the documents (see
    # `pipeline.batch.cap_heap`); 0 leaves glibc's sliding default. Speed and memory only: not
    # part of the config digest, so changing it reprocesses nothing.
    writer_mmap_threshold: int = Field(131_072, ge=0)
    # Keep each document's share of the output files and products beside its state
    # (`.state/docs/<name>.out`, about 150 KB per document of the bench corpus), so that a
    # re-run writes a reused document without making it again (`pipeline.state`). False: less
    # disk, slower re-runs. Not part of the config digest: the output is the same either way.
    output_cache: bool = True
    # Inputs per call, and bytes of them at most (an input larger than that goes alone), when
    # the batch pre-pass has its workers cut the inputs into lines (`pipeline.prepass.run_prepass`;
    # two calls per worker are in flight). Speed and memory only: not part of the config digest.
    prepass_group: int = Field(16, ge=1)
    prepass_group_bytes: int = Field(1_048_576, ge=1)


# RunSettings fields that cannot change the output (left out of `config_digest`; a stage's
# are its settings' `not_output`).
NOT_OUTPUT = frozenset({"writer_mmap_threshold", "output_cache", "prepass_group", "prepass_group_bytes"})


@dataclass(frozen=True)
class Config:
    path: Path
    config_dir: Path
    run: RunSettings
    stages: dict[str, StageSettings]
    sites: dict[str, SiteConfig]
    digest: str
    products: ProductsSettings | None = None

    def stage_settings(self, name: str) -> StageSettings:
        return self.stages[name]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"


def load_sites(sites_dir: Path) -> dict[str, SiteConfig]:
    sites: dict[str, SiteConfig] = {}
    if not sites_dir.is_dir():
        return sites
    for path in sorted(sites_dir.glob("*.yaml")):
        try:
            site = SiteConfig.model_validate(_read_yaml(path))
        except ValidationError as exc:
            raise ConfigError(f"{path}: {_first_error(exc)}") from exc
        sites[site.name] = site
    return sites


def load_config(path: Path) -> Config:
    """Read and validate the run config at `path` and the site configs beside it."""
    path = Path(path)
    data = _read_yaml(path)
    config_dir = path.parent
    try:
        run = RunSettings.model_validate({k: data[k] for k in RunSettings.model_fields if k in data})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_first_error(exc)}") from exc
    unknown = [k for k in data if k not in RunSettings.model_fields and k != "products" and k not in STAGE_MODULES]
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    for name in run.stages:
        if name not in STAGE_MODULES:
            raise ConfigError(f"{path}: unknown stage {name!r}; known: {', '.join(STAGE_MODULES)}")
    stages: dict[str, StageSettings] = {}
    for name in run.stages:
        try:
            stages[name] = settings_class(name).model_validate(data.get(name) or {})
        except ValidationError as exc:
            raise ConfigError(f"{path}: {name}.{_first_error(exc)}") from exc
    from pipeline.products.settings import ProductsSettings

    try:
        products = ProductsSettings.model_validate(data.get("products") or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: products.{_first_error(exc)}") from exc
    sites = load_sites(config_dir / "sites")
    if run.site not in ("auto", "none") and run.site not in sites:
        raise ConfigError(f"{path}: site {run.site!r} has no file in {config_dir / 'sites'}")
    digest = config_digest(run, stages, sites, products)
    return Config(path=path, config_dir=config_dir, run=run, stages=stages, sites=sites, digest=digest, products=products)


def config_digest(
    run: RunSettings, stages: dict[str, StageSettings], sites: dict[str, SiteConfig], products: ProductsSettings
) -> str:
    """A stable hash of everything that can change the output (validated values, not file bytes)."""
    payload = {
        "products": products.model_dump(mode="json"),
        "run": run.model_dump(mode="json", exclude=set(NOT_OUTPUT)),
        "stages": {k: v.model_dump(mode="json", exclude=set(v.not_output)) for k, v in stages.items()},
        "sites": {k: v.model_dump(mode="json") for k, v in sorted(sites.items())},
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]

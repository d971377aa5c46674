"""Find terminology mentions in spaCy-tokenised text, fast, with exact character offsets.

The lexicon (built by `pipeline.terminology.build`) maps a *key*, the space-joined
normalised tokens of a name, to a concept (`Term`: label, canonical name, source, id).
A key is made by `key_tokens`: spaCy tokens, lower-cased and without accents (except
case-sensitive names), curly apostrophes made straight, and bare hyphen tokens skipped, so that "M-protein",
"M - protein" and "M protein" share one key. The tables are plain dicts: they pickle and
load in a fraction of a second, unlike a PhraseMatcher over the same names.

Matching rules
--------------
1. Case: names with no lower-case letter and at most a few characters ("MEN", "BE",
   "VEGF", "IL-6") match the text's exact spelling only; every other name matches
   case-insensitively.
2. Plurals: a span also matches when its LAST token, made singular (the spaCy lookup
   table restricted to the lexicon's last words, then -ies/-es/-s rules), gives a key.
3. Label conflicts are settled at build time: a key belongs to the first source in the
   configured source order that has it (`configs/terminology.yaml: sources`), so a key
   has exactly one label and id. A case-sensitive and a case-insensitive key on the same
   span: the case-sensitive one wins.
4. Overlaps: among all candidate spans, the longest (in characters) wins; equal lengths:
   the earlier start wins. Chosen spans never overlap.
5. Head-noun fallback: an uncovered class noun of the configured list ("lesions",
   "damage", "tests", "agents") with 1 to N medical modifiers on its left ("sclerotic
   bone lesions", "nerve damage") becomes a mention with the head noun's label and no id.
   A modifier is a lexicon term ending right there or a rare word of the lexicon's
   vocabulary; stop-listed modifiers ("clinical", "prognostic") end the walk. Dictionary
   mentions swallowed by the new span are dropped. A single-token dictionary mention of
   a configured label (`head_noun_term_labels`: "weakness", "radiography") is a head
   noun too ("proximal weakness", "chest radiography") and keeps its label. A hyphenated
   compound modifier ("steroid-sparing", "muscle-specific") is taken whole, when one of
   its words is a medical modifier, or not at all: a span never starts inside a word.
6. Token patterns: an uncovered token that fully matches a configured pattern ("CD20",
   "IL-17") is a mention with the pattern's label and no id; a cluster-of-differentiation
   marker written as a cell phenotype ("CD4+ T cells") is not (the cell is the concept).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import Any, NamedTuple

ARTIFACT_NAME = "lexicon.pkl"
# Bump when the artifact layout, the key normalisation or the choice among names changes.
FORMAT_VERSION = 6  # 6: Greek letters spelled out, "neurone" folded (norm)
# Longest name, in key tokens, that is looked up.
MAX_KEY_TOKENS = 10

_SKIP = frozenset({"-", "–", "—"})
# Joins texts that are tokenized as one spaCy Doc (the entities stage groups short paragraphs
# and headings). A whitespace token that, like a line break, no span, head-noun walk or
# pattern crosses; unlike "\n", not one of spaCy's tokenizer exceptions, whose handling made
# texts joined by "\n" two to six times slower to tokenize than the same texts one by one
# (5 to 20 test-fixture lines per text, warm cache; one-off timing).
SEPARATOR = "\u2029"  # PARAGRAPH SEPARATOR
HEAD_NOUN_SOURCE = "head_noun"
_FIRST_TWO = itemgetter(0, 1)  # sort key: (-length, start) of a candidate, (start, end) of a span
PATTERN_SOURCE = "pattern"


class Term(NamedTuple):
    """A concept of the terminology."""

    label: str
    canonical: str
    source: str
    kb_id: str | None


class TokenInfo(NamedTuple):
    """What the matcher needs of a token that depends on its text alone (`Lexicon.token_info`)."""

    text: str
    lower: str  # normalized key (`norm`)
    cased: str
    skip: bool  # a space or a bare hyphen: skipped inside a span
    newline: bool  # a line break or `SEPARATOR`: spans never cross it
    hit: int | None  # index of the one-token term, if any
    grow: bool  # the token starts a longer key
    can_start: bool  # a span may start here: a term or a key prefix, not a space or punctuation
    head: str | None  # head-noun label
    pattern: str | None  # token-pattern label
    later: bool  # the token can continue a key: it is a word after the first of some key


def _labelled(labels: Sequence[str | None]) -> list[int]:
    """Positions of the labels that are not None (in C: most tokens have none).

    >>> _labelled([None, "DRUG", None, "GENE"])
    [1, 3]
    """
    return list(compress(range(len(labels)), map(is_not, labels, repeat(None))))


class Match(NamedTuple):
    """A mention in a spaCy Doc: character offsets into `doc.text`."""

    start: int
    end: int
    label: str
    term: Term | None
    source: str


_ORTH_IDX: list[int] = []


def _orth_idx() -> list[int]:
    """spaCy's attribute ids of ORTH and IDX, for `Doc.to_array` (spaCy imported on first use)."""
    if not _ORTH_IDX:
        from spacy.attrs import IDX, ORTH

        _ORTH_IDX.extend((ORTH, IDX))
    return _ORTH_IDX


def make_tokenizer() -> Any:
    """The tokenizer every key is made with: spaCy's blank English one."""
    import spacy

    return spacy.blank("en").tokenizer


# British spellings of medical word parts, folded to the American ones on both sides of a
# look-up (the sources' names and the text's tokens): "haemorrhage", "oedema", "anaemia",
# "oesophagus", "diarrhoea", "paediatric", "tumour", "sulphonylurea" match their US names.
# Word parts, not whole words, and only ones no other English word contains.
_SPELLING = {
    "haem": "hem", "aemi": "emi", "paed": "ped", "anaes": "anes", "aesth": "esth", "gynaec": "gynec",
    "faec": "fec", "caec": "cec", "aetiol": "etiol", "oedem": "edem", "oesoph": "esoph", "oestr": "estr",
    "rrhoea": "rrhea", "pnoea": "pnea", "coeli": "celi", "foet": "fet", "homoeo": "homeo", "tumour": "tumor",
    "sulph": "sulf", "fibre": "fiber", "neurone": "neuron",
}
# Greek letters, as the sources spell them out ("TNF-alpha", "beta-blocker", "interferon-gamma").
_GREEK = str.maketrans({
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "κ": "kappa", "λ": "lambda",
    "ω": "omega",
})
_SPELLING_RX = re.compile("|".join(sorted(_SPELLING, key=len, reverse=True)))


def norm(text: str) -> str:
    """Normalise one token for a case-insensitive key: lower case, straight apostrophes, no
    accents (sources and monographs write "Sjögren" and "Sjogren", "Ménière" and "Meniere"),
    Greek letters spelled out ("TNF-α" and "TNF-alpha"), and American spelling (`_SPELLING`:
    "haemorrhage" and "hemorrhage").

    >>> norm("Crohn’s"), norm("Sjögren"), norm("Behçet"), norm("Haemorrhages"), norm("oedema")
    ("crohn's", 'sjogren', 'behcet', 'hemorrhages', 'edema')
    >>> norm("α"), norm("IL-1β"), norm("neurones")
    ('alpha', 'il-1beta', 'neurons')
    """
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    if not lowered.isascii():
        lowered = "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)).translate(_GREEK)
    if ("ae" in lowered or "oe" in lowered or "our" in lowered or "ph" in lowered or "bre" in lowered
            or "rone" in lowered) and (
        _SPELLING_RX.search(lowered)
    ):
        return _SPELLING_RX.sub(lambda m: _SPELLING[m.group()], lowered)
    return lowered


def key_tokens(tokens: Any, cased: bool = False) -> list[str]:
    """The key parts of a sequence of spaCy tokens (see the module docstring)."""
    out = []
    for tok in tokens:
        if tok.is_space or tok.text in _SKIP:
            continue
        out.append(tok.text.replace("’", "'") if cased else norm(tok.text))
    return out


def singular_candidates(word: str, plurals: dict[str, str]) -> list[str]:
    """Possible singulars of a plural-looking lower-case word (empty if none).

    >>> singular_candidates("lesions", {})
    ['lesion']
    >>> singular_candidates("therapies", {})
    ['therapy', 'therapie', 'therapi']
    >>> singular_candidates("metastases", {"metastases": "metastasis"})
    ['metastasis']
    >>> singular_candidates("glass", {})
    []
    """
    if word in plurals:
        return [plurals[word]]
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return []
    if word.endswith("ies"):
        return [word[:-3] + "y", word[:-1], word[:-2]]
    if word.endswith("es"):
        return [word[:-1], word[:-2]]
    return [word[:-1]]


def _proper_prefixes(keys: Iterable[str]) -> frozenset[str]:
    """Every key cut before each of its spaces.

    >>> sorted(_proper_prefixes(["a b c", "a d", "e"]))
    ['a', 'a b']
    """
    out: set[str] = set()
    add = out.add
    for key in keys:
        cut = key.rfind(" ")
        while cut >= 0:
            prefix = key[:cut]
            if prefix in out:
                break  # its own prefixes are in already
            add(prefix)
            cut = prefix.rfind(" ")
    return frozenset(out)


def _later_words(keys: Iterable[str]) -> frozenset[str]:
    """Every word of a key but its first: the only words that can extend a span.

    >>> sorted(_later_words(["a b c", "a d", "e"]))
    ['b', 'c', 'd']
    """
    out: set[str] = set()
    for key in keys:
        out.update(key.split(" ")[1:])
    return frozenset(out)


def _compile_patterns(
    patterns: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str] | None, list[tuple[re.Pattern[str], str]]]:
    """The compiled token patterns, and one alternation of them all that fully matches a
    text exactly when one of them does (None when they cannot be joined safely: groups,
    whose numbers would shift, or global inline flags).

    >>> any_rx, each = _compile_patterns((("CD[0-9]+", "P"), ("IL-?[0-9]", "P")))
    >>> bool(any_rx.fullmatch("IL6")), any_rx.fullmatch("CD4+"), len(each)
    (True, None, 2)
    """
    compiled = [(re.compile(rx), label) for rx, label in patterns]
    default_flags = re.compile("").flags
    if not compiled or any(rx.groups or rx.flags != default_flags for rx, _label in compiled):
        return None, compiled
    try:
        any_rx = re.compile("|".join(f"(?:{rx})" for rx, _label in patterns))
    except re.error:
        return None, compiled
    return any_rx, compiled


@dataclass
class Lexicon:
    """The compiled terminology: key tables plus the data of the fallback rules."""

    terms: list[Term]
    index: dict[str, int]
    cs_index: dict[str, int]
    plurals: dict[str, str]
    head_nouns: dict[str, str] = field(default_factory=dict)
    head_noun_max_modifiers: int = 3
    rare_modifiers: frozenset[str] = frozenset()
    stop_modifiers: frozenset[str] = frozenset()
    # Labels of single-token dictionary mentions that act as head nouns.
    head_noun_term_labels: frozenset[str] = frozenset()
    # (regex source, label): whole-token, case-sensitive patterns (rule 6).
    patterns: tuple[tuple[str, str], ...] = ()
    _compiled: Any = field(default=None, repr=False, compare=False)
    # (lower-case prefixes, cased prefixes): see `prefixes`; derived, not pickled.
    _prefixes: tuple[frozenset[str], frozenset[str]] | None = field(default=None, repr=False, compare=False)
    # (lower-case words, cased words): see `later_words`; derived, not pickled.
    _later: tuple[frozenset[str], frozenset[str]] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_compiled"] = None  # compiled lazily after loading
        state["_prefixes"] = None  # derived from the key tables after loading
        state["_later"] = None
        return state

    def prefixes(self) -> tuple[frozenset[str], frozenset[str]]:
        """The proper prefixes of the keys of `index` and of `cs_index`, made lazily.

        A proper prefix is a key cut before one of its spaces: "multiple myeloma cell"
        gives "multiple" and "multiple myeloma". `match` stops extending a token span as
        soon as its keys are proper prefixes of no key: no longer span can then match.
        Computed once per loaded lexicon (~0.1 s), not stored in the artifact."""
        if self._prefixes is None:
            self._prefixes = (_proper_prefixes(self.index), _proper_prefixes(self.cs_index))
        return self._prefixes

    def later_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words after the first of the keys of `index` and of `cs_index`, made lazily.

        A span can only grow by a token whose key word is one of them (or, for the last
        token, whose singular is): `match` stops at any other token without building the
        longer keys. Like `prefixes`, it changes speed, never results."""
        if self._later is None:
            self._later = (_later_words(self.index), _later_words(self.cs_index))
        return self._later

    def _pattern_label(self, text: str) -> str | None:
        if not self.patterns:
            return None
        if self._compiled is None:
            self._compiled = _compile_patterns(self.patterns)
        any_rx, compiled = self._compiled
        if any_rx is not None and any_rx.fullmatch(text) is None:
            return None  # most tokens: one regex call instead of one per pattern
        for rx, label in compiled:
            if rx.fullmatch(text):
                return label
        return None

    def lookup(self, lowered: list[str], cased: list[str]) -> Term | None:
        """The concept of a token sequence, trying the exact case, then lower case, then
        the singular of the last token."""
        hit = self.cs_index.get(" ".join(cased))
        if hit is None:
            hit = self.index.get(" ".join(lowered))
        if hit is None:
            for sing in singular_candidates(lowered[-1], self.plurals):
                hit = self.index.get(" ".join([*lowered[:-1], sing]))
                if hit is not None:
                    break
        return None if hit is None else self.terms[hit]

    def is_term_word(self, word: str) -> bool:
        if word in self.index:
            return True
        return any(s in self.index for s in singular_candidates(word, self.plurals))

    def token_info(self, token: Any) -> TokenInfo:
        """What `match` needs of one token that depends on its text alone."""
        text = token.text
        lower = norm(text)
        cased = text.replace("’", "'")
        hit = self.cs_index.get(cased)
        if hit is None:
            hit = self.index.get(lower)
        if hit is None and (lower[-1:] == "s" or lower in self.plurals):  # else no singular
            for sing in singular_candidates(lower, self.plurals):
                hit = self.index.get(sing)
                if hit is not None:
                    break
        pre_lower, pre_cased = self.prefixes()
        head = self.head_nouns.get(lower)
        if head is None and lower[-1:] == "s":  # singular_candidates needs a final "s"
            for sing in singular_candidates(lower, {}):
                head = self.head_nouns.get(sing)
                if head:
                    break
        skip = bool(token.is_space or text in _SKIP)
        newline = "\n" in text or SEPARATOR in text
        grow = lower in pre_lower or cased in pre_cased
        can_start = (hit is not None or grow) and not (skip or newline or token.is_punct)
        later_lower, later_cased = self.later_words()
        later = (
            lower in later_lower
            or cased in later_cased
            or any(s in later_lower for s in singular_candidates(lower, self.plurals))
        )
        return TokenInfo(  # positional: keywords make a NamedTuple three times slower to build
            text, lower, cased, skip, newline, hit, grow, can_start, head,
            self._pattern_label(text) if text[:1].isalnum() else None, later,
        )

    def match(self, doc: Any, memo: dict[int, TokenInfo] | None = None) -> list[Match]:
        """All mentions in a spaCy Doc (or any sequence of spaCy tokens), in text order.

        `memo` keeps `token_info` by token between calls, keyed by the token's `orth` (the hash
        of its text in spaCy's string store): the entities stage passes its bounded cache, so a
        word is looked up once however often it occurs. It never changes the result."""
        toks = doc  # indexed only for the few tokens that need more than their text
        memo = {} if memo is None else memo
        if not len(doc):
            return []
        orths, idxs = doc.to_array(_orth_idx()).T.tolist()  # no Token objects: 30% faster
        n = len(orths)
        infos = list(map(memo.get, orths))
        if not all(infos):  # a None (not yet looked up); `None in infos` compares each tuple with None
            for k, found in enumerate(infos):
                if found is None:
                    infos[k] = memo[orths[k]] = self.token_info(toks[k])
        texts, lower, cased, skip, newline, hit1, grow1, can_start, head, pattern, later = zip(*infos, strict=False)  # type: ignore[misc]  # 11 fields each

        # Candidate spans: from each token, extend token by token (skipping bare hyphens
        # and spaces, up to MAX_KEY_TOKENS key tokens, never across a line break) and look
        # each span up as `lookup` does: exact case, lower case, singular last token. The
        # extension stops as soon as the span is a proper prefix of no key (`prefixes`):
        # most tokens start no key, so most starts cost one or two dict look-ups.
        pre_lower, pre_cased = self.prefixes()
        index_get = self.index.get
        cs_get = self.cs_index.get
        plurals = self.plurals
        terms = self.terms
        cands: list[tuple[int, int, int, int, Term]] = []  # (-len, start, i, j, term)
        # The one-token span first (`token_info`): most tokens start no key and stop here.
        for i in compress(range(n), can_start):
            hit = hit1[i]
            grow = grow1[i]
            key_l = lower[i]
            key_c = cased[i]
            if hit is not None:
                cands.append((-len(texts[i]), idxs[i], i, i + 1, terms[hit]))
            if not grow:
                continue
            # Each side (lower case, exact case) goes on only while its key is a proper prefix of
            # one of its keys: a longer key of that side would need it. Most spans are alive on
            # the lower-case side only (few names are case-sensitive).
            alive_l = key_l in pre_lower
            alive_c = key_c in pre_cased
            n_parts = 1
            stop = i + 4 * MAX_KEY_TOKENS
            for j in range(i + 1, stop if stop < n else n):
                if newline[j]:
                    break  # before the skip test: a line break is a space token too
                if skip[j]:
                    continue
                if not later[j]:
                    break  # no key goes on with this word: no longer span is a key
                n_parts += 1
                if n_parts > MAX_KEY_TOKENS:
                    break
                hit = None
                if alive_c:
                    key_c = f"{key_c} {cased[j]}"
                    hit = cs_get(key_c)
                    alive_c = key_c in pre_cased
                if alive_l:
                    stem = key_l  # the lower-case key of the span without its last token
                    key_l = f"{stem} {lower[j]}"
                    if hit is None:
                        hit = index_get(key_l)
                    if hit is None and (lower[j][-1:] == "s" or lower[j] in plurals):
                        for sing in singular_candidates(lower[j], plurals):
                            hit = index_get(f"{stem} {sing}")
                            if hit is not None:
                                break
                    alive_l = key_l in pre_lower
                if hit is not None:
                    first = idxs[i]
                    cands.append((first - idxs[j] - len(texts[j]), first, i, j + 1, terms[hit]))
                if not (alive_l or alive_c):
                    break  # no longer span is a key
        cands.sort(key=_FIRST_TWO)
        taken = [False] * n
        chosen: list[tuple[int, int, Term]] = []
        for _neg, _start, i, j, term in cands:
            if any(taken[i:j]):
                continue
            for k in range(i, j):
                taken[k] = True
            chosen.append((i, j, term))

        spans = self._head_nouns(texts, idxs, lower, skip, head, chosen)
        if self.patterns:
            spans += self._patterns(toks, texts, pattern, taken, spans)
        spans.sort(key=_FIRST_TWO)
        return [
            Match(idxs[i], idxs[j - 1] + len(texts[j - 1]), term.label if term else label, term, term.source if term else src)
            for i, j, term, label, src in spans
        ]

    def _patterns(
        self, toks: Any, texts: Sequence[str], labels: Sequence[str | None], taken: list[bool],
        spans: list[tuple[int, int, Term | None, str, str]],
    ) -> list[tuple[int, int, Term | None, str, str]]:
        """Rule 6: uncovered tokens that match a token pattern (`texts`: the tokens' texts,
        `labels`: their pattern labels, `TokenInfo.pattern`)."""
        out: list[tuple[int, int, Term | None, str, str]] = []
        labelled = _labelled(labels)
        if not labelled:  # most pieces: no token looks like a pattern
            return out
        covered = set()
        for i, j, *_rest in spans:
            covered.update(range(i, j))
        n = len(toks)
        for k in labelled:
            label = labels[k]
            if k in covered or taken[k]:
                continue
            tok = toks[k]
            nxt = toks[k + 1].text if k + 1 < n and not tok.whitespace_ else ""
            if nxt[:1] in ("+", "-", "−", "–") and not (
                k + 2 < n and toks[k + 2].text[:1].isalnum() and not toks[k + 1].whitespace_
            ):
                continue  # "CD4+ T cells", "CD8- cells": a cell phenotype, not the molecule
            out.append((k, k + 1, None, label, PATTERN_SOURCE))
        return out

    def _head_nouns(
        self, texts: Sequence[str], idxs: Sequence[int], lower: Sequence[str], skip: Sequence[bool],
        heads: Sequence[str | None], chosen: list[tuple[int, int, Term]],
    ) -> list[tuple[int, int, Term | None, str, str]]:
        """Apply the head-noun fallback to the dictionary spans (token offsets); `texts`, `idxs`:
        the tokens' texts and offsets; `heads`: their head-noun labels (`TokenInfo.head`)."""
        spans: list[tuple[int, int, Term | None, str, str]] = [(i, j, t, t.label, t.source) for i, j, t in chosen]
        # Only tokens with a head-noun label, or inside a term whose label acts as one, can be
        # heads: the others are rejected by the label test below, with no effect on later tokens.
        labelled = set(_labelled(heads))
        if self.head_noun_term_labels:
            for i, j, term in chosen:
                if term.label in self.head_noun_term_labels:
                    labelled.update(range(i, j))
        if not labelled:  # most pieces
            return spans
        cover: dict[int, int] = {}
        for idx, (i, j, _t) in enumerate(chosen):
            for k in range(i, j):
                cover[k] = idx
        dead: set[int] = set()
        new: list[tuple[int, int, Term | None, str, str]] = []

        def spaced(k: int) -> bool:
            """Whitespace follows token k (spaCy's `whitespace_`; token k + 1 exists), read from
            the offsets: no `Token` object made."""
            return idxs[k + 1] > idxs[k] + len(texts[k])  # type: ignore[no-any-return]

        def attached_hyphen(k: int) -> bool:
            """Token k is a hyphen glued to the words on both sides ("steroid-sparing")."""
            return (
                k >= 1
                and skip[k]
                and not texts[k].isspace()  # spaCy's `is_space`
                and not spaced(k - 1)
                and not spaced(k)
                and lower[k - 1].isalpha()
            )

        def medical(word: str) -> bool:
            return word.isalpha() and (word in self.rare_modifiers or self.is_term_word(word))

        for h in sorted(labelled):
            word = lower[h]
            # The label test first: it rejects most candidates, and the tests that
            # follow only reject more (the order of rejections does not matter).
            head_match = cover.get(h)
            label = heads[h]
            if label is None and head_match is not None:
                term_label = chosen[head_match][2].label
                if term_label in self.head_noun_term_labels:
                    label = term_label
            if label is None or not word.isalpha():
                continue
            if h >= 1 and skip[h - 1] and not spaced(h - 1):
                continue  # the head is the second half of a hyphenated word
            if head_match is not None and chosen[head_match][:2] != (h, h + 1):
                continue
            left = h
            swallowed: list[int] = []
            n_mod = 0
            k = h - 1
            while k >= 0 and n_mod < self.head_noun_max_modifiers:
                if skip[k]:
                    if texts[k].isspace() or spaced(k) or skip[k + 1]:  # k < h: token k + 1 exists
                        break  # a dash between words, not a hyphenated compound
                    k -= 1
                    continue
                # A hyphenated compound ("muscle-specific"): all of it, or stop here.
                if k >= 2 and attached_hyphen(k - 1) and lower[k].isalpha():
                    first = k - 2
                    while first >= 2 and attached_hyphen(first - 1) and lower[first].isalpha():
                        first -= 2
                    words = [lower[m] for m in range(first, k + 1) if not skip[m]]
                    if not all(w.isalpha() for w in words) or not any(medical(w) for w in words):
                        break
                    if any(w in self.stop_modifiers for w in words if not self.is_term_word(w)) and not any(
                        self.is_term_word(w) for w in words
                    ):
                        break
                    parts = {cover[m] for m in range(first, k + 1) if m in cover}
                    if any(chosen[idx][0] < first or chosen[idx][1] > k + 1 or idx in dead for idx in parts):
                        break
                    swallowed.extend(parts)
                    left = first
                    k = first - 1
                    n_mod += 1
                    continue
                if k in cover:
                    idx = cover[k]
                    i, j, _term = chosen[idx]
                    if j != left or not all(w.isalpha() or skip[m] for m, w in enumerate(lower[i:j], i)):
                        break
                    if lower[i] in self.stop_modifiers or idx in dead:
                        break
                    if i >= 1 and attached_hyphen(i - 1):
                        break  # the term is the tail of a longer hyphenated word
                    swallowed.append(idx)
                    left = i
                    k = i - 1
                    n_mod += 1
                    continue
                w = lower[k]
                if not w.isalpha() or w in self.stop_modifiers:
                    break
                if w not in self.rare_modifiers and not self.is_term_word(w):
                    break
                left = k
                k -= 1
                n_mod += 1
            if n_mod == 0:
                continue
            if head_match is not None:
                swallowed.append(head_match)
                label = chosen[head_match][2].label
            dead.update(swallowed)
            new.append((left, h + 1, None, label, HEAD_NOUN_SOURCE))
        kept = [s for idx, s in enumerate(spans) if idx not in dead]
        return kept + new

"""segment: blocks -> a tree of sections (heading, level, path, paragraphs).

Each block is classified by general rules that need no site vocabulary; a site config only
adds known headings and their levels (`configs/sites/<site>.yaml`). In order of precedence:

1. marked headings: HTML `<h1>`-`<h6>` (their level), markdown `#` lines (level = #s),
   reStructuredText titles (their section depth), lines underlined with `===` (level 1) or
   `---` (level 2), found by `strip_html`;
2. site vocabulary: known level-1 / level-2 headings and heading patterns;
3. numbered headings (`1.`, `2.3`, `IV.`) followed by body: level = numbering depth;
4. colon sub-headings (`Supportive Care:`): a short noun phrase ending in a colon; level 2
   under a level-1 heading, else 1. A colon followed by text is a term and its definition,
   i.e. a paragraph;
5. ALL-CAPS short lines: level 1;
6. short, title-like lines (no final period, no sentence verb) followed by body or by another
   heading: level 1, or 2 for a short lowercase name (a drug-name sub-heading) under a
   level-1 heading. In a document with two or more numbered or ALL-CAPS headings (rules 3
   and 5), such a plain heading after one of them is one level below it, unless it is front
   or back matter ("References").
Levels start at 1: when the highest heading is at level 2 or below (a page whose `<h1>` is
outside its `<article>`), every heading moves up.
A short line is a list item, not a heading, when it follows a sentence ending in a colon
(a list introduction), starts with a bullet, or stands in a run of `list_min_run` short
lines that do not read as Title Case headings. Empty headings are kept as empty sections;
text before the first heading is the untitled opening (heading None).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.document import Block, Document, Link, Removal, Section
from pipeline.markup.html import OUTSIDE_ROOT
from pipeline.sites import CompiledSite, detect_site, heading_key
from pipeline.stages import RunContext, StageError, StageSettings
from pipeline.stages.dedup import TOC_REASON


class Settings(StageSettings):
    # Longest line (in words / characters) that can be a heading.
    max_heading_words: int = Field(12, ge=1)
    max_heading_chars: int = Field(120, ge=1)
    # Longest colon sub-heading in words (before the colon); longer ones are list intros.
    max_colon_heading_words: int = Field(8, ge=1)
    # A run of this many consecutive unknown short lines is a list, not a heading sequence.
    list_min_run: int = Field(3, ge=2)
    # Headings wrapped in a mark (`[Symptoms]`, or ending in a period: `Symptoms.`) are
    # headings when the document writes at least this many so, each over a paragraph: one
    # `[Advertisement]` or one short sentence ("Rest.") is no heading style.
    wrapped_headings_min: int = Field(3, ge=1)
    # ... of at most this many words ("Who is affected.", not "Keep a diary of attacks.").
    wrapped_heading_words: int = Field(5, ge=1)
    # Section names (the synonyms of this section-type vocabulary, relative to the configs
    # folder): in a document whose headings are slugs ("signs-and-symptoms"), a one-word
    # lower-case heading that names a section ("overview") is a slug too, a section of its own
    # and capitalized; other lower-case words ("lenalidomide") stay drug-name sub-headings.
    section_names_from: str = "section_types.yaml"
    # Words that make a short line a sentence rather than a heading (unless it is a question).
    sentence_words: list[str] = Field(
        default_factory=lambda: [
            "is", "are", "was", "were", "be", "been", "may", "can", "could", "will", "would",
            "should", "must", "has", "have", "had", "include", "includes", "including",
            "this", "these", "those", "it", "they", "we", "you", "i", "he", "she", "there",
            "following", "such", "if",
        ]
    )
    # Words kept lowercase when a slug heading is title-cased (except the first word).
    small_words: list[str] = Field(
        default_factory=lambda: ["a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"]
    )
    # A heading left with neither text nor sub-headings because everything under it was page
    # chrome or boilerplate ("Review Date" over credits, "References" over a dropped
    # reference list) goes too, with a `removed.jsonl` row. Empty template headings, with
    # nothing removed under them, stay.
    drop_emptied_headings: bool = True
    # Headings of a document's front and back matter: never the sub-heading of a numbered or
    # ALL-CAPS section ("5. PREVENTION" then "References"). Compared lower-case, without a colon.
    matter_headings: list[str] = Field(
        default_factory=lambda: [
            "abstract", "summary", "keywords", "key words", "references", "bibliography", "sources",
            "further reading", "see also", "external links", "notes", "acknowledgements",
            "acknowledgments", "funding", "conflicts of interest", "conflict of interest", "disclosures",
            "author information", "appendix",
        ]
    )


Kind = Literal["heading", "candidate", "paragraph", "list_item"]

_MARKDOWN = re.compile(r"^(#{1,6})[ \t]+(\S.*)$")
# A bare number counts when a capitalised word follows ("2 Pathophysiology", a textbook's
# chapter), and has one or two digits (not a year: "2023 Guidelines").
# A lone "C." or "L." is a letter of an A./B./C. sequence, not 100 or 50.
_NUMBERED = re.compile(r"^((?:\d{1,3}\.)+\d{0,3}|\d{1,3}\)|(?![CL]\.)[IVXLC]{1,6}\.|\d{1,2}(?=\s+[A-Z]))\s+(\S.*)$")
_BULLET = re.compile(r"^[•·▪◦‣\-*–—]\s")
# A heading wrapped in brackets, or closed by one period (no other sentence end inside).
_WRAPPED = (re.compile(r"^\[([^\[\]]+)\]$"), re.compile(r"^([^.!?;,\[\]]+[^\W\d_]{2})\.$"))
def numbering_depth(text: str) -> int:
    """The depth of a heading's numbering ("2." 1, "2.3" 2, "IV." 1), 0 when it has none.

    >>> numbering_depth("2.3 Imaging"), numbering_depth("1) Rest"), numbering_depth("Imaging")
    (2, 1, 0)
    """
    num = _NUMBERED.match(text.strip())
    return max(1, len([p for p in num.group(1).split(".") if p.strip(")")])) if num else 0


# Words that open a question: a short line they open is a heading even without its "?" and
# with the verbs a sentence has ("What you need to know before you take Metformin").
_QUESTION_WORDS = frozenset({"what", "how", "when", "why", "who", "which", "where"})
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")  # lifestyle-modifications, when_to_see_a_doctor
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass
class Line:
    """A block with the segmenter's verdict."""

    block: Block
    kind: Kind
    level: int | None = None
    display: str | None = None


def strip_closing_hashes(text: str) -> str:
    """Drop a markdown heading's optional closing `#`s (done without a backtracking regex).

    >>> strip_closing_hashes("Treatment ##"), strip_closing_hashes("C# basics")
    ('Treatment', 'C# basics')
    """
    stripped = text.rstrip()
    head = stripped.rstrip("#")
    if head != stripped and (not head or head[-1].isspace()):
        return head.rstrip()
    return stripped


_QUESTION_MARK = re.compile(r"^(?:Q|Question)\s?[:.]\s+(?=\S)")


def display_heading(raw: str, small_words: frozenset[str], slug: bool = False) -> str:
    """The normalized display form of a heading (`slug`: a one-word lower-case heading is a
    slug, "overview", and is capitalized).

    >>> display_heading("lifestyle-modifications", frozenset({"a", "with"}))
    'Lifestyle Modifications'
    >>> display_heading("intervention-with-a-procedure", frozenset({"a", "with"}))
    'Intervention with a Procedure'
    >>> display_heading("## 2.3 Supportive Care: ", frozenset())
    'Supportive Care'
    >>> display_heading("2 Pathophysiology", frozenset()), display_heading("2023 Guidelines", frozenset())
    ('Pathophysiology', '2023 Guidelines')
    >>> display_heading("Q: What causes migraine?", frozenset())
    'What causes migraine?'
    >>> display_heading("when_to_see_a_doctor", frozenset({"a", "to"})), display_heading("overview", frozenset(), True)
    ('When to See a Doctor', 'Overview')
    >>> [display_heading(h, frozenset()) for h in ("[Symptoms]", "See also.", "U.S.")]
    ['Symptoms', 'See also', 'U.S.']
    """
    text = raw.strip()
    md = _MARKDOWN.match(text)
    if md:
        text = strip_closing_hashes(md.group(2))
    num = _NUMBERED.match(text)
    if num:
        text = num.group(2)
    text = _QUESTION_MARK.sub("", text)  # an FAQ's "Q: What causes gout?"
    text = text.strip().rstrip(":").strip()
    if text[:1] == "[" or text[-1:] == ".":  # "[Symptoms]", "Symptoms.": the mark is not the heading's
        for form in _WRAPPED:
            wrapped = form.match(text)
            if wrapped:
                text = wrapped.group(1).strip()
                break
    if _SLUG.match(text):
        words = re.split("[-_]", text)
        text = " ".join(
            w if (i and w in small_words) else w[:1].upper() + w[1:] for i, w in enumerate(words)
        )
    elif slug and text.isalpha() and text.islower():
        text = text.capitalize()  # a one-word slug heading ("overview")
    return " ".join(text.split())


class Classifier:
    """Pure rules that decide what each block is (see the module docstring)."""

    def __init__(self, settings: Settings, site: CompiledSite | None, marked: bool = False,
                 section_names: frozenset[str] = frozenset()) -> None:
        # `marked`: the source marks its headings (an HTML page with <hN>); then a plain short
        # line is a paragraph, and only colon sub-headings and back matter ("See also",
        # "References") are still found by rule.
        self.marked = marked
        self.section_names = section_names  # heading keys of known section names
        self.s = settings
        self.site = site
        self.sentence_words = frozenset(settings.sentence_words)
        self.matter_words = frozenset(settings.matter_headings)
        self.small_words = frozenset(settings.small_words)

    def vocab_level(self, text: str) -> int | None:
        if self.site is None or text.rstrip().endswith(":"):
            return None  # colon headings take the colon rule's level
        key = heading_key(text)
        if key in self.site.level1 or any(p.search(text.strip()) for p in self.site.level1_patterns):
            return 1
        if key in self.site.level2 or any(p.search(text.strip()) for p in self.site.level2_patterns):
            return 2
        return None

    def short(self, text: str) -> bool:
        return len(text) <= self.s.max_heading_chars and len(text.split()) <= self.s.max_heading_words

    def sentence_like(self, text: str, min_words: int = 3) -> bool:
        """More than `min_words` words, one of them a verb or pronoun headings do not use."""
        words = [w.lower() for w in _WORD.findall(text)]
        return len(words) > min_words and any(w in self.sentence_words for w in words)

    def title_like(self, text: str) -> bool:
        """Short, no final sentence punctuation, no term-definition colon, not a sentence."""
        text = text.strip()
        if not text or not self.short(text) or not text[0].isalnum() or _BULLET.match(text):
            return False
        if text.endswith("?"):
            return True
        if text[-1] in ".!;,":
            return False
        if text.endswith(":"):
            body = text[:-1]
            # a long line or a clause ending in a colon introduces a list: it is prose
            if len(body.split()) > self.s.max_colon_heading_words or self.sentence_like(body, 0):
                return False
        else:
            body = text
        if ":" in body or not _WORD.search(body):
            return False
        num = _NUMBERED.match(body)
        first = (num.group(2) if num else body).split(None, 1)[0].lower()
        if first in _QUESTION_WORDS and not text.endswith(":"):
            return True  # a question without its mark: "1. What Metformin is and what it is used for"
        return not self.sentence_like(body)

    def colon_heading(self, text: str) -> bool:
        text = text.strip()
        return text.endswith(":") and self.title_like(text)

    def first_pass(self, block: Block) -> Line:
        text = block.text
        if block.kind == "heading":
            return Line(block, "heading", block.level)
        if block.kind == "item":
            return Line(block, "list_item")
        md = _MARKDOWN.match(text)
        if md and md.group(2):
            return Line(block, "heading", len(md.group(1)))
        vocab = self.vocab_level(text)
        if vocab is not None:
            return Line(block, "heading", vocab)
        if _BULLET.match(text):
            return Line(block, "list_item")
        if self.title_like(text):
            return Line(block, "candidate")
        return Line(block, "paragraph")

    def wrapped_headings(self, lines: list[Line], blank_between: Callable[[int, int], bool] | None = None) -> None:
        """Make candidates of the paragraphs that wrap a title-like line in a mark the document
        uses for its headings (`_WRAPPED`), when it does so `wrapped_headings_min` times or more,
        each time right over a paragraph (no blank line between: `blank_between`, for text; an
        image's `[alt text]` stands apart) and with a word in it (not an evidence grade, `[B]`)."""
        limit = self.s.max_heading_chars
        short = [k for k, ln in enumerate(lines[:-1]) if ln.kind == "paragraph" and len(ln.block.text) <= limit]
        for form in _WRAPPED:
            found = []
            for k in short:
                ln = lines[k]
                text = ln.block.text.strip()
                wrapped = form.match(text) if text[:1] == "[" or text[-1:] == "." else None
                inner = wrapped.group(1) if wrapped else ""
                if (wrapped and len(inner.split()) <= self.s.wrapped_heading_words
                        and (any(c.islower() for c in inner) or self.all_caps(inner))
                        and self.title_like(inner) and lines[k + 1].kind == "paragraph"
                        and not (blank_between is not None and blank_between(ln.block.line, lines[k + 1].block.line))):
                    found.append(ln)
            if len(found) >= self.s.wrapped_headings_min:
                for ln in found:
                    ln.kind = "candidate"

    def resolve(self, lines: list[Line], blank_between: Callable[[int, int], bool] | None = None) -> None:
        """Decide candidates from their neighbours; set heading levels. `blank_between(a, b)`:
        whether only blank lines stand between source lines a and b (text input): one or two
        short lines after a blank line that ends a list of `list_min_run` or more lines with no
        blank line between them, and over a paragraph, are no items of that list ("Causes"
        under the warning signs)."""
        n = len(lines)
        i = 0
        while i < n:
            if lines[i].kind != "candidate":
                i += 1
                continue
            j = i
            while j < n and lines[j].kind == "candidate":
                j += 1
            if blank_between is not None and j < n and lines[j].kind == "paragraph":
                cut = next((k for k in range(j - 1, i, -1)
                            if blank_between(lines[k - 1].block.line, lines[k].block.line)), i)
                first = cut - 1  # the list: the lines right above the blank, none apart
                while first > i and not blank_between(lines[first - 1].block.line, lines[first].block.line):
                    first -= 1
                if j - cut <= 2 and cut - first >= self.s.list_min_run:
                    j = cut  # the lines after the blank are a run of their own, next
            run = lines[i:j]
            prev = lines[i - 1] if i else None
            intro = prev is not None and prev.kind == "paragraph" and prev.block.text.rstrip().endswith(":")
            # Colon, ALL-CAPS and back matter headings stay headings inside a run of short lines,
            # and so do numbered ones whose numbers nest ("3 Infection", "3.1 Diagnosis").
            nested = nested_numbers([ln.block.text for ln in run])
            marked = [not intro and (self.colon_heading(ln.block.text) or self.all_caps(ln.block.text)
                                     or self.matter(ln.block.text) or k in nested) for k, ln in enumerate(run)]
            plain = [ln for ln, m in zip(run, marked, strict=True) if not m]
            if intro or (len(plain) >= self.s.list_min_run and not self.heading_run(plain)):
                for ln, m in zip(run, marked, strict=True):
                    ln.kind = "heading" if m else "list_item"
            else:
                # Two or more short lines right under a colon heading are its list ("Pairs to
                # avoid:" over its rows); one is its sub-heading ("TREATMENT:" over "Self-care").
                under_colon = False
                for k, (ln, m) in enumerate(zip(run, marked, strict=True)):
                    nxt = lines[i + k + 1] if i + k + 1 < n else None
                    if m:
                        under_colon = self.colon_heading(ln.block.text) and marked[k + 1:k + 3] == [False, False]
                    if under_colon and not m:
                        ln.kind = "list_item"
                    else:
                        ln.kind = "heading" if self.candidate_is_heading(ln, nxt) else "paragraph"
            i = j
        current_l1 = False
        marked_level = 0  # level of the last heading the source marked (HTML <hN>)
        marked_offset = 0  # its level less its numbering depth ("1." at level 2: 1)
        # The level of the sections the source marks: back matter found by rule ("See also")
        # goes there, beside them (under a lone title at the top level, one below it).
        marked_levels = [ln.level for ln in lines if ln.kind == "heading" and ln.level is not None and ln.block.kind == "heading"]
        top = min(marked_levels, default=0)
        matter_level = top + (marked_levels.count(top) == 1) if marked_levels else None
        # Numbered and ALL-CAPS headings found by rule: when a document has several, a plain
        # heading after one ("5. TREATMENT", then "Disease-modifying therapy") is its sub-heading.
        styled = [ln for ln in lines if ln.kind == "heading" and ln.level is None and ln.block.kind != "heading"]
        styles_nest = sum(1 for ln in styled if self.styled(ln.block.text)) >= 2
        styled_level: int | None = None  # level of the last numbered or ALL-CAPS heading
        # A page whose headings are slugs ("signs-and-symptoms") writes one-word ones in lower
        # case too ("overview"): those are its sections, not drug-name sub-headings.
        slugs = slug_headed(lines)
        for ln in lines:
            if ln.kind != "heading":
                continue
            if ln.level is None and ln.block.kind == "heading":
                ln.level = marked_level + 1  # a bold pseudo-heading nests under the last <hN>
            elif ln.level is None:
                text = ln.block.text
                level = self.unknown_level(text, current_l1, slugs)
                numbered = numbering_depth(text) > 0
                if marked_level and matter_level is not None and self.matter(text):
                    level = matter_level
                elif marked_level and not self.matter(text):
                    # Under the last heading the source marked (<hN>, underlined): a numbered
                    # heading keeps its depth below that heading's own ("1.1" under an
                    # underlined "1. Introduction"), any other one goes at least one level below.
                    level = max(1, level + marked_offset) if numbered else max(level, marked_level + 1)
                if styles_nest and self.styled(text):
                    styled_level = level
                elif styles_nest and styled_level is not None and not self.matter(text):
                    level = max(level, styled_level + 1)
                ln.level = level
            else:
                styled_level = None  # a heading the source or the site marked starts afresh
                if ln.block.kind == "heading":
                    marked_level = ln.level
                    marked_offset = marked_level - numbering_depth(ln.block.text)  # numbered headings below keep their depth
            current_l1 = current_l1 or ln.level == 1
        # Levels start at 1: a page whose <h1> is outside its <article>, or a fragment that
        # starts at <h2>, has its top sections at level 1 too.
        levels = [ln.level for ln in lines if ln.kind == "heading" and ln.level is not None]
        shift = min(levels) - 1 if levels else 0
        if shift > 0:
            for ln in lines:
                if ln.kind == "heading" and ln.level is not None:
                    ln.level -= shift

    def matter(self, text: str) -> bool:
        """A front or back matter heading (`Settings.matter_headings`)."""
        return " ".join(text.strip().rstrip(":").rstrip(".").lower().split()) in self.matter_words

    def colon_title(self, text: str) -> bool:
        """A document's first line "Topic: subtitle": short, no sentence end, a title-like topic.

        >>> c = Classifier(Settings(), None)
        >>> c.colon_title("Chronic Kidney Disease: A Guide for Primary Care"), c.colon_title("Note: take it daily.")
        (True, False)
        >>> c.colon_title("J Clin Cardiol Rev 2023;12(4):211-218 REVIEW ARTICLE")  # a citation, not a title
        False
        """
        text = text.strip()
        if ": " not in text or text[-1:] in ".!?" or len(text.split()) > self.s.max_heading_words:
            return False
        topic = text.split(": ", 1)[0].strip()
        return bool(topic) and not any(c.isdigit() for c in topic) and self.title_like(topic)

    @staticmethod
    def all_caps(text: str) -> bool:
        """At least 4 letters, all capitals ("KEY POINTS", "TREATMENT")."""
        letters = [c for c in text if c.isalpha()]
        return len(letters) >= 4 and all(c.isupper() for c in letters)

    @staticmethod
    def styled(text: str) -> bool:
        """A numbered (`2.`, `3.1`, `IV.`) or ALL-CAPS heading: one that marks its rank by style.

        >>> Classifier.styled("5. TREATMENT"), Classifier.styled("ETIOLOGY"), Classifier.styled("Disease-modifying therapy")
        (True, True, False)
        """
        text = text.strip()
        return _NUMBERED.match(text) is not None or Classifier.all_caps(text)

    def title_case(self, text: str) -> bool:
        """Every significant word capitalized (a slug counts), no parentheses or digits."""
        if _SLUG.match(text):
            return True
        if any(c in text for c in "()[]0123456789"):
            return False
        words = [w for w in _WORD.findall(text.rstrip(":")) if w.lower() not in self.small_words]
        return len(words) >= 2 and all(w[0].isupper() for w in words)

    def heading_run(self, run: list[Line]) -> bool:
        """A run of short lines that reads as empty template headings rather than a list:
        at least half of them multi-word Title Case."""
        return 2 * sum(1 for ln in run if self.title_case(ln.block.text)) >= len(run)

    def candidate_is_heading(self, line: Line, nxt: Line | None) -> bool:
        text = line.block.text
        if self.colon_heading(text):
            return True
        if self.marked:
            # back matter ("<p>See also</p>" over its links), or an ALL-CAPS line of two or more
            # words ("<p>TREATMENT OPTIONS</p>"; a lone "NOTE" stays a label)
            return nxt is not None and (self.matter(text) or (self.all_caps(text) and len(text.split()) >= 2))
        if nxt is None:
            return text[0].isupper()
        return True  # followed by body or by another heading

    def one_word_slug(self, text: str) -> bool:
        """A one-word lower-case section name ("overview"), a slug heading of one word."""
        text = text.strip()
        return text.isalpha() and text.islower() and heading_key(text) in self.section_names

    def unknown_level(self, text: str, under_l1: bool, slugs: bool = False) -> int:
        text = text.strip()
        depth = numbering_depth(text)
        if depth:
            return depth
        if self.colon_heading(text):
            return 2 if under_l1 else 1
        if self.all_caps(text):
            return 1
        if under_l1 and text[0].islower() and len(text.split()) <= 3 and not _SLUG.match(text):
            return 1 if slugs and self.one_word_slug(text) else 2
        return 1


def slug_headed(lines: list[Line]) -> bool:
    """Whether the document writes headings as slugs ("signs-and-symptoms")."""
    return any(ln.kind == "heading" and _SLUG.match(ln.block.text.strip()) for ln in lines)


def nested_numbers(texts: list[str]) -> set[int]:
    """Positions of the numbered lines of a run whose numbers nest: a line numbered `3.1` or
    deeper under the line numbered `3` or `3.x` just before it, and that line too ("3 Infection",
    "3.1 Diagnosis of infection", "3.1.1 Clinical signs": headings, not a list).

    >>> sorted(nested_numbers(["3 Infection", "3.1 Diagnosis", "3.1.1 Clinical signs", "4 Prevention"]))
    [0, 1, 2]
    >>> sorted(nested_numbers(["1. Rest", "2. Ice", "3. Elevation"]))  # a numbered list
    []
    """
    numbers = []
    for text in texts:
        num = _NUMBERED.match(text.strip())
        numbers.append(num.group(1).rstrip(".)") if num else None)
    found: set[int] = set()
    for k in range(1, len(numbers)):
        parent, child = numbers[k - 1], numbers[k]
        if parent and child and child.startswith(parent + ".") and child[len(parent) + 1:].isdigit():
            found.update((k - 1, k))
    return found


def blank_lines_between(removed: list[Removal]) -> Callable[[int, int], bool]:
    """A test of whether two source lines (1-based) of a text are apart with nothing but blank
    lines (or markup, such as a rule) between them: no line between them was removed (a
    removed line, boilerplate or a repeat, is not a blank line). `removed`: the document's rows.

    >>> apart = blank_lines_between([Removal("boilerplate", "ad", 7, 7, "Advertisement")])
    >>> apart(1, 2), apart(2, 5), apart(5, 8)
    (False, True, False)
    """
    spans = [(r.line_start, r.line_end) for r in removed]

    def between(a: int, b: int) -> bool:
        return b > a + 1 and not any(start < b and end > a for start, end in spans)

    return between


# Removals that take a heading's content with them (not the text outside a page's <main>,
# nor dedup's repeated copies, which have the content elsewhere; its table of contents does).
_CONTENT_REMOVERS = ("strip_html", "boilerplate")


def emptied_headings(lines: list[Line], removed: list[Removal]) -> list[int]:
    """Indexes of the headings that have neither body nor sub-headings, and under which
    (between them and the next block) page chrome or boilerplate was removed. A removal
    numbered as the block after it (HTML pages) counts as under the heading before it. The
    first line is never one: it is the title (a breadcrumb removed under it is not its text).

    >>> def head(text, line, level=1): return Line(Block(text, line), "heading", level)
    >>> lines = [head("Outlook", 1), Line(Block("Good.", 2), "paragraph"), head("Review Date", 3), head("Anatomy", 5)]
    >>> emptied_headings(lines, [Removal("boilerplate", "marketing cues", 4, 4, "Updated by: X, MD")])
    [2]
    """
    at = sorted(r.line_start for r in removed
                if (r.stage in _CONTENT_REMOVERS and not r.reason.startswith(OUTSIDE_ROOT)) or r.reason == TOC_REASON)
    found: list[int] = []
    for idx, ln in enumerate(lines):
        if ln.kind != "heading" or idx == 0:
            continue  # the first line is the document's title, whatever stood under it
        nxt = lines[idx + 1] if idx + 1 < len(lines) else None
        if nxt is not None and (nxt.kind != "heading" or (nxt.level or 1) > (ln.level or 1)):
            continue  # it has a body or sub-headings
        start = ln.block.line
        end = nxt.block.line if nxt is not None else None
        k = bisect_right(at, start)
        if k < len(at) and (end is None or at[k] <= end):
            found.append(idx)
    return found


def build_sections(doc_id: str, lines: list[Line], small_words: frozenset[str],
                   one_word_slug: Callable[[str], bool] = lambda _text: False) -> tuple[list[Section], list[Link]]:
    """Fold classified lines into sections; move link offsets into section coordinates."""
    sections: list[Section] = []
    links: list[Link] = []
    stack: list[tuple[int, str]] = []
    current: Section | None = None
    offset = 0
    slugs = slug_headed(lines)

    def new_section(heading: str | None, raw: str | None, level: int, path: list[str]) -> Section:
        sec = Section(f"{doc_id}:{len(sections):03d}", heading, raw, level, path, [])
        sections.append(sec)
        return sec

    for ln in lines:
        block = ln.block
        if ln.kind == "heading":
            level = ln.level or 1
            display = display_heading(block.text, small_words, slugs and one_word_slug(block.text))
            while stack and stack[-1][0] >= level:
                stack.pop()
            current = new_section(display, block.text, level, [h for _, h in stack])
            stack.append((level, display))
            offset = 0
            shift = block.text.find(display) if display in block.text else None
            for link in block.links:
                # The link's part of the display heading: "Go to:" is "Go to" once the colon goes.
                start = end = 0
                if shift is not None:
                    start = max(link.start - shift, 0)
                    end = min(link.end - shift, len(display))
                if end > start:
                    links.append(Link(display[start:end], link.href, link.title, start, end, current.section_id, "heading"))
                else:  # on a part the display form drops (a number, a markdown mark): no span
                    links.append(Link(link.text, link.href, link.title, 0, 0, current.section_id, "heading"))
            continue
        if current is None:
            current = new_section(None, None, 0, [])
        if current.paragraphs:
            offset += 1
        for link in block.links:
            links.append(Link(link.text, link.href, link.title, offset + link.start,
                              offset + link.end, current.section_id, "text"))
        current.paragraphs.append(block.text)
        offset += len(block.text)
    return sections, links


class Segment:
    name = "segment"

    def __init__(self, settings: Settings, ctx: RunContext, section_names: frozenset[str] = frozenset()) -> None:
        self.settings = settings
        self.section_names = section_names
        self.sites: dict[str, CompiledSite] = ctx.sites
        self.site_choice = ctx.site
        self.small_words = frozenset(settings.small_words)

    def __call__(self, doc: Document) -> Document:
        site = self.sites.get(doc.site) if doc.site else None
        if doc.site is None and "boilerplate" not in doc.steps:
            site = detect_site(doc.text, self.sites, self.site_choice)
        if not doc.blocks:
            removed = sum(int(c.get("lines_removed", 0)) for c in doc.stats.values())
            raise StageError("no_content", f"no text left after cleaning ({removed} lines removed as markup, "
                             "boilerplate or repeats; see removed.jsonl)")
        if not any(c.isalnum() for b in doc.blocks for c in b.text):
            raise StageError("no_content", "no words left after cleaning: only punctuation or symbols "
                             "(a file of mojibake or of markup without text?)")
        marked = doc.kind in ("html", "markdown", "rst") and any(b.kind == "heading" and b.level for b in doc.blocks)
        classifier = Classifier(self.settings, site, marked, self.section_names)
        lines = [classifier.first_pass(b) for b in doc.blocks]
        if len(lines) > 1 and lines[0].kind in ("paragraph", "candidate") and classifier.colon_title(lines[0].block.text):
            lines[0].kind, lines[0].level = "heading", 1  # "Chronic Kidney Disease: A Guide for Primary Care"
        blank_between = blank_lines_between(doc.removed) if doc.kind == "text" else None
        if not marked:
            classifier.wrapped_headings(lines, blank_between)
        classifier.resolve(lines, blank_between)
        if self.settings.drop_emptied_headings:
            emptied = set(emptied_headings(lines, doc.removed))
            for idx in sorted(emptied):
                block = lines[idx].block
                reason = "heading left empty: everything under it was page chrome or boilerplate"
                doc.removed.append(Removal(self.name, reason, block.line, block.line, block.text))
            lines = [ln for idx, ln in enumerate(lines) if idx not in emptied]
            doc.count(self.name, "lines_removed", len(emptied))
            if not lines:
                raise StageError("no_content", "no text left after cleaning (only headings over removed text)")
        doc.sections, doc.links = build_sections(doc.doc_id, lines, self.small_words, classifier.one_word_slug)
        if doc.title is None and doc.sections and doc.sections[0].heading is not None and lines[0].level == 1:
            doc.title = doc.sections[0].heading
        headings = [s for s in doc.sections if s.heading is not None]
        doc.count(self.name, "sections", len(doc.sections))
        doc.count(self.name, "headings", len(headings))
        doc.count(self.name, "empty_sections", sum(1 for s in headings if not s.paragraphs))
        doc.count(self.name, "paragraphs", sum(len(s.paragraphs) for s in doc.sections))
        return doc


def build(settings: Settings, ctx: RunContext) -> Segment:
    from pipeline.stages.section_type import load_rules

    try:
        rules = load_rules(Path(ctx.config_dir) / settings.section_names_from)
    except (OSError, ValueError) as exc:
        raise StageError("segment_section_names", f"{exc} (fix the file or set segment.section_names_from)") from exc
    names = frozenset(heading_key(s) for t in rules.types.values() for s in t.synonyms)
    return Segment(settings, ctx, names)

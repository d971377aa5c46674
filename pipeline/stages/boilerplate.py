"""boilerplate: remove site marketing and navigation lines, each removal with its reason.

Two detectors:
- the site config (`configs/sites/<site>.yaml`): line regexes, and `tail_start` regexes that
  open a trailing zone removed to the end of the document;
- lines learned from the batch (`doc.batch_lines`, set by the batch pre-pass): a line that
  recurs in `batch_min_docs` documents is removed if one cue or a navigation separator
  confirms it;
- a general marketing scorer that needs no site config: each block scores one point per
  distinct marketing/navigation cue it contains (subscribe, cookies, CME credits, prices,
  the site's own name...).
  A block scoring `min_score` or more is removed anywhere; in the document's tail, blocks
  scoring at least 1 are removed together with up to `tail_max_gap` unscored blocks between them;
  above the body, a breadcrumb or menu line (`is_nav_line`) is removed, and anywhere a short
  line with a page number or a page-break marker (`page_line_pattern`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import Field, model_validator

from pipeline.document import Block, Document, Removal
from pipeline.prefilter import Prefiltered, PrefilteredSet, fold
from pipeline.sites import CompiledSite, detect_site
from pipeline.stages import RunContext, StageSettings
from pipeline.stages.fix_text import remove_ghost_a_circumflex


class Settings(StageSettings):
    # Cues of marketing, navigation and account chrome: name -> regex (case-insensitive).
    marketing_cues: dict[str, str] = Field(
        default_factory=lambda: {
            "subscription": r"\bsubscri(?:be|ption)s?\b",
            "account": r"\bsign (?:up|in)\b|\blog ?in\b|\bregister now\b|\bcreate (?:an|your) account\b",
            "cookies": r"\bcookies?\b(?! cutter)",
            # A cookie consent banner says these (a strong cue, below).
            "cookie_consent": (
                r"\bwe use cookies\b|\buse of cookies\b|\baccept (?:all )?cookies\b"
                r"|\bcookie (?:settings|policy|preferences)\b|\bmanage (?:cookie )?preferences\b"
            ),
            "social": r"\bshare (?:this|on)\b|\bfollow us\b",
            "copyright": r"\bcopyright\b|©|\ball rights reserved\b",
            "app": r"\bapp store\b|\bgoogle play\b|\bour (?:mobile )?app\b|\byour \w+ app\b",
            "newsletter": r"\bnewsletter\b",
            "credits": r"\bCME\b|\bCPD\b|\bCE credits?\b|\bcredits\b",
            "certificate": r"\bcertificates?\b",
            "points": (
                r"\bpoints?\b.{0,40}\b(?:redeem|redemption|earn|award)\w*"
                r"|\b(?:redeem|redemption)\w*\b.{0,40}\bpoints?\b|=\s*\d+\s*points\b"
            ),
            "price": r"\$\s?\d|\bUSD\b|€\s?\d|£\s?\d",
            "shop": r"\bmarketplace\b|\bdiscounts?\b|\bfree trial\b|\bbuy now\b",
            "legal": r"\bprivacy policy\b|\bterms of (?:use|service)\b",
            "navigation": r"\bclick here\b|\bread more\b|\blearn more\b|\bskip to (?:main )?content\b",
            "course": r"\bcourses?\b.{0,30}\bcompletion\b|\benroll\b",
            "disclaimer": (
                r"\bdisclaimer\b|\bfor (?:educational|informational) purposes\b"
                r"|\bnot (?:a substitute|intended) for (?:professional )?medical advice\b"
            ),
            "page_chrome": (
                r"\bback to top\b|\bprint this\b|\blast (?:updated|reviewed)\b|\badvertisement\b"
                r"|\b(?:medically )?reviewed by\b|\bwas this (?:page|article) helpful\b"
                r"|\breviewed/revised\b|\bnext review due\b|\bupdated (?:on|by)\b|\b\d+ min(?:ute)? read\b"
                r"|\bhow to cite\b|\burl of this page\b|\bslideshows?\b|^(?:written|fact[- ]checked) by\b[^.!?]{0,80}$"
                r"|\b(?:request|book|make) an appointment\b|\bfind a (?:doctor|specialist|clinic)\b"
                r"|\btop of (?:the )?page\b|\bimage credits?\b|\beditorial (?:process|policy|guidelines)\b"
                r"|\byou are visitor\b"
            ),
            # The wrapper of a newsletter or a forwarded e-mail: header lines, greetings and
            # sign-offs, unsubscribe and confidentiality footers (a strong cue, below).
            "email_chrome": (
                r"\bview (?:it|this (?:email|e-mail|message)) in (?:your|a) (?:web )?browser\b|\bunsubscribe\b"
                r"|\byou are receiving this (?:email|e-mail|message)\b|\bconfidentiality notice\b"
                r"|\bthis (?:email|e-mail|message)(?: and any attachments?)? (?:is|are|may be) confidential\b"
                # (each alternative spelled out whole, so that its literal gates it: "to:", not "to")
                r"|^-+ ?(?:original|forwarded) message ?-+$|^(?:from:|sent:|date:|to:|cc:|bcc:|subject:)\s"
                r"|^(?:hi |hello |dear )[^.!?]{0,40},$|^--$"  # "--": the signature separator
            ),
            # A letter's sign-off line: the short lines after it are its signature (`signature_lines`).
            "sign_off": (
                r"^(?:thanks|thank you|many thanks|(?:kind |best |warm )?regards|best wishes|yours (?:sincerely|faithfully)"
                r"|sincerely),?$"
            ),
            # Review and update stamps at a line's start: "Medically reviewed ...", "Last updated
            # 12.03.2004 by ..." (a strong cue, below).
            "review_stamp": (
                r"^medically reviewed\b|^(?:page )?last (?:reviewed|updated|published|update|modified)\b"
                r"|^expert reviewers?\b"
            ),
            # Calls to action that no monograph text says (a strong cue, below).
            "call_to_action": (
                r"\btake a quiz\b|\btest your knowledge\b|\bmultiple[- ]choice questions\b|\bcomment on this article\b"
                r"|^(?:continue|keep) reading\b|\bsymptom checker\b|\bsee more images\b|\bview patient education\b"
                r"|\bbook (?:a|an|your) (?:free )?(?:same[- ]day )?appointment\b|\bshare\s+email\s+print\b"
                r"|^authored by\b|^peer[- ]reviewed by\b|^read more\b|\bsign (?:my|our) guestbook\b"
                r"|\bwe may earn a (?:small )?commission\b|\bproducts we think are useful\b"
                r"|\bquiz(?:zes)?\b|\bsave to (?:my )?favou?rites\b"
                r"|\bcite this (?:page|article)\b|\bhelp us improve\b|\btake (?:our|the|a) (?:short |quick )?survey\b"
                r"|\bquestion about your visit\b|\bdo not (?:distribute|circulate)\b"
                r"|\bwas this (?:page|article|information|answer) (?:helpful|useful)\b|\buncontrolled (?:copy )?when printed\b"
                r"|^printed (?:by|on)\b|^(?:you are )?(?:logged|signed) in as\b|^pasted from\s*<|\bsee (?:slideshow|answer)$"
                # a share bar: three or more share targets and nothing else
                # (X, the former Twitter, is a separator here: as a target of its own, a letter
                # any line holds would gate this whole pattern, see `pipeline.prefilter`)
                r"|^(?:(?:share|facebook|twitter|linkedin|pinterest|whatsapp|reddit|threads|bluesky|messenger"
                r"|telegram|sms|email|e-mail|mail|copy link|print)\b(?:[\s|·•,/]|\bx\b)*){3,}$"
            ),
            # An author line, "By Jane K. Doe, MD, University of X": its two cues together.
            "byline": (
                r"^by\s+(?:dr\.?\s+)?[\w'-]+\.?(?:\s+[\w'-]+\.?){0,3},"
                r"|^(?:written|medically reviewed|fact[- ]checked) by\b[^.!?]{0,80}$"
            ),
            "credentials": r",\s*(?:md|phd|mbbs|mph|frcp|facp|pharmd|dnp|msn|rn)\b(?:[,.;]|\s|$)",
        }
    )
    # Score at which a block is marketing wherever it stands.
    min_score: int = Field(2, ge=1)
    # Cues that remove a block on their own wherever it stands (it needs no second cue).
    strong_cues: list[str] = Field(
        default_factory=lambda: ["call_to_action", "cookie_consent", "review_stamp", "email_chrome", "sign_off"]
    )
    # After a `sign_off` cue, this many following blocks at most are the signature (a name, a
    # title, a practice's address line), each of at most `signature_max_words` words and on
    # consecutive lines; the first longer block or blank line ends it. A blank line may stand
    # between the sign-off and a signature that opens with a person (`signature_person_pattern`:
    # "Dr Sarah Okafor"): "Thanks," then a blank line and a title keeps the title. A "--" line
    # right under the signature (the e-mail signature separator) continues it. 0: the sign-off
    # alone goes.
    signature_lines: int = Field(4, ge=0)
    signature_max_words: int = Field(16, ge=1)
    signature_person_pattern: str = (
        r"^(?:dr|prof|professor|mr|mrs|ms|miss|mx|nurse|sister)\b\.?\s"
        r"|\b(?:mbchb|mbbs|mrcp|frcp|mrcgp|md|phd|rn|dnp|pharmd)\b"
    )
    # A line this short needs only one cue ("Advertisement", "Share this:", "Print this page"):
    # a short line is chrome, not prose.
    short_line_words: int = Field(4, ge=0)
    # In the tail, a block scoring this much starts or extends a boilerplate zone.
    tail_min_score: int = Field(1, ge=1)
    # Unscored blocks allowed between scored blocks inside the tail zone.
    tail_max_gap: int = Field(2, ge=0)
    # Batch pass: a line recurring in at least this many documents of one batch is "learned";
    # a learned line is removed when a single cue confirms it (instead of `min_score`).
    # An absolute count (not a share) so that a new document can only add learned lines;
    # 0 turns the batch pass off.
    batch_min_docs: int = Field(5, ge=0)
    # A block naming the site itself (the name in the document's own link addresses, e.g.
    # "medtigo" from https://medtigo.com/...) scores one more cue: marketing names the site.
    brand_cue: bool = True
    # Blocks longer than this many characters are never removed by the scorer (a long
    # paragraph that mentions "credits" is content).
    max_block_chars: int = Field(400, ge=1)
    # Before the body (above the first sentence or block longer than `nav_max_words` words), a line of
    # 2 or more short parts split by navigation separators (` | `, ` › `, ` » `, ` / `,
    # ` > `) with no sentence end is a breadcrumb or menu ("Health Library | Arthritis
    # Center"). Only there: a table row written with pipes further down is content.
    nav_max_words: int = Field(12, ge=0)
    nav_max_part_words: int = Field(4, ge=1)
    # Page furniture of printed or paged sources, anywhere: a line of at most
    # `page_line_max_words` words holding a page number ("J Clin Rev 2023;12(4)  Page 2 of 4")
    # or a page-break marker ("Continued"). Case-insensitive.
    page_line_pattern: str = (
        r"\bpage\s+\d{1,4}\s*(?:of|/)\s*\d{1,4}\b|\bpage\s+\d{1,4}$|^\(?continued(?: on next page)?\)?$"
    )
    page_line_max_words: int = Field(15, ge=0)
    # The lines of a trailing list (`tail_start_pattern`): a line of more words that ends a
    # sentence, with no link, is running text again and ends the list.
    tail_list_item_words: int = Field(12, ge=1)
    # A line that heads a site's trailing list of links ("Related articles", "You may also
    # like"), in the second half of the document, opens a zone removed to its end (its
    # items are titles of other pages). Case-insensitive, the whole line.
    tail_start_pattern: str = (
        r"(?:related|more|recommended|popular|trending)\s+(?:articles|topics|content|pages|links|stories|posts|reading)"
        r"(?:\s+for you)?:?|you (?:may|might) also (?:like|be interested in):?|recommended for you:?"
        # a sponsor's box and a hospital's finder box under the article
        r"|(?:[\w ]{0,30} )?from our sponsors:?"
        r"|find an? (?:doctor|physician|specialist|provider|treatment cent(?:er|re)|location)s?:?"
    )


    @model_validator(mode="after")
    def _strong_cues_are_cues(self) -> Settings:
        unknown = sorted(set(self.strong_cues) - set(self.marketing_cues))
        if unknown:
            raise ValueError(f"strong_cues names no marketing cue: {', '.join(unknown)}")
        return self


_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:www\.)?([^/:?#]+)", re.IGNORECASE)


def brand_names(blocks: list[Block]) -> set[str]:
    """Site names taken from the hosts of the document's links (second-level label, 4+ chars).

    >>> from pipeline.document import Link
    >>> brand_names([Block("x", 1, links=[Link("x", "https://www.medtigo.com/drug/a", None)])])
    {'medtigo'}
    """
    names: set[str] = set()
    for block in blocks:
        for link in block.links:
            m = _HOST.match(link.href or "")
            if m:
                labels = m.group(1).lower().split(".")
                if len(labels) >= 2 and len(labels[-2]) >= 4:
                    names.add(labels[-2])
    return names


_NAV_SEPARATORS = re.compile(r"\s[|›»/]\s")
_NAV_SPLIT = re.compile(r"(?<!\s)\s+[|›»/>]\s+")  # from a whitespace run's start only: linear
_NAV_STRONG = re.compile(r"\s[|›»]\s")  # "/" and ">" also write "signs / symptoms", "age > 65"


def is_link_only(block: Block) -> bool:
    """True if one link covers all of the block's text (a menu entry, a skip link).

    >>> from pipeline.document import Link
    >>> is_link_only(Block("Home", 1, links=[Link("Home", "/", None, 0, 4)]))
    True
    >>> is_link_only(Block("See Home", 1, links=[Link("Home", "/", None, 4, 8)]))
    False
    """
    return any(link.start == 0 and link.end == len(block.text) for link in block.links)


def is_nav_line(text: str, max_words: int, max_part_words: int) -> bool:
    """True if `text` reads as a breadcrumb or a menu: 2 or more short parts split by
    navigation separators, no more than `max_words` words, no sentence end.

    >>> is_nav_line("Health Library | Arthritis Center", 12, 4), is_nav_line("Home › Diseases › Gout", 12, 4)
    (True, True)
    >>> is_nav_line("Take 1 tablet | twice daily.", 12, 4), is_nav_line("Signs / Symptoms", 12, 4)
    (False, False)
    >>> is_nav_line("Home / Conditions / Gout", 12, 4)
    True
    """
    if len(text.split()) > max_words or text.rstrip()[-1:] in ".!?:;":
        return False
    parts = _NAV_SPLIT.split(text.strip())
    if len(parts) < (2 if _NAV_STRONG.search(text) else 3):
        return False
    return all(0 < len(p.split()) <= max_part_words for p in parts)


def line_key(text: str) -> str:
    """The form the batch pass counts a line in: lowercase, whitespace collapsed.

    >>> line_key("  Back to   Top ")
    'back to top'
    """
    return " ".join(text.lower().split())


def line_keys(text: str) -> set[str]:
    """Keys of the lines of a decoded document, as the batch pass counts them.

    Cheap on purpose (no ftfy, no HTML parsing): only the ghost `Â` is dropped, so the keys
    of clean lines equal the keys of their blocks.

    >>> sorted(line_keys("Back to top\\u00c2\\nBack  to top\\n\\nLast updated: 2024"))
    ['back to top', 'last updated: 2024']
    """
    text = remove_ghost_a_circumflex(text)[0]
    return {line_key(line) for line in set(text.split("\n")) if line.strip()}  # a scraped page repeats its lines


Cues = PrefilteredSet


def batch_cues(text: str, patterns: Cues) -> list[str]:
    """What confirms a learned line as boilerplate: a cue or navigation separators.

    >>> batch_cues("Home | Drugs | Diseases", PrefilteredSet.compile({}))
    ['navigation separators']
    """
    hits = cues(text, patterns)
    if _NAV_SEPARATORS.search(text):
        hits.append("navigation separators")
    return hits


def learn_lines(key_sets: Iterable[set[str]], min_docs: int) -> dict[str, int]:
    """Keys found in at least `min_docs` of the documents, with their document counts.

    >>> learn_lines([{"a", "b"}, {"a"}, {"a", "c"}], 2)
    {'a': 3}
    """
    counts: Counter[str] = Counter()
    for keys in key_sets:
        counts.update(keys)
    return {k: n for k, n in sorted(counts.items()) if n >= min_docs}


def cues(text: str, patterns: Cues) -> list[str]:
    """The names of the cues that `text` contains (the regexes behind their literal prefilters).

    >>> cues("Subscribe for CME credits", PrefilteredSet.compile({"subscription": "subscribe"}, re.I))
    ['subscription']
    """
    return patterns.names(text)


# Longest line `tail_start_pattern` is tried on (its matches are a few words): the regex
# never runs on a paragraph.
_MAX_TAIL_START_CHARS = 60


def tail_zone(scores: list[int], min_score: int, max_gap: int) -> int:
    """Index where the trailing boilerplate zone starts (len(scores) if none).

    The zone is the longest suffix made of scored blocks with at most `max_gap` unscored
    blocks between two scored ones; it never starts with an unscored block.

    >>> tail_zone([0, 0, 3, 0, 1, 1], 1, 2)
    2
    >>> tail_zone([0, 1, 0, 0, 0, 2], 1, 2)
    5
    >>> tail_zone([2, 0], 1, 2)
    2
    """
    start = len(scores)
    gap = 0
    for i in range(len(scores) - 1, -1, -1):
        if scores[i] >= min_score:
            start, gap = i, 0
        else:
            if start == len(scores):
                return start
            gap += 1
            if gap > max_gap:
                break
    return start


def compile_cues(settings: Settings) -> Cues:
    return PrefilteredSet.compile(settings.marketing_cues, re.IGNORECASE)


class Boilerplate:
    name = "boilerplate"

    def __init__(self, settings: Settings, ctx: RunContext) -> None:
        self.settings = settings
        self.sites: dict[str, CompiledSite] = ctx.sites
        self.site_choice = ctx.site
        self.patterns = compile_cues(settings)
        self.page_line = Prefiltered.compile(settings.page_line_pattern, re.IGNORECASE)
        self.tail_start = re.compile(settings.tail_start_pattern, re.IGNORECASE)
        self.strong = frozenset(settings.strong_cues)
        self.person = re.compile(settings.signature_person_pattern, re.IGNORECASE)

    def prose(self, block: Block) -> bool:
        """A sentence of running text, not a listed title: longer than `tail_list_item_words`
        words, ending in sentence punctuation, no link."""
        text = block.text.rstrip()
        return text[-1:] in ".!?" and len(text.split()) > self.settings.tail_list_item_words and not block.links

    def __call__(self, doc: Document) -> Document:
        site = detect_site(doc.text, self.sites, self.site_choice)
        brands = brand_names(doc.blocks) if self.settings.brand_cue else set()
        doc.site = site.name if site else None
        blocks = doc.blocks
        reasons: list[str | None] = [None] * len(blocks)
        if site:
            self._site_rules(blocks, site, reasons)
        if doc.batch_lines:
            self._batch(blocks, reasons, doc.batch_lines)
        self._scorer(blocks, reasons, brands)
        kept: list[Block] = []
        for block, reason in zip(blocks, reasons, strict=True):
            if reason is None:
                kept.append(block)
            else:
                doc.removed.append(Removal(self.name, reason, block.line, block.line, block.text))
        doc.count(self.name, "lines_removed", len(blocks) - len(kept))
        doc.blocks = kept
        return doc

    def _site_rules(self, blocks: list[Block], site: CompiledSite, reasons: list[str | None]) -> None:
        seen: dict[str, tuple[bool, str | None]] = {}  # text -> (starts the tail, line reason): each text once

        def verdict(text: str) -> tuple[bool, str | None]:
            if text not in seen:
                tail = any(p.search(text) for p in site.tail_start)
                line = next((p for p in site.boilerplate_lines if p.search(text)), None) if not tail else None
                seen[text] = (tail, None if line is None else f"site {site.name}: line pattern {line.pattern!r}")
            return seen[text]

        for i, block in enumerate(blocks):
            tail, reason = verdict(block.text)
            if tail:
                for j in range(i, len(blocks)):
                    reasons[j] = f"site {site.name}: trailing boilerplate zone"
                return
            if reason is not None:
                reasons[i] = reason

    def _batch(self, blocks: list[Block], reasons: list[str | None], learned: frozenset[str]) -> None:
        """A learned line goes when one cue or a navigation separator confirms it: recurring
        alone is not enough, since a site's template headings recur in every document."""
        verdicts: dict[str, str | None] = {}  # text -> reason: a scraped page repeats its lines, decide each once
        for i, block in enumerate(blocks):
            if reasons[i] is not None or block.kind == "heading":
                continue
            if block.text not in verdicts:
                # The reason names the threshold, not the line's count in this batch: that
                # count changes whenever a document holding the line joins the batch, and the
                # document's result (its cache key) must not (see pipeline.batch_lines).
                hits = batch_cues(block.text, self.patterns) if line_key(block.text) in learned else []
                verdicts[block.text] = (
                    f"recurs in {self.settings.batch_min_docs} or more documents of the batch (cues: {', '.join(hits)})"
                    if hits else None)
            reasons[i] = verdicts[block.text]

    def _signature(self, blocks: list[Block], i: int) -> list[int]:
        """The blocks of the signature under the sign-off block `i` (see `Settings.signature_lines`)."""
        s = self.settings
        out: list[int] = []
        taken = 0
        j = i + 1
        while j < len(blocks) and taken < s.signature_lines:
            block = blocks[j]
            text = block.text.strip()
            gap = block.line - blocks[j - 1].line
            if text == "--" and out and gap <= 2:  # the separator (a blank line may stand before it): the signature goes on
                out.append(j)
                taken = 0
                j += 1
                continue
            if block.kind == "heading" or len(text.split()) > s.signature_max_words:
                break
            after_separator = bool(out) and blocks[out[-1]].text.strip() == "--"
            if gap > 1 and not ((not out or after_separator) and self.person.search(text)):
                break  # a blank line ends it, unless a person's name follows: "Thanks,", then a title
            out.append(j)
            taken += 1
            j += 1
        return out

    def _scorer(self, blocks: list[Block], reasons: list[str | None], brands: set[str]) -> None:
        s = self.settings
        brand = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, brands))) + r")\b", re.IGNORECASE) if brands else None
        memo: dict[str, list[str]] = {}  # a scraped page repeats most of its lines: score each once

        def score(text: str) -> list[str]:
            hits = memo.get(text)
            if hits is None:
                hits = memo[text] = cues(text, self.patterns) + (["site name"] if brand and brand.search(text) else [])
            return hits

        strong = self.strong
        found = [score(b.text) if len(b.text) <= s.max_block_chars and b.kind != "heading" else [] for b in blocks]
        for i, hits in enumerate(found):
            if reasons[i] is not None or not hits:
                continue
            if len(hits) >= s.min_score or not strong.isdisjoint(hits):
                reasons[i] = f"marketing cues: {', '.join(hits)}"
            elif len(blocks[i].text.split()) <= s.short_line_words:
                reasons[i] = f"short line with a marketing cue: {', '.join(hits)}"
        page = self.page_line
        for i, block in enumerate(blocks):  # page numbers, running heads, "Continued"
            text = block.text
            # Block text is whitespace-collapsed: words = spaces + 1 (a cheap count first), and
            # the regex runs only when a literal every match needs is there (`Prefiltered`).
            if reasons[i] is None and text.count(" ") < s.page_line_max_words:
                folded = fold(text) if page.literals is not None else ""
                if page.literals is None or any(lit in folded for lit in page.literals):
                    if page.regex.search(text):
                        reasons[i] = "page header, footer or break marker"
        for i, block in enumerate(blocks):  # breadcrumbs and menus above the body
            words = sum(1 for w in block.text.split() if any(c.isalnum() for c in w))  # not the separators
            if words > s.nav_max_words or block.text.rstrip()[-1:] in ".!?":
                break  # the body starts at the first sentence or long block
            if reasons[i] is None and block.kind == "text" and is_nav_line(block.text, s.nav_max_words, s.nav_max_part_words):
                reasons[i] = "navigation line before the body (breadcrumb or menu)"
            elif reasons[i] is None and block.kind != "heading" and is_link_only(block):
                reasons[i] = "link-only line before the body (menu or skip link)"
        for i, hits in enumerate(found):  # a letter's signature under its sign-off
            if "sign_off" in hits:
                for j in self._signature(blocks, i):
                    reasons[j] = reasons[j] or f"signature after the sign-off {blocks[i].text!r}"
        start = tail_zone([len(h) for h in found], s.tail_min_score, s.tail_max_gap)
        for i in range(start, len(blocks)):
            if reasons[i] is None:
                reasons[i] = "marketing tail zone" + (f" (cues: {', '.join(found[i])})" if found[i] else "")
        for i in range(len(blocks) // 2, start):  # "Related articles" and the titles listed under it
            text = blocks[i].text
            if len(text) <= _MAX_TAIL_START_CHARS and self.tail_start.fullmatch(text.strip()):
                for j in range(i, start):
                    if j > i and self.prose(blocks[j]):
                        break  # a sentence ends the list: the text goes on (a "Find a specialist" section)
                    reasons[j] = reasons[j] or f"trailing list of links after {text!r}"
                break


def build(settings: Settings, ctx: RunContext) -> Boilerplate:
    return Boilerplate(settings, ctx)

"""Find the clues in free text: drug names and aliases (exact, then fuzzy), J-codes, NDCs, doses, mg amounts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process

from assistant.models import SourceQuote
from assistant.tools.code_reference import Fact, Reference, ndc_to_11

ClueKind = Literal["name", "alias", "jcode", "ndc", "dose", "payload", "amount"]
ClueStatus = Literal["matched", "ambiguous", "unknown", "invalid"]

# Fuzzy matching: a whole-phrase InDel similarity of at least FUZZY_MIN (0-100), every word of at
# least MIN_FUZZY_WORD letters similar on its own, shorter words equal. "kadcila" vs "kadcyla"
# scores 85.7; "perception" vs "herceptin" scores 84.2 and must not match.
FUZZY_MIN = 85.0
FUZZY_WORD_MIN = 80.0
MIN_FUZZY_WORD = 5
FUZZY_TIE = 1.0  # candidates this close to the best score count as equally good

# Ordinary words never fuzzy-matched to a product, whatever their similarity.
STOPWORDS = frozenset(
    """a an and are as at be by can code codes dose doses drug drugs for from given has have how i in is it
    its kg mg ml my no not of on or our per please same should that the their this to unit units use used
    vial vials was what when which who why with patient patients claim claims bill billing billed infusion
    order ordered pharmacy payer denied denial number brand generic name names correct wrong right versus vs
    instead other than then there these those into about after before under over between does did dosed""".split()
)

_GAP = re.compile(r"[\s\-‐‑–/,+&]*")  # what may sit between the words of one name
_WORD = re.compile(r"[^\W_]+")
_NDC_HYPHEN = re.compile(r"(?<![\w-])(\d{4,5})-(\d{1,5})-(\d{1,3})(?![\w-])")
_NDC_PLAIN = re.compile(r"(?<![\w.,-])(\d{9,13})(?![\w.,-])")
_JCODE = re.compile(r"(?<![\w])([JQCS])[- ]?(\d{4})(?!\d)", re.IGNORECASE)
_DOSE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*mg\s*(?:/|per\s)\s*kg\b", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*mg\b(?!\s*(?:/|per\s)\s*(?:kg|ml|m2|m²|unit|vial))",
    re.IGNORECASE,
)
MAX_AMOUNT_MG = 1_000_000


class Clue(BaseModel):
    """One thing in the query that points to a product (or fails to), with the quote behind it."""

    kind: ClueKind
    text: str = Field(description="the words as they appear in the query")
    start: int = Field(description="offset of text in the query")
    end: int
    status: ClueStatus = Field(
        description="matched: one product (or a parsed amount); ambiguous: several equally; "
        "unknown: not in the reference; invalid: malformed (e.g. wrong NDC digit count)"
    )
    products: list[str] = Field(default_factory=list, description="ids of the products this clue points to")
    matched: str | None = Field(default=None, description="the reference term or normalised code it matched")
    score: float | None = Field(default=None, description="fuzzy similarity 0-100; None for an exact match")
    value: float | None = Field(default=None, description="the number, for a dose (mg/kg) or amount (mg)")
    unit: str = ""
    note: str = ""
    quote: SourceQuote | None = Field(default=None, description="the passage that ties the clue to its product(s)")


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    kind: ClueKind
    products: tuple[str, ...]
    label: str
    quote: SourceQuote
    primary: str | None = None


@dataclass(frozen=True)
class _Word:
    norm: str
    start: int
    end: int


def words(text: str) -> list[str]:
    """Case-folded words: letters and digits only, so 'T-DM1', 't dm1' and 'T DM1' agree."""
    return [m.group().casefold() for m in _WORD.finditer(text)]


class Lexicon:
    """Every name, alias and payload word of the reference, by its words."""

    def __init__(self, ref: Reference):
        self.terms: dict[tuple[str, ...], _Term] = {}
        self.compact: dict[str, _Term] = {}
        for product in ref.products:
            named: list[tuple[ClueKind, Fact]] = [("name", product.brand), ("name", product.generic)]
            named += [("alias", f) for f in product.aliases] + [("payload", f) for f in product.payload_terms]
            for kind, fact in named:
                self._add(_Term(tuple(words(str(fact.value))), kind, (product.id,), str(fact.value), fact.source))
        for amb in ref.ambiguous_terms:  # declared ambiguity overrides a product's own name
            label = str(amb.value)
            term = _Term(tuple(words(label)), "name", tuple(amb.products), label, amb.source, amb.primary)
            self._add(term, override=True)
        self.longest = max(len(w) for w in self.terms)
        self._fuzzy = {
            n: [t for t in self.terms.values() if len(t.words) == n and sum(map(len, t.words)) >= MIN_FUZZY_WORD]
            for n in range(1, self.longest + 1)
        }

    def _add(self, term: _Term, override: bool = False) -> None:
        self.terms[term.words] = term
        if override:
            self.compact["".join(term.words)] = term
        else:
            self.compact.setdefault("".join(term.words), term)

    def exact(self, window: tuple[str, ...]) -> _Term | None:
        return self.terms.get(window) or self.compact.get("".join(window))

    def fuzzy(self, window: tuple[str, ...]) -> tuple[list[_Term], float] | None:
        """The best-scoring terms for a window of ordinary-looking words, or None below the threshold."""
        if not all(w.isalpha() for w in window) or window[0] in STOPWORDS or window[-1] in STOPWORDS:
            return None
        if sum(map(len, window)) < MIN_FUZZY_WORD or (len(window) == 1 and len(window[0]) < MIN_FUZZY_WORD):
            return None
        candidates = [t for t in self._fuzzy.get(len(window), []) if _words_close(window, t.words)]
        if not candidates:
            return None
        phrase = " ".join(window)
        scored = process.extract(phrase, [" ".join(t.words) for t in candidates], scorer=fuzz.ratio, limit=None)
        scored = [(score, candidates[i]) for _, score, i in scored if score >= FUZZY_MIN]
        if not scored:
            return None
        best = max(score for score, _ in scored)
        return [t for score, t in scored if score >= best - FUZZY_TIE], round(best, 1)


def _words_close(window: tuple[str, ...], term: tuple[str, ...]) -> bool:
    for got, want in zip(window, term):
        if len(want) < MIN_FUZZY_WORD or len(got) < MIN_FUZZY_WORD:
            if got != want:
                return False
        elif fuzz.ratio(got, want) < FUZZY_WORD_MIN:
            return False
    return True


def _name_clues(query: str, taken: list[tuple[int, int]], lex: Lexicon) -> list[Clue]:
    """Names, aliases and payload words: longest phrase first, exact before fuzzy at each length."""
    found = [_Word(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(query)]
    found = [w for w in found if not _overlaps(w.start, w.end, taken)]
    used = [False] * len(found)
    clues: list[Clue] = []
    for n in range(min(lex.longest, len(found)), 0, -1):
        for fuzzy in (False, True):
            for i in range(len(found) - n + 1):
                if any(used[i : i + n]) or not _contiguous(query, found[i : i + n], taken):
                    continue
                window = tuple(w.norm for w in found[i : i + n])
                if fuzzy:
                    hit = lex.fuzzy(window)
                    if hit is None:
                        continue
                    terms, score = hit
                else:
                    term = lex.exact(window)
                    if term is None:
                        continue
                    terms, score = [term], None
                start, end = found[i].start, found[i + n - 1].end
                clues.append(_term_clue(query[start:end], start, end, terms, score))
                used[i : i + n] = [True] * n
    return clues


def _term_clue(text: str, start: int, end: int, terms: list[_Term], score: float | None) -> Clue:
    products = list(dict.fromkeys(p for t in terms for p in t.products))
    first = terms[0]
    status: ClueStatus = "matched" if len(products) == 1 else "ambiguous"
    note = ""
    if status == "ambiguous":
        note = f"'{text}' names more than one product: {', '.join(products)}"
    if score is not None:
        note = (note + "; " if note else "") + f"read as '{first.label}' (similarity {score:g}/100)"
    return Clue(
        kind=first.kind, text=text, start=start, end=end, status=status, products=products,
        matched=" / ".join(dict.fromkeys(t.label for t in terms)), score=score, note=note, quote=first.quote,
    )


def primary_of(clue: Clue, lex: Lexicon) -> str | None:
    """For an ambiguous declared term, the product it is the exact name of."""
    term = lex.exact(tuple(words(clue.matched or "")))
    return term.primary if term is not None else None


def _contiguous(query: str, window: list[_Word], taken: list[tuple[int, int]]) -> bool:
    for a, b in zip(window, window[1:]):
        if not _GAP.fullmatch(query[a.end : b.start]) or _overlaps(a.end, b.start, taken):
            return False
    return True


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def _ndc_clue(text: str, start: int, end: int, ref: Reference) -> Clue:
    digits = text.replace("-", "")
    parts = text.split("-")
    layout = "-".join(str(len(p)) for p in parts)
    known = {n.digits11: (p.id, n) for p in ref.products for n in p.ndcs}
    clue = dict(kind="ndc", text=text, start=start, end=end)
    note = ""
    if len(parts) == 3 and len(digits) == 11 and layout == "5-4-2":
        candidates = [digits]
    elif len(parts) == 3 and len(digits) == 10:
        try:
            candidates = [ndc_to_11(text).replace("-", "")]
        except ValueError:
            return Clue(**clue, status="invalid", note=f"NDC '{text}' has segments {layout}; a 10-digit NDC is "
                        "4-4-2, 5-3-2 or 5-4-1 and an 11-digit NDC is 5-4-2")
    elif len(parts) == 1 and len(digits) == 11:
        candidates = [digits]
    elif len(parts) == 1 and len(digits) == 10:
        candidates = [ndc_to_11(f"{digits[:a]}-{digits[a:a + b]}-{digits[a + b:]}").replace("-", "")
                      for a, b, _ in ((4, 4, 2), (5, 3, 2), (5, 4, 1))]
        note = "a 10-digit NDC without hyphens can be read three ways (4-4-2, 5-3-2, 5-4-1); give the hyphens"
    else:
        shape = f"segments {layout}, " if len(parts) > 1 else ""
        return Clue(**clue, status="invalid", note=f"NDC '{text}' has {shape}{len(digits)} digits; an NDC has 10 "
                    "digits (4-4-2, 5-3-2 or 5-4-1) or 11 digits (5-4-2)")
    hits = [known[c] for c in candidates if c in known]
    if len(hits) != 1:
        why = "matches more than one reference NDC" if hits else "is not in the reference"
        return Clue(**clue, status="unknown", note="; ".join(x for x in (f"NDC '{text}' {why}", note) if x))
    product_id, ndc = hits[0]
    if note:
        note = f"read as {ndc.ndc10}, the only reading in the reference; {note}"
    return Clue(**clue, status="matched", products=[product_id], matched=ndc.ndc11, note=note, quote=ndc.source)


def _jcode_clue(text: str, start: int, end: int, code: str, ref: Reference) -> Clue:
    owners = [p for p in ref.products if str(p.jcode.value).upper() == code]
    if owners:
        return Clue(kind="jcode", text=text, start=start, end=end, status="matched", products=[p.id for p in owners],
                    matched=code, quote=owners[0].jcode.source)
    for group in ref.unclassified_codes:
        if code in group.codes:
            return Clue(kind="jcode", text=text, start=start, end=end, status="unknown", matched=code,
                        quote=group.source, note=f"{code} is not a product code in the reference; the billing guide "
                        "mentions it only as an unclassified code used before the permanent code existed")
    listed = ", ".join(sorted(str(p.jcode.value) for p in ref.products))
    return Clue(kind="jcode", text=text, start=start, end=end, status="unknown", matched=code,
                note=f"{code} is not in the reference (it lists {listed})")


def _dose_clue(text: str, start: int, end: int, value: float, ref: Reference) -> Clue:
    hits = [(p.id, d) for p in ref.products for d in p.doses if d.value == value]
    if not math.isfinite(value):
        return Clue(kind="dose", text=text, start=start, end=end, status="invalid", unit="mg/kg",
                    note=f"'{text}' is not a usable dose")
    clue = dict(kind="dose", text=text, start=start, end=end, value=value, unit="mg/kg")
    if not hits:
        return Clue(**clue, status="unknown", note=f"no product in the reference has a {value:g} mg/kg dose")
    products = list(dict.fromkeys(pid for pid, _ in hits))
    context = hits[0][1].context
    return Clue(**clue, status="matched" if len(products) == 1 else "ambiguous", products=products,
                matched=f"{value:g} mg/kg", note=context and f"labelled for: {context}", quote=hits[0][1].source)


def _amount_clue(text: str, start: int, end: int, number: str) -> Clue:
    value = float(number.replace(",", ""))
    clue = dict(kind="amount", text=text, start=start, end=end, unit="mg")
    if not math.isfinite(value) or value <= 0 or value > MAX_AMOUNT_MG:
        return Clue(**clue, status="invalid", note=f"'{text}' is not a usable amount (0 < mg ≤ {MAX_AMOUNT_MG:,})")
    return Clue(**clue, status="matched", value=value)


def find_clues(query: str, ref: Reference, lex: Lexicon) -> list[Clue]:
    """Every clue in the query, in reading order; a span counts once (NDC, code, dose, amount, then names)."""
    clues: list[Clue] = []
    taken: list[tuple[int, int]] = []

    def scan(pattern: re.Pattern[str], make, keep=lambda m: True) -> None:
        for m in pattern.finditer(query):
            if keep(m) and not _overlaps(m.start(), m.end(), taken):
                clues.append(make(m))
                taken.append((m.start(), m.end()))

    # Fewer than 9 digits is a date or a reference number, not a mistyped NDC.
    scan(_NDC_HYPHEN, lambda m: _ndc_clue(m.group(), m.start(), m.end(), ref), lambda m: len(m.group()) - 2 >= 9)
    scan(_NDC_PLAIN, lambda m: _ndc_clue(m.group(), m.start(), m.end(), ref))
    scan(_JCODE, lambda m: _jcode_clue(m.group(), m.start(), m.end(), (m.group(1) + m.group(2)).upper(), ref))
    scan(_DOSE, lambda m: _dose_clue(m.group(), m.start(), m.end(), float(m.group(1)), ref))
    scan(_AMOUNT, lambda m: _amount_clue(m.group(), m.start(), m.end(), m.group(1) + (m.group(2) or "")))
    clues += _name_clues(query, taken, lex)
    return sorted(clues, key=lambda c: c.start)

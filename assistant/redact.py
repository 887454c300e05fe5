"""`redact(text)`: patient identifiers replaced by typed placeholders before anything is logged or stored.

Three passes (assistant/deid/):
1. typed patterns for formats a word filter cannot see whole: e-mail (spelled-out ones too), URLs, IP
   addresses, birth dates, SSNs, Medicare ids, record, encounter, account, member, policy, group, license,
   device and biometric numbers, photo files, phone and fax numbers, ZIP and postal codes, streets (US and
   abroad), ages over 89, admission and death dates, and digit groups that add up to an id;
2. names after a trigger word ("Patient Jane Doe", "Name: DOE, JANE");
3. philter-lite (UCSF Philter): every remaining word it cannot show safe, with this product's vocabulary
   (drugs, payers, codes, units, the corpus' words) as its first safe list: a name in any case, an unknown
   word, a number of five digits or more that is no code.
Kept: doses, weights, dates of service, J-codes, NDCs, ICD-10 and CPT codes, payer and drug names.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

from assistant.deid import names as _trigger_names
from assistant.deid.patterns import DIGIT_RUN, DOB, TYPED

PLACEHOLDERS = ("[NAME]", "[MRN]", "[DOB]", "[PHONE]", "[EMAIL]", "[ADDRESS]", "[SSN]", "[MEMBER_ID]", "[ID]",
                "[DATE]", "[LICENSE]", "[DEVICE]", "[BIOMETRIC]", "[PHOTO]", "[URL]", "[IP]", "[AGE]", "[ZIP]", "[WORD]")
MAX_PASSES = 4
MIN_ID_DIGITS = 7  # "4821 9930": digit groups adding up to this many are an id, not a dose

Keep = Callable[[str], bool]


@lru_cache(maxsize=1)
def _philter():
    """The Philter engine with our safe lists (built once: ~1-2 s, most of it reading Philter's 450k words)."""
    from assistant.deid import safe_words
    from assistant.deid.philter_engine import Philter

    return Philter(safe_words.PATTERNS, safe_words.always(), safe_words.lower_or_caps())


def _sub(match: re.Match, placeholder: str, keep: Keep | None) -> str:
    whole = match.group(0)
    if keep and keep(whole):
        return whole
    groups = match.groupdict()
    if groups.get("kw") is not None and groups.get("id") is not None:
        return match.group("kw") + placeholder
    return placeholder


def _digit_run(match: re.Match, keep: Keep | None) -> str:
    run = match.group(0)
    if sum(c.isdigit() for c in run) < MIN_ID_DIGITS or (keep and keep(run)):
        return run
    before = match.string[max(0, match.start() - 16):match.start()].lower()
    if "ndc" in before or run.startswith("50242") or _A_DATE.fullmatch(run) or _YEARS.fullmatch(run):
        return run  # an NDC (50242-0088-01) or a date of service (2026-06-01)
    pieces = run.split(" ")
    after = match.string[match.end():match.end() + 8]
    if len(pieces) > 1 and (_UNIT_AFTER.match(after) or _CODE_BEFORE.search(before)):
        # "CPT 96413 70 kg": a code and a figure side by side are not one spaced id
        rest = pieces[1:] if _CODE_BEFORE.search(before) else pieces
        rest = rest[:-1] if _UNIT_AFTER.match(after) else rest
        if sum(c.isdigit() for p in rest for c in p) < MIN_ID_DIGITS:
            return run
    if len(pieces) > 1 and any(_A_DATE.fullmatch(p) or _YEARS.fullmatch(p) for p in pieces):
        # "DOS 2026-06-01 70 kg": a date beside a figure is not one spaced id; the rest is judged on its own
        rest = [p for p in pieces if not (_A_DATE.fullmatch(p) or _YEARS.fullmatch(p))]
        if sum(c.isdigit() for p in rest for c in p) < MIN_ID_DIGITS:
            return run
    return "[ID]"


_YEARS = re.compile(r"(?:19|20)\d\d-(?:19|20)?\d\d")  # 2019-2020
_UNIT_AFTER = re.compile(r"\s*(?:kg|kgs|lb|lbs|mg|mcg|ml|units?|u\b|%|y/?o|yrs?|years?|cycles?|vials?|mg/kg)\b", re.I)
_CODE_BEFORE = re.compile(r"\b(?:cpt|hcpcs|icd-?10(?:-cm)?|ndc|j-?code|code|modifier|dx)\s*[:#]?\s*$", re.I)
_A_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2})")


def _patterns(text: str, keep: Keep | None) -> str:
    for placeholder, pattern in TYPED:
        text = pattern.sub(lambda m, p=placeholder: _sub(m, p, keep), text)
    return DIGIT_RUN.sub(lambda m: _digit_run(m, keep), text)


_WORDS = re.compile(r"[^\W_]+")
_NAME_GAP = re.compile(r"[ \t]*[,-]?[ \t]*")


def _window(text: str, start: int, end: int) -> str:
    """The word with up to two words either side: what `keep` is asked about (a corpus quote is public)."""
    left = text[:start].rsplit(None, 2)
    right = text[end:].split(None, 2)
    return (" ".join(left[-2:]) + (" " if left else "") + text[start:end] + " " + " ".join(right[:2])).strip()


def _words(text: str, keep: Keep | None) -> str:
    """Philter's pass: each word it cannot show safe becomes [NAME], [ID] or [WORD]."""
    engine = _philter()
    found = {f.start: f for f in engine.unsafe(text)}
    tokens = list(_WORDS.finditer(text))
    kinds: dict[int, str] = {}
    for i, m in enumerate(tokens):
        f = found.get(m.start())
        if f is None:
            continue
        word = m.group(0)
        if keep and keep(_window(text, m.start(), m.end())):
            continue
        if not f.name and _misspelt_or_inflected(word):
            continue
        kinds[i] = ("[ID]" if any(c.isdigit() for c in word) else
                    "[NAME]" if f.name or word[:1].isupper() else "[WORD]")
    # a name-list word next to a name is part of it, whatever its case or safe meaning ("jane doe", "DOE, jane"),
    # and so is an unknown word ("kwabena asantewaa"); a drug or payer word never is ("Oscar")
    always = _domain()[2]
    for i in range(len(tokens) - 1):  # "hope brown": a first name then a last name, in lower case, is a name
        a, b = tokens[i].group(0), tokens[i + 1].group(0)
        if (a.islower() and b.islower() and a in engine.first and b in engine.last and _NAME_GAP.fullmatch(
                text, tokens[i].end(), tokens[i + 1].start()) and not {a, b} & (always | _trigger_names.KNOWN_WORDS)):
            kinds[i] = kinds[i + 1] = "[NAME]"
    for _ in range(2):
        for i, m in enumerate(tokens):
            if kinds.get(i) not in (None, "[WORD]") or (i not in kinds and m.group(0).lower() not in engine.names):
                continue
            if i not in kinds and m.group(0).lower() in always:
                continue
            for j in (i - 1, i + 1):
                if kinds.get(j) == "[NAME]" and 0 <= j < len(tokens):
                    a, b = sorted((tokens[i], tokens[j]), key=lambda t: t.start())
                    if _NAME_GAP.fullmatch(text, a.end(), b.start()):
                        kinds[i] = "[NAME]"
                        break
    if not kinds:
        return text
    out, pos = [], 0
    for i in sorted(kinds):
        m = tokens[i]
        out.append(text[pos:m.start()])
        out.append(kinds[i])
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


@lru_cache(maxsize=1)
def _domain() -> tuple[frozenset[str], list[str], frozenset[str]]:
    from assistant.deid import philter_engine, safe_words

    _philter()  # Philter's safe list is loaded with it
    always = safe_words.always()
    return philter_engine.common_words(), sorted(w for w in always if len(w) >= 5), always


def _misspelt_or_inflected(word: str) -> bool:
    """A word Philter cannot show safe that is a known word with an ending ("restaged", "enhertus") or a slip of
    a drug or payer word ("kadcylla", "lapatanib"): kept. Never a word a name list holds (checked before)."""
    from rapidfuzz.distance import Levenshtein

    low = word.lower()
    if not low.isalpha() or len(low) < 5:
        return False
    known, domain, _always = _domain()
    for ending in ("'s", "s", "es", "ed", "d", "ing", "er", "ly"):
        if low.endswith(ending) and low[: -len(ending)] in known:
            return True
    return any(Levenshtein.distance(low, w, score_cutoff=2) <= (1 if len(low) < 7 else 2) for w in domain
               if abs(len(w) - len(low)) <= 2)


_REPEATS = re.compile(r"(\[[A-Z_]+\])(?:(?:[ \t]+|[ \t]*[,-][ \t]*)\1)+")


def _merge(text: str) -> str:
    """'[NAME] [NAME]' and '[NAME]-[NAME]' are one name."""
    return _REPEATS.sub(lambda m: m.group(1), text)


def redact(text: str, *, keep: Keep | None = None) -> str:
    """The text with patient identifiers replaced by [NAME], [MRN], [DOB] ... placeholders.

    `keep(span)` may spare a match, e.g. a payer phone number quoted from a corpus document.
    Never raises: anything that is not text is redacted as its repr.
    """
    if not isinstance(text, str):
        text = repr(text)
    if not text.strip():
        return text
    for _ in range(MAX_PASSES):  # a replacement can expose a neighbour: run to a fixed point
        new = _GLUED.sub(r"\1", _trigger_names.names(_patterns(text, keep), keep))
        if new == text:
            break
        text = new
    return _GLUED.sub(r"\1", _merge(_words(text, keep)))


# Digits glued to a placeholder ("[MRN].200.0000") are the rest of that identifier, or of the next one
_GLUED = re.compile(r"(\[[A-Z_]+\])(?:[.\-/]\d+)+(?![\w])")

AGE_CAP = 90  # Safe Harbor: ages over 89 are stored as "90 or older"


def cap_age(value):
    """An age as it may be stored: over 89 becomes 90; anything else unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > AGE_CAP - 1:
        return AGE_CAP
    return value


_DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%m%d%Y")


def dates_of_birth(text: str) -> set[str]:
    """The birth dates stated in the text, as YYYY-MM-DD: to find them again once parsed into fields."""
    import datetime as dt

    found = set()
    for match in DOB.finditer(text if isinstance(text, str) else ""):
        raw = match.group("id") or match.group("bare") or ""
        raw = re.sub(r"(?<=\d)[-.](?=\d)", "/", raw)
        raw = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b|\bof\b|[,.]", " ", raw, flags=re.IGNORECASE)
        raw = " ".join(raw.replace("-", " ").replace("Sept", "Sep").split())
        for fmt in _DATE_FORMATS:
            try:
                day = dt.datetime.strptime(raw, fmt).date()
            except ValueError:
                continue
            if day > dt.date.today():  # "3/14/61" is 1961, not 2061
                try:
                    day = day.replace(year=day.year - 100)
                except ValueError:  # 29 February in a century year that is not a leap year
                    day = day.replace(year=day.year - 100, day=28)
            found.add(day.isoformat())
            break
    return found


def redact_exception(exc: BaseException) -> str:
    """A traceback safe to log: every line through the patterns and trigger names, the exception's message (which
    may quote user text) through Philter too. File names and code are not words Philter knows, so they are spared it."""
    import traceback

    out = []
    for line in traceback.TracebackException.from_exception(exc).format():
        line = _trigger_names.names(_patterns(line, None), None)
        head, sep, message = line.partition(": ")
        if sep and not line.startswith((" ", "Traceback")) and re.fullmatch(r"[\w.]+", head):
            line = head + sep + _merge(_words(message, None))
        out.append(line)
    return "".join(out)

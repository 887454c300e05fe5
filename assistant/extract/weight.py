"""Weight: '70 kg', 'wt 154#', '154lbs'; a number with no unit is kept without one (the unit is asked for)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.extract.reading import Reading
from assistant.extract.text import Sentence

# A number is read whole: no digits taken from inside 10070, 1,070 or 1e308.
_NUM = r"(?<![\d.,eE])(\d{1,4}(?:\.\d+)?)(?!\d|,\d|\.\d|[eE]\d)"
_UNIT = r"(kgs?|kilo(?:gram)?s?|kilos|lbs?|pounds?|#)(?![a-z/])"
# A minus sign touching the number is kept (not after a digit: "60-70 kg" is a range; not a spaced dash:
# "today - 70 kg"), so that "-70 kg" reaches the calculator as an impossible weight instead of 70 kg.
_WEIGHT = re.compile(rf"(?:\b(?:wt|weight|weighs|weighing)\s*(?:is|of|=|:)?\s*)?(?:(?<![\w.])([-−])(?=\d))?{_NUM}\s*-?\s*{_UNIT}",
                     re.IGNORECASE)
_LONE_UNIT = re.compile(r"^\s*(?:in\s+)?(kgs?|kilo(?:gram)?s?|lbs?|pounds?)\s*\.?\s*$", re.IGNORECASE)
_BARE = re.compile(rf"\b(?:wt|weight|weighs|weighing)\s*(?:is|of|=|:)?\s*{_NUM}\b(?!\s*(?:mg|kg|lb|%|mm|cm|y|\.\d))", re.IGNORECASE)
_LONE_NUMBER = re.compile(rf"^\s*{_NUM}\s*\.?\s*$")
_NUMBER_BEFORE = re.compile(rf"^\s*{_NUM}\s+(?:mbc|ebc|metastatic|adjuvant|adj|pt|patient|kadcyla|t-?dm1|dose)\b", re.IGNORECASE)
_NUMBER_PATIENT = re.compile(rf"\b(?:a|an|for)\s+{_NUM}\s+(?:patient|pt|woman|man|female|male|lady|gentleman)\b", re.IGNORECASE)


def _unit(raw: str) -> str:
    return "kg" if raw.lower().startswith("k") else "lb"


# "lbs not kg", "that was lbs", "in pounds": a unit given or corrected on its own
_UNIT_ONLY = re.compile(r"\b(kgs?|kilos?|kilograms?|lbs?|pounds?)\s*,?\s*not\s+(?:in\s+)?(?:kgs?|kilos?|lbs?|pounds?)\b|"
                        r"\bnot\s+(?:kgs?|lbs?|pounds?|kilos?)\s*,?\s*(?:but\s+)?(?:in\s+)?(kgs?|kilos?|lbs?|pounds?)\b|"
                        r"\b(?:that was|it was|it's|its|was in|in)\s+(lbs?|pounds?|kgs?|kilos?|kilograms?)\b", re.IGNORECASE)


# Words that make a weight something other than today's: a change ("lost 5 kg"), a past value ("was 80 kg",
# "baseline", "at diagnosis"), or today's ("now", "current"). Looked for in the mention's clause only.
_CHANGE_BEFORE = re.compile(r"\b(?:lost|gained|losing|gaining|dropped|down|up|loss of|gain of)\s*(?:about|~|of)?\s*$",
                            re.IGNORECASE)
_CHANGE_AFTER = re.compile(r"^\s*(?:weight\s+)?(?:loss|gain|lost|gained|drop|decrease|increase)\b", re.IGNORECASE)
_PAST = re.compile(r"\b(?:was|were|prior|previous(?:ly)?|last (?:visit|cycle|time|week|month|infusion)|baseline|"
                   r"at (?:diagnosis|dx|cycle \d+|c\d+)|ago|before|usual|pre-?treatment|down from|up from|"
                   r"in (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\b", re.IGNORECASE)
_NOW = re.compile(r"\b(?:today|now|current(?:ly)?|this (?:morning|visit|am)|latest|most recent|weighs)\b", re.IGNORECASE)
_UNSURE = re.compile(r"\b(?:which|not sure|unsure|unclear|\?)", re.IGNORECASE)
_NEGATED = re.compile(r"\bnot\s*$", re.IGNORECASE)
# Between two weights, words that take the first one back: the later one is the weight.
_CORRECTION = re.compile(r"\b(?:no wait|wait|sorry|sry|srry|my bad|i mean|i meant|correction|corrected|actually|scratch that|oops|"
                         r"make (?:it|that)|typo|(?-i:er|erm|um)|no)\b", re.IGNORECASE)  # "ER+" is a receptor, not "er"
_CLAUSE_END = re.compile(r"[,;()\n]|\.(?!\d)|\?")
# "70 kg wait no 72": a corrected number with no unit keeps the unit it corrects.
_BARE_CORRECTION = re.compile(rf"^\W*(?:{_CORRECTION.pattern})\W*(?:(?:no|wait|sorry)\W*)*{_NUM}\b"
                              r"(?!\s*(?:mg|mcg|ml|%|cm|mm|y|yo|years?|cycles?|weeks?|days?|\.\d))", re.IGNORECASE)
# "sorry 68 not 86", "wait no 70", "68 not 86": a short message putting a number right is taken as the weight
# only within WEIGHT_LIKE (a bare 3 or 3.6 is a dose level, 2 a cycle); its unit is the one it corrects.
CORRECTION_CHARS = 60
WEIGHT_LIKE = (25, 300)
_NOT_WEIGHT_AFTER = r"(?!\s*(?:mg|mcg|ml|%|cm|mm|y|yo|years?|cycles?|weeks?|wks?|days?|doses?|units?|u\b|\.\d|/|x\b))"
_CORRECTED_NUMBER = re.compile(
    rf"^\W*(?:(?:{_CORRECTION.pattern}|it'?s|she'?s|he'?s|is|pt is|should be|meant)\W*)+{_NUM}\b{_NOT_WEIGHT_AFTER}|"
    rf"^\W*{_NUM}\s*,?\s*not\s+\d", re.IGNORECASE)
SAME_WEIGHT = 0.015  # 70 kg and 154 lb are one weight written twice (rounded conversions differ by < 1.5 %)


@dataclass
class _Mention:
    s: Sentence
    at: int  # offset in the message
    end: int
    value: float
    unit: str
    m: re.Match | _Span
    kind: str = "weight"  # weight | change | past | negated
    now: bool = False

    @property
    def kg(self) -> float:
        return self.value if self.unit == "kg" else self.value * 0.45359237


def _clause(text: str, start: int, end: int, lo: int, hi: int) -> tuple[str, str]:
    """The words of the mention's clause before and after it, not reaching past the weights beside it."""
    cut = [m.end() for m in _CLAUSE_END.finditer(text, lo, start)]
    before = text[cut[-1] if cut else lo:start]
    after_end = _CLAUSE_END.search(text, end, hi)
    return before, text[end:after_end.start() if after_end else hi]


# "72 or 80 kg?": two weights sharing one unit
_SHARED_UNIT = re.compile(rf"{_NUM}\s*(?:or|/|vs\.?|versus)\s*{_NUM}\s*-?\s*{_UNIT}", re.IGNORECASE)


class _Span:
    """Where the first weight of '72 or 80 kg' sits, shaped like the weight pattern's match (group 3: the unit)."""

    def __init__(self, start: int, end: int, unit: tuple[int, int]):
        self._spans = {0: (start, end), 3: unit}

    def start(self, group: int = 0) -> int:
        return self._spans[group][0]

    def end(self, group: int = 0) -> int:
        return self._spans[group][1]


def _shared(s: Sentence) -> list[_Mention]:
    out = []
    for m in _SHARED_UNIT.finditer(s.text):
        span = _Span(m.start(1), m.end(1), (m.start(3), m.end(3)))
        out.append(_Mention(s, s.start + m.start(1), s.start + m.end(1), float(m.group(1)), _unit(m.group(3)), span))
    return out


def _mentions(r: Reading) -> list[_Mention]:
    out = []
    for s in r.sentences:
        out.extend(_shared(s))
        matches = list(_WEIGHT.finditer(s.text))
        for i, m in enumerate(matches):
            value = float(m.group(2)) * (-1 if m.group(1) else 1)
            mention = _Mention(s, s.start + m.start(), s.start + m.end(), value, _unit(m.group(3)), m)
            lo = matches[i - 1].end() if i else 0
            hi = matches[i + 1].start() if i + 1 < len(matches) else len(s.text)
            before, after = _clause(s.text, m.start(), m.end(), lo, hi)
            if _CHANGE_BEFORE.search(before) or _CHANGE_AFTER.match(after):
                mention.kind = "change"
            elif _NEGATED.search(before):
                mention.kind = "negated"
            elif _PAST.search(before) or _PAST.search(after) or s.section == "history":
                mention.kind = "past"
            # "not sure which is current" asks which weight is today's; it does not say
            mention.now = bool(_NOW.search(before) or _NOW.search(after)) and not _UNSURE.search(before + after)
            out.append(mention)
    return sorted(out, key=lambda m: m.at)


def _pick(r: Reading, found: list[_Mention]) -> _Mention | list[_Mention] | None:
    """Today's weight, or the weights that disagree (asked for), or None when there is no weight."""
    live: list[_Mention] = []
    for mention in found:
        if mention.kind != "weight":
            continue
        if live and _CORRECTION.search(r.message[live[-1].end:mention.at]):
            r.notes.append(f"Weight read as {r.evidence(mention.s, mention.m.start(), mention.m.end()).text}: "
                           f"the message took back {r.evidence(live[-1].s, live[-1].m.start(), live[-1].m.end()).text}.")
            live[-1] = mention  # "80 kg, no wait 70 kg"
        else:
            live.append(mention)
    if not live:
        return None
    now = [m for m in live if m.now]
    live = now or live
    first = live[0]
    if all(abs(m.kg - first.kg) <= SAME_WEIGHT * abs(first.kg) for m in live):
        return first
    return live


def read(r: Reading) -> None:
    text = r.message
    whole = r.sentences[0] if r.sentences else None
    if whole is None:
        return
    found = _mentions(r)
    picked = _pick(r, found)
    if isinstance(picked, list):
        # two weights, neither taken back: asked, never guessed
        r.conflicts["weight"] = [r.evidence(m.s, m.m.start(), m.m.end()).text for m in picked]
        first = picked[0]
        r.routed.set("weight", first.value, evidence=[r.evidence(first.s, first.m.start(), first.m.end())])
        r.routed.set("weight_unit", first.unit, evidence=[r.evidence(first.s, first.m.start(3), first.m.end(3))])
        return
    if picked is None and found:
        picked = next((m for m in found if m.kind == "past"), None)  # only a past weight: as before, with its words
    if picked is not None:
        s, m = picked.s, picked.m
        if bare := _BARE_CORRECTION.match(text[picked.end:]):
            # "70 kg wait no 72": the corrected number, in the unit it corrects
            a = picked.end + bare.start(1) - s.start
            b = picked.end + bare.end(1) - s.start
            r.put(s, "weight", float(bare.group(1)), a, b)
            r.notes.append(f"Weight read as {bare.group(1)} {picked.unit}: the message took back "
                           f"{r.evidence(s, m.start(), m.end()).text}.")
        else:
            r.put(s, "weight", picked.value, m.start(), m.end())
        r.put(s, "weight_unit", picked.unit, m.start(3), m.end(3))
        return
    if m := _LONE_UNIT.match(text):
        s = whole
        r.put(s, "weight_unit", _unit(m.group(1)), m.start(1) - s.start, m.end(1) - s.start)
        return
    for s in r.sentences:
        if m := _UNIT_ONLY.search(s.text):
            g = next(i for i in (1, 2, 3) if m.group(i))
            r.put(s, "weight_unit", _unit(m.group(g)), m.start(g), m.end(g))
            break
    for s in r.sentences:
        if (m := _BARE.search(s.text)) or (m := _NUMBER_PATIENT.search(s.text)) or (m := _NUMBER_BEFORE.search(s.text)) or (
                len(r.sentences) == 1 and (m := _LONE_NUMBER.match(s.text))):
            r.put(s, "weight", float(m.group(1)), m.start(1), m.end(1))
            return
    if len(text) <= CORRECTION_CHARS and whole is not None and (m := _CORRECTED_NUMBER.match(whole.text)):
        g = 1 if m.group(1) else 2
        if WEIGHT_LIKE[0] <= float(m.group(g)) <= WEIGHT_LIKE[1]:
            # "sorry 68 not 86", "wait no 70, wrong pt chart": a number put right, without its unit
            r.put(whole, "weight", float(m.group(g)), m.start(g), m.end(g))

"""Weight: '70 kg', 'wt 154#', '154lbs'; a number with no unit is kept without one (the unit is asked for)."""

from __future__ import annotations

import re

from assistant.extract.reading import Reading

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


def read(r: Reading) -> None:
    text = r.message
    whole = r.sentences[0] if r.sentences else None
    if whole is None:
        return
    for s in r.sentences:
        if m := _WEIGHT.search(s.text):
            value = float(m.group(2)) * (-1 if m.group(1) else 1)
            r.put(s, "weight", value, m.start(), m.end())
            r.put(s, "weight_unit", _unit(m.group(3)), m.start(3), m.end(3))
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

"""Dose level, cycle, interval, course length, and dose changes ('reduced to 3 mg/kg', 'C3D1', 'q3w')."""

from __future__ import annotations

import re

from assistant.extract.reading import Reading

_NUM = r"(?<![\d.])(\d{1,3}(?:\.\d+)?)(?![\d])"
_MG_PER_KG = re.compile(rf"{_NUM}\s*(?:mg\s*/\s*kg|mg\s+per\s+kg|mg/kilo|mpk|mg\s*kg-1)", re.IGNORECASE)
_CYCLE = re.compile(r"\bc(\d{1,2})\s*d\d{1,2}\b|\b(?:cycle|cyc|cy|c)\s*#?\s*(\d{1,2})\b(?!\s*(?:kg|lb|mg|%))|"
                    r"\b(\d{1,2})(?:st|nd|rd|th)\s+(?:cycle|dose|infusion|tx|treatment)\b", re.IGNORECASE)
_FIRST = re.compile(r"\b(?:first|initial|1st|very first)\s+(?:(?:kadcyla|t-?dm-?1|ever)\s+)?(?:cycle|dose|infusion|tx)\b",
                    re.IGNORECASE)
_EVERY = re.compile(r"\b(?:every|q)\s*(\d{1,2})\s*(days?|d|weeks?|wks?|w)\b|\bq(\d)wk?s?\b|\b(weekly|qw|q1w|qwk)\b", re.IGNORECASE)
_OF = re.compile(r"\b(?:dose|cycle|cyc|c|infusion)\s*#?\s*(\d{1,2})\s*(?:of|/)\s*(\d{1,2})\b", re.IGNORECASE)
_TIMES = re.compile(r"(?:kadcyla|t-?dm-?1|q3w|q21d?|q\s*21\s*d(?:ays)?|q\s*3\s*w(?:ee)?ks?|mg/kg)[^.;\n]{0,20}?\bx\s?(\d{1,2})\b",
                    re.IGNORECASE)
_DOSES = re.compile(r"\b(\d{1,3})\s+(?:total\s+)?(?:doses|cycles|infusions)\b(?!\s+(?:ago|so far|given|completed|done|in))|"
                    r"\b(?:course\s+of|total\s+of|for)\s+(\d{1,3})\s+(?:doses|cycles)\b", re.IGNORECASE)
_REDUCED = re.compile(r"\b(?:dose[- ]?reduc\w*|reduc(?:ed|tion)|decreas(?:ed|e)|lower(?:ed)?|dropped|cut|bumped down|"
                      r"dl\s*-\s*1|dose level\s*-\s*[12]|de-?escalat\w*)\b", re.IGNORECASE)
_INCREASE = re.compile(r"\b(?:dose (?:increase|escalation)|increase (?:the|her|his) dose|escalat(?:e|ion)|re-?escalat\w*|"
                       r"back up to|go back up|bump(?:ed)? (?:back )?up|go(?:ing)? up to|increas(?:e|ing) (?:it )?to|rais(?:e|ing) (?:it )?to|"
                       r"higher dose)\b", re.IGNORECASE)


_FROM_TO = re.compile(rf"\bfrom\s+{_NUM}\s*(?:mg\s*/\s*kg)?\s*(?:to|->|→)\s*{_NUM}\s*mg\s*/\s*kg", re.IGNORECASE)
_PRESCRIBED = re.compile(r"\b(?:order(?:ed)?(?:\s+dose)?|orders?\s+(?:says|is|reads|for)|rx|prescribed|dose\s+(?:of|is|=)|giving|"
                         r"md ordered|onc ordered)\b[^.\d\n]{0,25}?(\d{2,4}(?:\.\d+)?)\s*mg\b(?!\s*/)|"
                         r"(?<![\d.])(\d{2,4}(?:\.\d+)?)\s*mg\s+(?:ordered|prescribed|order)\b", re.IGNORECASE)
# "units for 252mg", "how many vials for 300 mg": a dose in mg asked about, as prescribed
_UNITS_FOR = re.compile(r"\b(?:units|vials|waste|volume|ml|bill)\s+(?:for|of|on)\s+(?:a\s+)?(\d{2,4}(?:\.\d+)?)\s*mg\b(?!\s*/)",
                        re.IGNORECASE)
_BACK_TO = re.compile(rf"\b(?:go(?:ing)?|come|coming|get|getting|put (?:her|him) |wants?(?: to go)?|want her)\s*back\s+(?:up\s+)?to\s+"
                      rf"{_NUM}(?:\s*mg\s*/\s*kg)?|"
                      rf"\bre-?escalat\w*\s+(?:back\s+)?to\s+{_NUM}", re.IGNORECASE)
_STOCK = re.compile(r"\b(?:only|just)\s+(?:have|stock|carry|got|has)?\s*(?:the\s+)?(100|160)\s*(?:'?s|mg)?(?:\s*mg)?(?:\s*vials?)?|"
                    r"\b(?:out of|no)\s+(?:the\s+)?(100|160)\s*(?:'?s|mg)?(?:\s*mg)?\s*vials?|"
                    r"\b(100|160)\s*mg\s+vials?\s+only\b", re.IGNORECASE)


def read(r: Reading) -> None:
    for s in r.sentences:
        values = list(_MG_PER_KG.finditer(s.text))
        if values:
            m = values[-1] if _REDUCED.search(s.text) or _INCREASE.search(s.text) else values[0]
            # "reduced from 3.6 to 3 mg/kg": the dose now is the last one named
            r.put(s, "mg_per_kg", float(m.group(1)), m.start(), m.end(), assertion=_fact(r, s, m))
        if m := _FROM_TO.search(s.text):  # "back up from 3 to 3.6 mg/kg": the level before this one
            r.put(s, "previous_mg_per_kg", float(m.group(1)), m.start(), m.end(), assertion=_fact(r, s, m))
        if not r.facts.get("prescribed_mg") and (m := _UNITS_FOR.search(s.text)):
            r.put(s, "prescribed_mg", float(m.group(1)), m.start(1), m.end())
        if m := _PRESCRIBED.search(s.text):
            g = 1 if m.group(1) else 2
            r.put(s, "prescribed_mg", float(m.group(g)), m.start(g), m.end(), assertion=_fact(r, s, m))
        if m := _BACK_TO.search(s.text):  # "reduced to 3 mg/kg ... can we go back to 3.6?": the level asked for
            held = r.facts.get("mg_per_kg")
            if held is not None and held.stated:
                r.facts.set("previous_mg_per_kg", held.value, evidence=held.evidence, source=r.source)
            value = float(m.group(1) or m.group(2))
            r.put(s, "mg_per_kg", value, m.start(), m.end(), assertion="present", strength=1)
            r.put(s, "dose_increase", True, m.start(), m.end(), strength=1)
        if m := _STOCK.search(s.text):
            strength = int(m.group(1) or m.group(2) or m.group(3))
            stocked = [strength] if (m.group(1) or m.group(3)) else [v for v in (100, 160) if v != strength]
            r.put(s, "vials_available", stocked, m.start(), m.end())
        if m := _OF.search(s.text):
            r.put(s, "cycle", int(m.group(1)), m.start(), m.end(), assertion=_fact(r, s, m))
            r.put(s, "number_of_doses", int(m.group(2)), m.start(), m.end(), assertion=_fact(r, s, m))
        elif m := _CYCLE.search(s.text):
            r.put(s, "cycle", int(m.group(1) or m.group(2) or m.group(3)), m.start(), m.end(), assertion=_fact(r, s, m))
        elif m := _FIRST.search(s.text):
            r.put(s, "cycle", 1, m.start(), m.end(), assertion=_fact(r, s, m))
        if m := _EVERY.search(s.text):
            n = int(m.group(1) or m.group(3) or 1)
            unit = (m.group(2) or "w").lower()
            r.put(s, "interval_days", n if unit.startswith("d") else n * 7, m.start(), m.end(), assertion=_fact(r, s, m))
        if m := _TIMES.search(s.text):
            r.put(s, "number_of_doses", int(m.group(1)), m.start(1) - 1, m.end(), assertion=_fact(r, s, m))
        elif not r.facts.get("number_of_doses") and (m := _DOSES.search(s.text)):
            r.put(s, "number_of_doses", int(m.group(1) or m.group(2)), m.start(), m.end(), assertion=_fact(r, s, m))
        if m := _REDUCED.search(s.text):
            a = r.assertion(s, m.start(), m.end())
            if a != "hypothetical":
                r.put(s, "dose_reduced", True, m.start(), m.end(), assertion="absent" if a == "absent" else "present")
        if m := _INCREASE.search(s.text):
            a = r.assertion(s, m.start(), m.end())
            r.put(s, "dose_increase", True, m.start(), m.end(), assertion="present" if a == "historical" else a)
        elif m := re.search(r"\bsame dose\b|\bno change in dose\b|\bdose unchanged\b", s.text, re.I):
            r.put(s, "dose_increase", False, m.start(), m.end())


def _fact(r: Reading, s, m) -> str:
    found = r.assertion(s, m.start(), m.end(), plan_is_order=True)
    return "present" if found in ("historical", "absent") else found

"""Dates of service and age. A birth date is never a date of service and is never kept; it gives an age
only together with a stated date of service. A visit or note date is not a date of service."""

from __future__ import annotations

import re
from datetime import date

from assistant.extract.reading import Reading

_ISO = re.compile(r"(?<![\d/-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d/-])")
_US = re.compile(r"(?<![\d/-])(\d{1,2})([/-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-])")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WORDS = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b|"
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b",
    re.IGNORECASE,
)
# A birth-date cue before the date ("DOB/Sex:", "D.O.B.", "Date of Birth (MM/DD/YYYY):", "b. 4/12/61") or after it
# ("04/12/1961 (DOB)"). The word ends at a non-letter, not at \b, so "D.O.B." (ending in a period) is a cue too.
_BIRTH_WORD = (r"(?:dob|d\.?\s?o\.?\s?b\.?|born|birth\s?-?date|date\s+of\s+birth|birth\s?day|b-?day|"
               r"(?<![\w.])b\.)(?![a-z])")
# between the cue and the date only punctuation and a few words ("is", "on", "Sex: F"): "DOB), DOS 6/1/26" is a DOS
_BIRTH_GAP = r"(?:[ \t:#=/.,()\-]|(?<![a-z])(?:is|was|of|on|in|sex|age|gender|f|m|female|male)(?![a-z])){0,12}"
_BIRTH = re.compile(rf"(?<![a-z]){_BIRTH_WORD}(?:\s*\((?:[mdy]{{1,4}}[/.\- ]?){{3}}\))?{_BIRTH_GAP}$", re.IGNORECASE)
_BIRTH_AFTER = re.compile(rf"\s*[(\[]\s*{_BIRTH_WORD}\s*[)\]]", re.IGNORECASE)
_SERVICE = re.compile(r"\b(?:dos|d\.o\.s\.?|date\s+of\s+service|service\s+date|infusion|infuse[ds]?|infusing|administ\w*|"
                      r"given|give|treatment\s+date|tx\s+date|scheduled|sched|appt\s+for\s+infusion|chair\s+time|c\d+d\d+|"
                      r"cycle\s*\d*|dose\s+(?:on|date)|start(?:s|ing)?|on|for)\b[^\n\d]{0,20}$", re.IGNORECASE)
_NOT_SERVICE = re.compile(r"\b(?:visit|seen|note|encounter|signed|dictated|printed|reported|resulted|collected|biopsy|"
                          r"path(?:ology)?|diagnosed|dx(?:'d)?|dx\s+date|surgery|mastectomy|lumpectomy|scan|ct|mri|pet|echo|"
                          r"muga|labs?|last|previous|prior|admitted|admission|discharged|discharge|death|died|deceased|expired|dod|"
                          r"referral|faxed|received|submitted|"
                          r"authorized|approved|denied|effective|eff|renewal|term(?:ed)?|expires?)\b[^\n\d]{0,25}$",
                          re.IGNORECASE)
_AFTER_NOT_SERVICE = re.compile(r"\s*(?:\)?\s*)(?:visit|office visit|clinic visit|appt|appointment|note|consult|scan|labs?|"
                                r"biopsy|surgery|echo)\b", re.IGNORECASE)
_AGE = re.compile(
    r"(?<![\d.])(\d{1,3})\s*(?:-|\s)?(?:y/?o|yo|yrs?|years?|y\.o\.?)(?:\s*-?\s*old)?(?:\s*(?:f|m|female|male|woman|man|w)\b)?|"
    r"\bage[d:]?\s*(?:is\s*)?(\d{1,3})\b|\b(?:just\s+)?turned\s+(\d{1,3})\b|"
    r"(?<![\w.#/-])(\d{2})\s?(?:yo)?(f|m)\b(?!\s*(?:r|u)\b)|"
    r"\b(?:(?:pt|patient|she|he|member)\s+(?:is|was|turned|just turned)|she'?s|he'?s)\s+(\d{1,3})\b(?!\s*(?:kg|lbs?|mg|%|cm|mm|units?|cycles?|doses?|days?|"
    r"weeks?|months?|/|\.\d|\d))",
    re.IGNORECASE,
)


def _date(m: re.Match, rx: re.Pattern) -> date | None:
    try:
        if rx is _ISO:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if rx is _US:
            year = int(m.group(4))
            year = year + 2000 if year < 100 else year
            return date(year, int(m.group(1)), int(m.group(3)))
        month = m.group(1) or m.group(5)
        day = m.group(2) or m.group(4)
        return date(int(m.group(3) or m.group(6)), _MONTHS.index(month[:3].lower()) + 1, int(day))
    except (ValueError, TypeError):
        return None


def _is_birth(text: str, start: int, end: int) -> bool:
    """The date at text[start:end] is a birth date: a birth cue right before it (a format hint may sit between) or
    right after. `text` is the whole message: "D.O.B. 4/12/61" is cut into two sentences at the cue's period."""
    return bool(_BIRTH.search(text[max(0, start - 45):start]) or _BIRTH_AFTER.match(text, end))


def _century_back(d: date) -> date:
    """'born 4/12/61' is 1961, never 2061."""
    try:
        return d.replace(year=d.year - 100)
    except ValueError:  # 29 February in a century year that is not a leap year
        return d.replace(year=d.year - 100, day=28)


def read(r: Reading) -> None:
    births: list[date] = []
    service = None
    for s in r.sentences:
        for rx in (_ISO, _US, _WORDS):
            for m in rx.finditer(s.text):
                before = s.text[max(0, m.start() - 30):m.start()]
                if _is_birth(r.message, s.start + m.start(), s.start + m.end()):
                    if (d := _date(m, rx)) is not None:
                        births.append(d if d <= date.today() else _century_back(d))
                    continue
                d = _date(m, rx)
                if d is None:
                    r.bad_date = r.bad_date or m.group(0)
                    continue
                cued = bool(_SERVICE.search(before)) and not _NOT_SERVICE.search(before[-18:])
                if _AFTER_NOT_SERVICE.match(s.text[m.end():]):
                    continue  # "70 kg at 05/01/2026 visit"
                if _NOT_SERVICE.search(before) and not cued:
                    continue
                if r.note and not cued and s.section != "plan":
                    continue  # a date in a chart note is a service date only when the note says so
                if service is None or cued:
                    service = (s, m, d)
                    if cued:
                        break
    if service:
        s, m, d = service
        r.put(s, "date_of_service", d, m.start(), m.end())
    for s in r.sentences:
        for m in _AGE.finditer(s.text):
            value = int(next(g for g in m.groups() if g and g.isdigit()))
            if 0 < value <= 120:
                r.put(s, "age", value, m.start(), m.end(), assertion=r.assertion(s, m.start(), m.end()) if s.is_question else "present")
                break
        if r.facts.get("age"):
            break
    if births and not r.facts.get("age") and service:
        born, on = births[0], service[2]
        years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if 0 <= years <= 120:
            s, m, _ = service
            # the evidence is the date of service; the birth date itself is never stored
            r.put(s, "age", years, m.start(), m.end())

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
_BIRTH = re.compile(r"\b(?:dob|d\.o\.b\.?|born|birth\s?date|date\s+of\s+birth|birthday|b\.?d\.?)\b[^\n\d]{0,25}$", re.IGNORECASE)
_SERVICE = re.compile(r"\b(?:dos|d\.o\.s\.?|date\s+of\s+service|service\s+date|infusion|infuse[ds]?|infusing|administ\w*|"
                      r"given|give|treatment\s+date|tx\s+date|scheduled|sched|appt\s+for\s+infusion|chair\s+time|c\d+d\d+|"
                      r"cycle\s*\d*|dose\s+(?:on|date)|start(?:s|ing)?|on|for)\b[^\n\d]{0,20}$", re.IGNORECASE)
_NOT_SERVICE = re.compile(r"\b(?:visit|seen|note|encounter|signed|dictated|printed|reported|resulted|collected|biopsy|"
                          r"path(?:ology)?|diagnosed|dx(?:'d)?|dx\s+date|surgery|mastectomy|lumpectomy|scan|ct|mri|pet|echo|"
                          r"muga|labs?|last|previous|prior|admitted|discharged|referral|faxed|received|submitted|"
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


def read(r: Reading) -> None:
    births: list[date] = []
    service = None
    for s in r.sentences:
        for rx in (_ISO, _US, _WORDS):
            for m in rx.finditer(s.text):
                before = s.text[max(0, m.start() - 30):m.start()]
                if _BIRTH.search(before) or _BIRTH.search(s.text[:m.start()][-40:]) and "dob" in s.text[:m.start()].lower()[-40:]:
                    if (d := _date(m, rx)) is not None:
                        births.append(d)
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

"""The offline planner's facts: what one message states (slots), read by rules.

Rules read how clinicians and billers write ("pt 70kg mBC", "wt 154 lb", "IHC 3+").
Text that tries to instruct the assistant is removed (assistant.sanitize) before any fact is
read from it; what the user wants is decided in assistant.intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from assistant.sanitize import strip_injections  # noqa: F401 - the agent imports it from here


# -- slots ---------------------------------------------------------------------
@dataclass
class Slots:
    """Facts read from one message. None means the message did not say."""

    weight: float | None = None
    weight_unit: str | None = None
    weight_bare: bool = False  # a number that looks like a weight but has no unit
    indication: str | None = None  # mbc | ebc
    cycle: int | None = None
    mg_per_kg: float | None = None
    date_of_service: date | None = None
    payer: str | None = None
    unsupported_payer: str | None = None
    line_of_business: str | None = None
    age: int | None = None
    her2_ihc: str | None = None
    her2_ish: str | None = None
    her2_positive_stated: bool = False
    diagnosis: str | None = None
    prior_therapies: list[str] = field(default_factory=list)
    regimen: str | None = None
    line_of_therapy: str | None = None
    request_type: str | None = None
    days_on_therapy: int | None = None
    responding: bool | None = None
    oncologist: bool | None = None
    interval_days: int | None = None
    requested_product: str | None = None
    preferred_failures: list[str] = field(default_factory=list)
    shortage: bool | None = None
    bad_date: str | None = None  # a date as written that is not a real date ("2026-13-45")
    number_of_doses: int | None = None
    dose_evidence_submitted: bool | None = None
    on_plan_benefit: bool | None = None
    dose_increase: bool | None = None

    def given(self) -> dict:
        out = {}
        for key, value in self.__dict__.items():
            if value not in (None, [], False) or (key in _BOOL_FACTS and value is False):
                out[key] = value
        return out


_BOOL_FACTS = ("responding", "oncologist", "shortage", "dose_evidence_submitted", "on_plan_benefit", "dose_increase")
_NUM = r"(\d{1,4}(?:\.\d+)?)"
# A minus sign before the number is kept (not after a digit: "60-70 kg" is a range), so that
# "-70 kg" reaches the calculator as an impossible weight instead of silently becoming 70 kg.
_WEIGHT = re.compile(
    rf"(?:\b(?:wt|weight|weighs|weighing)\s*(?:is|of|=|:)?\s*)?(?:(?<![\w.])([-−–])\s?)?{_NUM}\s*-?\s*"
    r"(kgs?|kilo(?:gram)?s?|lbs?|pounds?|#)(?![a-z/])",
    re.IGNORECASE,
)
_LONE_UNIT = re.compile(r"^\s*(?:in\s+)?(kgs?|kilo(?:gram)?s?|lbs?|pounds?)\s*\.?\s*$", re.IGNORECASE)
_BARE_WEIGHT = re.compile(rf"\b(?:wt|weight|weighs|weighing)\s*(?:is|of|=|:)?\s*{_NUM}\b(?!\s*(?:mg|kg|lb|%|mm|cm|y))", re.IGNORECASE)
_LONE_NUMBER = re.compile(rf"^\s*{_NUM}\s*\.?\s*$")
_NUMBER_PATIENT = re.compile(rf"\b(?:a|an|for)\s+{_NUM}\s+(?:patient|pt|woman|man|female|male|lady|gentleman)\b", re.IGNORECASE)
_MG_PER_KG = re.compile(rf"{_NUM}\s*mg\s*/\s*kg|{_NUM}\s*mg\s+per\s+kg", re.IGNORECASE)
_CYCLE = re.compile(r"\b(?:cycle|cyc|c)\s*#?\s*(\d{1,2})\b(?!\s*(?:kg|lb|mg))|\b(\d{1,2})(?:st|nd|rd|th)\s+(?:cycle|dose|infusion)\b", re.IGNORECASE)
_FIRST_CYCLE = re.compile(r"\b(?:first|initial)\s+(?:cycle|dose|infusion)\b", re.IGNORECASE)
_AGE = re.compile(r"\b(\d{1,3})\s*(?:-|\s)?(?:y/?o|yo|yrs?|years?)(?:\s*-?\s*old)?\b|\bage[d:]?\s*(?:is\s*)?(\d{1,3})\b|\b(?:just\s+)?turned\s+(\d{1,3})\b", re.IGNORECASE)
_DATE_ISO = re.compile(r"\b(20\d\d)-(\d{1,2})-(\d{1,2})\b")
_DATE_US = re.compile(r"\b(\d{1,2})/(\d{1,2})/(20\d\d)\b")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_WORDS = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(20\d\d)\b|"
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(20\d\d)\b",
    re.IGNORECASE,
)
_IHC = re.compile(r"\b(?:ihc|her-?2)\s*(?:ihc\s*)?(?:score\s*)?(?:of\s*)?([0-3])\s*(\+|plus)?(?!\d)", re.IGNORECASE)
_ISH = re.compile(
    r"\b(?:ish|fish|cish|sish|ddish)\s*(?:(?:is|was|result|still|currently|test|reflex)\s*)*(positive|pos|\+|amplified|negative|neg|-|non-?amplified|not amplified|pending|not done|ordered|not performed)",
    re.IGNORECASE,
)
_DAYS = re.compile(r"\b(\d{1,4})\s*days?\b", re.IGNORECASE)
_EVERY = re.compile(r"\b(?:every|q)\s*(\d{1,2})\s*(days?|d|weeks?|wks?|w)\b", re.IGNORECASE)

_INDICATION = [
    ("ebc", re.compile(r"\b(adjuvant|katherine|early[- ]stage|early breast|ebc|residual (?:invasive )?disease|post-?neoadjuvant)\b", re.I)),
    ("mbc", re.compile(r"\b(metastatic|mets|mbc|stage iv|stage 4|advanced breast|2l|second[- ]line|recurrent breast)\b", re.I)),
]
_PAYERS = {
    "centene": re.compile(r"\b(centene|ambetter|wellcare|health net|superior health|sunshine health|peach state)\b", re.I),
    "oscar": re.compile(r"\boscar\b", re.I),
}
# Medicare is not a payer policy we hold, but the billing guide gives its payment rate and PA rules.
_OTHER_PAYERS = re.compile(r"\b(aetna|united ?healthcare|uhc|cigna|humana|bcbs|blue cross|anthem|kaiser)\b", re.I)
_LOB = [
    ("medicaid", re.compile(r"\bmedicaid\b", re.I)),
    ("him", re.compile(r"\b(him|marketplace|exchange|health insurance marketplace|ambetter)\b", re.I)),
    ("ichra", re.compile(r"\bichra\b", re.I)),
    ("commercial", re.compile(r"\b(commercial|employer)\b", re.I)),
]
_DIAGNOSIS = [
    ("brain_metastases", re.compile(r"\b(brain met(?:astase)?s|brain metastas[ie]s|cns met)", re.I)),
    ("nsclc", re.compile(r"\b(nsclc|non[- ]small[- ]cell|lung cancer)\b", re.I)),
    ("salivary_gland", re.compile(r"\bsalivary\b", re.I)),
    ("early_residual", re.compile(r"\b(residual (?:invasive )?disease|adjuvant|katherine|early[- ]stage|ebc)\b", re.I)),
    ("metastatic_breast", re.compile(r"\b(metastatic breast|mbc|metastatic her2|stage iv breast|metastatic)\b", re.I)),
]
_THERAPIES = {
    "trastuzumab": re.compile(r"\b(trastuzumab|herceptin|kanjinti|ogivri|trazimera|herzuma|ontruzant|hercessi|tchp|thp|\bth\b)", re.I),
    "taxane": re.compile(r"\b(taxane|paclitaxel|docetaxel|taxol|taxotere|nab-?paclitaxel|abraxane|tchp|thp)\b", re.I),
    "pertuzumab": re.compile(r"\b(pertuzumab|perjeta|tchp|thp|phesgo)\b", re.I),
    "enhertu": re.compile(r"\b(enhertu|t-?dxd|trastuzumab deruxtecan)\b", re.I),
}
_PRIOR_CONTEXT = re.compile(r"\b(prior|previous|previously|after|s/p|status post|progressed|failed|received|history of|treated with|post)\b", re.I)


def _unit(raw: str) -> str:
    raw = raw.lower()
    return "kg" if raw.startswith("k") else "lb"


def read_slots(text: str) -> Slots:
    """Every fact stated in the text (after injected instructions are removed)."""
    s = Slots()
    low = text.lower()
    if m := _WEIGHT.search(text):
        s.weight, s.weight_unit = float(m.group(2)) * (-1 if m.group(1) else 1), _unit(m.group(3))
    elif m := _LONE_UNIT.match(text):
        s.weight_unit = _unit(m.group(1))
    elif (m := _BARE_WEIGHT.search(text)) or (m := _LONE_NUMBER.match(text)) or (m := _NUMBER_PATIENT.search(text)):
        s.weight, s.weight_bare = float(m.group(1)), True
    if m := _MG_PER_KG.search(text):
        s.mg_per_kg = float(m.group(1) or m.group(2))
    if m := _CYCLE.search(text):
        s.cycle = int(m.group(1) or m.group(2))
    elif _FIRST_CYCLE.search(text):
        s.cycle = 1
    if m := _AGE.search(text):
        s.age = int(m.group(1) or m.group(2) or m.group(3))
    if m := _first_date(text, _DATE_ISO):
        s.date_of_service = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _first_date(text, _DATE_US):
        s.date_of_service = _safe_date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    elif m := _first_date(text, _DATE_WORDS):
        month = m.group(1) or m.group(5)
        day = m.group(2) or m.group(4)
        s.date_of_service = _safe_date(int(m.group(3) or m.group(6)), _MONTHS.index(month[:3].lower()) + 1, int(day))
    if m and s.date_of_service is None:
        s.bad_date = m.group(0)
    for name, rx in _INDICATION:
        if rx.search(text):
            s.indication = name
            break
    for name, rx in _PAYERS.items():
        if rx.search(text):
            s.payer = name
            break
    if s.payer is None and (m := _OTHER_PAYERS.search(text)):
        s.unsupported_payer = m.group(1)
    for name, rx in _LOB:
        if rx.search(text):
            s.line_of_business = name
            break
    if m := _IHC.search(text):
        s.her2_ihc = f"{m.group(1)}+" if m.group(1) != "0" else "0"
    if m := _ISH.search(text):
        word = m.group(1).lower()
        s.her2_ish = (
            "positive" if word in ("positive", "pos", "+", "amplified")
            else "pending" if word in ("pending", "ordered")
            else "not_done" if word in ("not done", "not performed")
            else "negative"
        )
    if re.search(r"\bher-?2\s*(?:\+|positive|pos\b)", low) and s.her2_ihc is None:
        s.her2_positive_stated = True
    for name, rx in _DIAGNOSIS:
        if rx.search(text):
            s.diagnosis = name
            break
    if _PRIOR_CONTEXT.search(text) or "neoadjuvant" in low:
        s.prior_therapies = [name for name, rx in _THERAPIES.items() if rx.search(text)]
        if m := re.search(r"\b(?:only|sole)\s+prior\s+(?:therapy|treatment|regimen)\s+(?:was|is|has been)\s+([a-z][a-z\- ]{2,40}?)(?:[.,;]|$)", low):
            s.prior_therapies = list(dict.fromkeys([*s.prior_therapies, m.group(1).strip()]))
    if re.search(r"\b(single[- ]agent|monotherapy|alone)\b", low):
        s.regimen = "single_agent"
    elif re.search(r"\b(with|plus|\+|and|combined with|combination with)\s+neratinib\b", low):
        s.regimen = "with_neratinib"
    elif m := re.search(r"\b(?:with|plus|combined with|in combination with)\s+(pertuzumab|perjeta|atezolizumab|tucatinib|capecitabine|lapatinib|chemotherapy)\b", low):
        s.regimen = f"with:{m.group(1)}"
    if re.search(r"\b(first[- ]line|1l|frontline|front-line)\b", low):
        s.line_of_therapy = "first"
    elif re.search(r"\b(second[- ]line|2l|third[- ]line|3l|subsequent|later[- ]line)\b", low):
        s.line_of_therapy = "subsequent"
    if re.search(r"\b(continu(?:ation|ed|ing)|renewal|re-?auth|reauthori[sz]ation)\b", low):
        s.request_type = "continuation"
    elif re.search(r"\b(initial|new start|first request)\b", low):
        s.request_type = "initial"
    if s.request_type == "continuation" and (m := _DAYS.search(text)):
        s.days_on_therapy = int(m.group(1))
    if re.search(r"\b(responding|response|stable disease|improv(?:ing|ed))\b", low) and not re.search(r"\bnot responding|no response|progress", low):
        s.responding = True
    elif re.search(r"\b(not responding|no response|progressing|progression)\b", low) and s.request_type == "continuation":
        s.responding = False
    if re.search(r"\b(?:(?:no|not|without)\s+|non-?\s*)(?:an?\s+|any\s+)?(?:oncolog|onc\b|hem)", low) or (
        re.search(r"\b(family (?:physician|doctor|medicine)|primary care|pcp|internist|general practitioner|gp)\b", low)
        and not re.search(r"\b(?:consult(?:ing|ed|ation)?|in consultation|with)\s+(?:with\s+)?(?:an?\s+)?(?:oncolog|onc\b)", low)
    ):
        s.oncologist = False
    elif re.search(r"\b(oncologist|oncology|onc\b|heme/onc|hem/onc)", low):
        s.oncologist = True
    if m := _EVERY.search(text):
        n = int(m.group(1))
        s.interval_days = n if m.group(2).lower().startswith("d") else n * 7
    if re.search(r"\bmargenza|margetuximab", low):
        s.requested_product = "margenza"
    outcome = ("intolerance" if re.search(r"intoleran|adverse|toxicit", low) else "contraindication"
               if re.search(r"contraindicat", low) else "failure" if re.search(r"fail|progress|inadequate|refractory", low) else None)
    if outcome:
        for product, rx in (("enhertu", r"enhertu|t-?dxd"), ("kadcyla", r"kadcyla|t-?dm1"), ("perjeta", r"perjeta|pertuzumab"), ("phesgo", r"phesgo")):
            if re.search(rx, low) and product != s.requested_product:
                s.preferred_failures.append(f"{product}:{outcome}")
    if re.search(r"\bshortage|unavailab", low):
        s.shortage = True
    if m := re.search(r"\b(\d{1,3})\s+(?:total\s+)?(?:doses|cycles|infusions)\b", low):
        s.number_of_doses = int(m.group(1))
    if re.search(r"\b(?:no|without|not (?:yet )?(?:submitted|provided|attached)[^.]*)\s*(?:supporting\s+)?(?:literature|evidence|citations?)\b", low) or re.search(
        r"\b(?:literature|evidence)\s+(?:was|were|is)\s+not\s+(?:submitted|provided|attached)", low
    ):
        s.dose_evidence_submitted = False
    elif re.search(r"\b(?:supporting\s+)?(?:literature|evidence|citations?)\s+(?:was\s+|were\s+|is\s+)?(?:submitted|attached|provided)\b", low):
        s.dose_evidence_submitted = True
    if re.search(r"\bno dose (?:increase|escalation)|not (?:a|requesting a) dose increase|same dose\b", low):
        s.dose_increase = False
    elif re.search(r"\bdose (?:increase|escalation)\b|\bincrease (?:the|her|his) dose\b", low) and s.request_type == "continuation":
        s.dose_increase = True
    if s.request_type == "continuation" and re.search(
        r"\b(?:through|via|under|with|by) (?:centene|oscar|the plan|this plan|us|our plan|ambetter|wellcare)\b|currently (?:on|receiving)", low
    ):
        s.on_plan_benefit = True
    if s.request_type == "continuation" and s.days_on_therapy is None:
        if m := re.search(r"\b(\d{1,2})\s*(months?|mos?|weeks?|wks?)\b", low):
            n = int(m.group(1))
            s.days_on_therapy = n * 30 if m.group(2).startswith("m") else n * 7
    if s.requested_product is None and re.search(r"\b(kadcyla|t-?dm1|ado-trastuzumab)", low):
        s.requested_product = "kadcyla"
    return s


_BIRTH = re.compile(r"\b(?:dob|d\.o\.b\.?|born|birth ?date|date of birth|birthday)\W{0,3}(?:on\W{0,2}|is\W{0,2})?$", re.IGNORECASE)


def _first_date(text: str, rx: re.Pattern) -> re.Match | None:
    """The first date that is not a date of birth ("DOB 03/14/2005" is never a date of service)."""
    for m in rx.finditer(text):
        if not _BIRTH.search(text[max(0, m.start() - 20): m.start()]):
            return m
    return None


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None

"""`redact(text)`: patient identifiers replaced by typed placeholders before anything is logged or stored.

Replaced: names after "patient"/"pt"/"Mr."/"Ms."/"Mrs."/"Dr."/"name:" ([NAME]), MRNs ([MRN]), member,
Medicare and Medicaid ids ([MEMBER_ID]), dates of birth ([DOB]), phone and fax numbers ([PHONE]),
e-mail addresses ([EMAIL]), street addresses and PO boxes ([ADDRESS]) and SSNs ([SSN]).
Kept: doses, weights, dates of service, J-codes, NDCs, ICD-10 and CPT codes — clinical words are
never read as names, and a date only counts as a birth date after "DOB", "born" or "date of birth".
"""

from __future__ import annotations

import re
from typing import Callable

PLACEHOLDERS = ("[NAME]", "[MRN]", "[DOB]", "[PHONE]", "[EMAIL]", "[ADDRESS]", "[SSN]", "[MEMBER_ID]")
MAX_PASSES = 4

Keep = Callable[[str], bool]

# -- dates of birth -------------------------------------------------------------------------
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?!\d)"
    rf"|{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH},?[ \t]+\d{{4}}"
    rf"|{_MONTH},?[ \t]+\d{{4}}"
    r"|(?:19|20)\d\d(?!\d))"
)
_DOB = re.compile(
    r"(?P<kw>\b(?:DOB|D\.O\.B\.?|date[ \t]+of[ \t]+birth|birth[ \t]?date|born(?:[ \t]+(?:on|in))?)(?![\w])"
    rf"[ \t]*(?:[:#=\-][ \t]*)?(?:(?:is|of)[ \t]+)?)(?P<id>{_DATE})",
    re.IGNORECASE,
)

# -- record numbers ---------------------------------------------------------------------------
_ID_TOKEN = r"(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,19}(?![\w-])"
_SEP = r"[ \t]*(?:[:#=][ \t]*)?(?:(?:is|no\.?|number|num)[ \t]*(?:[:#][ \t]*)?)?"
_MRN = re.compile(
    r"(?P<kw>\b(?:MRN|MR[ \t]?#|MR[ \t]+(?:no\.?|number)|medical[ \t]+record(?:[ \t]+(?:number|no\.?|num))?|"
    r"chart[ \t]*(?:#|id\b|number\b|no\.?)|(?:patient|pt)[ \t]*(?:#|id\b|number\b|no\.))"
    rf"{_SEP})(?P<id>{_ID_TOKEN})",
    re.IGNORECASE,
)
_MEMBER = re.compile(
    r"(?P<kw>\b(?:(?:member|subscriber|insurance|insured|beneficiary|medicaid|medicare|policyholder|account|acct)"
    r"[ \t]*(?:id\b|i\.d\.|#|number\b|no\.|num\b)|MBI\b|HICN\b|(?-i:ID\b)(?=[:# \t]+[A-Z0-9-]{6}))"
    rf"{_SEP})(?P<id>{_ID_TOKEN})",
    re.IGNORECASE,
)

# -- contact details --------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_SSN = re.compile(
    r"(?P<kw>\b(?:SSN|SS[ \t]?#|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?)[ \t]*(?:[:#][ \t]*)?(?:is[ \t]+)?)"
    r"(?P<id>\d{3}[ -]?\d{2}[ -]?\d{4})(?!\d)"
    r"|(?P<bare>(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-]))",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?P<bare>(?<![\w+-])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]))"
    r"|(?P<kw>\b(?:phone|ph|tel|telephone|cell|mobile|fax)\b\.?[ \t]*(?:#|no\.?|number)?[ \t]*(?::[ \t]*)?(?:is[ \t]+)?)"
    r"(?P<id>(?:\+?1)?\d{10}(?!\d)|\d{3}[ .-]\d{4}(?![\w-]))",
    re.IGNORECASE,
)
_STREET_WORD = r"(?:[A-Z][A-Za-z'.-]*|\d{1,3}(?:st|nd|rd|th))"
_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place|pl|terrace|ter|"
    r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl)"
)
_ADDRESS = re.compile(
    rf"(?P<bare>(?<![\w.-])\d{{1,6}}[A-Z]?[ \t]+(?:{_STREET_WORD}[ \t]+){{1,4}}{_SUFFIX}\b\.?"
    r"(?:,?[ \t]*(?i:apt|apartment|unit|suite|ste|#)\.?[ \t]*#?[A-Za-z0-9-]+)?"
    r"(?:,[ \t]*[A-Z][A-Za-z .'-]{1,30},[ \t]*[A-Z]{2}\b(?:[ \t]+\d{5}(?:-\d{4})?\b)?)?"
    r"|\b(?i:p\.?[ \t]?o\.?[ \t]*box)[ \t]+\d{1,6}\b)"
)

# -- names ------------------------------------------------------------------------------------
_NAME_TRIGGER = re.compile(
    r"\b(?:(?:pt|mr|mrs|ms|mx|dr)\.?|patient(?:'s)?|miss|member|subscriber|beneficiary|named"
    r"|name(?=[ \t]*:|[ \t]+is\b))(?![\w.])"
    r"(?:[ \t]*[:,\-][ \t]*|[ \t]+)(?:(?:name|named|called|is)[ \t]*:?[ \t]+)*",
    re.IGNORECASE,
)
_NAME_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*(?:\.(?=[ \t,]))?(?![\w+/])")
_NAME_GAP = re.compile(r"[ \t]+|,[ \t]*")
MAX_NAME_TOKENS = 3
_TITLES = frozenset("patient pt mr mrs ms mx miss dr member subscriber beneficiary name named".split())

# Words that follow "patient"/"pt"/"Dr." capitalised and are not names: grammar, clinical terms,
# drugs, payers and document words. A name token is a capitalised word not in this set.
KNOWN_WORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does for from had has have he her here his
    how i if in into is it its may me might must my no nor not now of on or our out she should so than
    that the their them then there these they this those to too up us was we were what when where which
    who whom why will with within without would yes you your also only just all any each every both
    age aged year years yr yo old male female man woman f m
    weighs weighed weighing weight wt kg lb lbs received receiving receives started starting starts
    needs need needing requires required requiring requesting requested request requests presents
    presented presenting diagnosed dx history hx status post pre prior previously previous currently
    current due scheduled completed completing tolerated tolerating continues continuing continued
    discontinued stopped progressed progressing responding responded treated treating taking takes took
    underwent undergoing denied denies reports reported states stated notes noted has
    information info education assistance access support services service selection safety
    counseling counselling foundation program programs portal care consent eligibility eligible
    criteria coverage covered summary record records chart case cases identifier id number name
    notes note population populations responsibility responsibilities experience advocate advocacy
    communication rights portion share instructions instruction monitoring management
    cancer breast metastatic early stage positive negative adjuvant neoadjuvant residual disease
    invasive advanced recurrent unresectable locally tumor tumors carcinoma lung gastric salivary
    gland brain metastases mets oncology oncologist oncologists hematology physician provider
    prescriber clinic hospital infusion dose doses dosing cycle cycles vial vials therapy therapies
    treatment treatments regimen single agent monotherapy combination chemotherapy
    her her2 mbc ebc nsclc ihc ish fish ecog lvef kps bmi bsa
    kadcyla enhertu herceptin hylecta perjeta phesgo margenza trastuzumab pertuzumab emtansine
    deruxtecan margetuximab ado ado-trastuzumab fam-trastuzumab t-dm1 t-dxd tdm1 neratinib nerlynx
    tucatinib tukysa lapatinib tykerb capecitabine xeloda docetaxel paclitaxel taxol taxotere
    taxane abraxane kanjinti ogivri trazimera herzuma ontruzant hercessi biosimilar biosimilars
    centene oscar ambetter wellcare health net superior sunshine peach state medicaid medicare aetna
    cigna humana anthem kaiser bcbs blue cross shield united unitedhealthcare uhc evicore genentech
    roche carecost oracle plan plans commercial marketplace exchange ichra him hmo ppo
    jan january feb february mar march apr april may jun june jul july aug august sep sept september
    oct october nov november dec december monday tuesday wednesday thursday friday saturday sunday
    today tomorrow yesterday
    mrn dob dos ssn mbi hicn npi ndc cpt icd hcpcs jw jz asp wac pa phone fax email tel cell mobile address
    """.split()
)


def _sub_id(match: re.Match, placeholder: str, keep: Keep | None) -> str:
    whole = match.group(0)
    if keep and keep(whole):
        return whole
    if match.groupdict().get("bare"):
        return placeholder
    return match.group("kw") + placeholder


def _is_name(token: str, form_field: bool) -> bool:
    word = token.rstrip(".")
    if not word[:1].isupper():
        return False
    if len(word) > 1 and word.isupper() and not form_field:
        return False  # "pt ER PR neg": capitals are abbreviations, except in a "Name: DOE, JANE" field
    low = word.lower()
    for suffix in ("'s", "’s"):
        if low.endswith(suffix):
            low = low[: -len(suffix)]
    if low in KNOWN_WORDS:
        return False
    return len(word) > 1 or token.endswith(".")  # a lone capital is an initial only with its period


def _names(text: str, keep: Keep | None) -> str:
    out: list[str] = []
    pos = 0
    for trigger in _NAME_TRIGGER.finditer(text):
        if trigger.start() < pos:
            continue
        spans: list[tuple[int, int]] = []  # name tokens to replace, as (start, end)
        cursor = trigger.end()
        for _ in range(MAX_NAME_TOKENS):
            token = _NAME_TOKEN.match(text, cursor)
            if not token or not token.group(0)[:1].isupper() or token.group(0).rstrip(".").lower() in _TITLES:
                break  # a lower-case word, or the next title ("Mrs. Doe, Mr. Doe"), ends the name
            if _is_name(token.group(0), form_field=":" in trigger.group(0)):
                spans.append(token.span())
            gap = _NAME_GAP.match(text, token.end())
            if not gap:
                cursor = token.end()
                break
            cursor = gap.end()
        if not spans or (keep and keep(text[trigger.start() : spans[-1][1]])):
            continue
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and _NAME_GAP.fullmatch(text, merged[-1][1], start):
                merged[-1][1] = end
            else:
                merged.append([start, end])
        for start, end in merged:
            out.append(text[pos:start])
            out.append("[NAME]")
            pos = end
    out.append(text[pos:])
    return "".join(out)


def _once(text: str, keep: Keep | None) -> str:
    text = _EMAIL.sub(lambda m: m.group(0) if keep and keep(m.group(0)) else "[EMAIL]", text)
    text = _DOB.sub(lambda m: _sub_id(m, "[DOB]", keep), text)
    text = _SSN.sub(lambda m: _sub_id(m, "[SSN]", keep), text)
    text = _MRN.sub(lambda m: _sub_id(m, "[MRN]", keep), text)
    text = _MEMBER.sub(lambda m: _sub_id(m, "[MEMBER_ID]", keep), text)
    text = _PHONE.sub(lambda m: _sub_id(m, "[PHONE]", keep), text)
    text = _names(text, keep)  # before addresses, so "12 Main St Dr. Doe" keeps its title for the name
    return _ADDRESS.sub(lambda m: _sub_id(m, "[ADDRESS]", keep), text)


def redact(text: str, *, keep: Keep | None = None) -> str:
    """The text with patient identifiers replaced by [NAME], [MRN], [DOB] ... placeholders.

    `keep(span)` may spare a match, e.g. a payer phone number quoted from a corpus document.
    Never raises: anything that is not text is redacted as its repr.
    """
    if not isinstance(text, str):
        text = repr(text)
    for _ in range(MAX_PASSES):  # a replacement can expose a neighbour: run to a fixed point
        new = _once(text, keep)
        if new == text:
            break
        text = new
    return text


_DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")


def dates_of_birth(text: str) -> set[str]:
    """The birth dates stated in the text, as YYYY-MM-DD: to find them again once parsed into fields."""
    import datetime as dt

    found = set()
    for match in _DOB.finditer(text if isinstance(text, str) else ""):
        raw = re.sub(r"(?<=\d)[-.](?=\d)", "/", match.group("id"))
        raw = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b|\bof\b|[,.]", " ", raw, flags=re.IGNORECASE)
        raw = " ".join(raw.replace("Sept", "Sep").split())
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
    """A traceback safe to log: the exception's message (which may quote user text) redacted."""
    import traceback

    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

"""Names after a title or a trigger word ("Patient Jane Doe", "Mrs. O'Brien-Smith", "Name: DOE, JANE").

Philter finds names by its name lists and the words around them; this finds a name by its trigger even when no
list holds it ("Patient Canarysmith"), so the two together miss less than either.
"""

from __future__ import annotations

import re
from typing import Callable

Keep = Callable[[str], bool]

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


def names(text: str, keep: Keep | None) -> str:
    """The text with each name after a trigger word replaced by [NAME]."""
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

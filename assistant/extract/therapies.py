"""Prior therapies, drugs given with Kadcyla, the single-agent regimen, and preferred products tried.

Each drug mention gets its ConText assertion: 'no prior Herceptin' is absent, '?prior taxane' possible,
'does Centene require prior trastuzumab?' hypothetical, 's/p TCHP x6' historical (received). A drug
named with no cue at all is not taken as received: only a stated history counts.
"""

from __future__ import annotations

import re

from assistant.extract import context, terms
from assistant.extract.reading import Reading
from assistant.facts import Fact

_CURRENT = re.compile(r"(?:\bwith|\bplus|\+|&|\bcombined with|\bin combination with|\bcombo with|\bcurrently on|\bnow on|"
                      r"\bon|\bconcurrent|\bconcurrently with|\band)\s*$", re.IGNORECASE)
_KADCYLA_NEAR = re.compile(r"kadcyla|t-?dm-?1|ado-?trastuzumab|\bit\b", re.IGNORECASE)
_ADDS = re.compile(r"\b(?:adds?|adding|add on|instead of|swap(?:ping)? (?:in|to)|switch(?:ing)? to)\s*$", re.IGNORECASE)
_SINGLE = re.compile(r"\b(?:single[- ]?agent|mono-?therapy|mono ?tx|mono\b|as a single|alone|by itself|only)\b", re.IGNORECASE)
# "mono 3.6 mg/kg q21d": the word sits on Kadcyla's own dose or schedule
_ON_KADCYLA_DOSE = re.compile(r"\W{0,3}(?:3\.6|3|2\.4)\s*(?:mg/kg|mg per kg)|\W{0,3}(?:q\s?21\s?d|q\s?3\s?w)", re.IGNORECASE)
_OUTCOME = [("intolerance", re.compile(r"intoleran|not tolerat|adverse|toxicit|reaction|stopped due to", re.I)),
            ("contraindication", re.compile(r"contraindicat", re.I)),
            ("failure", re.compile(r"fail|progress|\bpd\b|inadequate|refractory|no response|stopped working", re.I))]
_HISTORY_AFTER = re.compile(r"\W{0,3}(?:x\s?\d|\d{4}\b|\d{1,2}/\d{2,4}|c\d|cycles?\b|completed|finished|done|given|yes\b|y\b|"
                            r"\d+\s*(?:yrs?|years?|mo|months?|wks?|weeks?|doses?|cycles?)|maint|d/t|then\b|->|→|\+|/|,|and\b|"
                            r"w/|with\b|adj|neoadj|in the)", re.IGNORECASE)
_REQUEST_AFTER = re.compile(r"\W{0,3}(?:dose|dosing|j-?code|code|ndc|vials?|units|billing|price|cost|pa\b|prior auth|coverage|"
                            r"covered|criteria|policy|request|order)", re.IGNORECASE)
_REQUEST_START = re.compile(r"\s*(?:please\s+)?(?:calculate|compute|give|show|list|tell|explain|compare|dose|bill|code|check)\b",
                            re.IGNORECASE)
_COMPARED = re.compile(r"\b(?:vs\.?|versus|compared? (?:to|with)|same as|difference between|instead of|or|is)\s*$", re.IGNORECASE)
# Products a PA is requested for: named alone they are the request, received only with a history cue.
REQUESTED = ("kadcyla", "margenza")
PREFERRED = ("enhertu", "kadcyla", "pertuzumab", "phesgo")


CATEGORY_TERMS = {"chemotherapy"}
_ALLERGY = re.compile(r"\b(?:allerg\w*|anaphyla\w*|hypersensitiv\w*|(?:infusion )?(?:rxn|reaction) to|intoleran\w* (?:to|of))"
                      r"\W*(?:to\s+)?$", re.IGNORECASE)


def read(r: Reading) -> None:
    f = r.facts
    for s in r.sentences:
        found = r.mentions(s, "drugs")
        spans = [(m.start, m.end) for m in found]
        # "no chemo ever, herceptin monotherapy": chemotherapy is a kind of treatment, not an item of a drug
        # list, so a negation of it does not carry on to the drugs after it
        drug_spans = [(m.start, m.end) for m in found if m.term not in CATEGORY_TERMS]
        for m in found:
            before = s.text[:m.start]
            assertion = r.assertion(s, m.start, m.end, spans if m.term in CATEGORY_TERMS else drug_spans,
                                    default="present")
            if label := _LABEL.match(s.text, m.end):
                if any(d.start >= label.end() for d in found) and m.term in ("her2_directed", "taxane", "trastuzumab"):
                    continue  # "Prior HER2 therapy: trastuzumab ...": a heading; the drugs after it are read themselves
                assertion = _label_answer(s, label.end(), s.is_question) or assertion
            if assertion == "historical" and s.is_question and not context.SUBJECT.search(s.text):
                assertion = "possible"  # "can kadcyla be used after enhertu?" asks about a history, states none
            if m.term in REQUESTED:
                cued = re.search(r"\b(prior|previous|s/p|after|failed|progress\w*|history|had|received|on|currently on|"
                                 r"since|d/c|discontinued|stopped|during|completed)\W*$", before[-30:], re.I) or \
                    re.match(r"\W*(?:x\s?\d|c\d|cycles?\s*\d|since|completed|stopped|d/c)", s.text[m.end:], re.I)
                if assertion == "absent" or assertion == "historical" and cued:
                    _therapy(r, s, m, assertion)
                    if assertion == "historical":
                        _trial(r, s, m)
                continue
            near_kadcyla = bool(_KADCYLA_NEAR.search(before[-40:])) and _CURRENT.search(before[-25:]) is not None
            if assertion == "present" and r.note and s.section == "history" and not s.is_question:
                assertion = "historical"
            if assertion == "present" and r.note and s.section in ("plan", "meds") or near_kadcyla and assertion == "present":
                _combined(r, s, m)
                continue
            adds = _ADDS.search(before[-14:])
            if (adds or _CURRENT.search(before[-12:]) and assertion != "absent") and assertion != "historical" \
                    and m.term in ("neratinib", "pertuzumab", "tucatinib", "capecitabine", "lapatinib"):
                _combined(r, s, m, assertion)  # "+ perjeta", "what if onc adds pertuzumab", "instead of neratinib"
                continue
            if assertion in ("present", "historical") and _ALLERGY.search(before[-30:]):
                # "anaphylaxis to paclitaxel": an allergy on the chart says neither that a course was given nor
                # that it was not; the criterion stays open and is asked
                _therapy(r, s, m, "possible")
                continue
            if assertion == "present":
                # a drug named in a statement about the patient ("herceptin 2019", "TH x12", "62F ... TCHP") was
                # received; named in a question or a request ("calculate the Enhertu dose") it is only asked about
                after = s.text[m.end:m.end + 16]
                request = _REQUEST_START.match(s.text) or _REQUEST_AFTER.match(after) and not _HISTORY_AFTER.match(after) \
                    or _COMPARED.search(before)
                assertion = "possible" if s.is_question or request else "historical"
            _therapy(r, s, m, assertion)
            if assertion == "historical":
                _trial(r, s, m)
        if m := _ONLY_HISTORY.search(s.text):
            _only(r, s, m, found)
        if (m := _SINGLE.search(s.text)) and _single_is_kadcyla(s.text, m, found):
            a = r.assertion(s, m.start(), m.end())
            r.put(s, "regimen", "single_agent", m.start(), m.end(), assertion="present" if a == "historical" else a)


# "Her only prior therapy was letrozole", "endocrine tx only": the history is complete, so the groups a
# criterion asks for that it does not name were not received.
_ONLY_HISTORY = re.compile(
    r"\b(?:only|sole)\s+(?:prior\s+|previous\s+)?(?:therapy|therapies|treatment|tx|regimen|systemic therapy)\s*(?:was|is|has been|:)|"
    r"\b(?:has\s+)?only\s+(?:ever\s+)?(?:had|received|got|been on)\b|"
    r"\b(?:endocrine|hormonal|hormone)\s+(?:tx|therapy|treatment)\s+only\b", re.IGNORECASE)
_GROUPS = ("trastuzumab", "taxane", "pertuzumab")


def _only(r: Reading, s, m: re.Match, found: list[terms.Mention]) -> None:
    named = {g for d in found for g in terms.entry("drugs", d.term).get("counts_as", [d.term])}
    for group in _GROUPS:
        if group not in named and group not in r.facts.therapies:
            r.facts.therapies[group] = Fact[bool](value=True, assertion="absent", evidence=[r.evidence(s, m.start(), m.end())],
                                                  source=r.source)


_LABEL = re.compile(r"\s*(?::|=|-\s)\s*")
_ANSWER_END = re.compile(r"[;|\n]|,\s*(?=[A-Za-z][\w /-]{1,30}:)")


def _label_answer(s, start: int, is_question: bool):
    """The assertion a field's value gives its label: 'none', 'never', '?' ... or None to keep the mention's own."""
    end = _ANSWER_END.search(s.text, start)
    value = s.text[start:end.start() if end else len(s.text)]
    found = [t for t in context.triggers(value, is_question) if t.rule.assertion]
    for wanted in ("absent", "possible", "hypothetical", "historical"):
        if any(t.rule.assertion == wanted for t in found):
            return wanted
    if _HISTORY_AFTER.match(value) or re.search(r"\b(?:19|20)\d\d\b|\bx\s?\d", value):
        return "historical"
    return "possible" if not value.strip() else None


def _single_is_kadcyla(text: str, m: re.Match, found: list[terms.Mention]) -> bool:
    """'Kadcyla alone', 'kadcyla 3.6 mg/kg q21d alone' and 'single agent' are the regimen; 'paclitaxel alone' is not."""
    word = m.group(0).lower()
    if word in ("alone", "only", "by itself", "mono"):
        prev = [d for d in found if d.end <= m.start()]
        if word == "mono" and _ON_KADCYLA_DOSE.match(text, m.end()):
            return True
        if re.search(r"\b(it|kadcyla|t-?dm1)\s*$", text[:m.start()], re.I):
            return True
        # the nearest drug before the word is Kadcyla, with only its dose between them
        return bool(prev) and prev[-1].term == "kadcyla" and not re.search(r"[,;]", text[prev[-1].end:m.start()])
    return True


def _therapy(r: Reading, s, m: terms.Mention, assertion) -> None:
    entry = terms.entry("drugs", m.term)
    groups = entry["absent_means"] if assertion == "absent" and "absent_means" in entry else entry.get("counts_as", [m.term])
    for drug in groups:
        old = r.facts.therapies.get(drug)
        if old is not None:
            same = bool(old.evidence) and _key(old.evidence[0].text) == _key(m.text)
            if same and _strength(old.assertion) > _strength(assertion):
                continue
            # another drug of the group: one received taxane fills "a taxane" whatever another one says
            if not same and (old.stated or old.assertion == "absent" and assertion not in ("present", "historical")):
                continue
        r.facts.therapies[drug] = Fact[bool](value=True, assertion=assertion, evidence=[r.evidence(s, m.start, m.end)],
                                             source=r.source)


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", " ", name.lower()).strip()


def _strength(assertion: str) -> int:
    # one sentence says 'no trastuzumab', another 's/p TCHP': a stated negation is kept over a weaker guess
    return {"absent": 3, "historical": 2, "present": 2, "possible": 1, "hypothetical": 0}[assertion]


def _combined(r: Reading, s, m: terms.Mention, assertion="present") -> None:
    if m.term in ("kadcyla", "taxane", "trastuzumab", "margenza", "enhertu"):
        return
    r.facts.combined_with[m.term] = Fact[bool](value=True, assertion=assertion, evidence=[r.evidence(s, m.start, m.end)],
                                               source=r.source)


def _trial(r: Reading, s, m: terms.Mention) -> None:
    product = {"pertuzumab": "perjeta"}.get(m.term, m.term)
    if m.term not in PREFERRED:
        return
    window = s.text[max(0, m.start - 40): m.end + 40]
    for outcome, rx in _OUTCOME:
        if rx.search(window):
            r.facts.preferred_trials[product] = Fact[str](value=outcome, evidence=[r.evidence(s, m.start, m.end)], source=r.source)
            return

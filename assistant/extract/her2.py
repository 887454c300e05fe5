"""HER2: IHC score, ISH result, and 'HER2+' stated without a score."""

from __future__ import annotations

import re

from assistant.extract.reading import Reading

_IHC = re.compile(
    r"\b(?:ihc|her-?2(?:/neu)?(?:\s*\(?ihc\)?)?)\s*(?:ihc\s*)?(?:score\s*)?(?:equivocal\s*|borderline\s*)?"
    r"(?:of\s*|was\s*|is\s*|=\s*|:\s*|\(\s*)?([0-3])\s*(\+|plus|pos)?(?!\d|\.\d)"
    r"|\b([0-3])\s*(\+|plus)\s*(?:by\s+|on\s+)?(?:ihc|her-?2)\b",
    re.IGNORECASE,
)
_ISH = re.compile(
    r"\b(?:ish|fish|cish|sish|ddish)\s*(?:(?:is|was|result|results|still|currently|test|testing|reflex|status|came back|"
    r"returned|resulted|shows?|showed|now|:|-)\s*)*"
    r"(positive|pos|\+|amplified|amplifed|amp|non-?amplified|not amplified|nonamplified|negative|neg|-|equivocal|pending|not done|"
    r"ordered|sent|not performed|not sent)(?!\w)"
    r"|\b(amplified|non-?amplified|not amplified)\s+(?:by|on)\s+(?:fish|ish|cish)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(r"\bher-?2(?:/neu)?[\s-]*(?:\+|positive|pos\b|-?pos\b|amplified|amp\b|overexpress\w*)|\bher-?2\s*\(\+\)", re.IGNORECASE)
_NEGATIVE = re.compile(r"\bher-?2(?:/neu)?\s*(?:-(?!\w)|negative|neg\b|-neg\b|-low|\s+low|-ultralow|\s+ultralow|ultra-low|0\b)", re.IGNORECASE)


def _ish(word: str) -> str:
    w = word.lower().replace("-", "").replace(" ", "")
    if w in ("positive", "pos", "+", "amplified", "amplifed", "amp"):
        return "positive"
    if w in ("pending", "ordered", "sent", "equivocal"):
        return "pending"
    if w in ("notdone", "notperformed", "notsent"):
        return "not_done"
    return "negative"


def read(r: Reading) -> None:
    for s in r.sentences:
        if m := _IHC.search(s.text):
            score = m.group(1) or m.group(3)
            ihc = "0" if score == "0" else f"{score}+"
            r.put(s, "her2_ihc", ihc, m.start(), m.end(), assertion=_stated(r, s, m))
        if m := _ISH.search(s.text):
            assertion = _stated(r, s, m)
            if assertion == "absent":  # "no FISH sent": ISH was not done
                r.put(s, "her2_ish", "not_done", m.start(), m.end())
            else:
                r.put(s, "her2_ish", _ish(m.group(1) or m.group(2)), m.start(), m.end(), assertion=assertion)
        elif m := re.search(r"\b(?:no|never)\s+(?:reflex\s+)?(?:fish|ish)\b", s.text, re.I):
            r.put(s, "her2_ish", "not_done", m.start(), m.end())
        if m := _POSITIVE.search(s.text):
            r.put(s, "her2_positive", True, m.start(), m.end(), assertion=_stated(r, s, m))
        elif m := _NEGATIVE.search(s.text):
            r.put(s, "her2_positive", False, m.start(), m.end(), assertion=_stated(r, s, m, negative=True))


_AWAITED = {"pending", "awaiting", "tbd", "to be confirmed"}  # said of the test still to come (ISH), not of a score in hand


def _stated(r: Reading, s, m, negative: bool = False):
    """A result is a fact unless asked about or put as a what-if; 'not HER2+' makes it absent."""
    from assistant.extract.context import assertion_of

    from assistant.extract.reading import PLAN_FOR_DISEASE

    found, trigger = assertion_of(s.text, m.start(), m.end(), [], s.is_question)
    if found == "hypothetical" and trigger is not None and trigger.rule.literal in PLAN_FOR_DISEASE and not s.is_question:
        found = "present"  # "wants to start kadcyla for HER2 3+ mbc": the result is in hand
    if found == "possible" and trigger is not None and trigger.rule.literal in _AWAITED and "ish" not in m.group(0).lower():
        return "present"  # "IHC 2+, FISH pending": the IHC score is known
    if found in ("hypothetical", "absent"):
        return found
    if found == "possible" and not re.search(r"pending|ordered|sent", m.group(0), re.I):
        return "possible"
    return "present"

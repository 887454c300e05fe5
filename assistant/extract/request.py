"""The request: initial or continuation, time on therapy, response, plan benefit, evidence, shortage, product."""

from __future__ import annotations

import re

from assistant.extract.reading import Reading

_CONTINUATION = re.compile(r"\b(?:continu(?:ation|ed therapy|ing therapy|ing)|contiuation|contination|renewal|renew|"
                           r"re-?auth\w*|reauthori[sz]ation|reauthorizaton|"
                           r"recert\w*|extension|re-?approval|cont\.? of therapy)\b", re.IGNORECASE)
_INITIAL = re.compile(r"\b(?:initial|new start|new request|first request|first auth\w*|new to therapy|treatment[- ]naive start|"
                      r"starting kadcyla|start kadcyla|init\.? auth)\b", re.IGNORECASE)
_DAYS = re.compile(r"\b(\d{1,4})\s*days?\b", re.IGNORECASE)
_SPAN = re.compile(r"\b(\d{1,2})\s*(months?|mos?|mo|weeks?|wks?)\b", re.IGNORECASE)
_RESPONDING = re.compile(r"\b(?:responding|response(?!\s*:)|responded|stable disease|\bsd\b|partial response|\bpr\b|complete response|"
                         r"\bcr\b|improv(?:ing|ed|ement)|shrink\w*|tumou?r markers? (?:down|decreas\w*)|clinical benefit|"
                         r"disease control|controlled|ned|stable|stabel|stable dz|reponding|responsive)\b", re.IGNORECASE)
_PROGRESSING = re.compile(r"\b(?:not responding|no response|progress(?:ing|ion|ed)|progresion|\bpd\b|worsen\w*|growing|"
                          r"new (?:bone |liver |lung |brain )?lesions?|recurrence during|rising)\b",
                          re.IGNORECASE)
_PLAN_BENEFIT = re.compile(r"\b(?:through|via|under|with|by|thru)\s+(?:centene|oscar|ambetter|wellcare|health net|the plan|"
                           r"this plan|us|our plan|their plan|her plan|his plan|plan benefit|the medical benefit)\b|"
                           r"\bcurrently (?:on|receiving|getting)\b|\bapproved (?:by|through) (?:the plan|centene|ambetter)",
                           re.IGNORECASE)
_EVIDENCE = re.compile(r"\b(?:supporting\s+)?(?:literature|evidence|citations?|nccn (?:support|citation)|peer[- ]reviewed)\b",
                       re.IGNORECASE)
_SUBMITTED = re.compile(r"\b(?:submit\w*|attach\w*|provid\w*|includ\w*|sen[dt]\w*|enclos\w*|faxed|uploaded)\b", re.IGNORECASE)
_SHORTAGE = re.compile(r"\b(?:shortage|unavailab\w*|backorder\w*|back-ordered|out of stock)\b", re.IGNORECASE)
_PRODUCT = [("margenza", re.compile(r"\bmargenza|margetuximab", re.I)),
            ("kadcyla", re.compile(r"\b(?:kadcyla|kadcila|kadsyla|t-?dm-?1|ado-?trastuzumab)", re.I))]


def read(r: Reading) -> None:
    for s in r.sentences:
        for kind, rx in (("continuation", _CONTINUATION), ("initial", _INITIAL)):
            if (m := rx.search(s.text)) and (a := _plain(r, s, m)) != "absent":  # "initial, not a renewal"
                r.put(s, "request_type", kind, m.start(), m.end(), assertion=a)
                break
    continuing = r.facts.value("request_type") == "continuation"
    for s in r.sentences:
        if continuing and not r.facts.get("days_on_therapy"):
            if m := _DAYS.search(s.text):
                r.put(s, "days_on_therapy", int(m.group(1)), m.start(), m.end(), assertion=_plain(r, s, m))
            elif m := _SPAN.search(s.text):
                n = int(m.group(1))
                days = n * 30 if m.group(2).lower().startswith("m") else n * 7
                r.put(s, "days_on_therapy", days, m.start(), m.end(), assertion=_plain(r, s, m))
        if m := _PROGRESSING.search(s.text):
            a = "present" if m.group(0).lower().startswith(("not", "no ")) else _plain(r, s, m)
            if a == "absent":  # "no progression", "no new lesions" is a response
                r.put(s, "responding", True, m.start(), m.end(), strength=1)
            else:
                r.put(s, "responding", False, m.start(), m.end(), assertion=a, strength=1)
        elif m := _RESPONDING.search(s.text):
            a = _plain(r, s, m)
            r.put(s, "responding", True, m.start(), m.end(), assertion=a)
        if continuing and (m := _PLAN_BENEFIT.search(s.text)):
            r.put(s, "on_plan_benefit", True, m.start(), m.end(), assertion=_plain(r, s, m))
        if (m := _EVIDENCE.search(s.text)) and _SUBMITTED.search(s.text):
            a = r.assertion(s, m.start(), m.end())
            # "no NCCN or literature support submitted", "they're not sending any literature"
            near = s.text[max(0, m.start() - 40):m.end() + 40]
            if re.search(r"\b(?:no|not|without|never|none|nothing|isn't|aren't|wasn't|weren't|won't)\b|n't\b", near, re.I):
                a = "absent"
            if a in ("present", "historical", "absent"):
                r.put(s, "dose_evidence_submitted", True, m.start(), m.end(), assertion="absent" if a == "absent" else "present")
        if m := _SHORTAGE.search(s.text):
            a = _plain(r, s, m)
            r.put(s, "shortage", True, m.start(), m.end(), assertion=a)
    for product, rx in _PRODUCT:
        for s in r.sentences:
            if m := rx.search(s.text):
                r.put(s, "requested_product", product, m.start(), m.end())
                return


def _plain(r: Reading, s, m) -> str:
    found = r.assertion(s, m.start(), m.end())
    return "present" if found == "historical" else found

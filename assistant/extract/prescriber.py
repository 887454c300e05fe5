"""Whether the prescriber is, or is consulting, an oncologist."""

from __future__ import annotations

import re

from assistant.extract import terms
from assistant.extract.reading import Reading

_CONSULT = re.compile(r"\b(?:consult\w*|in consultation|co-?managed|co-?managing|referred to|with)\b", re.IGNORECASE)


_NO_BEFORE = re.compile(r"\b(?:no|not|without|w/o|never|isn'?t|wasn'?t|there'?s no)\s+(?:an?\s+|any\s+|the\s+)?$", re.IGNORECASE)


def read(r: Reading) -> None:
    for s in r.sentences:
        found = r.mentions(s, "prescribers")
        spans = [(m.start, m.end) for m in found]
        onc = [m for m in found if terms.entry("prescribers", m.term).get("oncologist")]
        for m in found:
            is_onc = bool(terms.entry("prescribers", m.term).get("oncologist"))
            assertion = r.assertion(s, m.start, m.end, spans)
            if assertion == "historical":
                assertion = "present"
            if not is_onc:
                if assertion in ("hypothetical", "possible"):  # "what if her pcp orders it": kept for the what-if
                    r.put(s, "prescriber_oncologist", False, m.start, m.end, assertion=assertion, strength=1)
                    continue
                if assertion != "present":
                    continue
                # "PCP in consultation with oncology" is prescribing in consultation with an oncologist
                if any(_CONSULT.search(s.text[min(m.end, o.start):max(m.start, o.start)]) for o in onc):
                    continue
                r.put(s, "prescriber_oncologist", False, m.start, m.end, strength=1)
                continue
            if assertion == "hypothetical" and _NO_BEFORE.search(s.text[max(0, m.start - 16):m.start]):
                # "what if ... no onc is involved": the what-if is of a case without an oncologist
                r.put(s, "prescriber_oncologist", False, m.start, m.end, assertion="hypothetical", strength=2)
                continue
            r.put(s, "prescriber_oncologist", True, m.start, m.end, assertion=assertion, strength=2)

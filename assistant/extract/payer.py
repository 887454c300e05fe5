"""Payer and line of business, from names and brands (Ambetter is Centene's marketplace plan)."""

from __future__ import annotations

from assistant.extract.reading import Reading

HELD = ("centene", "oscar")  # the payers whose policy documents are in the corpus
_SPECIFIC = ("ichra", "him", "medicaid", "medicare", "commercial")  # when two are named, the first of these wins


def read(r: Reading) -> None:
    for s in r.sentences:
        found = r.mentions(s, "payers")
        for m in found:
            if r.assertion(s, m.start, m.end, [(x.start, x.end) for x in found]) == "absent":
                continue  # "UHC commercial (not Centene)"
            if m.term in HELD:
                if not r.facts.get("payer"):
                    r.put(s, "payer", m.term, m.start, m.end)
            elif not r.facts.get("unsupported_payer"):
                r.put(s, "unsupported_payer", m.term, m.start, m.end)
        for m in r.mentions(s, "lines_of_business"):
            assertion = r.assertion(s, m.start, m.end)
            if assertion == "historical":
                assertion = "present"
            held = r.facts.get("line_of_business")
            if held and (assertion != "present" or held.stated and _SPECIFIC.index(held.value) < _SPECIFIC.index(m.term)):
                continue  # "ICHRA plan through her employer" is ICHRA
            r.put(s, "line_of_business", m.term, m.start, m.end, assertion=assertion)

"""Claims and prices asked in chat: claim lines read from the message for check_claim; J9354's payment limit."""

from __future__ import annotations

import re
from typing import Any

from assistant import compose
from assistant.facts import PatientFacts

_CODE = re.compile(r"\b(J\d{4}|Q\d{4}|9\d{4})\b", re.IGNORECASE)
_MODIFIER = re.compile(r"\b(JZ|JW|25|59)\b", re.IGNORECASE)
_UNITS = re.compile(r"(?:\bx\s*|×\s*|\bunits?\s*[:=]?\s*|\bqty\s*[:=]?\s*)(\d{1,4}(?:\.\d+)?)\b|\b(\d{1,4}(?:\.\d+)?)\s*(?:units?|u)\b",
                    re.IGNORECASE)
# "J9358-JZ 252": the number right after the code and its modifier is the unit count
_BARE_UNITS = re.compile(r"\W{0,3}(?:J[WZ]\W{0,3})?(\d{1,4}(?:\.\d+)?)\b(?!\s*(?:mg|kg|lbs?|%|ml|mcg|/))", re.IGNORECASE)
_NDC = re.compile(r"\b(\d{5}-\d{3,4}-\d{1,2}|\d{11})\b(?:\s*(?:N4)?\s*(?:(ML|UN)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(ml|un|vials?)\b))?",
                  re.IGNORECASE)
_ICD = re.compile(r"\b([A-TV-Z]\d{2}(?:\.\d{1,4})?)\b")
_POS = re.compile(r"\b(?:pos|place of service)\s*[:#=]?\s*(\d{2})\b", re.IGNORECASE)
_LONE_MODIFIER = re.compile(r"\b(JZ|JW)\b(?:\s*(?:line|modifier))?\s*(?:x|×|:|=)?\s*(\d{1,4}(?:\.\d+)?)\s*(?:units?|u)?\b",
                            re.IGNORECASE)


def claim_args(text: str, facts: PatientFacts) -> tuple[dict[str, Any], list[str]]:
    """A ClaimRequest mapping read from the message and the conversation's facts, and what is missing."""
    lines: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    codes = list(_CODE.finditer(text))
    for i, m in enumerate(codes):
        end = codes[i + 1].start() if i + 1 < len(codes) else min(len(text), m.end() + 40)
        window = text[m.end():end]
        if re.fullmatch(r"\d{5}", m.group(1)) and not m.group(1).startswith("96"):
            continue  # a five-digit number that is not an administration code (a ZIP, an amount)
        units = _UNITS.search(window) or _BARE_UNITS.match(window)
        mods = [x.upper() for x in _MODIFIER.findall(window[:20])]
        line: dict[str, Any] = {"code": m.group(1).upper(), "modifiers": mods[:1],
                                "units": float(next(g for g in units.groups() if g)) if units else 1.0}
        lines.append(line)
        taken.append((m.start(), m.end() + (units.end() if units else 0)))
    for m in _LONE_MODIFIER.finditer(text):
        if any(a <= m.start() <= b for a, b in taken):
            continue
        lines.append({"code": "J9354", "modifiers": [m.group(1).upper()], "units": float(m.group(2))})
    ndcs = []
    for m in _NDC.finditer(text):
        unit = (m.group(2) or m.group(5) or "").upper()
        quantity = m.group(3) or m.group(4)
        entry: dict[str, Any] = {"ndc": m.group(1)}
        if unit and quantity:  # "50242-0088-01 5mL", "N4 ML 5": qualifier N4 is the only one used for NDCs
            entry.update(qualifier="N4", unit="UN" if unit.startswith(("UN", "VIAL")) else "ML", quantity=float(quantity))
        ndcs.append(entry)
    drug = next((ln for ln in lines if ln["code"] == "J9354" and ln["modifiers"] != ["JW"]), None)
    if drug is not None and ndcs:
        drug["ndcs"] = ndcs
    args: dict[str, Any] = {"lines": lines}
    icd = [c for c in _ICD.findall(text) if not re.fullmatch(r"[A-Z]\d{4}", c)]
    if icd:
        args["icd10"] = icd
    if m := _POS.search(text):
        args["place_of_service"] = m.group(1)
    order = facts.to_dose_request()
    for key in ("weight", "weight_unit", "indication", "cycle", "date_of_service", "mg_per_kg", "dose_reduced",
                "previous_mg_per_kg", "vials_available"):
        if order.get(key) is not None:
            args[key] = order[key]
    if facts.value("line_of_business"):
        args["line_of_business"] = facts.value("line_of_business")
    missing = [] if lines else ["the claim lines (code, modifier and units, e.g. J9354 JZ 252 units)"]
    return args, missing


_STATUS = {"ok": "ok", "wrong": "WRONG", "check": "check"}


def compose_claim(result: dict, cites: compose.Citations) -> str:
    """Overall verdict, then each line and each claim-wide check with its reason and quote."""
    out = [f"Claim check: {_STATUS.get(result['overall'], result['overall'])} (J9354 claim, line by line)."]
    if result.get("implied_mg_per_kg"):
        out.append(f"- Billed dose level: {compose._fig(result['implied_mg_per_kg'])} "
                   f"({result['implied_mg_per_kg'].get('formula') or 'JZ units ÷ weight'}).")
    for line in result.get("lines", []):
        mods = "-".join(line.get("modifiers") or [])
        head = f"- Line {line['line']}: {line['code']}{('-' + mods) if mods else ''} × {compose._fig({'value': line['units'], 'unit': 'units'})}: "
        reasons = [f"{_STATUS[f['status']]}: {f['reason']} {cites.add(f.get('quote'))}".rstrip()
                   for f in line.get("findings", []) if f["status"] != "ok"] or ["ok"]
        out.append(head + "; ".join(reasons))
    for f in result.get("claim", []):
        if f["status"] != "ok":
            out.append(f"- Claim: {_STATUS[f['status']]}: {f['reason']} {cites.add(f.get('quote'))}".rstrip())
    for s in result.get("safety", []):
        out.append(f"- Label ({s['severity']}): {s['message']} {cites.add(s.get('quote'))}".rstrip())
    return "\n".join(out)


def compose_price(found: dict, cites: compose.Citations) -> tuple[str, list[str]]:
    """J9354's Medicare payment limit from the price_lookup result: the quarter, its dates, any stale warning."""
    row = found["row"]
    marker = cites.add(row.get("source"))
    where = f"CMS file {row['source_file']}, line {row['source_row']}" if row.get("source_file") else "the billing guide"
    answer = (f"J9354 (Kadcyla), billing unit {row['dosage']}: Medicare payment limit ${row['payment_limit']} per unit "
              f"(ASP + 6%), {found['quarter_label']} ({found['effective_start']} to {found['effective_end']}), from "
              f"{where} {marker}".rstrip() + ". For this patient's cycle and course, give the weight and indication.")
    warnings = [found["warning"]] if found.get("warning") else []
    return answer, warnings

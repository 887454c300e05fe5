"""`bottom_line(answer) -> str`: the one line every answer opens with, built from its tool results.

Every figure in the line is a tool result's value (rounded for display only); the words around them
are ours. A question back says what is missing, once; other answers fall back to their own first line.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.models import Answer

SEP = " · "
# Display precision by unit: the tools keep every digit, the reader needs these.
DECIMALS = {"kg": 2, "lb": 1, "mg": 1, "mL": 2, "mg/kg": 2}
_LONG_NUMBER = re.compile(r"(?<![\d.])(\d+\.\d{3,})(?= ?(kg|mg|mL)\b(?!/))")
_PAYERS = {"centene": "Centene", "oscar": "Oscar"}
_LOB = {"medicaid": "Medicaid", "him": "HIM", "ichra": "ICHRA", "commercial": "commercial", "medicare": "Medicare"}



def number(value: Any, unit: str = "") -> str:
    """A value as shown: rounded to the unit's display precision, no trailing '.0'."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    places = DECIMALS.get(unit)
    if places is not None:
        value = round(float(value), places)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if places is None else f"{value:.{places}f}".rstrip("0").rstrip(".")


def shown(fig: dict | None) -> str:
    """A Figure dict as '252 mg' with display rounding."""
    if not fig:
        return ""
    unit = fig.get("unit") or ""
    return f"{number(fig.get('value'), unit)} {unit}".strip()


def round_display(text: str) -> str:
    """Long decimals before kg, mg or mL in tool text shortened for reading ('69.85322498 kg' -> '≈69.85 kg')."""
    return _LONG_NUMBER.sub(lambda m: "≈" + number(float(m.group(1)), "kg" if m.group(2) == "kg" else "mL"), text)


# -- one line per tool ----------------------------------------------------------------------------
def dose_line(out: dict) -> str:
    """'252 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 252 / JW 8 · 12.6 mL in 250 mL NS'."""
    parts = [shown(out["dose_mg"])]
    if out.get("reduced_dose") and out.get("mg_per_kg"):
        parts[0] += f" ({shown(out['mg_per_kg'])})"
    vials = [f"{number(v['count']['value'])} × {shown(v['strength_mg'])}" for v in out.get("vials", [])]
    if vials:
        parts.append(" + ".join(vials))
    lines = out.get("billing", {}).get("lines", [])
    if lines:
        code = lines[0]["hcpcs"]
        parts.append(f"{code}-" + " / ".join(f"{ln['modifier']} {number(ln['units']['value'])}" for ln in lines))
    prep = out.get("preparation") or {}
    if prep.get("withdraw_ml") and prep.get("diluent_volume_ml"):
        diluent = str((prep.get("diluent") or {}).get("value", ""))
        bag = "NS" if "0.9% Sodium Chloride" in diluent else diluent
        parts.append(f"{shown(prep['withdraw_ml'])} in {shown(prep['diluent_volume_ml'])} {bag}".strip())
    return SEP.join(p for p in parts if p)


def _policy_name(out: dict) -> str:
    version = str(out.get("policy_version") or out.get("policy_id") or "")
    short = re.split(r"[ ,(]", version, maxsplit=1)[0]
    payer = _PAYERS.get(str(out.get("payer")), str(out.get("payer") or "").title())
    return f"{payer} {short}".strip()


def _months(d: dict) -> str:
    if d.get("until"):
        return f"until {d['until']}"
    text = f"{'up to ' if d.get('up_to') else ''}{d.get('months')} months"
    return text + (" or to renewal" if d.get("or_renewal_date") else "")


def durations(out: dict, sections: list[str]) -> str:
    """The approval duration of the met sections, for the case's line of business when it is known."""
    lob = (out.get("case") or {}).get("line_of_business")
    rows = [d for d in out.get("approval_duration") or [] if isinstance(d, dict) and d.get("section") in sections]
    if lob:
        rows = [d for d in rows if not d.get("lines_of_business") or lob in d["lines_of_business"]]
    if len(rows) == 1:
        return _months(rows[0])
    return "; ".join(f"{_months(d)} ({'/'.join(_LOB.get(x, x) for x in d.get('lines_of_business') or [])})"
                     for d in rows)


def policy_line(out: dict) -> str:
    """'Meets Centene CP.PHAR.229 I.A · 6 months or to renewal', or what stops it."""
    name = _policy_name(out)
    approvals = [s for s in out.get("sections", []) if s.get("kind", "approval") == "approval"]
    overall = out.get("overall")
    if overall == "meets_criteria":
        met = [s["id"] for s in approvals if s.get("verdict") == "meets_criteria"]
        how_long = durations(out, met)
        return SEP.join(p for p in (f"Meets {name} {', '.join(met)}".strip(), how_long) if p)
    failed = {s["id"]: _failed(s) for s in approvals if s.get("verdict") == "does_not_meet"}
    if overall == "does_not_meet":
        ids = [c for crits in failed.values() for c in crits]
        return f"Does not meet {name}" + (f": {', '.join(dict.fromkeys(ids))} not met" if ids else "")
    parts = [f"{sid} not met ({', '.join(crits)})" if crits else f"{sid} not met" for sid, crits in failed.items()]
    open_ = [s["id"] for s in approvals if s.get("verdict") == "incomplete"]
    if open_:
        parts.append(f"{', '.join(open_)} open")
    return f"Not settled for {name}" + (f": {'; '.join(parts)}" if parts else "")


def _failed(section: dict) -> list[str]:
    """The top-level criteria a section fails on."""
    return [c["id"] for c in section.get("criteria", []) if c.get("verdict") == "not_met" and not c.get("parent")]


def _product(out: dict, pid: str) -> tuple[str, str]:
    for p in out.get("products", []):
        if p.get("id") == pid:
            return str((p.get("brand") or {}).get("value", pid)), str((p.get("jcode") or {}).get("value", ""))
    return pid, ""


def code_line(out: dict) -> str:
    """'Bill J9354; J9358 is Enhertu' for a Kadcyla claim with a look-alike code in it."""
    ids = list(dict.fromkeys(p["id"] for p in out.get("products", []) if p.get("id")))
    verdict = out.get("verdict")
    others = [_product(out, p) for p in ids if p != "kadcyla"]
    if "kadcyla" in ids:
        _, kcode = _product(out, "kadcyla")
        if verdict == "consistent" and not others:
            return f"Bill {kcode}: it is Kadcyla"
        if others:
            return f"Bill {kcode}; " + "; ".join(f"{code} is {brand}" if code else f"{brand} is not Kadcyla"
                                                   for brand, code in others)
    if verdict == "consistent" and others:
        return "; ".join(f"{code} is {brand}, not Kadcyla" for brand, code in others)
    return "Not settled: confirm the brand name, the J-code and the dose"


def claim_line(out: dict) -> str:
    """'Claim: wrong · 3 to fix, 1 to check' from the claim checker's findings."""
    findings = [f for ln in out.get("lines", []) for f in ln.get("findings", [])] + list(out.get("claim") or [])
    wrong = sum(1 for f in findings if f.get("status") == "wrong")
    check = sum(1 for f in findings if f.get("status") == "check")
    parts = [f"Claim: {str(out.get('overall', 'checked')).replace('_', ' ')}"]
    if wrong:
        parts.append(f"{wrong} to fix")
    if check:
        parts.append(f"{check} to check")
    return SEP.join(parts)


def price_line(out: dict) -> str:
    row = out.get("row") or {}
    if not row.get("payment_limit"):
        return ""
    return f"{row.get('hcpcs', '')} ${row['payment_limit']} per unit (ASP + 6%){SEP}{out.get('quarter_label', '')}".strip()


LINES = {"calculate_dose": dose_line, "check_policy": policy_line, "disambiguate_code": code_line,
         "check_claim": claim_line, "price_lookup": price_line}


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().removeprefix("- ").strip()
        if line and not line.lower().startswith("label safety:"):
            return line
    return text.strip()


def bottom_line(answer: Answer) -> str:
    """The answer in one line: from the tool results when there are any, else the answer's own first line."""
    if answer.status == "needs_info":
        return "Needed: " + "; ".join(answer.missing) if answer.missing else _first_line(answer.answer)
    if answer.status in ("error", "out_of_scope"):
        return _first_line(answer.answer)
    lines = []
    for call in answer.tool_calls:
        make = LINES.get(call.tool)
        if make is None or not isinstance(call.output, dict) or "error" in call.output:
            continue
        try:
            line = make(call.output)
        except (KeyError, TypeError, IndexError):  # an older or partial result: fall back to the text
            line = ""
        if line and line not in lines:
            lines.append(line)
    return " | ".join(lines) if lines else _first_line(answer.answer)

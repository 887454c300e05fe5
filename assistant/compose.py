"""Answer text from tool results and quotes. Every number written here is copied
from a tool result; every citation is a quote the result carries."""

from __future__ import annotations

from typing import Any

from assistant.corpus import get_corpus
from assistant.models import Citation


class Citations:
    """Numbered citations, one per distinct (document, quote)."""

    def __init__(self) -> None:
        self.items: list[Citation] = []

    def add(self, source: dict | None, section: str | None = None) -> str:
        """Cite a SourceQuote-like dict; return its marker text ("[n]") or "" if unusable."""
        if not source or not source.get("quote") or not source.get("doc_id"):
            return ""
        corpus = get_corpus()
        if not corpus.is_exact(source["doc_id"], source["quote"]):
            return ""
        for c in self.items:
            if c.doc_id == source["doc_id"] and c.quote == source["quote"]:
                return f"[{c.marker}]"
        meta = corpus.doc(source["doc_id"]).meta
        start = source.get("start")
        if start is None:
            start = corpus.text(source["doc_id"]).find(source["quote"])
        marker = len(self.items) + 1
        self.items.append(
            Citation(
                marker=marker,
                doc_id=source["doc_id"],
                doc_title=meta.title,
                section=section or source.get("section") or "",
                quote=source["quote"],
                start=start,
                end=start + len(source["quote"]),
                publisher=meta.publisher,
                date=meta.date,
                review_status=meta.review_status,
            )
        )
        return f"[{marker}]"


def _fig(f: dict | None) -> str:
    if not f:
        return ""
    value = f["value"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    unit = f.get("unit", "")
    return f"{value} {unit}".strip()


def _usd(f: dict) -> str:
    return f"${float(f['value']):,.2f}"


def compose_dose(result: dict, cites: Citations) -> str:
    """The dose answer: dose, vials, waste, billing, preparation, administration, payment."""
    c = cites.add
    req = result["request"]
    lines = []
    w = result.get("weight_kg")
    if w:
        weight_text = f"{_fig(w)}" + (f" ({req['weight']:g} lb; {w['formula']})" if req.get("weight_unit") == "lb" and w.get("formula") else "")
        lines.append(f"Kadcyla (J9354) for {result['indication_label']}, cycle {req['cycle']}, weight {weight_text}.")
    else:  # a prescribed mg dose with no weight
        lines.append(f"Kadcyla (J9354) for {result['indication_label']}, cycle {req['cycle']}, prescribed dose (no weight given).")
    d = result["dose_mg"]
    reduced = " (reduced dose)" if result.get("reduced_dose") else ""
    lines.append(f"- Dose: {_fig(d)}{reduced} — {d.get('formula')} {c(d.get('source'))}".rstrip())
    vials = " + ".join(f"{_fig(v['count']).split()[0]} × {_fig(v['strength_mg'])} (NDC {v['ndc_11']['value']})" for v in result["vials"])
    lines.append(f"- Vials: {vials} {c(result['vials'][0]['ndc_11'].get('source'))}".rstrip())
    lines.append(f"- Drawn: {_fig(result['drawn_mg'])} — {result['drawn_mg'].get('formula')} {c(result['drawn_mg'].get('source'))}".rstrip())
    lines.append(f"- Waste: {_fig(result['waste_mg'])} — {result['waste_mg'].get('formula')}")
    billing = result["billing"]
    bill_lines = "; ".join(f"{ln['hcpcs']} × {_fig(ln['units'])} with {ln['modifier']} ({ln['meaning']})" for ln in billing["lines"])
    lines.append(f"- Billing: {bill_lines} {c(billing['lines'][0]['units'].get('source'))}".rstrip())
    lines.append(f"- Rounding rule: {billing['rounding_rule']}")
    prep = result["preparation"]
    recon = "; ".join(f"{_fig(v['reconstitution_ml'])} Sterile Water for Injection per {_fig(v['strength_mg'])} vial" for v in result["vials"])
    lines.append(f"- Preparation: {recon} → {_fig(prep['concentration_mg_per_ml'])} {c(result['vials'][0]['reconstitution_ml'].get('source'))}".rstrip())
    lines.append(f"- Withdraw {_fig(prep['withdraw_ml'])} ({prep['withdraw_ml'].get('formula')}); dilute in {_fig(prep['diluent_volume_ml'])} {prep['diluent']['value'].strip()}; {prep['diluent_forbidden']['value'].strip()} {c(prep['diluent_forbidden'].get('source'))}".rstrip())
    lines.append(f"- Filter: {_fig(prep['filter'])} {c(prep['filter'].get('source'))}".rstrip())
    adm = result["administration"]
    cpt = " + ".join(str(x["value"]) for x in adm["cpt"])
    cond = f" {adm['condition']}" if adm.get("condition") else ""
    lines.append(
        f"- Infusion: over {_fig(adm['infusion_minutes'])}{cond}, observe at least {_fig(adm['observation_minutes'])}; "
        f"administration CPT {cpt} {c(adm['infusion_minutes'].get('source'))}".rstrip()
    )
    pay = result["payment"]
    quarter = pay["quarter"]
    lines.append(
        f"- Medicare (ASP + 6%, {quarter}, effective {pay['effective_start']} to {pay['effective_end']}): "
        f"${pay['price_per_unit']['value']} per unit; {_usd(pay['administered'])} for the administered units; "
        f"{_usd(pay['per_cycle'])} per cycle with waste; {_usd(pay['course'])} for "
        f"{_fig(pay['course_cycles'])} {c(pay['price_per_unit'].get('source'))}".rstrip()
    )
    if result.get("dose_basis") == "prescribed" and result.get("mg_per_kg"):
        lvl = result["mg_per_kg"]
        lines.append(f"- Dose level implied: {_fig(lvl)} ({lvl.get('formula') or 'prescribed mg ÷ weight'})")
    for note in result.get("notes", []):
        lines.append(f"- Note: {note}")
    if pay.get("rest_of_course"):
        r = pay["rest_of_course"]
        lines.append(f"- Rest of the course: {_usd(r)} ({r.get('label') or 'this cycle and the ones left'}) {c(r.get('source'))}".rstrip())
    if pay.get("after_sequestration"):
        a = pay["after_sequestration"]
        lines.append(f"- A year after sequestration: {_usd(a)} ({a.get('formula') or a.get('label')}) {c(a.get('source'))}".rstrip())
    return "\n".join(lines)


_VERDICT = {"met": "met", "not_met": "NOT met", "unknown": "unknown"}


def compose_policy(result: dict, cites: Citations) -> str:
    """Overall verdict, then each decisive criterion with the policy's words."""
    lines = [f"{result.get('policy_title') or result.get('policy_id')} ({result.get('policy_version', '')}): overall — {result['overall'].replace('_', ' ')}."]
    for section in result.get("sections", []):
        verdict = section.get("verdict", "").replace("_", " ")
        lines.append(f"Section {section['id']} {section.get('title', '')}: {verdict}.")
        for crit in section.get("criteria", []):
            marker = cites.add(
                {"doc_id": crit.get("doc_id"), "quote": crit.get("quote"), "start": crit.get("start"), "section": crit.get("id")},
                section=crit.get("id"),
            )
            lines.append(f"- {crit['id']} {_VERDICT.get(crit['verdict'], crit['verdict'])}: {crit.get('reason', '')} {marker}".rstrip())
    seen = set()
    for d in result.get("approval_duration") or []:
        if not isinstance(d, dict):
            continue
        lobs = ", ".join(d.get("lines_of_business") or []) or "all lines of business"
        key = (d.get("months"), lobs, d.get("or_renewal_date"))
        if key in seen:
            continue
        seen.add(key)
        upto = "up to " if d.get("up_to") else ""
        renewal = " or to the member's renewal date, whichever is longer" if d.get("or_renewal_date") else ""
        label = f" ({d['label']})" if d.get("label") else ""
        lines.append(f"Approval duration, {lobs}: {upto}{d.get('months')} months{renewal}{label} {cites.add(d.get('source'))}".rstrip())
    for ref in result.get("referral") or []:
        text = ref.get("text") or ref.get("policy") or str(ref) if isinstance(ref, dict) else str(ref)
        lines.append(f"Referral: {text} {cites.add(ref.get('source')) if isinstance(ref, dict) else ''}".rstrip())
    if result.get("missing"):
        lines.append("To obtain: " + "; ".join(_plain(m) for m in result["missing"]))
    return "\n".join(lines)


def _plain(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("question") or item.get("text") or item.get("field") or item)
    return str(item)


def compose_code(result: dict, cites: Citations) -> str:
    lines = [result.get("message", "")]
    for clue in result.get("clues", []):
        marker = cites.add(clue.get("quote"))
        targets = ", ".join(clue.get("products") or []) or "nothing in the reference"
        lines.append(f"- '{clue['text']}' ({clue['kind']}) → {targets} {marker}".rstrip())
    for conflict in result.get("conflicts", []):
        markers = " ".join(m for m in (cites.add(q) for q in conflict.get("quotes", [])) if m)
        for item in conflict.get("confirm", []):
            lines.append(f"Confirm: {item} {markers}".rstrip())
    for warning in result.get("warnings", []):
        markers = " ".join(m for m in (cites.add(q) for q in warning.get("quotes", [])) if m)
        lines.append(f"Warning: {warning.get('text', '')} {markers}".rstrip())
    for unit in result.get("units", []):
        lines.append(f"- {unit.get('jcode')}: {unit.get('mg')} mg = {unit.get('units')} billing units ({unit.get('rounding')}) {cites.add(unit.get('source'))}".rstrip())
    products = result.get("products") or []
    if len(products) <= 3:
        lines.extend(_product_facts(p, cites, with_doses=len(products) > 1 or "dose" in (result.get("query") or "").lower())
                     for p in products)
    return "\n".join(line for line in lines if line)


def _product_facts(product: dict, cites: Citations, with_doses: bool) -> str:
    """A biller's card for one product: J-code, HCPCS descriptor, one billing unit, and the dose if asked."""
    brand = (product.get("brand") or {}).get("value") or product.get("id")
    parts = []
    if (jcode := product.get("jcode")) and (desc := product.get("descriptor")):
        parts.append(f"{jcode['value']} descriptor “{desc['value']}” {cites.add(desc.get('source'))}".rstrip())
    if unit := product.get("mg_per_unit"):
        parts.append(f"one billing unit = {_fig(unit)} {cites.add(unit.get('source'))}".rstrip())
    if with_doses:
        for dose in product.get("doses") or []:
            context = " ".join(x for x in (dose.get("schedule"), f"({dose['context']})" if dose.get("context") else "") if x)
            parts.append(f"dose {_fig(dose)} {context} {cites.add(dose.get('source'))}".rstrip())
    return f"- {brand}: " + "; ".join(parts) if parts else ""


def compose_passages(passages: list[dict], cites: Citations) -> str:
    """Extractive answer: the best sentences of the retrieved passages, each cited."""
    lines = []
    for p in passages:
        marker = cites.add({"doc_id": p["doc_id"], "quote": p["quote"], "start": p["start"]}, section=p["section"])
        meta = get_corpus().doc(p["doc_id"]).meta
        lines.append(f"{meta.publisher}, {p['section']}: “{p['quote']}” {marker}".rstrip())
    return "\n".join(lines)

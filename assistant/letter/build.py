"""The letter of medical necessity, from a case file or the conversation's facts.

Every number comes from calculate_dose, check_policy or a quote checked against the corpus; every
case value is shown through assistant.letter.words (fixed words, validated codes, numbers). When a
required criterion is not met or not known, or the label forbids the request, no letter is written:
the result is withheld with the reasons, for staff.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.facts import PatientFacts
import assistant.letter.criteria as crit
import assistant.letter.words as w
from assistant.letter.model import Footnote, LetterResult, Para, Part, StaffSafety
from assistant.safety import SafetyInput, check_safety
from assistant.tools.case_file import CaseFile, LetterFields, parse_case_file
from assistant.tools.dose import DoseResult, build_request, calculate_dose, load_dose_facts
from assistant.tools.policy import check_policy
from assistant.tools.policy_case import PatientCase, parse_case
from assistant.tools.policy_data import Policy, load_policy
from assistant.tools.policy_result import PolicyResult
from assistant.tools.policy_rules import Context

PLACEHOLDERS = ("[Member name]", "[Member ID]", "[Date of birth]", "[Prescriber name]", "[Prescriber NPI]", "[Date]")
FILL_INS = ("[ICD-10 code]", "[Number of cycles]", "[Site of care]")  # shown only when the case lacks them
_INDICATION = {"mbc": "mbc", "ebc_residual": "ebc", "nsclc": "nsclc", "salivary": "salivary", "brain_mets": "brain_mets"}


class _Refs:
    """Numbered footnotes, one per (document, section); each quote is checked against the corpus."""

    def __init__(self) -> None:
        self.notes: dict[tuple[str, str], Footnote] = {}

    def cite(self, doc_id: str, section: str, quote: str) -> str:
        get_corpus().find(doc_id, quote)  # DataError if the passage is not in the document
        key = (doc_id, section or "")
        note = self.notes.get(key)
        if note is None:
            meta = get_corpus().doc(doc_id).meta
            where = [meta.reference or "", f"section {section}" if section else "",
                     f"last reviewed {meta.last_review_date}" if meta.last_review_date else
                     (f"effective {meta.effective_date}" if meta.effective_date else "undated")]
            text = f"{meta.title.rstrip('.')}. {meta.publisher.rstrip('.')}. {', '.join(p for p in where if p)}."
            note = Footnote(n=len(self.notes) + 1, doc_id=doc_id, section=section or "", text=text, quotes=[])
            self.notes[key] = note
        if quote not in note.quotes:
            note.quotes.append(quote)
        return f"[{note.n}]"


# ---------------------------------------------------------------- dose and safety


def _dose(case: PatientCase, fields: LetterFields, extra: dict[str, Any]) -> tuple[DoseResult | None, list[str]]:
    """The dose tool's result for a Kadcyla letter, or the reasons it cannot be computed."""
    reasons = []
    if fields.weight is None:
        reasons.append("The patient's weight is not given, so the dose in mg and the billing units cannot be computed.")
    elif fields.weight_unit is None:
        reasons.append("The weight is given without its unit (kg or lb).")
    if case.dose_mg_per_kg is None:
        reasons.append("The dose level (mg/kg) is not given.")
    if case.interval_days is None:
        reasons.append("The dosing interval (days between doses) is not given.")
    if case.diagnosis not in _INDICATION:
        reasons.append("The dose calculator covers Kadcyla for breast cancer and Centene's off-label uses only.")
    if reasons:
        return None, reasons
    args = {"weight": fields.weight, "weight_unit": fields.weight_unit, "indication": _INDICATION[case.diagnosis],
            "mg_per_kg": case.dose_mg_per_kg, **extra}
    for name in ("cycle", "dose_reduced", "previous_mg_per_kg"):
        if getattr(fields, name) is not None:
            args[name] = getattr(fields, name)
    try:
        return calculate_dose(build_request(**args)), []
    except InputError as exc:
        return None, [f"The dose calculator refused the request: {exc}"]


def _safety(case: PatientCase, fields: LetterFields, her2: str, brand: str, hcpcs: str,
            dose: DoseResult | None) -> list[StaffSafety]:
    facts = SafetyInput(mg_per_kg=case.dose_mg_per_kg, previous_mg_per_kg=fields.previous_mg_per_kg,
                        dose_reduced=fields.dose_reduced, cycle=fields.cycle, products=[brand], codes=[hcpcs],
                        her2_category=her2 if her2 != "unknown" else None)
    found = {f.rule: f for f in [*(dose.safety if dose else []), *check_safety(facts)]}
    corpus = get_corpus()
    return [StaffSafety(rule=f.rule, severity=f.severity, message=f.message, quote=f.quote,
                        document=corpus.doc(f.quote.doc_id).meta.title)
            for f in sorted(found.values(), key=lambda f: f.severity != "error")]


# ---------------------------------------------------------------- the letter's parts


def _request_part(brand: str, generic: str, hcpcs: str, case: PatientCase, fields: LetterFields,
                  dose: DoseResult | None, policy: Policy, refs: _Refs) -> Part:
    paras = []
    if dose is not None:
        code = load_dose_facts().hcpcs
        paras.append(f"Drug: {brand} ({generic}), HCPCS {hcpcs}, 1 mg per unit"
                     f"{refs.cite(code.doc_id, code.section, code.quote)}.")
        vials = [f"NDC {v.ndc_11.value} ({v.strength_mg.value} mg single-dose vial) × {v.count.value}"
                 + refs.cite(v.ndc_11.source.doc_id, v.ndc_11.source.section, v.ndc_11.source.quote)
                 for v in dose.vials]
        paras.append(f"Vials per dose: {' and '.join(vials)}.")
        src = dose.dose_mg.source
        paras.append(f"Dose: {w.num(dose.mg_per_kg.value)} mg/kg = {w.num(dose.dose_mg.value)} mg IV every "
                     f"{case.interval_days} days, for a weight of {w.num(dose.request.weight)} {dose.request.weight_unit}"
                     f"{refs.cite(src.doc_id, src.section, src.quote)}.")
        lines = [f"{line.hcpcs}-{line.modifier} {w.num(line.units.value)} units {line.meaning}"
                 + refs.cite(line.units.source.doc_id, line.units.source.section, line.units.source.quote)
                 for line in dose.billing.lines]
        paras.append(f"Billing units per dose: {' and '.join(lines)}.")
    else:
        product = next(p for p in policy.products if p.id == "margenza")
        paras.append(f"Drug: {brand} ({generic}), HCPCS {hcpcs}"
                     f"{refs.cite(product.source.doc_id, '', product.source.quote)}.")
        paras.append("Dose, NDC and billing units: as written in the enclosed prescriber order.")
    cycles = str(fields.cycles_requested) if fields.cycles_requested is not None else "[Number of cycles]"
    start = ""
    if fields.cycle is not None:
        start = f", starting at cycle {fields.cycle}"
        if dose is not None and dose.request.indication == "ebc":
            course = load_dose_facts().ebc_course_cycles
            start += f" of the {course.value}-cycle adjuvant course{refs.cite(course.doc_id, course.section, course.quote)}"
    paras.append(f"Cycles requested: {cycles}{start}.")
    site = w.SITES[fields.site_of_care] if fields.site_of_care else "[Site of care]"
    paras.append(f"Site of care: {site}.")
    return Part(heading="Request", paras=[Para(text=p, bullet=True) for p in paras])


def _history_part(case: PatientCase, fields: LetterFields, her2: str, brand: str) -> tuple[Part, list[str]]:
    notes = []
    icd = fields.icd10 or "[ICD-10 code]"
    paras = [f"Diagnosis: {w.DIAGNOSES[case.diagnosis]}; ICD-10-CM {icd}."]
    if (shown := w.her2(case, her2)) is not None:
        paras.append(f"HER2 result: {shown}.")
    if (age := w.age(case)) is not None:
        paras.append(f"Age: {age}.")
    therapies, hidden = w.therapies(case.prior_therapies)
    if therapies:
        paras.append(f"Prior therapies: {', '.join(therapies)}.")
    if hidden:
        notes.append(f"{hidden} prior therapy entr{'y' if hidden == 1 else 'ies'} not recognised as a drug name "
                     "left out of the letter; add from the chart if it matters.")
    if (trials := w.trials(case)) is not None:
        paras.append(f"Preferred products tried: {trials}.")
    if case.line_of_therapy is not None:
        paras.append(f"Line of therapy: {case.line_of_therapy}.")
    if case.regimen:
        others, hidden_others = w.therapies(case.combined_with)
        how = w.REGIMENS.get(case.regimen) or ("in combination" + (f" with {', '.join(others)}" if others else ""))
        paras.append(f"Regimen: {brand} {how}.")
        if hidden_others:
            notes.append(f"{hidden_others} combination drug entr{'y' if hidden_others == 1 else 'ies'} not "
                         "recognised as a drug name left out of the letter.")
    return Part(heading="Diagnosis and history", paras=[Para(text=p, bullet=True) for p in paras]), notes


def _necessity_part(result: PolicyResult, policy: Policy, case: PatientCase, brand: str, refs: _Refs) -> tuple[Part, list[str]]:
    defs, docs, her2 = crit.criteria_by_id(policy), {c.id: c.label for c in result.checklist}, result.her2.category
    ctx = Context(case=case, her2=result.her2, preferred=policy.preferred)
    paras: list[Para] = []
    met: list[str] = []
    for s in result.sections:
        if s.kind != "approval" or s.verdict != "meets_criteria":
            continue
        paras.append(Para(text=f"{brand} is medically necessary for this member. The request meets each criterion "
                               f"of section {s.id} of the policy ({s.title}):"))
        said_before: set[str] = set()
        for c in crit.met_leaves(s, defs, ctx):
            facts = w.rule_facts(crit.logic_of(defs.get(c.id)), case, her2, brand, docs)
            facts = list(dict.fromkeys(facts))
            facts = [f for f in facts if f not in said_before] or facts  # say a fact once, unless it is all there is
            said_before.update(facts)
            said = w.capital("; ".join(facts)) if facts else c.label
            mark = refs.cite(c.doc_id, s.id, c.quote)
            paras.append(Para(text=f"{said}. This meets the policy's criterion “{crit.clause(c.quote)}”{mark}.", bullet=True))
            met.append(c.id)
    return Part(heading="Medical necessity", paras=paras), met


def _duration_part(result: PolicyResult, fields: LetterFields, refs: _Refs) -> tuple[Part, list[str]]:
    notes = []
    if result.approval_duration:
        d = result.approval_duration[0]
        lobs = ", ".join(w.LINES[x] for x in d.lines_of_business) if d.lines_of_business else ""
        if d.lines_of_business and result.case.line_of_business:
            lobs = w.LINES[result.case.line_of_business]
        text = (f"Requested authorization period: {'up to ' if d.up_to else ''}{d.months} months"
                + (" or to the member's renewal date, whichever is longer" if d.or_renewal_date else "")
                + (f", through {d.until.isoformat()}" if d.until else "")
                + (f", as the policy provides for {lobs} members" if lobs else ", as the policy provides")
                + refs.cite(d.source.doc_id, d.section, d.source.quote) + ".")
    else:
        cycles = str(fields.cycles_requested) if fields.cycles_requested is not None else "[Number of cycles]"
        text = f"Requested authorization period: the {cycles} cycles requested above."
        notes.append("The policy states no approval period for this request; the letter asks for the cycles requested.")
    return Part(heading="Requested duration", paras=[Para(text=text)]), notes


def _documents_part(result: PolicyResult) -> tuple[Part, list[str]]:
    listed = [c for c in result.checklist if c.status in ("provided", "missing")]
    notes = [f"Enclose before sending (the letter lists it; the case does not mark it as in the packet): {c.label}."
             for c in result.checklist if c.status == "missing"]
    notes += [f"If it applies, enclose it and add it to the letter's list: {c.label}."
              for c in result.checklist if c.status == "optional"]
    paras = [Para(text=f"{c.label}.", bullet=True) for c in listed] or [Para(text="[Documents enclosed]")]
    return Part(heading="Documents enclosed", paras=paras), notes


def _staff_notes(result: PolicyResult, dose: DoseResult | None, safety: list[StaffSafety],
                 fields: LetterFields) -> list[str]:
    notes = ["Fill in the placeholders: " + ", ".join(PLACEHOLDERS) + "."]
    if fields.icd10 is None:
        notes.append("The ICD-10-CM code is not given: fill in [ICD-10 code].")
    if fields.cycles_requested is None:
        notes.append("The number of cycles is not given: fill in [Number of cycles].")
    if fields.site_of_care is None:
        notes.append("The site of care is not given: fill in [Site of care].")
    notes += list(result.questions)
    for s in result.sections:
        if s.verdict == "meets_criteria":
            notes += [f"Policy note: {n.label}." for n in s.notes]
    ignored = sorted(set(result.case.documents or []) - {c.id for c in result.checklist})
    if ignored:
        one = len(ignored) == 1
        notes.append(f"{len(ignored)} document entr{'y is' if one else 'ies are'} not on this policy's checklist and "
                     f"{'was' if one else 'were'} ignored.")
    if dose is not None:
        rules = [s.message for s in safety]
        notes += [f"Dose check: {x}" for x in dose.warnings
                  if "price" not in x.lower() and not any(x.startswith(m) for m in rules)]
    if result.submission:
        contacts = "; ".join(f"{c.method} {c.value}" for c in result.submission.contacts)
        notes.append(f"Submit to {result.submission.review_entity}: {contacts}.")
    return notes


# ---------------------------------------------------------------- the functions


def _withheld(title: str, brand: str, hcpcs: str, reasons: list[str], checklist: list[str] | None = None,
              safety: list[StaffSafety] | None = None, policy: PolicyResult | None = None,
              dose: DoseResult | None = None) -> LetterResult:
    return LetterResult(withheld=True, reasons=list(dict.fromkeys(reasons)), checklist=checklist or [],
                        safety=safety or [], title=title, drug=brand, hcpcs=hcpcs, policy=policy, dose=dose)


def _build(case: PatientCase, fields: LetterFields, *, today: dt.date | None = None,
           dose_extra: dict[str, Any] | None = None) -> LetterResult:
    product = case.requested_product or "kadcyla"  # the assistant's drug, when the case names no other
    if product not in w.PRODUCTS:
        brand, hcpcs = product.title(), ""
        return _withheld(f"Letter of medical necessity: {brand}", brand, hcpcs,
                         [f"A letter is written for {' or '.join(b for b, _, _ in w.PRODUCTS.values())} only."])
    brand, generic, hcpcs = w.PRODUCTS[product]
    title = f"Letter of medical necessity: {brand} ({generic}), HCPCS {hcpcs}"
    missing = [q for f, q in (("payer", "Which payer (centene or oscar)?"), ("diagnosis", PatientCase.question("diagnosis")))
               if getattr(case, f) is None]
    if missing:
        return _withheld(title, brand, hcpcs, [f"Not yet known: {q}" for q in missing])
    case = case.model_copy(update={"requested_product": product})
    try:
        result = check_policy(case)
    except InputError as exc:
        return _withheld(title, brand, hcpcs, [f"The policy check cannot be run: {exc}"])
    policy = load_policy(result.policy_id)
    her2 = result.her2.category
    dose, reasons = (None, []) if product != "kadcyla" else _dose(case, fields, dose_extra or {})
    safety = _safety(case, fields, her2, brand, hcpcs, dose)
    label_errors = [f"The label does not allow this request: {s.message}" for s in safety if s.severity == "error"]
    if label_errors:  # the dose tool's refusal says the same as the label rule, with less to act on
        reasons = [r for r in reasons if not r.startswith("The dose calculator refused")]
    reasons = crit.policy_reasons(result, policy, case, brand) + reasons + label_errors
    checklist = _staff_notes(result, dose, safety, fields)
    if len({(d.months, d.up_to, d.or_renewal_date) for d in result.approval_duration}) > 1:
        lob = PatientCase.question("line_of_business")
        reasons.append(f"The approval period depends on the line of business, which is not given: {lob}")
        checklist = [c for c in checklist if not c.startswith(lob)]
    if product != "kadcyla":
        checklist.append("The dose calculator covers Kadcyla only: add the dose, NDC and billing units from the "
                         "prescriber order.")
    if reasons:
        return _withheld(title, brand, hcpcs, reasons, checklist, safety, result, dose)

    refs = _Refs()
    payer = w.PAYERS.get(result.payer, result.payer.title())
    meta = get_corpus().doc(result.doc_id).meta
    to = f"To: {payer}, prior authorization review" + (
        f" ({result.submission.review_entity})" if result.submission else "")
    head = Part(paras=[Para(text=today.isoformat() if today else "[Date]"), Para(text=to),
                       Para(text=f"Re: {title}"),
                       Para(text="Member: [Member name]; Member ID: [Member ID]; Date of birth: [Date of birth]"),
                       Para(text="Prescriber: [Prescriber name]; NPI: [Prescriber NPI]")])
    first_section = next(s for s in result.sections if s.verdict == "meets_criteria")
    policy_mark = refs.cite(result.doc_id, first_section.id, first_section.criteria[0].quote)
    plan = f" The member's plan is {w.LINES[case.line_of_business]}." if case.line_of_business else ""
    kind = w.REQUESTS.get(case.request_type or "", "a request")
    intro = Part(paras=[Para(text="Dear Reviewer:"), Para(text=(
        f"I am writing on behalf of my patient, [Member name], to request authorization of {brand} ({generic}) for "
        f"{w.DIAGNOSES[case.diagnosis]}. This is {kind} under {payer}'s {meta.title} ({meta.reference or result.policy_id})"
        f"{policy_mark}.{plan}"))])
    history, history_notes = _history_part(case, fields, her2, brand)
    necessity, met = _necessity_part(result, policy, case, brand, refs)
    request = _request_part(brand, generic, hcpcs, case, fields, dose, policy, refs)
    duration, duration_notes = _duration_part(result, fields, refs)
    documents, document_notes = _documents_part(result)
    closing = Part(paras=[Para(text="Thank you for your review. I am available to discuss this request."),
                          Para(text="Sincerely,"), Para(text="[Prescriber name]"), Para(text="NPI: [Prescriber NPI]")])
    return LetterResult(
        withheld=False, reasons=[], checklist=checklist + history_notes + duration_notes + document_notes,
        safety=safety, title=title, parts=[head, intro, history, request, necessity, duration, documents, closing],
        footnotes=list(refs.notes.values()), drug=brand, hcpcs=hcpcs, met=met, policy=result, dose=dose)


def build_letter(case: dict[str, Any] | CaseFile, *, today: dt.date | None = None) -> LetterResult:
    """The letter for a case file's mapping (the schema check-policy reads); InputError for an invalid case."""
    parsed = parse_case_file(case)
    return _build(parsed.patient, parsed.letter, today=today)


def letter_from_facts(facts: PatientFacts, *, today: dt.date | None = None) -> LetterResult:
    """The letter for the conversation's facts (PatientFacts.to_case and to_dose_request); never raises for a
    fact that is missing or unusable: the result is withheld with the reason instead."""
    case = facts.to_case()
    case.pop("evidence", None)  # the letter never quotes the conversation
    if (product := facts.value("requested_product")) is not None:
        case["requested_product"] = product
    dose = facts.to_dose_request()
    fields = {k: dose[k] for k in ("weight", "weight_unit", "cycle", "dose_reduced", "previous_mg_per_kg") if k in dose}
    extra = {k: dose[k] for k in ("date_of_service", "vials_available") if k in dose}
    try:
        patient = parse_case(case)
        letter = parse_case_file(fields).letter if fields else LetterFields()
    except InputError as exc:
        return _withheld("Letter of medical necessity", "Kadcyla", "J9354", [f"A fact cannot be used: {exc}"])
    return _build(patient, letter, today=today, dose_extra=extra)

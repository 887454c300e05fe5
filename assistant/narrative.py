"""A prior-authorization letter of medical necessity built only from tool results, case facts and quotes."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from pydantic import BaseModel, Field

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.dose import DoseResult, build_request, calculate_dose, load_dose_facts
from assistant.tools.policy import check_policy
from assistant.tools.policy_case import normalise_product, parse_case
from assistant.tools.policy_result import CriterionResult, PolicyResult

WIDTH = 100
# Fields a narrative reads on top of the PatientCase fields check_policy reads.
NARRATIVE_FIELDS = ("drug", "icd10", "weight", "weight_unit", "cycle", "cycles_requested", "site_of_care")
REQUIRED = ("drug", "payer", "diagnosis")
PLACEHOLDERS = ("[Patient name]", "[Member ID]", "[Date of birth]", "[Prescriber name]", "[Prescriber NPI]",
                "[Date]")
BILLING_DOC = "carecost-j9354"
Z51_QUOTE = "Encounter for antineoplastic chemotherapy Z51.11 Primary encounter code on the day of infusion"
# Brand, generic, and the passage giving the HCPCS code; each quote is checked against the corpus.
DRUGS = {
    "kadcyla": ("Kadcyla", "ado-trastuzumab emtansine", "J9354", BILLING_DOC,
                "billed under HCPCS J9354 at 1 mg per unit"),
    "margenza": ("Margenza", "margetuximab-cmkb", "J9353", "oscar-cg101",
                 "J9353 Injection, margetuximab-cmkb, 5 mg"),
}
DIAGNOSES = {
    "mbc": "HER2-positive metastatic breast cancer",
    "ebc_residual": "HER2-positive early breast cancer with residual invasive disease after neoadjuvant "
                    "therapy (adjuvant treatment)",
    "nsclc": "recurrent, advanced or metastatic non-small cell lung cancer",
    "salivary": "recurrent salivary gland tumor",
    "brain_mets": "brain metastases from breast cancer",
    "other": "other diagnosis (see chart notes)",
}
_INDICATION = {"mbc": "mbc", "ebc_residual": "ebc"}


class Item(BaseModel):
    """One line of the narrative, with the verbatim passage and reference it rests on, if any."""

    text: str
    quote: str | None = None
    ref: str | None = Field(default=None, description="document id and section of the quote")


class Block(BaseModel):
    title: str
    items: list[Item]


class Narrative(BaseModel):
    """The letter as blocks of items; render with .text() (plain, pastes cleanly) or .markdown()."""

    drug: str
    hcpcs: str
    blocks: list[Block]
    met: list[str] = Field(description="criterion ids stated as met")
    open: list[str] = Field(description="criterion ids listed as open items (not met or unknown)")
    dose: DoseResult | None = None
    policy: PolicyResult
    doc_ids: list[str]

    def text(self) -> str:
        """Plain text: no markdown symbols, no line over 100 characters."""
        out = [_plain(f"Letter of medical necessity: {self.drug} ({self.hcpcs})").upper(), ""]
        for block in self.blocks:
            out += [_plain(block.title).upper()]
            for item in block.items:
                out += textwrap.wrap(_plain(item.text), WIDTH, initial_indent="- ", subsequent_indent="  ",
                                     break_on_hyphens=False)
                if item.quote:
                    cited = f'Source text ({item.ref}): "{_plain(item.quote)}"'
                    out += textwrap.wrap(cited, WIDTH, initial_indent="    ", subsequent_indent="    ",
                                         break_on_hyphens=False)
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def markdown(self) -> str:
        """Markdown with a heading per block and quotes as blockquotes."""
        out = [f"# Letter of medical necessity: {self.drug} ({self.hcpcs})", ""]
        for block in self.blocks:
            out += [f"## {block.title}", ""]
            for item in block.items:
                out.append(f"- {item.text}")
                if item.quote:
                    out.append(f"  > \"{item.quote}\" ({item.ref})")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def _plain(text: str) -> str:
    """Drop markdown symbols that corpus text sometimes carries (e.g. 'Commercial** – 6 months')."""
    text = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1 (\2)", text)
    return re.sub(r"[*#`]", "", text)


def _ref(doc_id: str, section: str) -> str:
    return f"{doc_id}, section {section}" if section else doc_id


# ---------------------------------------------------------------- input


def split_case(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(narrative fields, PatientCase fields); InputError listing every required field that is absent."""
    if not isinstance(case, dict):
        raise InputError(f"a case must be a mapping of field names to values, not {type(case).__name__}")
    missing = [f for f in REQUIRED if case.get(f) in (None, "", [])]
    if missing:
        raise InputError(f"cannot write a narrative: the case lacks {', '.join(missing)} "
                         f"(a narrative needs {', '.join(REQUIRED)})")
    extra = {k: case[k] for k in NARRATIVE_FIELDS if k in case}
    policy_fields = {k: v for k, v in case.items() if k not in NARRATIVE_FIELDS}
    drug = normalise_product(str(extra["drug"]))
    if drug not in DRUGS:
        raise InputError(f"drug {extra['drug']!r} is not supported for a narrative; supported: {', '.join(DRUGS)}")
    asked = policy_fields.get("requested_product")
    if asked is not None and normalise_product(asked) != drug:
        raise InputError(f"drug is {drug} but requested_product is {asked}; give one product")
    policy_fields["requested_product"] = drug
    extra["drug"] = drug
    return extra, policy_fields


# ---------------------------------------------------------------- blocks


def _request_block(extra: dict, case, dose: DoseResult | None, hcpcs_quote: Item) -> Block:
    brand, generic, hcpcs, _, _ = DRUGS[extra["drug"]]
    items = [Item(text=f"Drug requested: {brand} ({generic}), HCPCS {hcpcs}.", quote=hcpcs_quote.quote,
                  ref=hcpcs_quote.ref)]
    if dose is not None:
        for v in dose.vials:
            src = v.ndc_11.source
            items.append(Item(text=f"NDC (11-digit): {v.ndc_11.value}, {v.strength_mg.value} mg single-dose vial, "
                                   f"{v.count.value} per cycle.", quote=src.quote, ref=_ref(src.doc_id, src.section)))
        src = dose.dose_mg.source
        w = dose.request
        items.append(Item(text=f"Dose: {dose.mg_per_kg.value} mg/kg for a stated weight of {w.weight:g} "
                               f"{w.weight_unit} = {dose.dose_mg.value:g} mg per cycle ({dose.dose_mg.formula}).",
                          quote=src.quote, ref=_ref(src.doc_id, src.section)))
    else:
        items.append(Item(text="Dose: per prescriber order [Dose in mg/kg and mg]. The dose calculator covers Kadcyla "
                               "for metastatic or adjuvant breast cancer only, so no dose is "
                               "computed here." if extra["drug"] != "kadcyla" or "weight" in extra else
                               "Dose: per prescriber order [Dose in mg]; the patient's weight was not given."))
    if case.interval_days is not None:
        items.append(Item(text=f"Schedule: every {case.interval_days} days (from the request)."))
    elif dose is not None:
        src = load_dose_facts().label_mg_per_kg.source
        items.append(Item(text="Schedule: every 3 weeks (21-day cycle), per the label.", quote=src.quote,
                          ref=_ref(src.doc_id, src.section)))
    else:
        items.append(Item(text="Schedule: per prescriber order [Schedule]."))
    cycles = extra.get("cycles_requested")
    items.append(Item(text=f"Number of cycles requested: {cycles}." if cycles is not None
                      else "Number of cycles requested: [Number of cycles]."))
    if dose is not None and dose.request.indication == "ebc":
        course = load_dose_facts().ebc_course_cycles
        items.append(Item(text=f"This request starts at cycle {dose.request.cycle} of the {course.value}-cycle "
                               "adjuvant course.", quote=course.quote, ref=_ref(course.doc_id, course.section)))
    elif extra.get("cycle") is not None:
        items.append(Item(text=f"Cycle number at the start of this request: {extra['cycle']}."))
    if extra.get("site_of_care"):
        items.append(Item(text=f"Site of care: {extra['site_of_care']}."))
    return Block(title="Request summary", items=items)


def _clinical_block(extra: dict, case, policy: PolicyResult) -> Block:
    icd = extra.get("icd10") or "[ICD-10 code]"
    items = [Item(text="Patient: [Patient name]. Member ID: [Member ID]. Date of birth: [Date of birth]."),
             Item(text="Prescriber: [Prescriber name], [Prescriber NPI]."
                  + {True: " The prescriber is, or is consulting, an oncologist.",
                     False: " The prescriber is not an oncologist.", None: ""}[case.prescriber_oncologist])]
    if case.age is not None:
        items.append(Item(text=f"Age: {case.age} years."))
    items.append(Item(text=f"Diagnosis: {DIAGNOSES[case.diagnosis]}; ICD-10 {icd} (as supplied by the requester)."))
    her2 = ", ".join(p for p in (f"IHC {case.her2_ihc}" if case.her2_ihc else "",
                                 f"ISH {case.her2_ish.replace('_', ' ')}" if case.her2_ish else "") if p)
    items.append(Item(text=f"HER2: {her2 or '[HER2 result not stated]'}. {policy.her2.reason}"))
    if case.prior_therapies:
        items.append(Item(text=f"Prior therapies: {', '.join(case.prior_therapies)}."))
    if case.preferred_trials:
        trials = "; ".join(f"{t.product}: {t.outcome}" for t in case.preferred_trials)
        items.append(Item(text=f"Preferred products tried, with outcome: {trials}."))
    setting = [f"{case.request_type} request" if case.request_type else "",
               f"line of business {case.line_of_business}" if case.line_of_business else "",
               f"regimen {case.regimen.replace('_', ' ')}" if case.regimen else "",
               f"line of therapy {case.line_of_therapy}" if case.line_of_therapy else ""]
    if any(setting):
        items.append(Item(text="Setting: " + "; ".join(s for s in setting if s) + "."))
    return Block(title="Patient clinical summary", items=items)


def _has_met_ancestor(c: CriterionResult, by_id: dict[str, CriterionResult]) -> bool:
    parent = by_id.get(c.parent) if c.parent else None
    while parent is not None:
        if parent.verdict == "met":
            return True
        parent = by_id.get(parent.parent) if parent.parent else None
    return False


def _criteria_blocks(policy: PolicyResult) -> tuple[Block, list[Item], list[str], list[str]]:
    """Criteria met (with quotes), open criterion items, and the ids of each."""
    met, open_items, met_ids, open_ids = [], [], [], []
    for s in policy.sections:
        by_id = {c.id: c for c in s.criteria}
        for c in s.criteria:
            where = f"Section {s.id}, criterion {c.id}"
            ref = _ref(c.doc_id, c.section)
            if c.verdict == "met":
                met.append(Item(text=f"{where}: {c.label}. Met: {c.reason}", quote=c.quote, ref=ref))
                met_ids.append(c.id)
            elif not _has_met_ancestor(c, by_id):  # an unneeded alternative under a met "any of" is left out
                word = "Not met" if c.verdict == "not_met" else "Unknown, to be confirmed"
                open_items.append(Item(text=f"{where}: {c.label}. {word}: {c.reason}", quote=c.quote, ref=ref))
                open_ids.append(c.id)
    if not met:
        met.append(Item(text="No criterion is shown as met by the case as given."))
    title = f"How the policy criteria are met: {policy.payer.title()} {policy.policy_version}"
    return Block(title=title, items=met), open_items, met_ids, open_ids


def _open_block(open_items: list[Item], policy: PolicyResult, dose: DoseResult | None, extra: dict) -> Block:
    items = list(open_items)
    if policy.overall != "meets_criteria":
        items.insert(0, Item(text=f"Overall policy check: {policy.overall.replace('_', ' ')}. {policy.overall_reason}"))
    items += [Item(text=f"To obtain: {m.question} (field {m.field})") for m in policy.missing]
    items += [Item(text=f"Question: {q}") for q in policy.questions]
    items += [Item(text=f"Document missing: {c.label}.") for c in policy.checklist if c.status == "missing"]
    if not extra.get("icd10"):
        items.append(Item(text="The ICD-10 diagnosis code was not supplied."))
    if dose is None:
        items.append(Item(text="Dose, billing units and administration codes: to be completed from the "
                               "prescriber order."))
    else:
        # payment is not part of the letter, so price-quarter warnings are left out
        items += [Item(text=f"Dose check: {w}") for w in dose.warnings if "price" not in w.lower()]
    items += [Item(text=f"Policy check: {w}") for w in policy.warnings]
    if not items:
        items.append(Item(text="None: every criterion is met and every listed document is enclosed."))
    return Block(title="Open items (not claimed as met)", items=items)


def _documents_block(policy: PolicyResult) -> Block:
    words = {"provided": "Enclosed", "missing": "Missing, not enclosed", "optional": "Optional, enclose if it applies"}
    items = [Item(text=f"{words[c.status]}: {c.label}.") for c in policy.checklist]
    return Block(title="Documentation enclosed", items=items or [Item(text="The policy lists no checklist.")])


def _duration_block(policy: PolicyResult) -> Block:
    items = []
    for d in policy.approval_duration:
        lobs = ", ".join(d.lines_of_business) if d.lines_of_business else "all lines of business"
        text = (f"Requested authorization duration ({lobs}): {'up to ' if d.up_to else ''}{d.months} months"
                + (" or to the member's renewal date, whichever is longer" if d.or_renewal_date else "")
                + (f", until {d.until.isoformat()}" if d.until else "") + f" (policy section {d.section}).")
        items.append(Item(text=text, quote=d.source.quote, ref=_ref(d.source.doc_id, d.source.section)))
    if policy.submission:
        contacts = "; ".join(f"{c.method} {c.value}" for c in policy.submission.contacts)
        items.append(Item(text=f"Submit to {policy.submission.review_entity}: {contacts}."))
    return Block(title="Requested authorization duration",
                 items=items or [Item(text="No duration: the policy check does not support approval as given.")])


def _billing_block(extra: dict, dose: DoseResult | None) -> Block:
    corpus = get_corpus()
    if dose is None:
        hcpcs = DRUGS[extra["drug"]][2]
        return Block(title="Billing", items=[Item(text=f"{hcpcs}: units per prescriber order [Units]. JZ/JW lines, "
                                                        "administration CPT and encounter code to be confirmed.")])
    items = []
    for line in dose.billing.lines:
        src = line.units.source
        items.append(Item(text=f"{line.hcpcs}-{line.modifier}: {line.units.value} units ({line.meaning}).",
                          quote=src.quote, ref=_ref(src.doc_id, src.section)))
    facts = load_dose_facts()
    for label, codes in (("Cycle 1", facts.first_cycle_cpt), ("Cycles 2 and later", facts.later_cycle_cpt)):
        src = codes[0].source
        shown = " + ".join(f"CPT {c.value}" for c in codes)
        items.append(Item(text=f"Administration, {label.lower()}: {shown}.", quote=src.quote,
                          ref=_ref(src.doc_id, src.section)))
    this = " + ".join(f"CPT {c.value}" for c in dose.administration.cpt)
    items.append(Item(text=f"This request starts at cycle {dose.request.cycle}: {this}."))
    z51 = corpus.find(BILLING_DOC, Z51_QUOTE, "ICD-10-CM by indication")
    icd = extra.get("icd10") or "[ICD-10 code]"
    items.append(Item(text=f"Encounter code Z51.11 as the primary encounter code on the day of infusion, with the "
                           f"diagnosis code {icd}.", quote=z51.quote, ref=_ref(z51.doc_id, z51.section)))
    return Block(title="Billing", items=items)


def _references_block(doc_ids: list[str]) -> Block:
    corpus, items = get_corpus(), []
    for doc_id in doc_ids:
        m = corpus.doc(doc_id).meta
        parts = [m.title, m.publisher, f"version {m.reference}" if m.reference else "version not stated",
                 f"effective {m.effective_date}" if m.effective_date else "",
                 f"last reviewed {m.last_review_date}" if m.last_review_date else "", f"status: {m.review_status}"]
        items.append(Item(text=f"{doc_id}: " + "; ".join(p for p in parts if p) + "."))
    return Block(title="References", items=items)


def _safety_block(patient, policy: PolicyResult, extra: dict) -> Block | None:
    """The label's safety rules this case's facts break or touch, each with its quote; None if none."""
    from assistant.safety import SafetyInput, check_safety

    her2 = getattr(getattr(policy, "her2", None), "category", None)
    facts = SafetyInput(mg_per_kg=patient.dose_mg_per_kg, cycle=extra.get("cycle"),
                        her2_category=her2 if her2 in ("positive", "low", "negative", "incomplete") else None)
    findings = check_safety(facts)
    if not findings:
        return None
    items = [Item(text=f"{f.severity.upper()}: {f.message}", quote=f.quote.quote, ref=f.quote.doc_id) for f in findings]
    return Block(title="Label safety (for staff, before sending)", items=items)


# ---------------------------------------------------------------- the function


def build_narrative(case: dict[str, Any]) -> Narrative:
    """A letter of medical necessity from a case; every number comes from calculate_dose, check_policy or a quote.

    InputError when the case lacks drug, payer or diagnosis (all are named), or a field is invalid.
    """
    extra, policy_fields = split_case(case)
    patient = parse_case(policy_fields)
    policy = check_policy(patient)
    brand, _, hcpcs, hcpcs_doc, hcpcs_quote = DRUGS[extra["drug"]]
    hsrc = get_corpus().find(hcpcs_doc, hcpcs_quote)
    dose = None
    if extra["drug"] == "kadcyla" and patient.diagnosis in _INDICATION and extra.get("weight") is not None:
        dose = calculate_dose(build_request(
            weight=extra["weight"], weight_unit=extra.get("weight_unit"), indication=_INDICATION[patient.diagnosis],
            cycle=extra.get("cycle") or 1, mg_per_kg=patient.dose_mg_per_kg))
    met_block, open_items, met_ids, open_ids = _criteria_blocks(policy)
    blocks = [_request_block(extra, patient, dose, Item(text="", quote=hsrc.quote, ref=hsrc.doc_id)),
              _clinical_block(extra, patient, policy), met_block, _open_block(open_items, policy, dose, extra),
              _documents_block(policy), _duration_block(policy), _billing_block(extra, dose)]
    safety = _safety_block(patient, policy, extra)
    if safety is not None:  # shown to staff beside the letter, never silently left out
        blocks.insert(0, safety)
    doc_ids = [policy.doc_id, hcpcs_doc]
    if dose is not None:
        doc_ids += [f.source.doc_id for f in dose.figures() if f.source] + [BILLING_DOC]
    doc_ids = list(dict.fromkeys(doc_ids))
    blocks.append(_references_block(doc_ids))
    return Narrative(drug=brand, hcpcs=hcpcs, blocks=blocks, met=met_ids, open=open_ids, dose=dose, policy=policy,
                     doc_ids=doc_ids)

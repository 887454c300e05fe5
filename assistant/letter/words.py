"""Plain words for the letter: every case value shown to a payer passes through one of these tables.

A value is shown only when it is a word from a fixed list, a validated code, or a number; anything
else (a prior therapy the drug table does not know, a document id the policy does not list) is
counted for staff and never copied into the letter.
"""

from __future__ import annotations

from typing import Any

from assistant.tools.case_file import SITE_WORDS
from assistant.tools.policy_case import BOOL_WORDS, PatientCase

# Brand, generic, HCPCS and the policy or guide passage that names the code (checked against the corpus).
PRODUCTS = {
    "kadcyla": ("Kadcyla", "ado-trastuzumab emtansine", "J9354"),
    "margenza": ("Margenza", "margetuximab-cmkb", "J9353"),
}
DIAGNOSES = {
    "mbc": "HER2-positive metastatic breast cancer",
    "ebc_residual": "HER2-positive early breast cancer with residual invasive disease after neoadjuvant therapy "
                    "(adjuvant treatment)",
    "nsclc": "recurrent, advanced or metastatic non-small cell lung cancer",
    "salivary": "recurrent salivary gland tumor",
    "brain_mets": "brain metastases from breast cancer",
    "other": "another diagnosis",
}
# Canonical drug names (policy_case._DRUGS) -> how the letter writes them.
THERAPIES = {
    "trastuzumab": "trastuzumab", "taxane": "a taxane", "paclitaxel": "paclitaxel", "docetaxel": "docetaxel",
    "nab-paclitaxel": "nab-paclitaxel", "pertuzumab": "pertuzumab", "phesgo": "Phesgo (pertuzumab/trastuzumab)",
    "enhertu": "Enhertu (fam-trastuzumab deruxtecan)", "kadcyla": "Kadcyla (ado-trastuzumab emtansine)",
    "margenza": "Margenza (margetuximab)", "neratinib": "neratinib", "lapatinib": "lapatinib",
    "tucatinib": "tucatinib", "capecitabine": "capecitabine", "perjeta": "Perjeta (pertuzumab)",
    "trastuzumab-products": "trastuzumab",
}  # fmt: skip
OUTCOMES = {"failure": "inadequate response or treatment failure", "intolerance": "intolerance",
            "contraindication": "contraindication"}
REGIMENS = {"single_agent": "as a single agent", "with_neratinib": "in combination with neratinib"}
PAYERS = {"centene": "Centene", "oscar": "Oscar Health"}
LINES = {"commercial": "Commercial", "medicaid": "Medicaid", "him": "Health Insurance Marketplace",
         "ichra": "ICHRA"}
REQUESTS = {"initial": "an initial request", "continuation": "a request for continuation of therapy"}
SITES = SITE_WORDS


def num(value: Any) -> str:
    """A number as the tool gave it, without a trailing .0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def therapies(names: list[str] | None) -> tuple[list[str], int]:
    """(the names the letter may show, how many entries it may not)."""
    shown, hidden = [], 0
    for name in names or []:
        if name in THERAPIES:
            shown.append(THERAPIES[name])
        else:
            hidden += 1
    return list(dict.fromkeys(shown)), hidden


def age(case: PatientCase) -> str | None:
    if case.age is None:
        return None
    # past 89 an exact age is itself an identifier (HIPAA Safe Harbor)
    return "90 years or older" if case.age >= 90 else f"{case.age} years"


def her2(case: PatientCase, category: str) -> str | None:
    """'IHC 3+ (HER2-positive)', 'IHC 2+ with ISH positive (HER2-positive)'; None when nothing is known."""
    parts = []
    if case.her2_ihc:
        parts.append(f"IHC {case.her2_ihc}")
    if case.her2_ish:
        parts.append(f"ISH {case.her2_ish.replace('_', ' ')}")
    words = {"positive": "HER2-positive", "low": "HER2-low", "negative": "HER2-negative",
             "incomplete": "ISH needed to classify", "ultralow": "HER2-ultralow"}
    if parts:
        return " with ".join(parts) + (f" ({words[category]})" if category in words else "")
    if case.her2_positive is not None:
        return "HER2-positive, as documented in the enclosed pathology" if case.her2_positive else "HER2-negative"
    return None


def trials(case: PatientCase) -> str | None:
    if not case.preferred_trials:
        return None
    return "; ".join(f"{THERAPIES.get(t.product, t.product)}: {OUTCOMES[t.outcome]}" for t in case.preferred_trials)


def rule_facts(logic: dict[str, Any] | None, case: PatientCase, her2_category: str, brand: str,
               documents: dict[str, str]) -> list[str]:
    """The case facts a criterion's logic reads, in plain words; a fact not known is left out.

    A rule with nothing to add beyond the criterion's own label (product_in: 'Kadcyla (J9354) is
    preferred') gives no fact, so the letter shows the label.
    """
    if not logic:
        return []
    for kind in ("all_of", "any_of"):
        if kind in logic:
            return [p for part in logic[kind] for p in rule_facts(part, case, her2_category, brand, documents)]
    rule, args = logic["rule"], logic.get("args", {})
    out: str | None = None
    if rule == "diagnosis_in" and case.diagnosis:
        out = f"diagnosis: {DIAGNOSES[case.diagnosis]}"
    elif rule == "her2_positive":
        shown = her2(case, her2_category)
        out = f"HER2 {shown}" if shown and not shown.startswith("HER2") else shown
    elif rule in ("is_true", "is_false") and getattr(case, args["field"]) is not None:
        out = BOOL_WORDS[args["field"]][0 if getattr(case, args["field"]) else 1]
    elif rule == "min_age":
        shown = age(case)
        out = None if shown is None else f"the member is {shown}" + ("" if shown.endswith("older") else " old")
    elif rule == "regimen_is" and case.regimen:
        others, _ = therapies(case.combined_with)
        out = f"{brand} is prescribed " + REGIMENS.get(case.regimen, "in combination" + (
            f" with {', '.join(others)}" if others else ""))
    elif rule == "prior_therapies_include":
        shown, _ = therapies(case.prior_therapies)
        out = f"prior therapies: {', '.join(shown)}" if shown else None
    elif rule == "dose_within" and case.dose_mg_per_kg is not None and case.interval_days is not None:
        out = f"requested dose {num(case.dose_mg_per_kg)} mg/kg every {case.interval_days} days"
        if args.get("max_doses") is not None and case.number_of_doses is not None:
            out += f", {case.number_of_doses} doses in the course"
    elif rule == "at_least" and getattr(case, args["field"]) is not None:
        out = f"{PatientCase.question(args['field']).rstrip('?').lower()}: {getattr(case, args['field'])} {args['unit']}"
    elif rule == "subsequent_line" and case.line_of_therapy is not None:
        out = f"line of therapy {case.line_of_therapy}"
    elif rule in ("preferred_failures", "preferred_any"):
        out = f"preferred products tried: {trials(case)}" if trials(case) else None
    elif rule == "document_provided" and args["id"] in (case.documents or []):
        out = f"enclosed: {documents.get(args['id'], 'the supporting documentation')}"
    return [out] if out else []


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]

"""The patient case a payer policy is checked against: fields, friendly spellings, loading."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import InputError
from assistant.tools.policy_files import spelling_key  # noqa: F401 - re-exported for importers of policy_case

LineOfBusiness = Literal["commercial", "medicaid", "him", "ichra"]
Diagnosis = Literal["mbc", "ebc_residual", "nsclc", "salivary", "brain_mets", "other"]
Ihc = Literal["0", "1+", "2+", "3+"]
Ish = Literal["positive", "negative", "pending", "not_done"]
Regimen = Literal["single_agent", "with_neratinib", "combination"]
Product = Literal["kadcyla", "enhertu", "perjeta", "phesgo", "margenza", "trastuzumab"]
TrialOutcome = Literal["failure", "intolerance", "contraindication"]

_UNKNOWN = {"", "unknown", "unk", "?", "n/a", "na", "not known", "not stated", "null", "none given"}


def _aliases(table: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for canonical, names in table.items():
        for name in [canonical, *names]:
            out[spelling_key(name)] = canonical
    return out


_PAYER_ALIASES = {"centene": ["centene corporation", "centene corp"], "oscar": ["oscar health", "oscar health plan"]}
_LOB = _aliases({
    "commercial": ["comm"],
    "medicaid": ["mcd", "state medicaid"],
    "him": ["health insurance marketplace", "marketplace", "exchange", "aca marketplace"],
    "ichra": ["individual coverage hra", "individual coverage health reimbursement arrangement"],
})  # fmt: skip
_REQUEST = _aliases({
    "initial": ["new", "new start", "initial authorization", "initial approval", "first request"],
    "continuation": ["continued", "continued therapy", "renewal", "reauthorization", "re authorization",
                     "continuation of therapy", "recertification"],
})  # fmt: skip
_DIAGNOSIS = _aliases({
    "mbc": ["metastatic", "metastatic breast cancer", "her2 positive metastatic breast cancer",
            "her2+ metastatic breast cancer", "her2+ mbc", "metastatic her2+ breast cancer", "metastatic breast"],
    "ebc_residual": ["adjuvant", "ebc", "early breast cancer", "katherine", "residual disease",
                     "residual invasive disease", "early breast cancer with residual invasive disease",
                     "adjuvant early breast cancer", "her2+ early breast cancer residual disease"],
    "nsclc": ["non small cell lung cancer", "recurrent nsclc", "advanced nsclc", "metastatic nsclc",
              "recurrent advanced or metastatic nsclc", "metastatic non small cell lung cancer"],
    "salivary": ["salivary gland tumor", "salivary gland tumour", "recurrent salivary gland tumor",
                 "salivary gland cancer", "recurrent salivary gland tumour"],
    "brain_mets": ["brain metastases", "brain mets", "brain metastases from breast cancer",
                   "brain metastases due to breast cancer", "breast cancer brain metastases"],
    "other": [],
})  # fmt: skip
_IHC = _aliases({"0": ["ihc 0", "zero"], "1+": ["1", "ihc 1+", "ihc 1"], "2+": ["2", "ihc 2+", "ihc 2"],
                 "3+": ["3", "ihc 3+", "ihc 3"]})  # fmt: skip
_ISH = {
    "positive": "positive", "pos": "positive", "+": "positive", "amplified": "positive", "ish+": "positive",
    "ish positive": "positive", "fish positive": "positive",
    "negative": "negative", "neg": "negative", "-": "negative", "not amplified": "negative", "ish-": "negative",
    "ish negative": "negative", "fish negative": "negative",
    "pending": "pending", "ordered": "pending", "sent": "pending",
    "not_done": "not_done", "not done": "not_done", "not performed": "not_done", "not ordered": "not_done",
}  # fmt: skip
_REGIMEN = _aliases({
    "single_agent": ["single agent", "single", "monotherapy", "alone", "kadcyla alone", "kadcyla only"],
    "with_neratinib": ["neratinib", "with neratinib", "+ neratinib", "plus neratinib", "kadcyla + neratinib",
                       "combination with neratinib", "in combination with neratinib"],
    "combination": [],
})  # fmt: skip
_WITH = re.compile(r"^(?:kadcyla\s*)?(?:\+|with|plus|and|(?:in\s+)?combination\s+with)\s+(.+)$", re.IGNORECASE)
# Drug names, so "Herceptin" and "trastuzumab" count as the same prior therapy; anything else is kept as typed.
_DRUGS = _aliases({
    "trastuzumab": ["herceptin", "trastuzumab based", "trastuzumab based therapy", "kanjinti", "trazimera",
                    "ogivri", "herzuma", "ontruzant", "hercessi", "herceptin hylecta", "trastuzumab biosimilar"],
    "taxane": ["taxanes"],
    "paclitaxel": ["taxol"], "docetaxel": ["taxotere"], "nab-paclitaxel": ["abraxane", "nab paclitaxel"],
    "pertuzumab": ["perjeta"],
    "phesgo": ["pertuzumab/trastuzumab/hyaluronidase", "pertuzumab trastuzumab hyaluronidase"],
    "enhertu": ["t-dxd", "tdxd", "trastuzumab deruxtecan", "fam-trastuzumab deruxtecan",
                "fam-trastuzumab deruxtecan-nxki"],
    "kadcyla": ["t-dm1", "tdm1", "ado-trastuzumab emtansine", "trastuzumab emtansine", "ado-trastuzumab"],
    "margenza": ["margetuximab", "margetuximab-cmkb"],
    "neratinib": ["nerlynx"], "lapatinib": ["tykerb"], "tucatinib": ["tukysa"], "capecitabine": ["xeloda"],
})  # fmt: skip
_OUTCOME = _aliases({
    "failure": ["failed", "fail", "treatment failure", "inadequate response", "progression", "progressed",
                "inadequate response or treatment failure"],
    "intolerance": ["intolerant", "not tolerated", "adverse event", "adverse events", "intolerable adverse events"],
    "contraindication": ["contraindicated"],
})  # fmt: skip

# Plain words for yes/no fields, used in reasons: (when true, when false).
BOOL_WORDS: dict[str, tuple[str, str]] = {
    "prescriber_oncologist": ("the prescriber is, or is consulting, an oncologist",
                              "the prescriber is not an oncologist and is not consulting one"),
    "dose_evidence_submitted": ("the prescriber submitted guideline or peer-reviewed support for the dose",
                                "no guideline or literature support for the dose was submitted"),
    "on_plan_benefit": ("the member is currently receiving Kadcyla through this plan's benefit",
                        "the member is not receiving Kadcyla through this plan's benefit"),
    "responding": ("the member is responding positively to therapy", "the member is not responding to therapy"),
    "dose_increase": ("the request is for a dose increase", "the request is not for a dose increase"),
    "recent_label_change": ("the use was added to the FDA label within the last 6 months",
                            "the use is not a label change from the last 6 months"),
    "on_formulary": ("the drug is on the formulary/PDL", "the drug is not on the formulary/PDL"),
    "shortage": ("all preferred products are in shortage or unavailable", "the preferred products are available"),
    "current_course_to_complete": ("the member is on the requested product and needs coverage to finish the course",
                                   "the member is not mid-course on the requested product"),
    "course_from_samples": ("the current course came from samples or an assistance program",
                            "the current course did not come from samples or an assistance program"),
    "guideline_supports_requested": ("guidelines support the requested product over all preferred products",
                                     "guidelines do not favour the requested product over the preferred products"),
    "state_prohibits_step_therapy": ("the member's state prohibits prerequisite trials for cancer treatment",
                                     "the member's state does not prohibit prerequisite trials"),
}  # fmt: skip


def _pick(value: Any, table: dict[str, str], hint: str = "") -> str:
    """The canonical value for a friendly spelling; ValueError lists the allowed values."""
    found = None if isinstance(value, bool) else table.get(spelling_key(value))
    if found is None:
        allowed = ", ".join(dict.fromkeys(table.values()))
        raise ValueError(f"{value!r} is not recognised; use one of {allowed}{hint}")
    return found


def normalise_drug(name: Any) -> str:
    """Canonical drug name ('Herceptin' -> 'trastuzumab'); unknown names are kept, lower-cased."""
    text = str(name).strip()
    return _DRUGS.get(spelling_key(text), text.lower())


def normalise_product(name: Any) -> Any:
    """A product id from a brand or generic name ('pertuzumab' -> 'perjeta', 'T-DM1' -> 'kadcyla')."""
    if not isinstance(name, str):
        return name
    drug = normalise_drug(name)
    return {"pertuzumab": "perjeta"}.get(drug, drug)


def normalise_ihc(value: Any) -> str | None:
    """'3', 3, 'IHC 3+' -> '3+'; None and 'unknown' -> None; anything else raises ValueError."""
    if value is None or (isinstance(value, str) and spelling_key(value) in _UNKNOWN):
        return None
    return _pick(value, _IHC)


def normalise_ish(value: Any) -> str | None:
    """'pos', 'amplified' -> 'positive'; 'not done' -> 'not_done'; None and 'unknown' -> None."""
    if value is None or (isinstance(value, str) and spelling_key(value) in _UNKNOWN):
        return None
    key = re.sub(r"\s+", " ", str(value).lower().replace("_", " ")).strip()
    if key not in _ISH:
        raise ValueError(f"{value!r} is not recognised; use one of positive, negative, pending, not_done")
    return _ISH[key]


class PreferredTrial(BaseModel):
    """A product the member tried before, and how it ended."""

    model_config = ConfigDict(extra="forbid")
    product: Product = Field(description="The product tried: enhertu, kadcyla, perjeta or phesgo.")
    outcome: TrialOutcome = Field(description="failure (incl. inadequate response), intolerance, or contraindication.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str) and ":" in data:  # "enhertu: failure"
            product, outcome = data.split(":", 1)
            return {"product": product, "outcome": outcome}
        return data

    @field_validator("product", mode="before")
    @classmethod
    def _product(cls, value: Any) -> Any:
        return normalise_product(value)

    @field_validator("outcome", mode="before")
    @classmethod
    def _outcome(cls, value: Any) -> Any:
        return _pick(value, _OUTCOME)


class PatientCase(BaseModel):
    """What is known about the patient and the request. Every field may be unknown (None)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, description="Free text about the case; the checker does not read it.")
    payer: str | None = Field(default=None, description="Which payer (centene or oscar)?")
    line_of_business: LineOfBusiness | None = Field(
        default=None, description="Which line of business: commercial, medicaid, him (marketplace) or ichra?")
    request_type: Literal["initial", "continuation"] | None = Field(
        default=None, description="Is this an initial request or a continuation of therapy?")
    age: int | None = Field(default=None, ge=0, le=130, description="Patient age in years?")
    diagnosis: Diagnosis | None = Field(
        default=None,
        description="Diagnosis: mbc (HER2+ metastatic breast cancer), ebc_residual (early breast cancer with "
        "residual invasive disease after neoadjuvant taxane + trastuzumab; adjuvant), nsclc (recurrent, advanced "
        "or metastatic NSCLC), salivary (recurrent salivary gland tumor), brain_mets (brain metastases from "
        "breast cancer), or other?")
    her2_ihc: Ihc | None = Field(default=None, description="HER2 IHC score from the pathology report: 0, 1+, 2+ or 3+?")
    her2_ish: Ish | None = Field(
        default=None, description="HER2 ISH result: positive, negative, pending or not_done (IHC 2+ needs ISH)?")
    prescriber_oncologist: bool | None = Field(
        default=None, description="Is the prescriber an oncologist, or prescribing in consultation with one?")
    regimen: Regimen | None = Field(
        default=None, description="Is Kadcyla given as a single_agent, with_neratinib, or in a combination?")
    combined_with: list[str] | None = Field(
        default=None, description="Other drugs given with Kadcyla, if any (e.g. pertuzumab)?")
    prior_therapies: list[str] | None = Field(
        default=None, description="Prior therapies received (e.g. trastuzumab, a taxane, pertuzumab, enhertu)?")
    therapies_not_received: list[str] | None = Field(
        default=None, description="Therapies the member is stated NOT to have received (e.g. trastuzumab)?")
    prior_therapies_complete: bool = Field(
        default=True, description="True when prior_therapies is the whole history (a case file); False when it lists "
        "only what was mentioned (chat): a therapy never mentioned is then unknown, not missing.")
    her2_positive: bool | None = Field(
        default=None, description="HER2-positive as stated (e.g. 'HER2+'), when no IHC/ISH result is given?")
    evidence: dict[str, str] | None = Field(
        default=None, description="Field -> the words it was read from; the checker quotes them in its reasons.")
    line_of_therapy: int | None = Field(
        default=None, ge=1, description="Line of therapy for this request (1 = first line, 2 or more = subsequent)?")
    dose_mg_per_kg: float | None = Field(default=None, gt=0, le=50, description="Requested dose in mg/kg?")
    interval_days: int | None = Field(default=None, ge=1, le=365, description="Days between doses (e.g. 21)?")
    number_of_doses: int | None = Field(
        default=None, ge=1, le=200,
        description="Total doses in the course, counting those given and those requested (adjuvant limit applies)?")
    dose_evidence_submitted: bool | None = Field(
        default=None, description="Has the prescriber submitted guideline or peer-reviewed support for this dose?")
    days_on_therapy: int | None = Field(default=None, ge=0, description="Days the member has been on Kadcyla so far?")
    on_plan_benefit: bool | None = Field(
        default=None, description="Is the member currently receiving Kadcyla through this plan's benefit?")
    responding: bool | None = Field(default=None, description="Is the member responding positively to therapy?")
    dose_increase: bool | None = Field(default=None, description="Is the continuation request for a dose increase?")
    recent_label_change: bool | None = Field(
        default=None, description="Was the requested use added to the FDA label in the last 6 months (not yet in "
        "the policy)?")
    on_formulary: bool | None = Field(
        default=None, description="Is the drug on the plan's formulary (PDL for Medicaid)?")
    requested_product: Product | None = Field(
        default=None, description="Product requested: kadcyla, enhertu, perjeta, phesgo, margenza or trastuzumab?")
    preferred_trials: list[PreferredTrial] | None = Field(
        default=None, description="Preferred products tried, each with its outcome (failure, intolerance, "
        "contraindication); [] if none?")
    shortage: bool | None = Field(
        default=None, description="Is there a drug shortage or unavailability of all preferred products?")
    current_course_to_complete: bool | None = Field(
        default=None, description="Is the member on the requested product now, needing coverage to complete the "
        "course?")
    course_from_samples: bool | None = Field(
        default=None, description="Was the current course obtained as samples or through an assistance program?")
    guideline_supports_requested: bool | None = Field(
        default=None, description="Do guidelines (e.g. NCCN) support the requested product over all preferred "
        "products?")
    state_prohibits_step_therapy: bool | None = Field(
        default=None, description="Does the member's state prohibit prerequisite trials for cancer treatment?")
    documents: list[str] | None = Field(
        default=None, description="Checklist ids of documents already in the PA packet (e.g. her2_pathology)?")
    renewal_date: dt.date | None = Field(default=None, description="Member's plan renewal date (YYYY-MM-DD)?")

    @model_validator(mode="before")
    @classmethod
    def _unknown_is_none(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: (None if isinstance(v, str) and spelling_key(v) in _UNKNOWN else v) for k, v in data.items()}

    @field_validator("payer", mode="before")
    @classmethod
    def _payer(cls, value: Any) -> Any:
        if value is None:
            return None
        from assistant.tools.policy_files import payer_aliases  # the payers come from the policy files

        table = payer_aliases()
        found = table.get(spelling_key(value))
        if found is None:
            raise ValueError(f"{value!r} is not a supported payer; supported: {', '.join(sorted(set(table.values())))}")
        return found

    @field_validator("line_of_business", mode="before")
    @classmethod
    def _lob(cls, value: Any) -> Any:
        return None if value is None else _pick(value, _LOB)

    @field_validator("request_type", mode="before")
    @classmethod
    def _request(cls, value: Any) -> Any:
        return None if value is None else _pick(value, _REQUEST)

    @field_validator("diagnosis", mode="before")
    @classmethod
    def _diagnosis(cls, value: Any) -> Any:
        return None if value is None else _pick(value, _DIAGNOSIS)

    @field_validator("her2_ihc", mode="before")
    @classmethod
    def _ihc(cls, value: Any) -> Any:
        return normalise_ihc(value)

    @field_validator("her2_ish", mode="before")
    @classmethod
    def _ish(cls, value: Any) -> Any:
        return normalise_ish(value)

    @field_validator("requested_product", mode="before")
    @classmethod
    def _product(cls, value: Any) -> Any:
        return normalise_product(value)

    @field_validator("line_of_therapy", mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        words = {"first": 1, "1st": 1, "1l": 1, "first line": 1, "second": 2, "2nd": 2, "2l": 2, "second line": 2,
                 "third": 3, "3rd": 3, "3l": 3, "third line": 3, "subsequent": 2, "later line": 2}
        return words.get(spelling_key(value), value)

    @field_validator("combined_with", "prior_therapies", "therapies_not_received", mode="before")
    @classmethod
    def _drug_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in re.split(r"\s*(?:,|\+|\band\b)\s*", value) if part.strip()]
        if isinstance(value, list):
            return [normalise_drug(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("documents", mode="before")
    @classmethod
    def _documents(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [spelling_key(v).replace(" ", "_") if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="before")
    @classmethod
    def _regimen_with_drugs(cls, data: Any) -> Any:
        """'with pertuzumab' -> regimen combination, combined_with [pertuzumab]."""
        if not isinstance(data, dict) or not isinstance(data.get("regimen"), str):
            return data
        match = _WITH.match(data["regimen"].strip())
        if not match or spelling_key(data["regimen"]) in _REGIMEN:
            return data
        drugs = [normalise_drug(d) for d in re.split(r"\s*(?:,|\+|\band\b)\s*", match.group(1)) if d.strip()]
        data = dict(data)
        data["regimen"] = "with_neratinib" if set(drugs) == {"neratinib"} else "combination"
        data["combined_with"] = sorted(set(drugs) | set(data.get("combined_with") or []))
        return data

    @field_validator("regimen", mode="before")
    @classmethod
    def _regimen(cls, value: Any) -> Any:
        return None if value is None else _pick(value, _REGIMEN, hint=", or 'with <drug>'")

    @model_validator(mode="after")
    def _consistent(self) -> PatientCase:
        if self.regimen == "single_agent" and self.combined_with:
            raise ValueError(
                f"regimen is single_agent but combined_with lists {', '.join(self.combined_with)}; fix one of them")
        return self

    @classmethod
    def question(cls, field: str) -> str:
        """The question to ask to fill in a field."""
        return cls.model_fields[field].description or field


def _describe(error: ValidationError) -> str:
    parts, unknown = [], []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "case"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            unknown.append(where)
            continue
        if err["type"] == "literal_error":
            message = message.replace("Input should be", "must be")
        parts.append(f"field {where!r}: {message}")
    if unknown:  # named together, with the known fields once, so the message stays one readable line
        parts.append(f"unknown field {', '.join(repr(u) for u in unknown)}; known fields: "
                     f"{', '.join(PatientCase.model_fields)}")
    return "; ".join(parts)


def parse_case(data: Any) -> PatientCase:
    """Validate a mapping into a PatientCase; InputError names the bad field."""
    if isinstance(data, PatientCase):
        return data
    if not isinstance(data, dict):
        raise InputError(f"a case must be a mapping of field names to values, not {type(data).__name__}")
    try:
        return PatientCase.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"invalid case: {_describe(exc)}") from None


def read_case_data(path: str | Path) -> Any:
    """The raw mapping in a JSON or YAML case file; InputError naming the file for anything unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"case file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read case file {path}: {exc}") from None
    if not text.strip():
        raise InputError(f"case file {path} is empty")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InputError(f"case file {path} is not valid JSON: {exc.msg} at {where}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"case file {path} is not valid YAML{where}") from None
    except RecursionError:
        raise InputError(f"case file {path} is nested too deeply to read") from None
    except ValueError as exc:  # the YAML reader's own, e.g. an impossible date such as 0000-00-00
        raise InputError(f"cannot read case file {path}: {exc}") from None
    from assistant.normalize import normalize_values  # the one normal form every entry point reads

    return normalize_values(data)


def load_case(path: str | Path) -> PatientCase:
    """Read a case holding PatientCase fields only (the CLIs read case files with case_file.load_case_file)."""
    data = read_case_data(path)
    try:
        return parse_case(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None

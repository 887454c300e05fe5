"""A Kadcyla (J9354) claim to check, the result of checking it, and the passages the checks rest on.

ClaimRequest holds what a claim says (lines with HCPCS/CPT codes, modifiers, units and NDCs; ICD-10
codes; place of service) and what the order says (weight, indication, cycle, date of service).
The checks themselves live in assistant.tools.claims (drug lines) and assistant.tools.claim_codes
(administration codes, diagnoses, place of service).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
from assistant.models import Figure, SourceQuote
from assistant.settings import get_settings

CHECKS_FILE = Path(__file__).resolve().parent.parent / "data" / "claim_checks.yaml"
Status = Literal["ok", "wrong", "check"]


class NdcEntry(BaseModel):
    """One NDC reported on a drug line (CMS-1500 24A shaded area): qualifier, NDC, unit and quantity."""

    model_config = ConfigDict(extra="forbid")
    ndc: str = Field(description="the NDC as written on the claim, e.g. '50242-0088-01' or '50242008801'")
    qualifier: str | None = Field(default=None, description="the NDC qualifier, normally 'N4'")
    unit: str | None = Field(default=None, description="unit of measure qualifier: 'ML' (mL drawn) or 'UN' (vials)")
    quantity: float | None = Field(default=None, description="the quantity in that unit, e.g. 5 (mL) or 1 (vial)")

    @field_validator("quantity")
    @classmethod
    def _quantity(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(f"the NDC quantity must be a number, 0 or more (got {value})")
        return value


class ClaimLine(BaseModel):
    """One service line: a HCPCS or CPT code with its modifiers, units and (drug lines) NDCs."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="HCPCS or CPT code, e.g. J9354, 96413")
    modifiers: list[str] = Field(default_factory=list, description="e.g. ['JZ'] or ['JW']; E/M lines may carry 25")
    units: float = Field(description="units billed on the line (J9354: 1 unit = 1 mg)")
    ndcs: list[NdcEntry] = Field(default_factory=list, description="NDCs reported on a drug line")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = str(value).strip().upper()
        if not code:
            raise ValueError("a claim line needs its code (e.g. J9354 or 96413)")
        return code

    @field_validator("modifiers")
    @classmethod
    def _modifiers(cls, value: list[str]) -> list[str]:
        return [str(m).strip().upper() for m in value if str(m).strip()]

    @field_validator("units")
    @classmethod
    def _units(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"units must be a number, 0 or more (got {value})")
        return value


class ClaimRequest(BaseModel):
    """A claim for one Kadcyla infusion and the order it bills: what check_claim checks."""

    model_config = ConfigDict(extra="forbid")
    lines: list[ClaimLine] = Field(min_length=1, description="the claim's service lines")
    icd10: list[str] = Field(default_factory=list, description="ICD-10-CM codes on the claim, e.g. ['Z51.11', 'C50.911']")
    place_of_service: str | None = Field(default=None, description="two-digit place of service code, e.g. '11'")
    weight: float | str | None = Field(
        default=None, description="patient's actual body weight as stated, e.g. 70 or '154 lb'; null if not known"
    )
    weight_unit: Literal["kg", "lb"] | None = Field(default=None, description="'kg' or 'lb' for a numeric weight")
    indication: str | None = Field(
        default=None, description="mbc, ebc, nsclc, salivary or brain_mets (as for calculate_dose); null if not known"
    )
    cycle: int | None = Field(default=None, ge=1, description="the cycle this claim bills; 1 = first infusion")
    date_of_service: dt.date | None = Field(default=None, description="date of the infusion, YYYY-MM-DD")
    mg_per_kg: float | None = Field(default=None, description="the ordered dose level if not 3.6 (a reduced dose)")
    dose_reduced: bool | None = Field(default=None, description="true if a dose reduction has been made")
    previous_mg_per_kg: float | None = Field(default=None, description="the previous cycle's dose level, mg/kg")
    vials_available: list[int] | None = Field(default=None, description="vial strengths in stock, e.g. [160]")
    line_of_business: Literal["commercial", "medicare", "medicare_advantage", "medicaid"] | None = Field(
        default=None, description="the payer's line of business, for the site-of-care check"
    )

    @field_validator("mg_per_kg", "previous_mg_per_kg")
    @classmethod
    def _level(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"a dose level must be a number of mg/kg above 0 (got {value})")
        return value

    @field_validator("icd10")
    @classmethod
    def _icd(cls, value: list[str]) -> list[str]:
        return [str(c).strip().upper() for c in value if str(c).strip()]

    @field_validator("place_of_service", mode="before")
    @classmethod
    def _pos(cls, value: Any) -> Any:
        if value is None:
            return value
        text = str(value).strip()
        return text.zfill(2) if text.isdigit() else text


class ClaimFinding(BaseModel):
    """One check's verdict: ok, wrong (fix it before sending) or check (payer-dependent or not decidable)."""

    check: str = Field(description="check id, e.g. 'units-cap', 'jw-line', 'ndc-format'")
    status: Status
    reason: str = Field(description="what was found and what the guide says, in plain words")
    quote: SourceQuote | None = Field(default=None, description="the passage the check rests on")
    figures: list[Figure] = Field(default_factory=list, description="figures behind the verdict (expected units ...)")


class LineResult(BaseModel):
    """One claim line and its findings; status is the worst of them."""

    line: int = Field(description="1-based line number")
    code: str
    modifiers: list[str]
    units: float
    status: Status
    findings: list[ClaimFinding]


def worst(statuses: list[Status]) -> Status:
    """wrong beats check beats ok."""
    return "wrong" if "wrong" in statuses else ("check" if "check" in statuses else "ok")


# ---------------------------------------------------------------- the passages behind the checks


class PlaceOfService(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setting: str
    kind: Literal["preferred", "acceptable", "hopd", "home"]
    doc_id: str
    section: str = ""
    text: str
    source: SourceQuote | None = None


class ClaimChecks(BaseModel):
    """Everything in assistant/data/claim_checks.yaml, quotes checked."""

    model_config = ConfigDict(extra="forbid")
    quotes: dict[str, dict[str, str]]
    places_of_service: dict[str, PlaceOfService]
    sources: dict[str, SourceQuote] = Field(default_factory=dict)

    def quote(self, check: str) -> SourceQuote:
        try:
            return self.sources[check]
        except KeyError:
            raise DataError(f"{CHECKS_FILE}: no quote for check {check!r}") from None


@lru_cache(maxsize=4)
def _load(path: str, corpus_dir: str) -> ClaimChecks:
    try:
        data = ClaimChecks.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, OSError) as exc:
        raise DataError(f"{path} is malformed: {exc}") from None
    corpus = get_corpus()
    for check, q in data.quotes.items():
        if set(q) - {"doc_id", "section", "text"} or not {"doc_id", "text"} <= set(q):
            raise DataError(f"{path}: quote {check!r} needs doc_id, text and optionally section")
        data.sources[check] = corpus.find(q["doc_id"], q["text"], q.get("section", ""))
    for pos in data.places_of_service.values():
        pos.source = corpus.find(pos.doc_id, pos.text, pos.section)
    return data


def load_claim_checks() -> ClaimChecks:
    """The claim checks' passages, every quote checked against the corpus."""
    return _load(str(CHECKS_FILE), str(get_settings().corpus_dir))


# ---------------------------------------------------------------- reading a claim file


def _readable(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(claim)"
        if err["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown field")
        elif err["type"] == "missing":
            parts.append(f"{where}: required")
        else:
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_claim(raw: Any) -> ClaimRequest:
    """A ClaimRequest from a mapping; InputError naming each bad field."""
    if not isinstance(raw, dict):
        raise InputError("A claim is a JSON object with 'lines' (and weight, cycle, icd10, place_of_service ...).")
    try:
        return ClaimRequest.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"Claim: {_readable(exc)}") from None


def load_claim(path: str | Path) -> ClaimRequest:
    """Read a claim file (JSON or YAML); InputError if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Claim file {path} not found.")
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError(f"Cannot read claim file {path}: {' '.join(str(exc).split())}") from None
    from assistant.normalize import normalize_values  # the one normal form every entry point reads

    return parse_claim(normalize_values(raw))

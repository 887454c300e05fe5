"""One case file for `check-policy` and `narrative`: the PatientCase fields plus what a letter adds.

The letter fields (ICD-10 code, weight, cycles, site of care ...) are validated here as tightly as
the policy fields, so a case file that one command accepts the other accepts too, and a value that
could carry markup or instructions (`<img onerror=...>`, "SYSTEM: ...") never gets past loading:
every letter field is a number, a code matching its pattern, or a word from a fixed list.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import InputError
from assistant.tools.policy_case import PatientCase, Product, normalise_product, parse_case, read_case_data, spelling_key

SiteOfCare = Literal["hospital_outpatient", "physician_office", "ambulatory_infusion_center", "home_infusion"]
SITE_WORDS: dict[str, str] = {
    "hospital_outpatient": "hospital outpatient infusion center",
    "physician_office": "physician office",
    "ambulatory_infusion_center": "ambulatory (non-hospital) infusion center",
    "home_infusion": "home infusion",
}
_SITES = {spelling_key(k): k for k in SITE_WORDS} | {spelling_key(v): k for k, v in SITE_WORDS.items()} | {
    spelling_key(k): v for k, v in {
        "hospital outpatient": "hospital_outpatient", "hopd": "hospital_outpatient",
        "hospital outpatient department": "hospital_outpatient", "outpatient hospital": "hospital_outpatient",
        "office": "physician_office", "physician's office": "physician_office", "doctor's office": "physician_office",
        "oncologist's office": "physician_office", "clinic": "physician_office",
        "infusion center": "ambulatory_infusion_center", "ambulatory infusion center": "ambulatory_infusion_center",
        "aic": "ambulatory_infusion_center", "home": "home_infusion",
    }.items()}  # fmt: skip
_UNITS = {"kg": "kg", "kgs": "kg", "kilogram": "kg", "kilograms": "kg", "lb": "lb", "lbs": "lb", "pound": "lb",
          "pounds": "lb"}
# ICD-10-CM: a letter (not U), two characters, then optionally a dot and up to four more.
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](?:\.[0-9A-Z]{1,4})?$")


class LetterFields(BaseModel):
    """What a letter of medical necessity reads on top of the PatientCase fields; all optional."""

    model_config = ConfigDict(extra="forbid")
    icd10: str | None = Field(default=None, description="ICD-10-CM diagnosis code, e.g. C50.912")
    weight: float | None = Field(default=None, gt=0, description="actual body weight, as given")
    weight_unit: Literal["kg", "lb"] | None = Field(default=None, description="kg or lb")
    cycle: int | None = Field(default=None, ge=1, le=200, description="the cycle this request starts at")
    cycles_requested: int | None = Field(default=None, ge=1, le=200, description="number of cycles requested")
    site_of_care: SiteOfCare | None = Field(default=None, description="where the infusion is given")
    dose_reduced: bool | None = Field(default=None, description="a dose reduction has been made")
    previous_mg_per_kg: float | None = Field(default=None, gt=0, le=50, description="the previous cycle's mg/kg")

    @field_validator("icd10", mode="before")
    @classmethod
    def _icd10(cls, value: Any) -> Any:
        if value is None:
            return None
        code = str(value).strip().upper()
        if not ICD10.match(code):
            raise ValueError("must be an ICD-10-CM code such as C50.912 (a letter, two characters, a dot, up to 4 more)")
        return code

    @field_validator("weight_unit", mode="before")
    @classmethod
    def _unit(cls, value: Any) -> Any:
        if value is None:
            return None
        found = _UNITS.get(spelling_key(value))
        if found is None:
            raise ValueError("must be kg or lb")
        return found

    @field_validator("site_of_care", mode="before")
    @classmethod
    def _site(cls, value: Any) -> Any:
        if value is None:
            return None
        found = _SITES.get(spelling_key(value))
        if found is None:
            raise ValueError(f"is not a site of care we know; use one of {', '.join(SITE_WORDS)}")
        return found


LETTER_FIELDS = tuple(LetterFields.model_fields)
ALIASES = {"drug": "requested_product"}  # a case file may name the product as `drug`
KNOWN_FIELDS = (*PatientCase.model_fields, *LETTER_FIELDS, *ALIASES)


class CaseFile(BaseModel):
    """A case as read from a file: the policy checker's PatientCase and the letter's extra fields."""

    patient: PatientCase
    letter: LetterFields


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(str(name), KNOWN_FIELDS, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _letter_error(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        parts.append(f"field {where!r}: {message}")
    return "; ".join(parts)


def parse_case_file(data: Any) -> CaseFile:
    """Split and validate a case mapping; InputError in one line naming every bad or unknown field."""
    if isinstance(data, CaseFile):
        return data
    if not isinstance(data, dict):
        raise InputError(f"a case must be a mapping of field names to values, not {type(data).__name__}")
    unknown = [str(k) for k in data if k not in KNOWN_FIELDS]
    if unknown:
        named = ", ".join(f"{k!r}{_suggest(k)}" for k in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InputError(f"invalid case: unknown field {named}; known fields: {', '.join(KNOWN_FIELDS)}")
    data = dict(data)
    for alias, field in ALIASES.items():
        if alias in data:
            given = data.pop(alias)
            allowed = Product.__args__
            if normalise_product(given) not in allowed:
                raise InputError(f"invalid case: field {alias!r}: must be one of {', '.join(allowed)}")
            other = data.get(field)
            if other is not None and normalise_product(other) != normalise_product(given):
                raise InputError(f"invalid case: {alias} is {given!r} but {field} is {other!r}; give one product")
            data[field] = given
    letter = {k: data.pop(k) for k in LETTER_FIELDS if k in data}
    patient = parse_case(data)
    try:
        fields = LetterFields.model_validate(letter)
    except ValidationError as exc:
        raise InputError(f"invalid case: {_letter_error(exc)}") from None
    return CaseFile(patient=patient, letter=fields)


def load_case_file(path: str | Path) -> CaseFile:
    """Read and validate a case file (the one loader `check-policy` and `narrative` share)."""
    data = read_case_data(path)
    try:
        return parse_case_file(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None

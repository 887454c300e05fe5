"""Kadcyla dose request: what the user gave (weight and unit, indication, mg/kg or a prescribed mg dose,
cycle, date, vials in stock, a recorded dose reduction), checked.

Parses loose input such as '154 lb' into a DoseRequest, refuses what cannot be dosed (no unit, a
weight outside 20–350 kg, mg/kg above the label maximum or below 1.0, a cycle below 1 or an EBC cycle
past the course, a date of service more than a year from today, a dose that goes back up after a
reduction) and turns validation errors into one readable message. It is separate from assistant.tools.dose, which holds
the reference facts and the dose, vial, billing and payment calculation for a checked request; the
two validators that need the facts import load_dose_facts from there when they run.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import InputError
from assistant.settings import get_settings
from assistant.tools.vials import plain

KG_PER_LB = Decimal("0.45359237")
HARD_MIN_KG, HARD_MAX_KG = Decimal(20), Decimal(350)
MIN_MG_PER_KG = Decimal("1.0")  # below every dose level Kadcyla is given at (3.6, reductions to 3 and 2.4): a slip
MAX_DAYS_FROM_TODAY = 366  # a date of service more than a year away is a typo (2099, 9999), not a booking
ASK_WEIGHT = "What is the patient's weight, in kg or lb?"
ASK_INDICATION = (
    "Which indication: mbc (metastatic breast cancer) or ebc (early breast cancer, adjuvant, KATHERINE)? "
    "Centene's off-label uses are nsclc, salivary and brain_mets."
)
ASK_REDUCED_LEVEL = "A dose reduction is recorded: what is the reduced dose level in mg/kg (below 3.6)?"
INDICATION_LABELS = {
    "mbc": "HER2+ metastatic breast cancer (mBC)",
    "ebc": "HER2+ early breast cancer, adjuvant (EBC, KATHERINE)",
    "nsclc": "HER2+ non-small cell lung cancer, recurrent, advanced or metastatic (Centene I.B, off-label)",
    "salivary": "HER2+ recurrent salivary gland tumor (Centene I.B, off-label)",
    "brain_mets": "HER2+ brain metastases due to breast cancer (Centene I.B, off-label)",
}
OFF_LABEL = ("nsclc", "salivary", "brain_mets")
_INDICATIONS = {
    "mbc": "mbc", "metastatic": "mbc", "metastatic breast cancer": "mbc",
    "ebc": "ebc", "early": "ebc", "early breast cancer": "ebc", "adjuvant": "ebc", "katherine": "ebc",
    "early breast cancer adjuvant": "ebc", "ebc adjuvant": "ebc", "adjuvant ebc": "ebc",
    "nsclc": "nsclc", "non small cell lung cancer": "nsclc", "non small cell lung": "nsclc",
    "lung cancer": "nsclc", "her2 nsclc": "nsclc", "her2+ nsclc": "nsclc",
    "salivary": "salivary", "salivary gland": "salivary", "salivary gland tumor": "salivary",
    "salivary gland tumour": "salivary", "salivary gland cancer": "salivary", "salivary tumor": "salivary",
    "brain mets": "brain_mets", "brain metastases": "brain_mets", "brain metastasis": "brain_mets",
    "brain metastases due to breast cancer": "brain_mets", "breast cancer brain metastases": "brain_mets",
}
_UNITS = {"kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
          "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb"}  # fmt: skip
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_WEIGHT = re.compile(rf"^\s*({_NUMBER})\s*([a-z]+)?\.?\s*$", re.IGNORECASE)
_BARE = re.compile(rf"^\s*({_NUMBER})\s*$")


def _dec(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def parse_weight(text: str) -> tuple[float, str]:
    """'70kg', '70 kg', '154 lb', '154lbs' -> (value, 'kg' | 'lb'); InputError for anything else."""
    match = _WEIGHT.match(str(text or ""))
    if not match:
        raise InputError(f"Weight must be a number with a unit, e.g. 70 kg or 154 lb (got {text!r}).")
    number, unit = match.groups()
    if unit is None:
        raise InputError(f"{ASK_WEIGHT} {number} has no unit: write {number} kg or {number} lb.")
    if unit.lower() not in _UNITS:
        raise InputError(f"Weight unit {unit!r} is not kg or lb; write e.g. {number} kg or {number} lb.")
    return float(number), _UNITS[unit.lower()]


class DoseRequest(BaseModel):
    """What calculate_dose needs: weight with its unit (or a prescribed mg dose), indication, mg/kg, cycle, date."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    weight: float | None = Field(
        description="Patient's actual body weight, as stated by the user, in weight_unit; null only when "
        "prescribed_mg is given and the weight is not known."
    )
    weight_unit: Literal["kg", "lb"] | None = Field(
        description="'kg' or 'lb', as stated by the user; null if not stated (the tool then asks for it)."
    )
    indication: Literal["mbc", "ebc", "nsclc", "salivary", "brain_mets"] = Field(
        description="'mbc' = HER2+ metastatic breast cancer; 'ebc' = early breast cancer, adjuvant (KATHERINE); "
        "Centene CP.PHAR.229 I.B off-label uses: 'nsclc' (non-small cell lung cancer), 'salivary' (salivary "
        "gland tumor), 'brain_mets' (brain metastases due to breast cancer)."
    )
    mg_per_kg: float = Field(default=3.6, description="Dose level; 3.6 is the label dose and the maximum.")
    cycle: int = Field(default=1, description="Cycle number, 1 for the first infusion (EBC: 1 to 14).")
    date_of_service: dt.date | None = Field(
        default=None, description="Infusion date (YYYY-MM-DD); selects the Medicare price quarter. Default today."
    )
    prescribed_mg: float | None = Field(
        default=None,
        description="A dose in mg as prescribed, used instead of weight × mg/kg (give the weight too when known, "
        "so the 3.6 mg/kg maximum is checked). Do not give mg_per_kg with it.",
    )
    vials_available: list[int] | None = Field(
        default=None,
        description="Vial strengths in stock, in mg, e.g. [160] when only 160 mg vials are on the shelf; "
        "default both 100 and 160.",
    )
    dose_reduced: bool | None = Field(
        default=None,
        description="True if the patient's dose has been reduced (the label forbids going back up); "
        "null if not stated. With true, give the reduced mg_per_kg.",
    )
    previous_mg_per_kg: float | None = Field(
        default=None, description="The dose level given in the previous cycle, mg/kg, if stated."
    )

    @model_validator(mode="before")
    @classmethod
    def _weight_text(cls, data: Any) -> Any:
        if not (isinstance(data, dict) and isinstance(data.get("weight"), str)):
            return data
        data, text, given_unit = dict(data), data["weight"], data.get("weight_unit")
        try:
            value, unit = parse_weight(text)
        except InputError:
            bare = _BARE.match(text)
            if given_unit is None or not bare:
                raise
            value, unit = float(bare.group(1)), _normal_unit(given_unit)
        if given_unit is not None and _normal_unit(given_unit) != unit:
            raise ValueError(f"The weight {text!r} is in {unit} but weight_unit says {given_unit!r}; give one unit.")
        data["weight"], data["weight_unit"] = value, unit
        return data

    @field_validator("weight_unit", mode="before")
    @classmethod
    def _unit(cls, value: Any) -> Any:
        return None if value is None else _normal_unit(value)

    @field_validator("indication", mode="before")
    @classmethod
    def _indication(cls, value: Any) -> Any:
        key = " ".join(str(value).replace("-", " ").replace("_", " ").split()).lower()
        if key not in _INDICATIONS:
            raise ValueError(f"Indication {value!r} is not understood. {ASK_INDICATION}")
        return _INDICATIONS[key]

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value):
            raise ValueError(f"Weight must be a real number (got {value}). {ASK_WEIGHT}")
        if value <= 0:
            raise ValueError(f"Weight must be more than 0 (got {value:g}). {ASK_WEIGHT}")
        return value

    @field_validator("mg_per_kg")
    @classmethod
    def _mg_per_kg(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"mg/kg must be a number above 0, at most 3.6 (got {value}).")
        if _dec(value) < MIN_MG_PER_KG:
            raise ValueError(_too_low(f"{value:g} mg/kg"))
        from assistant.tools.dose_facts import load_dose_facts

        cap = load_dose_facts().max_mg_per_kg
        if _dec(value) > _dec(cap.value):
            raise ValueError(
                f"{value:g} mg/kg is above the label maximum of {cap.value} mg/kg: \"{cap.quote}\" "
                f"({cap.doc_id}). Use {cap.value} mg/kg or a reduced dose below it."
            )
        return value

    @field_validator("cycle")
    @classmethod
    def _cycle(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"Cycle must be 1 or more (got {value}); cycle 1 is the first infusion.")
        return value

    @field_validator("prescribed_mg")
    @classmethod
    def _prescribed(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"The prescribed dose must be a number of mg above 0 (got {value}).")
        return value

    @field_validator("previous_mg_per_kg")
    @classmethod
    def _previous(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"The previous dose level must be a number of mg/kg above 0 (got {value}).")
        if value is not None and _dec(value) < MIN_MG_PER_KG:
            raise ValueError(_too_low(f"The previous dose level of {value:g} mg/kg"))
        return value

    @field_validator("date_of_service")
    @classmethod
    def _date_near_today(cls, value: dt.date | None) -> dt.date | None:
        if value is None:
            return value
        today = _today()
        if abs((value - today).days) > MAX_DAYS_FROM_TODAY:
            raise ValueError(
                f"The date of service {value.isoformat()} is more than a year from today ({today.isoformat()}); "
                "check the date (YYYY-MM-DD)."
            )
        return value

    @field_validator("vials_available", mode="before")
    @classmethod
    def _stock(cls, value: Any) -> Any:
        if value is None:
            return value
        items = re.split(r"[,\s/+&]+|\band\b", value) if isinstance(value, str) else list(value)
        out = []
        for item in items:
            text = str(item).strip().lower().removesuffix("mg").strip()
            if not text:
                continue
            if not re.fullmatch(r"\d+", text):
                raise ValueError(f"Vial strengths in stock must be mg amounts such as 100 or 160 (got {item!r}).")
            out.append(int(text))
        return out

    @field_validator("vials_available")
    @classmethod
    def _stock_known(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        from assistant.tools.dose_facts import load_dose_facts

        known = sorted(int(v.strength.value) for v in load_dose_facts().vials)
        unknown = [v for v in value if v not in known]
        if not value or unknown:
            raise ValueError(
                f"Kadcyla comes in {' and '.join(map(str, known))} mg single-dose vials only "
                f"(got {', '.join(map(str, unknown)) or 'no strength'}); give the strengths in stock."
            )
        return sorted(set(value))

    @model_validator(mode="after")
    def _whole(self) -> DoseRequest:
        if self.weight is None and self.prescribed_mg is None:
            raise ValueError(ASK_WEIGHT)
        if self.weight is not None and self.weight_unit is None:
            w = f"{self.weight:g}"
            raise ValueError(f"{ASK_WEIGHT} {w} has no unit: write {w} kg or {w} lb.")
        if self.weight is not None:
            kg = self.weight_kg()
            if not HARD_MIN_KG <= kg <= HARD_MAX_KG:
                shown = f"{self.weight:g} {self.weight_unit}"
                if self.weight_unit == "lb":
                    shown += f" ({plain(kg.quantize(Decimal('0.001')))} kg)"
                raise ValueError(f"Weight {shown} is outside 20–350 kg; check the weight and its unit.")
        from assistant.tools.dose_facts import load_dose_facts

        facts = load_dose_facts()
        course, policy = facts.ebc_course_cycles, facts.ebc_max_doses_policy
        if self.indication == "ebc" and self.cycle > int(course.value):
            raise ValueError(
                f"Cycle {self.cycle} is beyond the {course.value}-cycle adjuvant (EBC, KATHERINE) course: "
                f"\"{course.quote}\" ({course.doc_id}); \"{policy.quote}\" ({policy.doc_id}). Check the cycle number."
            )
        if self.prescribed_mg is not None:
            self._check_prescribed(facts)
        elif self.dose_reduced and "mg_per_kg" not in self.model_fields_set:
            rule = facts.no_re_escalation
            raise ValueError(f"{ASK_REDUCED_LEVEL} \"{rule.quote}\" ({rule.doc_id})")
        self._check_label_rules()
        return self

    def _check_prescribed(self, facts: Any) -> None:
        if "mg_per_kg" in self.model_fields_set:
            raise ValueError(
                "Give either the prescribed dose in mg or a dose level in mg/kg, not both "
                f"(got {self.prescribed_mg:g} mg and {self.mg_per_kg:g} mg/kg)."
            )
        cap = facts.max_mg_per_kg
        kg, dose = self.weight_kg(), _dec(self.prescribed_mg)
        if kg is not None and dose < kg * MIN_MG_PER_KG:
            raise ValueError(_too_low(
                f"The prescribed {plain(dose)} mg for {plain(kg.quantize(Decimal('0.01')))} kg "
                f"({float(dose / kg):.3g} mg/kg)"))
        if kg is None and dose < MIN_MG_PER_KG * HARD_MIN_KG:
            raise ValueError(_too_low(f"The prescribed {plain(dose)} mg (under {MIN_MG_PER_KG} mg/kg for any weight from {HARD_MIN_KG} kg)"))
        if kg is not None and dose > kg * _dec(cap.value):
            most = (kg * _dec(cap.value)).quantize(Decimal("0.1"), ROUND_DOWN)
            raise ValueError(
                f"The prescribed {plain(dose)} mg for {plain(kg.quantize(Decimal('0.01')))} kg is "
                f"{plain((dose / kg).quantize(Decimal('0.01'), ROUND_UP))} mg/kg, above the label maximum of "
                f"{cap.value} mg/kg (at most {plain(most)} mg for this weight): \"{cap.quote}\" ({cap.doc_id})."
            )
        if kg is None and dose > _dec(cap.value) * HARD_MAX_KG:
            raise ValueError(
                f"{self.prescribed_mg:g} mg is above {cap.value} mg/kg for any weight up to {HARD_MAX_KG} kg: "
                f"\"{cap.quote}\" ({cap.doc_id}). Check the dose and give the weight."
            )

    def _check_label_rules(self) -> None:
        """Refuse what a label rule forbids outright (above 3.6 mg/kg, going back up after a reduction)."""
        from assistant.safety import SafetyInput, check_safety

        level = self.dose_level()
        facts = SafetyInput(
            mg_per_kg=None if level is None else float(round(level, 4)),
            previous_mg_per_kg=self.previous_mg_per_kg,
            dose_reduced=self.dose_reduced,
        )
        errors = [f for f in check_safety(facts) if f.severity == "error"]
        if errors:
            raise ValueError(" ".join(f"{f.message} \"{f.quote.quote}\" ({f.quote.doc_id})" for f in errors))

    def weight_kg(self) -> Decimal | None:
        """The weight in kg, exact (lb × 0.45359237); None when only a prescribed mg dose is given."""
        if self.weight is None:
            return None
        value = _dec(self.weight)
        return value * KG_PER_LB if self.weight_unit == "lb" else value

    def dose_level(self) -> Decimal | None:
        """The dose level in mg/kg: mg_per_kg, or the prescribed mg ÷ the weight; None without a weight."""
        if self.prescribed_mg is None:
            return _dec(self.mg_per_kg)
        kg = self.weight_kg()
        return None if kg is None else _dec(self.prescribed_mg) / kg


def _too_low(what: str) -> str:
    return (
        f"{what} is below {MIN_MG_PER_KG} mg/kg, lower than any Kadcyla dose level (3.6 mg/kg; reductions to "
        "3 and 2.4 mg/kg); check the dose level and its unit."
    )


def _today() -> dt.date:
    override = get_settings().today
    try:
        return dt.date.fromisoformat(override) if override else dt.date.today()
    except ValueError:
        raise ValueError(f"ASSISTANT_TODAY={override!r} is not a YYYY-MM-DD date") from None


def _normal_unit(value: Any) -> str:
    key = str(value).strip().lower().rstrip(".")
    if key not in _UNITS:
        raise ValueError(f"Weight unit {value!r} is not kg or lb.")
    return _UNITS[key]


_FIELD_HELP = {
    "weight": "Weight must be a number with a unit, e.g. 70 kg or 154 lb",
    "weight_unit": "Weight unit must be kg or lb",
    "indication": "Indication must be mbc (metastatic) or ebc (early breast cancer, adjuvant, KATHERINE)",
    "mg_per_kg": "mg/kg must be a number above 0, at most 3.6",
    "cycle": "Cycle must be a whole number, 1 or more",
    "date_of_service": "Date of service must be a date written YYYY-MM-DD",
    "prescribed_mg": "The prescribed dose must be a number of mg",
    "vials_available": "Vial strengths in stock must be a list of mg amounts such as [160]",
    "dose_reduced": "dose_reduced must be true or false",
    "previous_mg_per_kg": "The previous dose level must be a number of mg/kg",
}
_MISSING = {
    "weight": ASK_WEIGHT,
    "weight_unit": f"{ASK_WEIGHT} Give the unit with the weight.",
    "indication": ASK_INDICATION,
}


def _readable(error: ValidationError) -> str:
    parts = []
    errors = error.errors()
    weight_missing = any(e["type"] == "missing" and e["loc"] == ("weight",) for e in errors)
    for err in errors:
        field = str(err["loc"][0]) if err["loc"] else ""
        if weight_missing and field == "weight_unit":
            continue  # one question about the weight is enough
        if err["type"] == "value_error":
            parts.append(str(err["ctx"]["error"]))
        elif err["type"] == "missing":
            parts.append(_MISSING.get(field, f"{field} is required."))
        elif err["type"] == "extra_forbidden":
            parts.append(f"Unknown input {field!r}; the inputs are {', '.join(DoseRequest.model_fields)}.")
        else:
            parts.append(f"{_FIELD_HELP.get(field, field)} (got {err.get('input')!r}).")
    return " ".join(dict.fromkeys(parts))


def build_request(**raw: Any) -> DoseRequest:
    """A DoseRequest from loose input (e.g. weight='154 lb'); InputError with a readable message."""
    keep = {"weight_unit"}
    if raw.get("prescribed_mg") is not None:  # a prescribed mg dose may come without a weight
        keep.add("weight")
        raw = {"weight": None, "weight_unit": None, **raw}
    raw = {k: v for k, v in raw.items() if v is not None or k in keep}  # None = not given
    try:
        return DoseRequest.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_readable(exc)) from None

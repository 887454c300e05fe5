"""Kadcyla dose, vials, waste, J9354 billing lines, preparation and Medicare payment for one cycle."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
from assistant.models import Figure, SourceQuote
from assistant.settings import get_settings
from assistant.tools.prices import Billing, Payment, billing, medicare_payment
from assistant.tools.vials import Preparation, VialLine, best_combination, plain, preparation, vial_lines

FACTS_FILE = Path(__file__).resolve().parent.parent / "data" / "dose_facts.yaml"
KG_PER_LB = Decimal("0.45359237")
HARD_MIN_KG, HARD_MAX_KG = Decimal(20), Decimal(350)
SOFT_MIN_KG, SOFT_MAX_KG = Decimal(35), Decimal(200)
ASK_WEIGHT = "What is the patient's weight, in kg or lb?"
ASK_INDICATION = "Which indication: mbc (metastatic breast cancer) or ebc (early breast cancer, adjuvant, KATHERINE)?"
INDICATION_LABELS = {
    "mbc": "HER2+ metastatic breast cancer (mBC)",
    "ebc": "HER2+ early breast cancer, adjuvant (EBC, KATHERINE)",
}
_INDICATIONS = {
    "mbc": "mbc", "metastatic": "mbc", "metastatic breast cancer": "mbc",
    "ebc": "ebc", "early": "ebc", "early breast cancer": "ebc", "adjuvant": "ebc", "katherine": "ebc",
    "early breast cancer adjuvant": "ebc", "ebc adjuvant": "ebc", "adjuvant ebc": "ebc",
}
_UNITS = {"kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
          "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb"}  # fmt: skip
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_WEIGHT = re.compile(rf"^\s*({_NUMBER})\s*([a-z]+)?\.?\s*$", re.IGNORECASE)
_BARE = re.compile(rf"^\s*({_NUMBER})\s*$")
TENTH = Decimal("0.1")


# ---------------------------------------------------------------- reference facts


class Fact(BaseModel):
    """A reference value with the exact passage it comes from."""

    model_config = ConfigDict(extra="forbid")
    value: float | int | str
    unit: str
    doc_id: str
    section: str = ""
    quote: str
    source: SourceQuote | None = None

    def figure(self, label: str, value: Any = None, unit: str | None = None, formula: str | None = None) -> Figure:
        return Figure(
            value=self.value if value is None else value,
            unit=unit or self.unit,
            label=label,
            formula=formula,
            source=self.source,
        )


class VialFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strength: Fact
    ndc_10: Fact
    ndc_11: Fact
    reconstitution: Fact


class DoseFacts(BaseModel):
    """Everything in assistant/data/dose_facts.yaml."""

    model_config = ConfigDict(extra="forbid")
    label_mg_per_kg: Fact
    max_mg_per_kg: Fact
    no_re_escalation: Fact
    ebc_course_cycles: Fact
    ebc_max_doses_policy: Fact
    mbc_cycles_per_year: Fact
    hcpcs: Fact
    mg_per_unit: Fact
    modifiers: Fact
    waste_line: Fact
    vial_choice: Fact
    vials: list[VialFacts] = Field(min_length=1)
    concentration_mg_per_ml: Fact
    diluent_volume_ml: Fact
    diluent: Fact
    diluent_forbidden: Fact
    filter: Fact
    first_infusion_minutes: Fact
    first_observation_minutes: Fact
    later_infusion_minutes: Fact
    later_observation_minutes: Fact
    first_cycle_cpt: list[Fact]
    later_cycle_cpt: list[Fact]


def _walk(node: Any, kind: type) -> Iterator[Any]:
    """Every instance of kind inside nested models and lists, in field order."""
    if isinstance(node, kind):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), kind)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, kind)


@lru_cache(maxsize=4)
def _load_facts(corpus_dir: str) -> DoseFacts:
    try:
        facts = DoseFacts.model_validate(yaml.safe_load(FACTS_FILE.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise DataError(f"{FACTS_FILE} is malformed: {exc}") from None
    corpus = get_corpus()
    for fact in _walk(facts, Fact):
        fact.source = corpus.find(fact.doc_id, fact.quote, fact.section)
        if str(fact.value) not in fact.quote:
            raise DataError(f"{FACTS_FILE}: value {fact.value!r} is not written in its quote {fact.quote[:60]!r}")
    return facts


def load_dose_facts() -> DoseFacts:
    """The dose facts, every quote checked against the corpus (DataError if one is not found)."""
    return _load_facts(str(get_settings().corpus_dir))


# ---------------------------------------------------------------- request


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
    """What calculate_dose needs: weight with its unit, indication, mg/kg, cycle, date of service."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    weight: float = Field(description="Patient's actual body weight, as stated by the user, in weight_unit.")
    weight_unit: Literal["kg", "lb"] | None = Field(
        description="'kg' or 'lb', as stated by the user; null if not stated (the tool then asks for it)."
    )
    indication: Literal["mbc", "ebc"] = Field(
        description="'mbc' = HER2+ metastatic breast cancer; 'ebc' = early breast cancer, adjuvant (KATHERINE)."
    )
    mg_per_kg: float = Field(default=3.6, description="Dose level; 3.6 is the label dose and the maximum.")
    cycle: int = Field(default=1, description="Cycle number, 1 for the first infusion (EBC: 1 to 14).")
    date_of_service: dt.date | None = Field(
        default=None, description="Infusion date (YYYY-MM-DD); selects the Medicare price quarter. Default today."
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
    def _weight(cls, value: float) -> float:
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

    @model_validator(mode="after")
    def _whole(self) -> DoseRequest:
        if self.weight_unit is None:
            w = f"{self.weight:g}"
            raise ValueError(f"{ASK_WEIGHT} {w} has no unit: write {w} kg or {w} lb.")
        kg = self.weight_kg()
        if not HARD_MIN_KG <= kg <= HARD_MAX_KG:
            shown = f"{self.weight:g} {self.weight_unit}"
            if self.weight_unit == "lb":
                shown += f" ({plain(kg.quantize(Decimal('0.001')))} kg)"
            raise ValueError(f"Weight {shown} is outside 20–350 kg; check the weight and its unit.")
        facts = load_dose_facts()
        course, policy = facts.ebc_course_cycles, facts.ebc_max_doses_policy
        if self.indication == "ebc" and self.cycle > int(course.value):
            raise ValueError(
                f"Cycle {self.cycle} is beyond the {course.value}-cycle adjuvant (EBC, KATHERINE) course: "
                f"\"{course.quote}\" ({course.doc_id}); \"{policy.quote}\" ({policy.doc_id}). Check the cycle number."
            )
        return self

    def weight_kg(self) -> Decimal:
        """The weight in kg, exact (lb × 0.45359237)."""
        value = _dec(self.weight)
        return value * KG_PER_LB if self.weight_unit == "lb" else value


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
    raw = {k: v for k, v in raw.items() if v is not None or k == "weight_unit"}  # None = not given
    try:
        return DoseRequest.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_readable(exc)) from None


# ---------------------------------------------------------------- result


class Administration(BaseModel):
    """Infusion and observation times and the administration CPT codes for this cycle."""

    cycle: int
    infusion_minutes: Figure
    observation_minutes: Figure
    condition: str | None = Field(default=None, description="when the shorter infusion applies")
    cpt: list[Figure]


class DoseResult(BaseModel):
    """One Kadcyla cycle: dose, vials, waste, billing, preparation, administration and payment."""

    request: DoseRequest
    indication_label: str
    date_of_service: dt.date
    weight_kg: Figure
    mg_per_kg: Figure
    reduced_dose: bool
    dose_mg: Figure
    vials: list[VialLine]
    drawn_mg: Figure
    waste_mg: Figure
    billing: Billing
    preparation: Preparation
    administration: Administration
    payment: Payment
    warnings: list[str] = Field(default_factory=list, description="what the user must see before acting")
    notes: list[str] = Field(default_factory=list)

    def figures(self) -> list[Figure]:
        """Every figure in the result, in field order."""
        return list(_walk(self, Figure))


def _today() -> dt.date:
    override = get_settings().today
    if override is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(override)
    except ValueError:
        raise DataError(f"ASSISTANT_TODAY={override!r} is not a YYYY-MM-DD date") from None


def _administration(cycle: int, facts: DoseFacts) -> Administration:
    first = cycle == 1
    infusion = facts.first_infusion_minutes if first else facts.later_infusion_minutes
    observation = facts.first_observation_minutes if first else facts.later_observation_minutes
    codes = facts.first_cycle_cpt if first else facts.later_cycle_cpt
    return Administration(
        cycle=cycle,
        infusion_minutes=infusion.figure(f"infusion time, cycle {cycle}"),
        observation_minutes=observation.figure("observation after the infusion, at least"),
        condition=None if first else "if prior infusions were well tolerated",
        cpt=[f.figure("administration CPT code, 1 unit") for f in codes],
    )


def calculate_dose(request: DoseRequest) -> DoseResult:
    """Calculate one Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) cycle for a patient.

    Use this tool whenever a dose, vial count, waste, J9354 units, JZ/JW lines, reconstitution or
    withdrawal volume, infusion time, administration CPT code or Medicare payment for Kadcyla is
    asked for. Never compute these in prose: quote the figures this tool returns.

    Inputs (DoseRequest):
    - weight and weight_unit ('kg' or 'lb'): the patient's actual body weight exactly as the user
      gave it. Never guess or assume a weight or its unit; if either is missing, ask the user
      "What is the patient's weight, in kg or lb?". Accepted range 20–350 kg.
    - indication: 'mbc' (HER2+ metastatic breast cancer) or 'ebc' (early breast cancer, adjuvant,
      KATHERINE, a 14-cycle course). Ask if it is not clear.
    - mg_per_kg: default 3.6, the label dose and the maximum; lower values are reduced doses.
    - cycle: default 1 (cycle 1 has the 90-minute infusion); EBC cycles run 1–14.
    - date_of_service: picks the Medicare price quarter; default today.

    Returns a DoseResult. Every number is a Figure (value, unit, label, formula, source quote):
    weight in kg, dose in mg (weight × mg/kg, rounded down to 0.1 mg so it never exceeds the
    mg/kg asked for), the least-waste combination of 100 mg and 160 mg single-dose vials (ties go
    to fewer vials) with 11- and 10-digit NDCs, mg drawn and wasted, J9354 billing lines (JZ
    administered units, JW discarded units, rounding rule stated), reconstitution and withdrawal
    volumes, diluent and filter, infusion and observation minutes with CPT codes, and Medicare
    payment (ASP + 6%) for the administered units, per cycle and for the course (EBC 14 cycles;
    mBC about 17 cycles a year). `warnings` holds what the user must see (a stale price quarter,
    an unusual weight); pass them on. Raises InputError, whose message says what to fix, for
    refused input (no unit, weight outside 20–350 kg, mg/kg above 3.6, EBC cycle above 14).
    """
    request = build_request(**request.model_dump())  # re-check: model_construct skips validation
    facts = load_dose_facts()
    warnings: list[str] = []
    notes: list[str] = []
    day = request.date_of_service
    if day is None:
        day = _today()
        notes.append(f"No date of service given: used today's date, {day}.")

    kg = request.weight_kg()
    if not SOFT_MIN_KG <= kg <= SOFT_MAX_KG:
        shown = plain(kg.quantize(TENTH))
        warnings.append(f"Weight {shown} kg is outside the usual adult range 35–200 kg; confirm it.")
    mg_per_kg = _dec(request.mg_per_kg)
    label_dose = _dec(facts.label_mg_per_kg.value)
    reduced = mg_per_kg < label_dose
    if reduced:
        rule = facts.no_re_escalation
        notes.append(
            f"Reduced dose: {plain(mg_per_kg)} mg/kg, below the {label_dose} mg/kg label dose. "
            f"\"{rule.quote}\" ({rule.doc_id})"
        )

    exact = kg * mg_per_kg
    dose = exact.quantize(TENTH, ROUND_DOWN)  # down, so the dose never exceeds mg/kg × weight
    combo = best_combination(dose, [int(v.strength.value) for v in facts.vials])
    combo_text = " + ".join(f"{n} × {s} mg" for s, n in sorted(combo.counts.items()) if n)
    waste = combo.waste_mg(dose)
    bill = billing(dose, combo.total_mg, facts)

    if request.indication == "ebc":
        course = facts.ebc_course_cycles
        cycles = course.figure(f"the {course.value}-cycle adjuvant (EBC, KATHERINE) course")
        left = int(course.value) - request.cycle
        notes.append(f"Cycle {request.cycle} of {course.value}; {left} more after this one.")
    else:
        cycles = facts.mbc_cycles_per_year.figure("one year of mBC treatment (about 17 cycles a year, q3w)")
        notes.append("mBC is treated until progression or unacceptable toxicity; the course figure is one year.")
    payment, stale = medicare_payment(
        bill.lines[0].hcpcs, day, bill.units("JZ"), combo.total_mg, _dec(facts.mg_per_unit.value), cycles
    )
    if stale:
        warnings.append(stale)

    dose_formula = f"{plain(kg)} kg × {plain(mg_per_kg)} mg/kg = {plain(exact)} mg"
    if exact != dose:
        dose_formula += f" → {plain(dose)} mg (rounded down to 0.1 mg)"
    lb_formula = f"{request.weight:g} lb × {KG_PER_LB} kg/lb = {plain(kg)} kg" if request.weight_unit == "lb" else None
    return DoseResult(
        request=request,
        indication_label=INDICATION_LABELS[request.indication],
        date_of_service=day,
        weight_kg=Figure(value=float(kg), unit="kg", label="patient weight (input)", formula=lb_formula),
        mg_per_kg=facts.label_mg_per_kg.figure(
            f"reduced dose, below the {label_dose} mg/kg label dose" if reduced else "label dose",
            value=request.mg_per_kg,
        ),
        reduced_dose=reduced,
        dose_mg=facts.label_mg_per_kg.figure("dose", value=float(dose), unit="mg", formula=dose_formula),
        vials=vial_lines(combo, facts),
        drawn_mg=facts.vial_choice.figure(
            "mg in the vials opened (least-waste combination)",
            value=combo.total_mg,
            unit="mg",
            formula=f"{combo_text} = {combo.total_mg} mg",
        ),
        waste_mg=facts.waste_line.figure(
            "mg discarded",
            value=float(waste),
            unit="mg",
            formula=f"{combo.total_mg} mg − {plain(dose)} mg = {plain(waste)} mg",
        ),
        billing=bill,
        preparation=preparation(dose, facts),
        administration=_administration(request.cycle, facts),
        payment=payment,
        warnings=warnings,
        notes=notes,
    )

"""Patient facts with their evidence: what was read, how it was meant, and the exact words.

One typed model for the conversation: the readers in assistant.extract produce it, the session keeps
it, the UI panel edits it, and `to_dose_request()` / `to_case()` are the only translations into the
tools' inputs. A fact carries an assertion (ConText's categories): only a present or historical fact
can make a criterion met; an absent one makes it not met where the criterion requires it; a possible
or hypothetical one leaves it unknown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
Assertion = Literal["present", "absent", "possible", "hypothetical", "historical"]
Source = Literal["typed", "panel", "pasted_note", "fhir"]
STATED = ("present", "historical")  # the assertions that say the fact is true of the patient


class Evidence(BaseModel):
    """The exact words a fact was read from: text == message[start:end] of that turn."""

    text: str
    start: int
    end: int
    turn: int = 0


class Fact(BaseModel, Generic[T]):
    value: T
    assertion: Assertion = "present"
    evidence: list[Evidence] = Field(default_factory=list)
    source: Source = "typed"

    @property
    def stated(self) -> bool:
        return self.assertion in STATED

    def quote(self) -> str:
        return " … ".join(e.text for e in self.evidence)


# The single-valued facts, in the tools' own names and enums (DoseRequest, PatientCase).
SCALARS: dict[str, str] = {
    "weight": "weight, as given", "weight_unit": "weight unit", "indication": "indication (mbc / ebc)",
    "mg_per_kg": "dose level (mg/kg)", "cycle": "cycle", "date_of_service": "date of service",
    "payer": "payer", "unsupported_payer": "payer we hold no policy for", "line_of_business": "line of business",
    "request_type": "request type", "age": "age", "diagnosis": "diagnosis", "her2_ihc": "HER2 IHC",
    "her2_ish": "HER2 ISH", "her2_positive": "HER2-positive (as stated)", "prescriber_oncologist": "prescriber is an oncologist",
    "regimen": "regimen", "line_of_therapy": "line of therapy", "interval_days": "days between doses",
    "number_of_doses": "doses in the course", "dose_evidence_submitted": "dose evidence submitted",
    "days_on_therapy": "days on therapy", "on_plan_benefit": "on Kadcyla through the plan",
    "responding": "responding to therapy", "dose_increase": "dose increase requested",
    "dose_reduced": "a prior dose reduction", "requested_product": "requested product", "shortage": "shortage of preferred products",
    "prescribed_mg": "prescribed dose (mg)", "vials_available": "vial strengths in stock", "previous_mg_per_kg": "previous dose level",
}  # fmt: skip
# Yes/no facts: an absent assertion of the fact reads as False ("not seen by oncology").
BOOLEANS = ("her2_positive", "prescriber_oncologist", "dose_evidence_submitted", "on_plan_benefit", "responding",
            "dose_increase", "dose_reduced", "shortage")
_CASE_FIELDS = ("payer", "line_of_business", "request_type", "age", "diagnosis", "her2_ihc", "her2_ish", "her2_positive",
                "prescriber_oncologist", "regimen", "line_of_therapy", "interval_days", "number_of_doses",
                "dose_evidence_submitted", "days_on_therapy", "on_plan_benefit", "responding", "dose_increase",
                "shortage", "requested_product")  # fmt: skip


class PatientFacts(BaseModel):
    """Everything known about the patient and the request; a field not held is unknown."""

    facts: dict[str, Fact[Any]] = Field(default_factory=dict)
    therapies: dict[str, Fact[bool]] = Field(
        default_factory=dict, description="prior therapies by canonical drug: value True = received")
    combined_with: dict[str, Fact[bool]] = Field(default_factory=dict, description="drugs given with Kadcyla")
    preferred_trials: dict[str, Fact[str]] = Field(default_factory=dict, description="product -> outcome")

    # -- reading ---------------------------------------------------------------------------------
    def get(self, name: str) -> Fact[Any] | None:
        return self.facts.get(name)

    def value(self, name: str) -> Any:
        """The value when the fact is stated of the patient; None when unknown, possible or hypothetical.

        A yes/no fact stated absent reads False; any other absent fact reads None (unknown).
        """
        fact = self.facts.get(name)
        if fact is None:
            return None
        if fact.stated:
            return fact.value
        if fact.assertion == "absent" and name in BOOLEANS:
            return not fact.value
        return None

    def stated(self) -> dict[str, Any]:
        """Field -> value for every fact that reads as known (what the tools may use)."""
        out = {k: self.value(k) for k in self.facts}
        out = {k: v for k, v in out.items() if v is not None}
        received = self.received()
        if received:
            out["prior_therapies"] = received
        return out

    def received(self) -> list[str]:
        return [d for d, f in self.therapies.items() if f.stated and f.value]

    def not_received(self) -> list[str]:
        return [d for d, f in self.therapies.items() if f.assertion == "absent"]

    def __bool__(self) -> bool:
        return bool(self.facts or self.therapies or self.combined_with or self.preferred_trials)

    # -- writing ---------------------------------------------------------------------------------
    def set(self, name: str, value: Any, *, assertion: Assertion = "present", evidence: list[Evidence] | None = None,
            source: Source = "typed") -> None:
        if name not in SCALARS:
            raise KeyError(f"unknown fact {name!r}")
        self.facts[name] = Fact[Any](value=value, assertion=assertion, evidence=evidence or [], source=source)

    def forget(self, name: str) -> None:
        self.facts.pop(name, None)

    def update(self, newer: PatientFacts) -> list[str]:
        """Merge a newer turn's facts over these; return plain notes of what changed ('weight changed ...')."""
        changes = []
        for name, fact in newer.facts.items():
            old = self.facts.get(name)
            if old is not None and old.stated and fact.stated and old.value != fact.value:
                changes.append(f"{SCALARS[name]} changed from {_show(old.value)} to {_show(fact.value)}")
            if old is not None and old.stated and not fact.stated and fact.assertion in ("possible", "hypothetical"):
                continue  # "what if she were IHC 1+?" does not erase what was stated
            self.facts[name] = fact
        if "weight" in newer.facts and "weight_unit" not in newer.facts:
            self.facts.pop("weight_unit", None)  # a new weight must not borrow the unit of an earlier one
        changes = [_weight_note(c, self) for c in changes]
        for table in ("therapies", "combined_with", "preferred_trials"):
            mine, theirs = getattr(self, table), getattr(newer, table)
            for key, fact in theirs.items():
                old = mine.get(key)
                if old is not None and old.stated and fact.assertion in ("possible", "hypothetical"):
                    continue
                mine[key] = fact
        return changes

    # -- the only translations -------------------------------------------------------------------
    def to_dose_request(self) -> dict[str, Any]:
        """Arguments for build_request / calculate_dose (weight, weight_unit, indication, mg_per_kg, cycle, date)."""
        args: dict[str, Any] = {}
        for name in ("weight", "weight_unit", "indication", "mg_per_kg", "cycle", "date_of_service", "prescribed_mg",
                     "vials_available", "dose_reduced", "previous_mg_per_kg"):
            value = self.value(name)
            if value is not None:
                args[name] = value
        return args

    def to_case(self) -> dict[str, Any]:
        """A PatientCase mapping for check_policy; every field read from a stated fact, with its evidence."""
        case: dict[str, Any] = {}
        for name in _CASE_FIELDS:
            value = self.value(name)
            if value is not None:
                case[name] = value
        if "diagnosis" not in case and (ind := self.value("indication")):
            case["diagnosis"] = {"mbc": "mbc", "ebc": "ebc_residual"}.get(ind, ind)
        if (mg := self.value("mg_per_kg")) is not None:
            case["dose_mg_per_kg"] = mg
        if self.received() or self.not_received():
            if self.received():
                case["prior_therapies"] = self.received()
            if self.not_received():
                case["therapies_not_received"] = self.not_received()
            case["prior_therapies_complete"] = False  # a drug never mentioned is unknown, not missing
        combined = [d for d, f in self.combined_with.items() if f.stated and f.value]
        if combined:  # a drug stated as given with Kadcyla outweighs an earlier "single agent"
            case["regimen"] = "with_neratinib" if combined == ["neratinib"] else "combination"
            if case["regimen"] == "combination":
                case["combined_with"] = combined
        if (cycle := self.value("cycle")) and self.value("indication") == "ebc" and "number_of_doses" not in case:
            case["number_of_doses"] = cycle
        if case.get("payer") == "centene":
            case.pop("requested_product", None)  # Centene's policy is Kadcyla's own
        trials = [{"product": p, "outcome": f.value} for p, f in self.preferred_trials.items() if f.stated]
        if trials:
            case["preferred_trials"] = trials
        evidence = self.evidence_by_field()
        if evidence:
            case["evidence"] = evidence
        return case

    def evidence_by_field(self) -> dict[str, str]:
        """Case field -> the words it was read from, for the checker's reasons."""
        out: dict[str, str] = {}
        rename = {"mg_per_kg": "dose_mg_per_kg"}
        for name, fact in self.facts.items():
            if fact.evidence and (self.value(name) is not None):
                out[rename.get(name, name)] = fact.quote()
        drugs = [f.quote() for f in self.therapies.values() if f.evidence]
        if drugs:
            out["prior_therapies"] = " … ".join(dict.fromkeys(drugs))
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per fact for display and the answer's `facts`: field, value, assertion, evidence, source."""
        rows = []
        for name, fact in self.facts.items():
            rows.append(_row(name, fact.value, fact))
        for drug, fact in self.therapies.items():
            rows.append(_row(f"prior_therapy:{drug}", fact.value, fact))
        for drug, fact in self.combined_with.items():
            rows.append(_row(f"combined_with:{drug}", fact.value, fact))
        for product, fact in self.preferred_trials.items():
            rows.append(_row(f"preferred_trial:{product}", fact.value, fact))
        return rows


def _weight_note(change: str, facts: PatientFacts) -> str:
    unit = facts.value("weight_unit")
    if change.startswith(SCALARS["weight"]) and unit:
        old, new = change.removeprefix(f"{SCALARS['weight']} changed from ").split(" to ")
        return f"weight changed from {old} to {new} {unit}"
    return change


def _row(name: str, value: Any, fact: Fact[Any]) -> dict[str, Any]:
    shown = value.isoformat() if isinstance(value, dt.date) else value
    return {"field": name, "value": shown, "assertion": fact.assertion, "source": fact.source,
            "evidence": [e.model_dump() for e in fact.evidence]}


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return value.isoformat() if isinstance(value, dt.date) else str(value)

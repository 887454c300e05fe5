"""The Patient facts panel: one widget per fact the dose tool or the policy checker reads, key 'fact_<name>'.

Filled from the chat; an edit goes back into the Session's facts (source 'panel', it wins over what the
text said) and asks the page to re-run the last request (`on_edit`). Blank means unknown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from assistant import ui_render as ui
from assistant.facts import Fact, PatientFacts

YES_NO = {"yes": "Yes", "no": "No"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # select | bool | int | float | date | multi
    choices: dict[str, str] | None = None


THERAPIES = ["trastuzumab", "taxane", "pertuzumab", "enhertu", "lapatinib", "tucatinib", "neratinib"]
PARTNERS = ["neratinib", "pertuzumab", "trastuzumab", "capecitabine", "tucatinib"]
GROUPS: dict[str, list[Field]] = {
    "Dose": [
        Field("weight", "Weight", "float"),
        Field("weight_unit", "Unit", "select", {"kg": "kg", "lb": "lb"}),
        Field("indication", "Indication", "select",
              {"mbc": "mBC (metastatic)", "ebc": "EBC (adjuvant)"}),
        Field("mg_per_kg", "Dose level (mg/kg)", "float"),
        Field("cycle", "Cycle", "int"),
        Field("date_of_service", "Date of service", "date"),
    ],
    "Coverage": [
        Field("payer", "Payer", "select", {"centene": "Centene", "oscar": "Oscar"}),
        Field("line_of_business", "Line of business", "select",
              {"medicaid": "Medicaid", "him": "HIM (Marketplace)", "ichra": "ICHRA", "commercial": "Commercial"}),
        Field("request_type", "Request", "select", {"initial": "Initial", "continuation": "Continuation"}),
        Field("diagnosis", "Diagnosis (for the policy check)", "select",
              {"mbc": "HER2+ mBC", "ebc_residual": "EBC, residual disease", "nsclc": "NSCLC",
               "salivary": "Salivary gland", "brain_mets": "Brain metastases", "other": "Other"}),
        Field("her2_ihc", "HER2 IHC", "select", {"0": "IHC 0", "1+": "IHC 1+", "2+": "IHC 2+", "3+": "IHC 3+"}),
        Field("her2_ish", "HER2 ISH", "select", {"positive": "positive", "negative": "negative", "pending": "pending",
                                                 "not_done": "not done"}),
        Field("her2_positive", "HER2-positive as stated (no score)", "bool", YES_NO),
        Field("prescriber_oncologist", "Prescriber (or in consultation with)", "bool",
              {"yes": "Oncologist", "no": "Not oncologist"}),
        Field("regimen", "Regimen", "select",
              {"single_agent": "Single agent", "with_neratinib": "+ neratinib", "combination": "Combination"}),
        Field("prior_therapies", "Prior therapy", "multi"),
        Field("combined_with", "Given with Kadcyla", "multi"),
        Field("line_of_therapy", "Line of therapy", "int"),
        Field("age", "Age (years)", "int"),
        Field("interval_days", "Days between doses", "int"),
        Field("number_of_doses", "Doses in the course", "int"),
        Field("dose_evidence_submitted", "Dose support submitted", "bool", YES_NO),
    ],
    "Continuation and exceptions": [
        Field("on_plan_benefit", "On Kadcyla through this plan", "bool", YES_NO),
        Field("days_on_therapy", "Days on therapy", "int"),
        Field("responding", "Responding to therapy", "bool", YES_NO),
        Field("dose_increase", "Dose increase requested", "bool", YES_NO),
        Field("requested_product", "Requested product", "select",
              {p: p.title() for p in ("kadcyla", "enhertu", "perjeta", "phesgo", "margenza", "trastuzumab")}),
        Field("shortage", "Shortage of preferred products", "bool", YES_NO),
    ],
}
FIELDS = {f.name: f for group in GROUPS.values() for f in group}


def panel_value(facts: PatientFacts, name: str) -> Any:
    """A fact as its widget's value; a value the widget cannot hold shows as blank."""
    kind = FIELDS[name].kind
    if name == "prior_therapies":
        return facts.received()
    if name == "combined_with":
        return [d for d, f in facts.combined_with.items() if f.stated and f.value]
    value = facts.value(name)
    if value is None:
        return None
    try:
        if kind == "bool":
            return "yes" if value else "no"
        if kind == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        return None
    return str(value)


def _multi_write(table: dict[str, Fact[bool]], chosen: set[str], held: list[str], assertion: str) -> None:
    for drug in [d for d in held if d not in chosen]:
        table.pop(drug, None)  # unticked: no longer known either way
    for drug in chosen - set(held):
        table[drug] = Fact[bool](value=True, assertion=assertion, source="panel")


def write_fact(facts: PatientFacts, name: str, value: Any) -> None:
    """A panel value into the facts: blank forgets the fact (unknown), anything else is stated by the panel."""
    kind = FIELDS[name].kind
    if name == "prior_therapies":
        _multi_write(facts.therapies, set(value or []), facts.received(), "historical")
        return
    if name == "combined_with":
        held = [d for d, f in facts.combined_with.items() if f.stated and f.value]
        _multi_write(facts.combined_with, set(value or []), held, "present")
        return
    if value is None or value == []:
        facts.forget(name)
        return
    if kind == "int":
        value = int(value)
    elif kind == "float":
        value = float(value)
    elif kind == "bool":
        value = value == "yes"
    facts.set(name, value, source="panel")


def _changed(name: str, facts: PatientFacts, on_edit: Callable[[str], None]) -> None:
    write_fact(facts, name, st.session_state[f"fact_{name}"])
    on_edit(name)


def _widget(f: Field, facts: PatientFacts, on_edit: Callable[[str], None]) -> None:
    key = f"fact_{f.name}"
    cb = {"on_change": _changed, "args": (f.name, facts, on_edit)}
    if f.kind in ("select", "bool"):
        options = dict(f.choices or {})
        current = st.session_state.get(key)
        if current is not None and current not in options:  # a value the chat understood that the list lacks
            options[current] = str(current)
        st.selectbox(f.label, list(options), format_func=lambda k: options.get(k, str(k)), index=None,
                     placeholder="not given", key=key, **cb)
    elif f.kind == "float":  # no bounds: a value outside them would break the widget; the tools check ranges
        st.number_input(f.label, step=0.1, value=None, format="%.2f" if f.name == "mg_per_kg" else "%.1f", key=key, **cb)
    elif f.kind == "int":
        st.number_input(f.label, step=1, value=None, key=key, **cb)
    elif f.kind == "date":
        st.date_input(f.label, value=None, key=key, **cb)
    elif f.kind == "multi":
        base = THERAPIES if f.name == "prior_therapies" else PARTNERS
        extra = [t for t in st.session_state.get(key) or [] if t not in base]
        st.multiselect(f.label, base + extra, key=key, **cb)


def facts_panel(facts: PatientFacts, on_edit: Callable[[str], None], on_reset: Callable[[], None]) -> None:
    """The side panel: every fact the tools read, editable; an edit re-runs the last request."""
    for name in FIELDS:  # show what the chat understood (widgets are created after this)
        value = panel_value(facts, name)
        st.session_state[f"fact_{name}"] = [] if value is None and FIELDS[name].kind == "multi" else value
    st.header("Patient facts")
    st.caption("Filled from the chat. Correct a value here and the last request runs again with it. "
               "Leave blank if unknown.")
    for n, (title, fields) in enumerate(GROUPS.items()):
        # a group's widgets are built only when it is open (a rerun on click): the first page draws the
        # dose fields alone; a group opens by itself once the chat has filled one of its facts
        key = f"panel_group_{n}"
        known = any(st.session_state.get(f"fact_{f.name}") not in (None, []) for f in fields)
        if n == 0 and key not in st.session_state:
            st.session_state[key] = True
        elif known and not st.session_state.get(f"{key}_seen"):
            st.session_state[key] = True
            st.session_state[f"{key}_seen"] = True  # opened once for the reader; closing it is then theirs
        box = st.expander(title, key=key, on_change="rerun")
        if box.open:
            with box:
                for f in fields:
                    _widget(f, facts, on_edit)
    others = {k: v for k, v in facts.stated().items() if k not in FIELDS}
    if others:
        with st.expander("Other facts from the chat"):
            st.markdown("\n".join(f"- {ui.escape_md(k)}: {ui.escape_md(v)}" for k, v in others.items()))
    st.button("New conversation", help="Forget the facts and the messages of this browser session", on_click=on_reset)

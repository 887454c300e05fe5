"""Kadcyla (J9354) assistant: the Streamlit page. UI only: it renders Answer objects from
assistant.agent.ask; the tools decide every figure and verdict (assistant/ui_render.py formats them).

Nothing from the user or the documents is rendered as HTML or live markdown: it is escaped first.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import uuid

import streamlit as st

from assistant import ui_render as ui
from assistant.models import Answer
from assistant.plain_text import file_name, narrative
from assistant.facts import Fact
from assistant.session import Session

st.set_page_config(page_title="Kadcyla assistant (J9354)", page_icon="💊", layout="wide")


class WarmUp(threading.Thread):
    """Loads the agent, the reference data, the retriever and the intent model once per server, in
    the background, started when the first page has been sent: the page and the chat box appear at
    once, loading overlaps typing, and a question the rules classify (most dose questions) is
    answered without waiting for the model. A question that needs the model before it is loaded
    loads it itself; the result is the same, only slower."""

    def __init__(self) -> None:
        # not a daemon: exiting while a native library (onnxruntime, or torch without an export) loads aborts the process
        super().__init__(name="assistant-warm-up", daemon=False)
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            # what any answer needs, at normal priority: a question asked meanwhile waits on these imports
            import pandas  # noqa: F401 - st.table needs it; loaded here, not while the first page waits

            from assistant.agent import ask  # noqa: F401
            from assistant.intent import intent_model
            from assistant.settings import configure_offline
            from assistant.tools.dose import load_dose_facts

            configure_offline()
            load_dose_facts()
            # what only document questions and unclear wording need (the model, the index): in the
            # background proper, so that a dose, policy or code question asked meanwhile is not slowed down
            _lower_priority()
            from assistant.retrieval import get_retriever

            get_retriever().search("Kadcyla dose", k=1)
            intent_model().similarity("Kadcyla dose")
        except Exception as exc:  # noqa: BLE001 - shown on the page; dose and policy work without search
            self.error = exc


def _lower_priority() -> None:
    """Run this thread at a lower CPU priority (Linux: per thread), so that on a small machine the
    page, the browser and the first answers win over loading the model and the index."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


@st.cache_resource(show_spinner=False)
def warm_up() -> WarmUp:
    thread = WarmUp()
    thread.start()
    return thread


# -- patient facts panel: one widget per fact, key 'fact_<name>' ----------------------------------
CHOICES: dict[str, dict[str, str]] = {
    "weight_unit": {"kg": "kg", "lb": "lb"},
    "indication": {"mbc": "Metastatic breast cancer (mBC)", "ebc": "Early breast cancer, adjuvant (EBC, KATHERINE)"},
    "diagnosis": {"mbc": "HER2+ metastatic breast cancer", "ebc_residual": "Early BC, residual disease after neoadjuvant",
                  "nsclc": "NSCLC", "salivary": "Recurrent salivary gland tumor", "brain_mets": "Brain metastases from BC"},
    "payer": {"centene": "Centene (CP.PHAR.229)", "oscar": "Oscar (CG101)"},
    "line_of_business": {"medicaid": "Medicaid", "him": "Marketplace (HIM)", "ichra": "ICHRA", "commercial": "Commercial",
                         "medicare": "Medicare"},
    "prescriber_oncologist": {"yes": "Oncologist, or in consultation with one", "no": "Not an oncologist"},
    "request_type": {"initial": "Initial request", "continuation": "Continuation / renewal"},
    "her2_ihc": {"0": "IHC 0", "1+": "IHC 1+", "2+": "IHC 2+", "3+": "IHC 3+"},
    "her2_ish": {"positive": "ISH positive", "negative": "ISH negative", "pending": "ISH pending", "not_done": "ISH not done"},
}
THERAPIES = ["trastuzumab", "taxane", "pertuzumab", "enhertu"]
PANEL_FACTS = ("weight", "weight_unit", "indication", "diagnosis", "cycle", "payer", "line_of_business", "her2_ihc",
               "her2_ish", "prior_therapies", "date_of_service", "age", "prescriber_oncologist", "request_type")


def _state() -> Session:
    if "session" not in st.session_state:
        st.session_state.session = Session(id=uuid.uuid4().hex)
        st.session_state.history = []
    return st.session_state.session


def _panel_value(session: Session, name: str):
    if name == "prior_therapies":
        return session.facts.received()
    value = session.facts.value(name)
    if name == "prescriber_oncologist" and value is not None:
        return "yes" if value else "no"
    return value


def _to_widget(name: str, value):
    """A fact as its widget's value; a value the widget cannot hold shows as blank."""
    if value is None:
        return [] if name == "prior_therapies" else None
    try:
        if name == "date_of_service":
            return dt.date.fromisoformat(str(value))
        if name in ("cycle", "age"):
            return int(value)
        if name == "weight":
            return float(value)
        if name == "prior_therapies":
            return [str(v) for v in value]
    except (TypeError, ValueError):
        return [] if name == "prior_therapies" else None
    return str(value)


def _write_fact(name: str) -> None:
    """Widget callback: a corrected fact goes back into the Session and wins over what the text said."""
    facts = st.session_state.session.facts
    value = st.session_state[f"fact_{name}"]
    if name == "prior_therapies":
        chosen = set(value or [])
        for drug in [d for d in facts.received() if d not in chosen]:
            facts.therapies.pop(drug, None)  # unticked: no longer known either way
        for drug in chosen - set(facts.received()):
            facts.therapies[drug] = Fact[bool](value=True, assertion="historical", source="panel")
        return
    if value is None or value == []:
        facts.forget(name)
        return
    if name in ("cycle", "age"):
        value = int(value)
    elif name == "weight":
        value = float(value)
    elif name == "prescriber_oncologist":
        value = value == "yes"
    facts.set(name, value, source="panel")


def _select(name: str, label: str) -> None:
    options = dict(CHOICES[name])
    current = st.session_state.get(f"fact_{name}")
    if current is not None and current not in options:  # a value the chat understood that the list lacks
        options[current] = str(current)
    st.selectbox(label, list(options), format_func=lambda k: options.get(k, str(k)), index=None,
                 placeholder="not given", key=f"fact_{name}", on_change=_write_fact, args=(name,))


def facts_panel(session: Session) -> None:
    """The side panel: facts from the chat, editable; edits are used by the next question."""
    for name in PANEL_FACTS:  # show what the chat understood (widgets are created after this)
        st.session_state[f"fact_{name}"] = _to_widget(name, _panel_value(session, name))
    st.header("Patient facts")
    st.caption("Filled from the chat. Correct a value here and the next question uses it. Leave blank if unknown.")
    cb = {"on_change": _write_fact}
    col1, col2 = st.columns([3, 2])
    # no bounds here: a value outside them would break the widget; the dose tool checks the range
    col1.number_input("Weight", step=0.1, value=None, format="%.1f",
                      key="fact_weight", args=("weight",), **cb)
    with col2:
        _select("weight_unit", "Unit")
    _select("indication", "Indication")
    _select("diagnosis", "Diagnosis (for the policy check)")
    st.number_input("Cycle", step=1, value=None, key="fact_cycle", args=("cycle",), **cb)
    _select("payer", "Payer")
    _select("line_of_business", "Line of business")
    col1, col2 = st.columns(2)
    with col1:
        _select("her2_ihc", "HER2 IHC")
    with col2:
        _select("her2_ish", "HER2 ISH")
    extra = [t for t in st.session_state.fact_prior_therapies if t not in THERAPIES]
    st.multiselect("Prior therapy", THERAPIES + extra, key="fact_prior_therapies", args=("prior_therapies",), **cb)
    st.date_input("Date of service", value=None, key="fact_date_of_service", args=("date_of_service",), **cb)
    st.number_input("Age (years)", step=1, value=None, key="fact_age", args=("age",), **cb)
    _select("prescriber_oncologist", "Prescriber")
    _select("request_type", "Request")
    others = {k: v for k, v in session.facts.stated().items() if k not in PANEL_FACTS}
    if others:
        with st.expander("Other facts from the chat"):
            st.markdown("\n".join(f"- {ui.escape_md(k)}: {ui.escape_md(v)}" for k, v in others.items()))
    st.button("New conversation", help="Forget the facts and the messages of this browser session", on_click=_reset)


def _reset() -> None:
    st.session_state.pop("session", None)
    st.session_state.pop("history", None)


# -- one answer ---------------------------------------------------------------------------------
def _table(rows: list[dict], marks: str | None = None) -> None:
    import pandas as pd  # here, not at the top: the first page does not wait for it (WarmUp loads it)

    if rows:
        st.table(pd.DataFrame(ui.escape_cells(rows, marks)), hide_index=True)


def render_structured(kind: str, view) -> None:
    if kind == "dose":
        st.markdown("**Dose, vials, waste and billing**")
        _table(view)
    elif kind == "policy":
        st.markdown(f"**{ui.escape_md(view['title'])}** — overall: {ui.mark_markdown(view['mark'])}")
        st.caption(ui.escape_md(view["reason"]))
        for section in view["sections"]:
            st.markdown(f"**{ui.escape_md(section['heading'])}** — {ui.mark_markdown(section['mark'])}")
            _table(section["rows"], marks="Verdict")
        if view["durations"]:
            st.markdown("**Approval duration**")
            _table(view["durations"])
        if view["checklist"]:
            with st.expander("Documentation checklist"):
                _table(view["checklist"])
    elif kind == "code":
        with st.container(border=True):
            st.markdown(f"**Product / code check** — {ui.mark_markdown(view['mark'])}")
            _table(view["clues"])


def render_citations(answer: Answer) -> None:
    if not answer.citations:
        return
    st.markdown("**Sources**")
    for c in answer.citations:
        with st.expander(ui.escape_md(ui.citation_label(c))):
            st.markdown(ui.quote_markdown(c.quote))
            st.markdown("\n".join(f"- {k}: {ui.escape_md(v)}" for k, v in ui.citation_meta(c)))


def _lazy_expander(label: str, key: str):
    """An expander whose content is built only when it is open (a rerun on click): a closed one costs
    the browser nothing, and the code viewer behind st.code is 1.5 MB of script to load (~1 s here)."""
    box = st.expander(label, key=key, on_change="rerun")
    return box, bool(box.open)


def render_computation(answer: Answer, index: int) -> None:
    calls = [ui.computation(call.model_dump()) for call in answer.tool_calls]
    if not calls:
        return
    box, is_open = _lazy_expander("How this was computed", key=f"computed_{index}")
    if not is_open:
        return
    with box:
        for view in calls:
            st.markdown(f"**Tool:** {ui.escape_md(view['tool'])} — inputs:")
            st.json(view["inputs"], expanded=True)
            if view["steps"]:
                _table(view["steps"])
            for note in view["notes"]:
                st.caption(ui.escape_md(note))


def _choose(text: str) -> None:
    st.session_state.chosen = text


def render_choices(answer: Answer, index: int) -> None:
    """A missing fact with few possible values: one button per value; a click sends it as the reply."""
    if index != len(st.session_state.history) - 1:
        return  # only the latest answer's question can still be answered
    for fact, choices in answer.options.items():
        cols = st.columns(len(choices) + 1)
        cols[0].caption(ui.escape_md(fact))
        for col, choice in zip(cols[1:], choices):
            col.button(choice, key=f"choice_{index}_{fact}_{choice}", on_click=_choose, args=(choice,))


def render_facts(answer: Answer) -> None:
    """'What I read': each fact, how it was meant, and the words it came from (correct it in the panel)."""
    rows = ui.fact_rows(answer.facts)
    if not rows or answer.intent not in ("dose", "policy"):
        return
    with st.expander(f"What I read ({len(rows)} facts) — correct any of them in the Patient facts panel"):
        st.dataframe(rows, hide_index=True, use_container_width=True)


def render_answer(answer: Answer, index: int) -> None:
    """One assistant message: the answer, warnings, tables or cards, sources, computation, narrative."""
    body = ui.answer_markdown(answer.answer)
    views = ui.structured(answer)
    if answer.status == "error":
        st.error(body)
    elif answer.status in ("needs_info", "out_of_scope"):
        st.info(f"**{ui.STATUS_LABEL[answer.status]}.** " + body)
    elif any(kind == "policy" for kind, _ in views):
        with st.expander("Answer as text (the criteria table below says the same, with the policy's words)"):
            st.markdown(body)
    else:
        st.markdown(body)
    if answer.missing:
        st.warning("**Missing information**\n" + "\n".join(f"- {ui.escape_md(m)}" for m in answer.missing))
    for text in answer.warnings:
        st.warning(ui.escape_md(text))
    for note in answer.guard_notes:
        st.warning("Grounding check: " + ui.escape_md(note))
    for kind, view in views:
        render_structured(kind, view)
    render_choices(answer, index)
    render_citations(answer)
    render_facts(answer)
    render_computation(answer, index)
    box, is_open = _lazy_expander("Copy for PA narrative", key=f"narrative_{index}")
    if not is_open:
        return
    with box:
        text = narrative(answer)
        st.code(text, language=None, wrap_lines=True)
        st.download_button("Download as text", text, file_name=file_name(answer), mime="text/plain",
                           key=f"download_{index}", on_click="ignore")


# -- the page -----------------------------------------------------------------------------------
st.title("Kadcyla assistant")
st.caption("ado-trastuzumab emtansine · HCPCS J9354 · dose, billing, coverage criteria and look-alike codes")
st.info(ui.BANNER, icon="ℹ️")
loading_note = st.empty()  # filled at the end, once the page has been sent

session = _state()
prompt = st.chat_input("Ask about a Kadcyla dose, coverage criteria or a code, e.g. 70 kg, metastatic: dose, vials, waste?")
prompt = prompt or st.session_state.pop("chosen", None)  # a choice button answers the assistant's question
for i, turn in enumerate(st.session_state.history):
    with st.chat_message("user"):
        st.markdown(ui.escape_md(turn.question))
    with st.chat_message("assistant"):
        render_answer(turn, i)
if prompt:
    with st.chat_message("user"):
        st.markdown(ui.escape_md(prompt))
    with st.chat_message("assistant"):
        from assistant.agent import ask  # imported by WarmUp meanwhile; the first page does not wait for it

        with st.spinner("Working…"):
            answer = ask(prompt, session)
        st.session_state.history.append(answer)
        render_answer(answer, len(st.session_state.history) - 1)
with st.sidebar:
    facts_panel(session)

loader = warm_up()  # after the page: loading starts once the reader has something to read
if loader.is_alive():
    loading_note.caption("Loading the document index and the language model in the background…")
elif loader.error is not None:
    loading_note.warning(f"Search is unavailable ({ui.escape_md(type(loader.error).__name__)}): build the index "
                         "with assistant index. Dose, policy and code checks still work.")

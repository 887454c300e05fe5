"""Kadcyla (J9354) assistant: the Streamlit page. UI only: it renders Answer objects from
assistant.agent.ask; the tools decide every figure and verdict (assistant/ui_*.py format them).

Nothing from the user or the documents is rendered as HTML or live markdown: it is escaped first.
The conversation is kept per browser session (the `c` query parameter names it) under the data dir,
identifiers redacted, so a reload does not lose it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import uuid

import streamlit as st

from assistant import ui_render as ui
from assistant.session import Session
from assistant.ui_answer import render_answer
from assistant.ui_assets import STYLE, counter_script, scroll_script
from assistant.ui_choices import Choice
from assistant.ui_history import History, Turn
from assistant.ui_panel import FIELDS, facts_panel

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
            from assistant.ui_notes import boxed_warnings

            from assistant.redact import redact

            configure_offline()
            load_dose_facts()
            boxed_warnings()
            redact("warm up")  # its first call loads the de-identification tables (~0.4 s); every kept turn is redacted
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


# -- the conversation of this browser session ----------------------------------------------------------
_ID = re.compile(r"^[0-9a-f]{32}$")
# A re-run after a correction asks again without restating facts, so the corrected ones are the ones used.
RERUN = {"dose": "What's the dose?", "policy": "Does the patient meet the criteria?"}


def _conversation_id() -> str:
    cid = st.query_params.get("c", "")
    if not _ID.match(cid):
        cid = uuid.uuid4().hex
        st.query_params["c"] = cid
    return cid


def _state() -> tuple[Session, list[Turn], History]:
    cid = _conversation_id()
    if st.session_state.get("cid") != cid:
        history = History(cid)
        turns, session = history.load()
        st.session_state.update(cid=cid, history_store=history, turns=turns, session=session)
    if type(st.session_state.session) is not Session:
        # a source file changed and Streamlit re-imported its module: the kept session is of the old class
        st.session_state.session = Session.model_validate(st.session_state.session.model_dump())
    return st.session_state.session, st.session_state.turns, st.session_state.history_store


def _on_choice(index: int, choice: Choice) -> None:
    if choice.fact:
        st.session_state.session.facts.set(choice.fact, choice.value, source="panel")
        st.session_state.pending = ("rerun", choice.label)
    else:
        st.session_state.pending = ("ask", choice.reply)


def _on_edit(name: str) -> None:
    value = st.session_state.get(f"fact_{name}")
    shown = "not given" if value in (None, []) else (", ".join(value) if isinstance(value, list) else str(value))
    st.session_state.pending = ("rerun", f"Corrected in the panel: {FIELDS[name].label.lower()} = {shown}")


def _on_reset() -> None:
    st.session_state.history_store.clear()
    for key in ("cid", "turns", "session", "history_store", "pending"):
        st.session_state.pop(key, None)
    st.query_params["c"] = uuid.uuid4().hex


def _last_request(turns: list[Turn]) -> int | None:
    """The latest turn a correction can re-run: one that asked for something the tools answer."""
    for i in range(len(turns) - 1, -1, -1):
        a = turns[i].answer
        if a.status in ("answered", "needs_info") and a.intent not in (None, "out_of_scope"):
            return i
    return None


def _rerun_question(turn: Turn) -> str:
    return RERUN.get(turn.answer.intent or "") or turn.sent or turn.shown


def render_letter(turn: Turn, index: int) -> None:
    """'Copy for PA narrative': the letter from the conversation's facts, built when opened."""
    box = st.expander("Copy for PA narrative", key=f"narrative_{index}", on_change="rerun")
    if not box.open:
        return
    from assistant.ui_letter import letter_for

    letter = letter_for(st.session_state.session.facts)
    with box:
        for text in letter.safety:
            st.error("**Label safety (for staff, before sending):** " + ui.escape_md(text), icon="🛑")
        if letter.withheld:
            st.error("**Letter withheld.** " + " ".join(ui.escape_md(r) for r in letter.reasons))
        else:
            st.code(letter.text, language=None, wrap_lines=True)
            col1, col2 = st.columns(2)
            col1.download_button("Download as text", letter.text, file_name="kadcyla-pa-letter.txt", mime="text/plain",
                                 key=f"download_{index}", on_click="ignore")
            if letter.docx is not None:
                col2.download_button("Download for Word (.docx)", lambda: _docx_bytes(letter), key=f"docx_{index}",
                                     file_name="kadcyla-pa-letter.docx", on_click="ignore",
                                     mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        if letter.checklist:
            st.markdown("**For staff, not in the letter: still to obtain**\n" +
                        "\n".join(f"- {ui.escape_md(c)}" for c in letter.checklist))


def _docx_bytes(letter) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:  # the Word file is written, read back and removed at once
        path = Path(tmp) / "letter.docx"
        letter.docx(path)
        return path.read_bytes()


def _user_message(text: str) -> None:
    with st.chat_message("user"):
        st.markdown(ui.escape_md(text))


def _no_letter(turn: Turn, index: int) -> None:
    return None


def export_buttons(turns: list[Turn]) -> None:
    """The conversation as text or PDF, each answer with its audit id; built when clicked."""
    from assistant import ui_export

    st.markdown("**Export this conversation**")
    snapshot = list(turns)
    col1, col2 = st.columns(2)
    col1.download_button("Text", lambda: ui_export.conversation_text(snapshot), file_name="kadcyla-conversation.txt",
                         mime="text/plain", key="export_text", on_click="ignore", disabled=not turns)
    col2.download_button("PDF", lambda: ui_export.conversation_pdf(snapshot), file_name="kadcyla-conversation.pdf",
                         mime="application/pdf", key="export_pdf", on_click="ignore", disabled=not turns)
    st.caption("Identifiers are redacted in the file. Print this page for a paper copy (the print view drops the panel).")


# -- the page -----------------------------------------------------------------------------------
st.html(STYLE)
st.title("Kadcyla assistant")
st.caption("ado-trastuzumab emtansine · HCPCS J9354 · dose, billing, coverage criteria and look-alike codes")
st.info(ui.BANNER, icon="ℹ️")
loading_note = st.empty()  # filled at the end, once the page has been sent

# the chat box first (it sits at the bottom wherever it is drawn): it is on screen before the history is read
prompt = st.chat_input("Ask about a Kadcyla dose, coverage criteria or a code, e.g. 70 kg, metastatic: dose, vials, waste?")
session, turns, history = _state()
shown = sent = None
if prompt:
    shown = sent = prompt
elif (pending := st.session_state.pop("pending", None)) is not None:
    kind, text = pending
    last = _last_request(turns) if kind == "rerun" else None
    if kind == "ask":
        shown = sent = text
    elif last is not None:  # a correction re-runs the last request; its older answer is superseded
        turns[last].superseded = True
        history.supersede(last)
        shown, sent = f"↻ {text}", _rerun_question(turns[last])
for i, turn in enumerate(turns):
    latest = sent is None and i == len(turns) - 1
    with st.container(key=f"turn_{i}"):
        _user_message(turn.shown)
        with st.chat_message("assistant"):
            render_answer(turn, i, latest, _on_choice, render_letter if latest else _no_letter)
if sent:
    index = len(turns)
    with st.container(key=f"turn_{index}"):
        _user_message(shown)
        with st.chat_message("assistant"):
            from assistant.agent import ask  # imported by WarmUp meanwhile; the first page does not wait for it

            with st.spinner("Working…"):
                answer = ask(sent, session)
            turn = Turn(shown=shown, answer=answer, sent=sent)
            turns.append(turn)
            render_answer(turn, index, True, _on_choice, render_letter)
    try:
        history.append(turn)
        history.save_session(session)
    except Exception as exc:  # noqa: BLE001 - the answer stands; only keeping it (or redacting it for that) failed
        st.warning(f"This conversation could not be kept for a reload ({type(exc).__name__}).")
    st.html(scroll_script(index), unsafe_allow_javascript=True)
with st.sidebar:
    facts_panel(session.facts, _on_edit, _on_reset)
    export_buttons(turns)

loader = warm_up()  # after the page: loading starts once the reader has something to read
if loader.is_alive():
    loading_note.caption("Loading the document index and the language model in the background…")
elif loader.error is not None:
    loading_note.warning(f"Search is unavailable ({ui.escape_md(type(loader.error).__name__)}): build the index "
                         "with assistant index. Dose, policy and code checks still work.")
from assistant.agent import MAX_QUESTION_CHARS  # noqa: E402 - after the page is sent: the import takes a moment

st.html(counter_script(MAX_QUESTION_CHARS), unsafe_allow_javascript=True)

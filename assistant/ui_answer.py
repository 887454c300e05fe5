"""One assistant message on the page: the bottom line first, safety where it is seen, details one click away.

The latest answer shows its bottom line, banners, cautions and choices; earlier ones their bottom line
and banners. Details, facts read, computation and letter are built only when opened (a rerun draws
every message again, so a long conversation must stay cheap).
Every string from the user or the documents is escaped before it reaches markdown.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from assistant import ui_render as ui
from assistant.bottom_line import bottom_line, round_display
from assistant.models import Answer, Citation
from assistant.ui_choices import Choice, needed
from assistant.ui_history import Turn
from assistant.ui_letter import can_become_letter
from assistant.ui_notes import answer_notes, boxed_warnings

VERDICT = {"meets_criteria": "✓", "does_not_meet": "✗", "incomplete": "?"}


def _cached(turn: Turn, name: str, make: Callable):
    """A display piece built once per turn (reruns draw every turn again; the pieces do not change)."""
    if name not in turn.cache:
        turn.cache[name] = make()
    return turn.cache[name]


def _verdict_mark(answer: Answer) -> str:
    for call in answer.tool_calls:
        if call.tool == "check_policy" and isinstance(call.output, dict):
            mark = VERDICT.get(call.output.get("overall"))
            if mark:
                return ui.mark_markdown(mark) + " "
    return ""


def _lazy_expander(label: str, key: str):
    """An expander whose content is built only when open (a rerun on click): a closed one costs nothing."""
    box = st.expander(label, key=key, on_change="rerun")
    return box, bool(box.open)


def _table(rows: list[dict], marks: str | None = None) -> None:
    import pandas as pd  # here, not at the top: the first page does not wait for it (WarmUp loads it)

    if rows:
        st.table(pd.DataFrame(ui.escape_cells(rows, marks)), hide_index=True)


# -- pieces ----------------------------------------------------------------------------------------
def citation_popover(c: Citation, key: str) -> None:
    """A footnote marker that opens its quote in place, with document, section, date and review status."""
    with st.popover(f"[{c.marker}]" if c.marker else "source", help=ui.escape_md(c.doc_title), key=key):
        st.markdown(ui.quote_markdown(c.quote))
        st.markdown("\n".join(f"- {k}: {ui.escape_md(v)}" for k, v in ui.citation_meta(c)))


def render_sources(answer: Answer, index: int) -> None:
    if not answer.citations:
        return
    with st.container(horizontal=True, key=f"sources_{index}", gap="small"):
        st.caption("Sources:")
        for c in answer.citations:
            citation_popover(c, key=f"cite_{index}_{c.marker}")


def render_structured(kind: str, view) -> None:
    if kind == "dose":
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
            st.markdown("**Documentation checklist**")
            _table(view["checklist"])
    elif kind == "code":
        st.markdown(f"**Product / code check** — {ui.mark_markdown(view['mark'])}")
        _table(view["clues"])


def _text_lines(answer: Answer, views: list) -> str:
    """The answer text that the tables do not already say (none for dose and policy answers)."""
    kinds = {k for k, _ in views}
    if kinds & {"dose", "policy"}:
        return ""
    lines = answer.answer.splitlines()
    if not kinds and lines and bottom_line(answer).startswith(lines[0].strip()):
        lines = lines[1:]  # the lead line is the bottom line already
    keep = [ln for ln in lines if not ln.strip().startswith(("Warning:", "Label safety:", "- '"))]
    return ui.answer_markdown(round_display("\n".join(keep)))


def render_details(turn: Turn, index: int) -> None:
    answer = turn.answer
    views = _cached(turn, "views", lambda: ui.structured(answer))
    text = _cached(turn, "text", lambda: _text_lines(answer, views))
    if text:
        st.markdown(text)
    for kind, view in views:
        render_structured(kind, view)
    render_sources(answer, index)


def render_needed(turn: Turn, index: int, on_choice: Callable[[int, Choice], None]) -> None:
    """Each missing item once, with its buttons; only on the latest answer (older questions are moot)."""
    rows = _cached(turn, "needed", lambda: needed(turn.answer))
    if not rows:
        return
    with st.container(border=True, key=f"needed_{index}"):
        if turn.answer.status != "needs_info":  # a question back says what it needs in its bottom line
            st.markdown("**Still needed** — choose, type the answer, or fill the Patient facts panel")
        for n, row in enumerate(rows):
            if turn.answer.status == "needs_info" and not row.choices:
                continue  # the bottom line has said it
            with st.container(horizontal=True, key=f"need_{index}_{n}", vertical_alignment="center"):
                if turn.answer.status != "needs_info" or not row.choices:
                    st.markdown(ui.escape_md(row.question))
                for m, choice in enumerate(row.choices):
                    st.button(choice.label, key=f"choice_{index}_{n}_{m}", on_click=on_choice, args=(index, choice))


def render_facts(answer: Answer, index: int) -> None:
    """'What I read': each fact, how it was meant, and the words it came from (correct it in the panel)."""
    rows = ui.fact_rows(answer.facts)
    if not rows or answer.intent not in ("dose", "policy", "claim", "multi"):
        return
    box, is_open = _lazy_expander(f"What I read ({len(rows)} facts) — correct any of them in the Patient facts panel",
                                  key=f"read_{index}")
    if is_open:
        with box:
            _table(rows)


def render_computation(answer: Answer, index: int) -> None:
    if not answer.tool_calls:
        return
    box, is_open = _lazy_expander("How this was computed", key=f"computed_{index}")
    if not is_open:
        return
    with box:
        for call in answer.tool_calls:
            view = ui.computation(call.model_dump())
            st.markdown(f"**Tool:** {ui.escape_md(view['tool'])} — inputs:")
            st.json(view["inputs"], expanded=True)
            if view["steps"]:
                _table(view["steps"])
            for note in view["notes"]:
                st.caption(ui.escape_md(note))


def render_head(turn: Turn, index: int) -> None:
    """The bottom line, the red safety banners and the superseded mark: shown on every answer, old or new."""
    answer = turn.answer
    line = _cached(turn, "line", lambda: ui.escape_md(round_display(bottom_line(answer))))
    mark = _cached(turn, "mark", lambda: _verdict_mark(answer))
    notes = _cached(turn, "notes", lambda: answer_notes(answer))
    if turn.superseded:
        st.caption("Superseded: a later answer re-ran this request with corrected facts.")
    with st.container(key=f"bottom_line_{index}"):
        if answer.status == "error":
            st.error(line)
        elif turn.superseded:
            st.markdown(f"~~{line}~~")
        else:
            st.markdown(f"{mark}**{line}**")
    for text in notes.banners:
        st.error("**Label safety:** " + ui.escape_md(text), icon="🛑")


def render_answer(turn: Turn, index: int, latest: bool, on_choice: Callable[[int, Choice], None],
                  letter: Callable[[Turn, int], None]) -> None:
    """One assistant message. `letter` draws the PA letter box (it needs the conversation's facts)."""
    answer = turn.answer
    render_head(turn, index)
    notes = turn.cache["notes"]
    if latest and not turn.superseded:
        for text in notes.cautions:
            st.warning(ui.escape_md(text))
        if any(c.tool == "calculate_dose" and isinstance(c.output, dict) and "error" not in c.output
               for c in answer.tool_calls):
            boxed = _cached(turn, "boxed", boxed_warnings)
            if boxed is not None:
                with st.container(horizontal=True, key=f"boxed_{index}", vertical_alignment="center"):
                    st.markdown("⚠️ " + ui.escape_md(boxed.text))
                    citation_popover(boxed.citation, key=f"boxedcite_{index}")
        for text in notes.warnings:
            st.warning(ui.escape_md(text))
        render_needed(turn, index, on_choice)
    if answer.status == "answered" or answer.citations:
        # built when opened, on the latest answer too: a closed box costs the browser nothing, and the
        # tables and quote popovers of a policy answer are most of what a turn would draw
        box, is_open = _lazy_expander("Details", key=f"details_{index}")
        if is_open:
            with box:
                render_details(turn, index)
    render_facts(answer, index)
    render_computation(answer, index)
    if can_become_letter(answer) and not turn.superseded:
        letter(turn, index)
    if notes.notice:
        st.caption(ui.escape_md(notes.notice))

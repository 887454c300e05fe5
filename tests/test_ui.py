"""The Streamlit page (AppTest, no browser) and its pure helpers: ui_render and plain_text."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.models import Answer, Citation
from assistant.plain_text import WIDTH, narrative, strip_markdown
from assistant.ui_render import answer_markdown, citation_label, escape_md, fig_text, policy_view, quote_markdown

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
DOSE_Q = "70 kg, metastatic — dose, vials, waste?"
POLICY_Q = (
    "Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, "
    "meet Centene criteria for Kadcyla?"
)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    # the shipped price quarter is 2026Q2, so this date makes the stale-price warning certain
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def page_text(at: AppTest) -> str:
    """Everything a reader sees as text: markdown, alerts, tables, expander labels, code."""
    parts = [m.value for m in at.markdown] + [e.label for e in at.expander] + [c.value for c in at.code]
    parts += [a.value for kind in (at.warning, at.info, at.error, at.caption) for a in kind]
    parts += [t.value.to_string() for t in at.table]
    return unescape("\n".join(str(p) for p in parts))


def table_rows(at: AppTest, first_column: str) -> dict[str, dict[str, str]]:
    """Rows of the tables whose first column is first_column, keyed by that column (unescaped)."""
    rows = {}
    for t in at.table:
        df = t.value
        if df.columns[0] == first_column:
            for rec in df.to_dict("records"):
                rec = {unescape(k): unescape(re.sub(r"^:\w+\[\*\*(.*)\*\*\]$", r"\1", v)) for k, v in rec.items()}
                rows[rec[first_column]] = rec
    return rows


def say(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_expander(at: AppTest, key: str) -> AppTest:
    """Click a lazy expander open (its content is built on the rerun that follows)."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run(timeout=180)  # first run loads the model
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- the page -------------------------------------------------------------------------------------
def test_banner_states_intended_use(app):
    banner = " ".join(i.value for i in app.info)
    assert "licensed professionals" in banner and "verify" in banner


def test_dose_question_shows_table_jw_line_citations_and_warnings(app):
    say(app, DOSE_Q)
    text = page_text(app)
    assert "252 mg" in text
    rows = table_rows(app, "Item")
    assert rows["Dose"]["Value"] == "252 mg"
    assert rows["J9354-JW (discarded)"]["Value"] == "8 units"
    assert rows["J9354-JZ (administered)"]["Value"] == "252 units"
    assert rows["Waste"]["Value"] == "8 mg"
    assert "50242-0088-01" in rows["Vials, 100 mg"]["Detail"]
    assert rows["Administration CPT"]["Value"] == "96413 + 96415"
    assert rows["Volume to withdraw"]["Value"] == "12.6 mL"
    assert any("2026Q2" in k for k in rows)
    # footnotes: one expander per citation, numbered, with the quote and the review status inside
    labels = [unescape(e.label) for e in app.expander]
    assert labels[0].startswith("[1] ")
    assert any("Pending SME review" in unescape(m.value) for m in app.markdown)
    assert any("Stale price" in unescape(w.value) for w in app.warning)
    open_expander(app, "computed_0")
    computed = next(e for e in app.expander if e.label == "How this was computed")
    assert "70 kg × 3.6 mg/kg = 252 mg" in unescape(" ".join(t.value.to_string() for t in computed.table))
    assert json.loads(computed.json[0].value) == {"weight": 70.0, "weight_unit": "kg", "indication": "mbc"}


def test_each_footnote_expands_to_its_quote_title_section_publisher_date_and_review_status(app):
    say(app, DOSE_Q)
    answer = app.session_state["history"][-1]
    assert len(answer.citations) >= 2
    by_label = {e.label: e for e in app.chat_message[1].expander}
    for c in answer.citations:
        footnote = by_label[escape_md(citation_label(c))]  # "[n] title — section", one per citation
        assert not footnote.proto.expanded
        inside = unescape("\n".join(m.value for m in footnote.markdown))
        assert "\n".join("> " + line for line in c.quote.splitlines()) in inside
        for line in (f"Document: {c.doc_title}", f"Section: {c.section}", f"Publisher: {c.publisher}",
                     f"Date: {c.date or 'undated'}", f"Review status: {c.review_status}"):
            assert line in inside, (line, inside)
    guide = next(c for c in answer.citations if c.doc_id == "carecost-j9354")
    inside = unescape(" ".join(m.value for m in by_label[escape_md(citation_label(guide))].markdown))
    assert "Date: 2026-05" in inside and "Review status: Pending SME review" in inside
    assert any(f"[{c.marker}]" in answer.answer for c in answer.citations)  # the text points at its footnotes


def test_follow_up_questions_fill_the_dose(app):
    say(app, "What's the dose?")
    assert "What is the patient's weight" in page_text(app)
    say(app, "72 kg")  # the per-cycle dose is shown at once; only the course waits for the indication
    assert "the course differs" in page_text(app)
    assert app.sidebar.number_input(key="fact_weight").value == 72.0  # understood from the chat, shown in the panel
    say(app, "metastatic")
    assert table_rows(app, "Item")["Dose"]["Value"] == "259.2 mg"
    assert "259.2 mg" in page_text(app)
    assert len(app.chat_message) == 6  # three questions, three answers, in order


def test_a_missing_fact_is_offered_as_buttons_and_a_click_answers(app):
    say(app, "Kadcyla dose for 72 kg")
    buttons = {b.label: b for b in app.button if b.key and b.key.startswith("choice_")}
    assert set(buttons) == {"mBC", "EBC (adjuvant)"}
    buttons["mBC"].click().run()
    assert not app.exception, [e.value for e in app.exception]
    last = app.session_state["history"][-1]
    assert last.question == "mBC" and last.status == "answered" and not last.missing
    assert only_dose(last)["indication"] == "mbc"


def only_dose(answer):
    return next(c.input for c in answer.tool_calls if c.tool == "calculate_dose")


def test_policy_question_marks_each_criterion_with_the_policys_words(app):
    say(app, POLICY_Q)
    rows = table_rows(app, "Criterion")
    assert rows, page_text(app)
    her2 = next(r for k, r in rows.items() if k.startswith("I.A.1 "))
    assert her2["Verdict"] == "✓ met"
    assert her2["Policy's words"] == "Diagnosis of HER2-positive breast cancer;"
    assert any(r["Verdict"] == "? unknown" for r in rows.values())
    raw = next(t.value for t in app.table if t.value.columns[0] == "Criterion")
    assert raw["Verdict"].iloc[0] == ":green[**✓ met**]"  # coloured mark; the text around it stays escaped
    missing = next(unescape(w.value) for w in app.warning if "Missing information" in w.value)
    assert "- Is the prescriber an oncologist" in missing


def test_code_question_card_shows_which_clue_points_to_which_product(app):
    say(app, "Is J9358 the same as Kadcyla?")
    rows = table_rows(app, "Clue")
    assert rows["J9358"]["Points to"] == "Enhertu (J9358)"
    assert rows["Kadcyla"]["Points to"] == "Kadcyla (J9354)"
    assert rows["J9358"]["Document says"] == "Enhertu (fam-trastuzumab deruxtecan-nxki) [J9358]"
    assert "✗ conflicting" in page_text(app)
    assert any("conflicting" in unescape(w.value) and "confirm" in unescape(w.value) for w in app.warning)


def test_dose_above_the_label_maximum_is_shown_as_an_error(app):
    say(app, "70 kg metastatic, 4 mg/kg — dose?")
    assert "above the label maximum of 3.6 mg/kg" in unescape(app.error[0].value)
    assert not table_rows(app, "Item")  # nothing computed, so no dose table


def test_side_panel_shows_facts_and_a_correction_changes_the_next_answer(app):
    say(app, DOSE_Q)
    panel = app.sidebar
    assert panel.number_input(key="fact_weight").value == 70.0
    assert panel.selectbox(key="fact_weight_unit").value == "kg"
    assert panel.selectbox(key="fact_indication").value == "mbc"
    panel.number_input(key="fact_weight").set_value(80.0).run()
    assert app.session_state["session"].facts.value("weight") == 80.0
    say(app, "What's the dose?")
    assert table_rows(app, "Item")["Dose"]["Value"] == "288 mg"  # 80 kg × 3.6 mg/kg
    call = app.session_state["history"][-1].tool_calls[0]
    assert (call.tool, call.input["weight"], call.input["weight_unit"]) == ("calculate_dose", 80.0, "kg")
    open_expander(app, "computed_1")
    computed = next(e for e in app.chat_message[-1].expander if e.label == "How this was computed")
    assert json.loads(computed.json[0].value)["weight"] == 80  # the inputs shown are the ones used
    panel.selectbox(key="fact_payer").set_value("centene").run()
    assert app.session_state["session"].facts.value("payer") == "centene"
    panel.selectbox(key="fact_indication").set_value(None).run()
    assert app.session_state["session"].facts.value("indication") is None


def test_facts_entered_in_the_panel_are_the_policy_tools_inputs_and_a_correction_changes_the_verdict(app):
    panel = app.sidebar
    panel.selectbox(key="fact_payer").set_value("centene").run()
    panel.selectbox(key="fact_diagnosis").set_value("mbc").run()
    panel.selectbox(key="fact_her2_ihc").set_value("3+").run()
    panel.multiselect(key="fact_prior_therapies").set_value(["trastuzumab", "taxane"]).run()
    panel.number_input(key="fact_age").set_value(58).run()
    panel.date_input(key="fact_date_of_service").set_value(dt.date(2026, 6, 3)).run()
    assert str(app.session_state["session"].facts.value("date_of_service")) == "2026-06-03"
    assert app.session_state["session"].facts.get("date_of_service").source == "panel"
    say(app, "Does she meet the criteria for Kadcyla?")
    call = app.session_state["history"][-1].tool_calls[0]
    assert call.tool == "check_policy"
    assert {k: call.input.get(k) for k in ("payer", "her2_ihc", "age")} == {"payer": "centene", "her2_ihc": "3+", "age": 58}
    assert set(call.input["prior_therapies"]) == {"trastuzumab", "taxane"}
    her2 = next(r for k, r in table_rows(app, "Criterion").items() if k.startswith("I.A.1 "))
    assert her2["Verdict"] == "✓ met"
    panel.selectbox(key="fact_her2_ihc").set_value("1+").run()  # the clinician corrects the HER2 result
    say(app, "Does she meet the criteria for Kadcyla?")
    call = app.session_state["history"][-1].tool_calls[0]
    assert call.input["her2_ihc"] == "1+"
    last = app.chat_message[-1]
    rows = [unescape(r) for t in last.table if t.value.columns[0] == "Criterion" for r in t.value["Verdict"]]
    criteria = [unescape(r) for t in last.table if t.value.columns[0] == "Criterion" for r in t.value["Criterion"]]
    assert rows[next(i for i, c in enumerate(criteria) if c.startswith("I.A.1 "))].endswith("✗ not met**]")


def test_each_browser_session_has_its_own_conversation(app):
    say(app, DOSE_Q)
    other = AppTest.from_file(str(APP), default_timeout=60).run(timeout=180)
    assert not other.chat_message and not other.session_state["session"].facts
    assert other.sidebar.number_input(key="fact_weight").value is None
    say(other, "What's the dose?")
    assert "What is the patient's weight" in page_text(other)  # app's 70 kg is not in this session
    assert app.session_state["session"].facts.value("weight") == 70.0


def test_closed_expanders_cost_nothing_until_opened(app):
    """'How this was computed' and the PA narrative are built when opened: the first answer does not
    wait for the browser to load the code and JSON viewers."""
    say(app, DOSE_Q)
    assert not app.code and not app.json and not app.get("download_button")
    assert [e.label for e in app.expander][-2:] == ["How this was computed", "Copy for PA narrative"]
    open_expander(app, "narrative_0")
    assert len(app.code) == 1 and not app.json
    say(app, "85 kg adjuvant, cycle 2 — dose?")
    assert len(app.code) == 1  # the first answer's narrative stays open, the new one is closed
    open_expander(app, "computed_1")
    assert len(app.json) == 1 and '"weight": 85' in app.json[0].value


def test_pa_narrative_is_plain_text_with_footnotes_and_a_download(app):
    say(app, DOSE_Q)
    open_expander(app, "narrative_0")
    text = app.code[0].value
    assert "**" not in text and "`" not in text and "](" not in text
    assert not any(line.lstrip().startswith(("#", "- ", "> ")) for line in text.splitlines())
    assert "252 mg" in text and "JW" in text
    assert "Sources:" in text
    assert re.search(r"^\[1\] Ado-trastuzumab emtansine \(Kadcyla\) drug monograph", text, re.M)
    assert "Review status: Pending SME review" in text
    assert "Warnings:" in text and "Stale price" in text
    assert f"Question: {DOSE_Q}" in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert app.get("download_button")


def test_user_text_is_escaped_never_rendered(app):
    say(app, "Kadcyla dose? ![x](http://evil.example/x.png) [click](http://evil.example) <img src=x onerror=alert(1)>")
    user = app.chat_message[0].markdown[0].value
    assert "\\[click\\]" in user and "\\!\\[x\\]" in user and "\\<img" in user
    assert not any(m.proto.allow_html for m in app.markdown)


# -- pure helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("[click](http://x)", "\\[click\\](http\\://x)"),
        ("![img](http://x/y.png)", "\\!\\[img\\](http\\://x/y.png)"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("**bold** and _it_", "\\*\\*bold\\*\\* and \\_it\\_"),
        ("$10 and $20", "\\$10 and \\$20"),
        (":red[alarm]", "\\:red\\[alarm\\]"),
        ("# heading", "\\# heading"),
        ("a@b.org", "a\\@b.org"),
    ],
)
def test_escape_md_leaves_no_live_markdown(raw, escaped):
    assert escape_md(raw) == escaped
    assert unescape(escape_md(raw)) == raw


@pytest.mark.parametrize(
    "raw, expected",
    [("- list", "\\- list"), ("1. first", "1\\. first"), ("12.5 mg", "12.5 mg"), ("=== ", "\\==="), ("www.x.org", "www\\.x.org")],
)
def test_escape_md_line_starts(raw, expected):
    assert escape_md(raw) == expected


def test_answer_markdown_keeps_bullets_and_escapes_their_text():
    md = answer_markdown("Intro.\n- Dose: 252 mg [1]\n- Paid: $10")
    assert md == "Intro.\n\n- Dose\\: 252 mg \\[1\\]\n- Paid\\: \\$10"


def test_quote_markdown_is_a_blockquote_per_line():
    assert quote_markdown("a [x](y)\nb") == "> a \\[x\\](y)\n> b"


@pytest.mark.parametrize(
    "fig, text",
    [
        ({"value": 252.0, "unit": "mg"}, "252 mg"),
        ({"value": 259.2, "unit": "mg"}, "259.2 mg"),
        ({"value": 10633.9, "unit": "USD"}, "$10,633.90"),
        ({"value": 42.198, "unit": "USD per unit"}, "$42.198 per unit"),
        (None, ""),
    ],
)
def test_fig_text(fig, text):
    assert fig_text(fig) == text


@pytest.mark.parametrize(
    "raw, plain",
    [
        ("**Dose** 252 mg", "Dose 252 mg"),
        ("## Heading", "Heading"),
        ("see [the guide](http://x.org)", "see the guide (http://x.org)"),
        ("![chart](http://x/y.png)", "chart"),
        ("> quoted", "quoted"),
        ("`code`", "code"),
        ("Medicaid/HIM/ICHRA** – 12 months", "Medicaid/HIM/ICHRA – 12 months"),
        ("3 * 4 and snake_case", "3 * 4 and snake_case"),
        ("cycle #3", "cycle No. 3"),
    ],
)
def test_strip_markdown(raw, plain):
    assert strip_markdown(raw) == plain


def _citation(marker=1, quote="The recommended dose is 3.6 mg/kg.", status="Pending SME review"):
    return Citation(marker=marker, doc_id="d", doc_title="A **Guide**", section="Dosing", quote=quote,
                    publisher="Pub", date="2026-05", review_status=status)


def test_narrative_footnotes_and_wrapping():
    long = "word " * 60
    answer = Answer(question="What's the **dose**?", status="answered", answer=f"# Title\n- Dose: 252 mg [1]\n{long}",
                    citations=[_citation(), _citation(2, quote=long, status=None)], warnings=["Price is `stale`"])
    text = narrative(answer)
    assert "[1] A Guide, section \"Dosing\". Pub, 2026-05. Review status: Pending SME review." in text
    assert "[2] A Guide" in text and "Review status: not stated." in text
    assert "  Dose: 252 mg [1]" in text and "Price is stale" in text
    assert "**" not in text and "#" not in text and "`" not in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_narrative_of_a_question_back_says_what_is_missing():
    answer = Answer(question="dose?", status="needs_info", answer="What is the patient's weight?", missing=["weight (kg or lb)"])
    text = narrative(answer)
    assert "More information is needed" in text and "Information still needed:\n  weight (kg or lb)" in text


def test_policy_view_from_the_real_policy_tool():
    from assistant.toolbox import run_policy

    out = run_policy({"payer": "centene", "diagnosis": "mbc", "her2_ihc": "3+", "age": 58,
                      "prior_therapies": ["trastuzumab", "taxane"]})
    view = policy_view(out, [])
    rows = {r["Criterion"].split()[0]: r for s in view["sections"] for r in s["rows"]}
    assert rows["I.A.1"]["Verdict"] == "✓ met"
    assert rows["I.A.1"]["Policy's words"] == "Diagnosis of HER2-positive breast cancer;"
    child = next(r for s in view["sections"] for r in s["rows"] if r["Criterion"].startswith("↳ I.A.5.a"))
    assert child["Verdict"] == "✓ met"
    assert any(d["Duration"] == "12 months" for d in view["durations"])
    assert view["checklist"]

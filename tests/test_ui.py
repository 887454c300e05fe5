"""The Streamlit page (AppTest, no browser) and its pure helpers: ui_render and plain_text."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant import ui_history
from assistant.models import Answer, Citation
from assistant.plain_text import WIDTH, narrative, strip_markdown
from assistant.ui_render import WJ, answer_markdown, escape_md, fig_text, policy_view, quote_markdown  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "streamlit_app.py"
DOSE_Q = "70 kg, metastatic — dose, vials, waste?"
POLICY_Q = (
    "Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, "
    "meet Centene criteria for Kadcyla?"
)


@pytest.fixture(autouse=True)
def _today(monkeypatch, tmp_path):
    # the shipped price quarter is 2026Q2, so this date makes the stale-price warning certain
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")
    monkeypatch.setattr(ui_history, "ROOT", tmp_path / "ui_history")  # the page's stored conversations


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(WJ, "")


def page_text(at) -> str:
    """Everything a reader sees as text: markdown, alerts, tables, expander labels, code."""
    parts = [m.value for m in at.markdown] + [e.label for e in at.expander] + [c.value for c in at.code]
    parts += [a.value for kind in (at.warning, at.info, at.error, at.caption) for a in kind]
    parts += [t.value.to_string() for t in at.table]
    return unescape("\n".join(str(p) for p in parts))


def table_rows(at, first_column: str) -> dict[str, dict[str, str]]:
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


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_expander(at: AppTest, key: str) -> AppTest:
    """Click a lazy expander open (its content is built on the rerun that follows)."""
    at.session_state[key] = True
    return run(at)


def blocks(node, kind: str):
    """Every block of a kind ('popover', ...) under node, depth first."""
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        if type(proto).__name__ == "Block" and proto.WhichOneof("type") == kind:
            yield child
        yield from blocks(child, kind)


def bottom_line(at: AppTest, index: int = -1) -> str:
    """The first line of the answer at `index` (the keyed bottom-line container)."""
    message = [m for m in at.chat_message if m.name == "assistant"][index]
    return unescape(message.markdown[0].value if message.markdown else message.error[0].value)


def buttons(at: AppTest) -> dict:
    return {b.label: b for b in at.button if b.key and b.key.startswith("choice_")}


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run(timeout=180)  # first run loads the model
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- the page -------------------------------------------------------------------------------------
def test_banner_states_intended_use(app):
    banner = " ".join(i.value for i in app.info)
    assert "licensed professionals" in banner and "verify" in banner


def test_a_dose_answer_opens_with_its_bottom_line_and_keeps_the_details_one_click_away(app):
    say(app, DOSE_Q)
    answer = app.chat_message[1]
    assert unescape(answer.markdown[0].value) == "**252 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 252 / JW 8 · 12.6 mL in 250 mL NS**"
    assert not answer.table  # the details are one click away
    open_expander(app, "details_0")
    details = next(e for e in app.chat_message[1].expander if e.label == "Details")
    rows = table_rows(details, "Item")
    assert rows["Dose"]["Value"] == "252 mg"
    assert rows["J9354-JW (discarded)"]["Value"] == "8 units"
    assert rows["Volume to withdraw"]["Value"] == "12.6 mL"
    assert "50242-0088-01" in rows["Vials, 100 mg"]["Detail"]
    # no second list saying the same: the answer's bullets are not on the page
    assert not any("- Dose" in unescape(m.value) or "- Vials" in unescape(m.value) for m in answer.markdown)


def test_converted_weights_and_doses_are_rounded_for_display(app):
    say(app, "154 lb metastatic, dose?")
    assert bottom_line(app).startswith("**251.4 mg · ")
    open_expander(app, "details_0")
    rows = table_rows(app, "Item")
    assert rows["Weight"]["Value"] == "69.85 kg"
    assert "69.85322498" not in page_text(app)


def test_safety_is_seen_and_boilerplate_is_one_plain_notice(app):
    say(app, DOSE_Q)
    answer = app.chat_message[1]
    boxed = [unescape(m.value) for m in answer.markdown if m.value.startswith("⚠️")]
    assert boxed == ["⚠️ Boxed warnings: Three — hepatotoxicity, left ventricular dysfunction, embryo-fetal toxicity"]
    notices = [unescape(c.value) for c in answer.caption if c.value.startswith("Note")]
    assert len(notices) == 1
    assert "the newest price on file is Q2 2026; load the Q4 2026 CMS ASP file" in notices[0]
    assert "draft reference" in notices[0]
    assert "`" not in notices[0] and "assistant prices load" not in page_text(app)
    assert not any("Stale price" in w.value or "Pending SME" in w.value for w in app.warning)


def test_a_label_safety_rule_that_fires_is_a_red_banner(app):
    say(app, "Centene: 50 yo HER2 IHC 1+ metastatic breast cancer, oncologist, initial, single agent — meets?")
    banners = [unescape(e.value) for e in app.error]
    assert any(b.startswith("**Label safety:** HER2-low is not eligible for Kadcyla") for b in banners), banners
    assert bottom_line(app).endswith("Does not meet Centene CP.PHAR.229: I.A.1 not met**")


def test_code_answer_says_what_to_bill_and_the_cautions_are_boxes(app):
    say(app, "Is J9358 the same as Kadcyla?")
    assert bottom_line(app) == "**Bill J9354; J9358 is Enhertu**"
    assert any("J9358 is Enhertu" in e.value for e in app.error)  # the label's look-alike rule
    cautions = [unescape(w.value) for w in app.warning]
    assert any("is not trastuzumab (Herceptin)" in w for w in cautions)
    open_expander(app, "details_0")
    rows = table_rows(app, "Clue")
    assert rows["J9358"]["Points to"] == "Enhertu (J9358)"


def test_each_citation_marker_opens_its_quote_with_document_section_date_and_review_status(app):
    say(app, DOSE_Q)
    open_expander(app, "details_0")
    answer = app.session_state["turns"][-1].answer
    pops = {p.proto.popover.label: p for p in blocks(app.chat_message[1], "popover")}
    for c in answer.citations:
        inside = unescape("\n".join(m.value for m in pops[f"[{c.marker}]"].markdown))
        assert "\n".join("> " + line for line in c.quote.splitlines()) in inside
        for line in (f"Document: {c.doc_title}", f"Section: {c.section}", f"Date: {c.date or 'undated'}",
                     f"Review status: {c.review_status or 'not stated'}"):
            assert line in inside, (line, inside)
    assert "source" in pops  # the boxed warnings' own quote


def test_follow_up_questions_fill_the_dose(app):
    say(app, "What's the dose?")
    assert bottom_line(app) == "**Needed: weight (kg or lb); indication (mBC or EBC)**"
    text = page_text(app)
    assert text.count("weight (kg or lb)") == 1  # said once
    say(app, "72 kg")
    assert app.sidebar.number_input(key="fact_weight").value == 72.0  # understood from the chat, shown in the panel
    say(app, "metastatic")
    assert bottom_line(app).startswith("**259.2 mg")
    assert len(app.chat_message) == 6  # three questions, three answers, in order


def test_a_missing_fact_offered_by_the_assistant_is_a_button_and_a_click_answers(app):
    say(app, "Kadcyla dose for 72 kg")
    assert set(buttons(app)) == {"mBC", "EBC (adjuvant)"}
    buttons(app)["mBC"].click()
    run(app)
    last = app.session_state["turns"][-1]
    assert last.shown == "mBC" and last.answer.status == "answered" and not last.answer.missing
    assert next(c.input for c in last.answer.tool_calls if c.tool == "calculate_dose")["indication"] == "mbc"


def test_a_coverage_check_is_finished_by_clicking_the_offered_choices(app):
    say(app, POLICY_Q)
    assert bottom_line(app).endswith("Not settled for Centene CP.PHAR.229: I.A, II.A open**")
    offered = set(buttons(app))
    assert {"Initial request", "Continuation", "Oncologist: yes", "Oncologist: no", "Single agent", "With neratinib",
            "Combination", "3.6 mg/kg (label dose)", "Every 21 days", "Medicaid", "Commercial"} <= offered
    for label in ("Initial request", "Oncologist: yes", "Single agent", "3.6 mg/kg (label dose)", "Every 21 days",
                  "Medicaid"):
        buttons(app)[label].click()
        run(app)
    turns = app.session_state["turns"]
    assert [t.superseded for t in turns] == [True] * 6 + [False]
    assert bottom_line(app) == ":green[**✓**] **Meets Centene CP.PHAR.229 I.A · 12 months**"
    facts = app.session_state["session"].facts
    assert (facts.value("request_type"), facts.value("regimen"), facts.value("line_of_business")) == (
        "initial", "single_agent", "medicaid")
    assert any("Superseded" in c.value for c in app.caption)


def test_a_panel_correction_reruns_the_last_request_and_supersedes_the_older_answer(app):
    say(app, DOSE_Q)
    panel = app.sidebar
    assert panel.number_input(key="fact_weight").value == 70.0
    assert panel.selectbox(key="fact_indication").value == "mbc"
    panel.number_input(key="fact_weight").set_value(80.0)
    run(app)
    turns = app.session_state["turns"]
    assert len(turns) == 2 and turns[0].superseded and not turns[1].superseded
    assert turns[1].shown == "↻ Corrected in the panel: weight = 80.0"
    assert bottom_line(app).startswith("**288 mg")  # 80 kg × 3.6 mg/kg
    assert bottom_line(app, 0).startswith("~~252 mg")
    call = turns[1].answer.tool_calls[0]
    assert (call.tool, call.input["weight"], call.input["weight_unit"]) == ("calculate_dose", 80.0, "kg")
    open_expander(app, "computed_1")
    computed = next(e for e in app.chat_message[-1].expander if e.label == "How this was computed")
    assert json.loads(computed.json[0].value)["weight"] == 80


def open_panel(at: AppTest) -> AppTest:
    """Open every group of the Patient facts panel (their widgets are built when open)."""
    for n in range(3):
        at.session_state[f"panel_group_{n}"] = True
    return run(at)


def test_the_first_page_draws_only_the_dose_fields(app):
    keys = {w.key for kind in ("selectbox", "number_input", "multiselect", "date_input") for w in app.sidebar.get(kind)}
    assert keys == {"fact_weight", "fact_weight_unit", "fact_indication", "fact_mg_per_kg", "fact_cycle",
                    "fact_date_of_service"}
    say(app, POLICY_Q)  # the chat fills coverage facts: their group opens by itself
    assert app.sidebar.selectbox(key="fact_payer").value == "centene"


def test_the_panel_has_a_field_for_every_fact_the_checker_reads(app):
    from assistant.facts import _CASE_FIELDS

    open_panel(app)
    keys = {w.key for kind in ("selectbox", "number_input", "multiselect", "date_input") for w in app.sidebar.get(kind)}
    for name in set(_CASE_FIELDS) | {"weight", "weight_unit", "indication", "mg_per_kg", "cycle", "date_of_service",
                                     "prior_therapies", "combined_with"}:
        assert f"fact_{name}" in keys, name


def test_facts_entered_in_the_panel_are_the_policy_tools_inputs_and_a_correction_changes_the_verdict(app):
    panel = open_panel(app).sidebar
    panel.selectbox(key="fact_payer").set_value("centene").run()
    panel.selectbox(key="fact_diagnosis").set_value("mbc").run()
    panel.selectbox(key="fact_her2_ihc").set_value("3+").run()
    panel.multiselect(key="fact_prior_therapies").set_value(["trastuzumab", "taxane"]).run()
    panel.number_input(key="fact_age").set_value(58).run()
    panel.date_input(key="fact_date_of_service").set_value(dt.date(2026, 6, 3)).run()
    assert not app.session_state["turns"]  # nothing asked yet: nothing to re-run
    assert app.session_state["session"].facts.get("date_of_service").source == "panel"
    say(app, "Does she meet the criteria for Kadcyla?")
    call = app.session_state["turns"][-1].answer.tool_calls[0]
    assert call.tool == "check_policy"
    assert {k: call.input.get(k) for k in ("payer", "her2_ihc", "age")} == {"payer": "centene", "her2_ihc": "3+", "age": 58}
    app.sidebar.selectbox(key="fact_her2_ihc").set_value("1+")  # the clinician corrects the HER2 result
    run(app)
    call = app.session_state["turns"][-1].answer.tool_calls[0]
    assert call.input["her2_ihc"] == "1+"
    assert "I.A not met (I.A.1)" in bottom_line(app)


def test_each_browser_session_has_its_own_conversation(app):
    say(app, DOSE_Q)
    other = AppTest.from_file(str(APP), default_timeout=60).run(timeout=180)
    assert not other.chat_message and not other.session_state["session"].facts
    assert other.sidebar.number_input(key="fact_weight").value is None
    say(other, "What's the dose?")
    assert "Needed: weight" in bottom_line(other)  # app's 70 kg is not in this session
    assert app.session_state["session"].facts.value("weight") == 70.0


def test_the_conversation_survives_a_reload(app):
    say(app, "Patient Jane Doe, MRN 12345678: 70 kg, metastatic — dose?")
    cid = app.query_params["c"][0] if isinstance(app.query_params["c"], list) else app.query_params["c"]
    again = AppTest.from_file(str(APP), default_timeout=60)
    again.query_params["c"] = cid
    run(again)
    turns = again.session_state["turns"]
    assert len(turns) == 1 and turns[0].answer.status == "answered"
    assert "Jane" not in turns[0].shown and "12345678" not in turns[0].shown  # stored redacted
    assert bottom_line(again).startswith("**252 mg")
    assert again.session_state["session"].facts.value("weight") == 70.0


def test_closed_expanders_cost_nothing_until_opened(app):
    say(app, DOSE_Q)
    assert not app.code and not app.json
    assert [e.label for e in app.chat_message[1].expander] == [
        "Details", "What I read (4 facts) — correct any of them in the Patient facts panel", "How this was computed",
        "Copy for PA narrative"]
    say(app, "85 kg adjuvant, cycle 2 — dose?")
    first = app.chat_message[1]
    assert not first.table  # an earlier answer's details are built only when opened
    open_expander(app, "details_0")
    assert table_rows(app.chat_message[1], "Item")["Dose"]["Value"] == "252 mg"
    open_expander(app, "computed_1")
    assert len(app.json) == 1 and '"weight": 85' in app.json[0].value


def test_what_i_read_shows_each_fact_with_its_words(app):
    say(app, "58 yo, HER2 IHC 3+ metastatic breast cancer, 70 kg: dose?")
    open_expander(app, "read_0")
    rows = table_rows(app, "fact")
    assert rows["age"]["from"] == "“58 yo”"
    assert rows["HER2 IHC"]["value"] == "3+" if "HER2 IHC" in rows else rows["her2 ihc"]["value"] == "3+"


def test_the_pa_letter_is_offered_only_on_answers_that_can_become_one(app):
    for question in ("What's the dose?", "What is the capital of France?", "70 kg metastatic, 4 mg/kg — dose?"):
        say(app, question)
        assert "Copy for PA narrative" not in [e.label for e in app.chat_message[-1].expander], question
    say(app, "Centene Medicaid, 58 yo, 70 kg, HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and taxane, "
             "prescribed by an oncologist, initial request, single agent, 3.6 mg/kg every 21 days. Meets criteria?")
    index = len(app.session_state["turns"]) - 1
    open_expander(app, f"narrative_{index}")
    letter = app.code[0].value
    assert "J9354" in letter and "12 months" in letter and "252 mg" in letter
    assert "NOT met" not in letter and "Not medical advice" not in letter
    assert app.get("download_button")


def test_user_text_is_escaped_never_rendered(app):
    say(app, "Kadcyla dose? ![x](http://evil.example/x.png) [click](http://evil.example) <img src=x onerror=alert(1)> "
             "https://evil.example/y www.evil.example")
    user = app.chat_message[0].markdown[0].value
    assert "\\[click\\]" in user and "\\!\\[x\\]" in user and "\\<img" in user
    assert f"https{WJ}\\://evil" in user and f"www{WJ}\\.evil" in user
    assert not any(m.proto.allow_html for m in app.markdown)


def test_streamlit_config_hides_the_developer_menu_and_skips_the_venv_and_data_dir():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"
    assert {".venv", ".data"} <= set(config["server"]["folderWatchBlacklist"])



# -- pure helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("[click](http://x)", f"\\[click\\](http{WJ}\\://x)"),
        ("![img](http://x/y.png)", f"\\!\\[img\\](http{WJ}\\://x/y.png)"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("**bold** and _it_", "\\*\\*bold\\*\\* and \\_it\\_"),
        ("$10 and $20", "\\$10 and \\$20"),
        (":red[alarm]", "\\:red\\[alarm\\]"),
        ("# heading", "\\# heading"),
        ("a@b.org", f"a{WJ}\\@b.org"),
    ],
)
def test_escape_md_leaves_no_live_markdown(raw, escaped):
    assert escape_md(raw) == escaped
    assert unescape(escape_md(raw)) == raw


@pytest.mark.parametrize(
    "raw, expected",
    [("- list", "\\- list"), ("1. first", "1\\. first"), ("12.5 mg", "12.5 mg"), ("=== ", "\\==="), ("www.x.org", f"www{WJ}\\.x.org")],
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

"""The eval harness, driven by a scripted fake ask(): checks fail when they should, gates set the exit code."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path

import pytest
import typer
from eval_fakes import CASES, ROOT, WORKED, FakeAsk, dose_output, good_dose_answer, quote_citation, write
from typer.testing import CliRunner

from assistant.cli_eval import register
from assistant.corpus import get_corpus
from assistant.evals import EvalConfigError, load_cases, load_suite, render_html, run_suite
from assistant.evals.harness import load_case_file
from assistant.evals.metrics import numbers_in_text
from assistant.evals.results import Hit
from assistant.models import Answer, ToolCall

def run(tmp_path: Path, script: dict, text: str = CASES, **kw):
    suite = load_suite(write(tmp_path, text))
    return run_suite(suite, FakeAsk(script), **kw)


def failed_checks(report) -> set[str]:
    return {c.name for case in report.cases for t in case.turns for c in t.checks if not c.passed}


# ---------------------------------------------------------------- a correct answer passes; each fault fails


def test_correct_answer_passes_every_check(tmp_path):
    report = run(tmp_path, {"dose for 70 kg mBC?": good_dose_answer})
    assert failed_checks(report) == set()
    assert report.passed and report.overall.figure_exact_match.value == 1.0
    assert report.overall.citation_validity.value == 1.0 and report.overall.citation_recall.value == 1.0


@pytest.mark.parametrize(
    "answer,failing",
    [
        # wrong figure in the tool output and in the text
        (lambda q: good_dose_answer(q, text="Dose 253 mg, 8 units JW, JZ, $10,971.48", tool_calls=[
            ToolCall(tool="calculate_dose", input={"weight": 70, "weight_unit": "kg", "indication": "mbc"}, output=dose_output(dose=253.0))]),
         {"figure"}),
        # the right number computed by the tool but never shown to the user
        (lambda q: good_dose_answer(q, text="8 units JW, JZ line, $10,971.48 per cycle."), {"figure"}),
        # the number written in the text but no tool produced it
        (lambda q: good_dose_answer(q, tool_calls=[ToolCall(tool="calculate_dose", input={"weight": 70, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 3.6}, output={"note": "nothing"})]),
         {"figure"}),
        # forbidden text
        (lambda q: good_dose_answer(q, text="Dose 252 mg, 8 units JW, JZ, $10,971.48. PA approved."), {"must_not_contain"}),
        # required text missing (neither JZ nor "no waste")
        (lambda q: good_dose_answer(q, text="Dose 252 mg, 8 units JW, $10,971.48."), {"must_contain"}),
        # a quote that is not in the document
        (lambda q: good_dose_answer(q, citations=[quote_citation("Waste: 260 - 252 = 9 mg")]), {"citation_valid", "citation_recall"}),
        # a real quote with offsets that do not hold it
        (lambda q: good_dose_answer(q, citations=[quote_citation().model_copy(update={"start": 0, "end": len(WORKED)})]),
         {"citation_valid", "citation_recall"}),
        # the right document, the wrong section
        (lambda q: good_dose_answer(q, citations=[quote_citation("Kadcyla can cause fetal harm.", section="Boxed warnings 3")]), {"citation_recall"}),
        # wrong status
        (lambda q: good_dose_answer(q, status="needs_info"), {"status"}),
        # wrong tool, and therefore no dose inputs
        (lambda q: good_dose_answer(q, tool_calls=[ToolCall(tool="search_corpus", input={"query": q}, output=[
            {"doc_id": "carecost-j9354", "quote": "70 kg × 3.6 mg/kg = 252 mg administered", "start": 252, "end": 8, "score": 0.5}])]),
         {"tool", "tool_input", "figure"}),
        # injected dose level reached the tool
        (lambda q: good_dose_answer(q, tool_calls=[ToolCall(tool="calculate_dose", input={"weight": 70, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 8}, output=dose_output())]),
         {"tool_input"}),
    ],
)  # fmt: skip
def test_a_faulty_answer_fails_the_right_check(tmp_path, answer, failing):
    report = run(tmp_path, {"dose for 70 kg mBC?": answer})
    assert not report.cases[0].passed
    assert failed_checks(report) == failing
    assert not report.passed


@pytest.mark.parametrize(
    "check, text, passed",
    [
        ("must_contain: [jw]", "Bill 8 units JW.", True),  # case-insensitive
        ("must_contain: ['8 units  jw']", "Bill 8\nunits JW.", True),  # spacing and line breaks do not matter
        ("must_contain: [JW]", "Bill 8 units JZ.", False),
        ("must_contain: [[JW, no waste]]", "No waste.", True),  # any one of a nested list
        ("must_contain: [[JW, no waste]]", "Waste 8 mg.", False),
        (r"must_contain: ['re:\$10,971\.48']", "pays $10,971.48", True),  # re: a regular expression
        (r"must_contain: ['re:\$10,971\.48']", "pays 10971.48", False),
        ("must_not_contain: [APPROVED]", "The PA is approved.", False),
        ("must_not_contain: [approved]", "Coverage criteria met.", True),
    ],
)  # fmt: skip
def test_text_checks(tmp_path, check, text, passed):
    case = f"category: dose\ncases:\n  - id: t\n    ask: q\n    expect:\n      {check}\n"
    report = run(tmp_path, {"q": Answer(question="q", status="answered", answer=text)}, text=case)
    assert report.cases[0].passed is passed, report.cases[0].failures()


def test_figures_allow_thousands_separators_and_currency_signs():
    assert 10971.48 in numbers_in_text("pays $10,971.48 per cycle")
    assert numbers_in_text("J9354 and 50242-0088-01") == [50242.0, 88.0, 1.0]
    assert 9354.0 not in numbers_in_text("J9354")


def test_figure_unit_must_match_the_tool_figure(tmp_path):
    """8 mg waste does not satisfy 8 JW units when the tool's 8 is in mL."""
    text = CASES.replace("{value: 8, unit: units}", "{value: 8, unit: mL}").replace("{value: 10971.48, unit: USD}", "{value: 8, unit: vials}")
    report = run(tmp_path, {"dose for 70 kg mBC?": good_dose_answer}, text=text)
    assert [c.detail for c in report.cases[0].turns[0].checks if not c.passed] == ["8 vials: not in any tool output"]


def test_a_crash_fails_its_case_and_the_run_goes_on(tmp_path):
    text = CASES + """
  - id: dose-85
    ask: "85 kg ebc?"
"""
    report = run(tmp_path, {"dose for 70 kg mBC?": RuntimeError("boom"), "85 kg ebc?": good_dose_answer}, text=text)
    assert [c.passed for c in report.cases] == [False, True]
    assert "no_crash" in failed_checks(report)


def test_turns_share_a_session_and_cases_do_not(tmp_path):
    text = """
    category: multi_turn
    cases:
      - id: a
        turns:
          - {ask: "What's the dose?", expect: {status: needs_info, missing: [weight]}}
          - {ask: "72 kg, metastatic", expect: {status: answered}}
      - id: b
        ask: "72 kg, metastatic"
    """
    fake = FakeAsk({
        "What's the dose?": Answer(question="q", status="needs_info", answer="What is the weight?", missing=["weight (kg or lb)"]),
        "72 kg, metastatic": Answer(question="q", status="answered", answer="259.2 mg"),
    })  # fmt: skip
    report = run_suite(load_suite(write(tmp_path, text)), fake)
    assert report.passed
    sessions = [s for _, s in fake.calls]
    assert sessions[0] == sessions[1] != sessions[2]


def test_refusals_are_counted(tmp_path):
    text = """
    category: out_of_scope
    cases:
      - {id: a, ask: "pembrolizumab dose?", expect: {status: out_of_scope, forbidden_tools: [calculate_dose]}}
      - {id: b, ask: "weather?", expect: {status: out_of_scope}}
    """
    fake = {
        "pembrolizumab dose?": lambda q: good_dose_answer(q),  # answered, and computed a Kadcyla dose
        "weather?": Answer(question="q", status="out_of_scope", answer="I answer Kadcyla questions only."),
    }
    report = run(tmp_path, fake, text=text)
    assert report.overall.correct_refusals.num == 1 and report.overall.correct_refusals.den == 2
    assert failed_checks(report) == {"status", "forbidden_tools"}


def test_baseline_scores_the_top_chunk_on_text_checks(tmp_path):
    passage = get_corpus().text("carecost-j9354")
    start = passage.find("# Dose calculation\n70 kg")
    hit = Hit(doc_id="carecost-j9354", section="Worked example 70 kg mBC", quote=passage[start:start + 400], start=start, end=start + 400)
    report = run(tmp_path, {"dose for 70 kg mBC?": good_dose_answer}, retrieve=lambda q: [hit])
    base = report.baseline["baseline"]
    assert base.citation_recall.value == 1.0
    assert hit.quote.count("252") and "10,971.48" not in hit.quote
    assert (base.figures_in_text.num, base.figures_in_text.den) == (2, 3)  # 252 and 8 are written; $10,971.48 is not
    assert base.pass_rate.value == 0.0
    assert report.baseline["agent"].figures_in_text.value == 1.0


# ---------------------------------------------------------------- the report


def test_html_report_lists_every_case_and_escapes_text(tmp_path):
    text = CASES + """
  - id: dose-85
    ask: "85 kg <b>ebc</b>?"
"""
    script = {
        "dose for 70 kg mBC?": lambda q: good_dose_answer(q, text="<script>alert(1)</script> 252 mg"),
        "85 kg <b>ebc</b>?": good_dose_answer,
    }
    page = render_html(run(tmp_path, script, text=text))
    assert page.startswith("<!doctype html>") and "</html>" in page
    for case_id in ("dose-70", "dose-85"):
        assert f"id='case-{case_id}'" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "85 kg &lt;b&gt;ebc&lt;/b&gt;?" in page
    assert "<link" not in page and "src=" not in page  # self-contained


# ---------------------------------------------------------------- case files


@pytest.mark.parametrize(
    "bad,where,says",
    [
        ("      must_contian: [JW]\n", "field 'expect.must_contian'", "did you mean 'must_contain'"),
        ("      figures:\n        - {value: 252, units: mg}\n", "field 'expect.figures.0.units'", "did you mean 'unit'"),
        ("      tool: calculate_doses\n", "field 'expect.tool'", "did you mean 'calculate_dose'"),
        ("      tool: calculate_dose\n      tool_input: {wieght: 70}\n", "field 'expect'", "did you mean 'weight'"),
        ("      tool: check_claim\n      tool_input: {plac_of_service: '11'}\n", "field 'expect'", "did you mean 'place_of_service'"),
        ("      tool: check_claims\n", "field 'expect.tool'", "did you mean 'check_claim'"),
        ("      status: done\n", "field 'expect.status", "answered"),
        ("      citations:\n        - {doc: carecost-j9354, section: Nowhere}\n", "expect.citations.1", "no section 'Nowhere'"),
    ],
)
def test_a_typo_in_a_case_file_names_the_file_case_and_field(tmp_path, bad, where, says):
    text = textwrap.dedent("""
    category: dose
    cases:
      - id: ok
        ask: "fine"
      - id: broken
        ask: "dose?"
        expect:
    """) + bad
    suite = load_suite(write(tmp_path, text, name="typo.yaml"))
    with pytest.raises(EvalConfigError) as err:
        load_cases(suite.case_files())
    message = str(err.value)
    assert "typo.yaml" in message and "'broken'" in message and where in message and says in message, message


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("category: dose\ncases:\n  - id: a\n    ask: [unclosed\n", encoding="utf-8")
    with pytest.raises(EvalConfigError, match=r"bad\.yaml: not valid YAML at line \d+"):
        load_case_file(path)


def test_unknown_category_and_duplicate_ids(tmp_path):
    with pytest.raises(EvalConfigError, match="unknown category 'doses' \\(did you mean 'dose'\\?\\)"):
        load_cases([write(tmp_path, "category: doses\ncases:\n  - {id: a, ask: q}\n") and tmp_path / "cases" / "cases.yaml"])
    write(tmp_path, "category: dose\ncases:\n  - {id: a, ask: q}\n", name="two.yaml")
    with pytest.raises(EvalConfigError, match="duplicate id"):
        load_cases([tmp_path / "cases" / "two.yaml", tmp_path / "cases" / "two.yaml"])


def test_the_shipped_suite_loads():
    """Every shipped case file parses and its expected passages exist (the guard for staff edits)."""
    suite = load_suite(ROOT / "evals" / "suite.yaml")
    cases = load_cases(suite.case_files())
    assert len(cases) >= 150
    assert {c.category for c in cases} == {"dose", "policy", "code", "document", "multi_turn", "out_of_scope", "bad_input", "injection"}
    assert not any("/policy/" in c.file for c in cases)
    assert suite.thresholds.citation_validity == 1.0
    for style in ("textbook", "adversarial"):  # the cases written alongside the code stay gated as before
        limits = suite.thresholds_by_style[style]
        assert (limits.pass_rate, limits.figure_exact_match) == (0.95, 1.0)


# ---------------------------------------------------------------- the command


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """`assistant eval` with assistant.agent.ask replaced by a fake."""

    def invoke(script: dict, thresholds: str, *extra: str, text: str = CASES):
        fake = types.ModuleType("assistant.agent")
        fake.ask = FakeAsk(script)
        monkeypatch.setitem(sys.modules, "assistant.agent", fake)
        app = typer.Typer()
        register(app)
        app.command("noop")(lambda: None)  # a second command keeps `eval` a subcommand
        suite = write(tmp_path, text, thresholds=thresholds)
        report = tmp_path / "out" / "report.html"
        args = ["eval", "--suite", str(suite), "--report", str(report), "--no-baseline", *extra]
        return CliRunner().invoke(app, args), report

    return invoke


def test_exit_code_follows_the_thresholds(cli):
    wrong = {"dose for 70 kg mBC?": lambda q: good_dose_answer(q, text="Dose 252 mg, 8 units JW, JZ.")}  # $10,971.48 not shown
    result, report = cli(wrong, "figure_exact_match: 1.0")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and report.is_file() and report.with_suffix(".json").is_file()
    result, _ = cli(wrong, "figure_exact_match: 0.6")
    assert result.exit_code == 0, result.output
    result, _ = cli({"dose for 70 kg mBC?": good_dose_answer}, "figure_exact_match: 1.0\n  pass_rate: 1.0")
    assert result.exit_code == 0, result.output


def test_json_flag_prints_the_result(cli):
    import json

    result, _ = cli({"dose for 70 kg mBC?": good_dose_answer}, "pass_rate: 1.0", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout[result.stdout.index("{"):])
    assert data["passed"] is True and data["cases"][0]["id"] == "dose-70"


def test_bad_case_file_exits_2_with_the_message(cli, tmp_path):
    result, _ = cli({}, "pass_rate: 2")
    assert result.exit_code == 2 and "thresholds.pass_rate" in result.output


# ---------------------------------------------------------------- more faults, gates, report, staff-facing files


def test_a_conversation_fails_when_a_later_turn_fails(tmp_path):
    text = """
    category: multi_turn
    cases:
      - id: weight-then-dose
        turns:
          - {ask: "What's the dose?", expect: {status: needs_info, missing: [weight]}}
          - ask: "72 kg, metastatic"
            expect: {status: answered, figures: [{value: 259.2, unit: mg}]}
    """
    fake = {
        "What's the dose?": Answer(question="q", status="needs_info", answer="What is the weight?", missing=["weight (kg or lb)"]),
        "72 kg, metastatic": lambda q: good_dose_answer(q, text="Dose 252 mg."),  # the 70 kg answer, not 72 kg
    }  # fmt: skip
    report = run(tmp_path, fake, text=text)
    case = report.cases[0]
    assert [t.passed for t in case.turns] == [True, False] and not case.passed
    assert case.failures() == ["turn 2: figure: 259.2 mg: not in any tool output; not in the answer text"]


@pytest.mark.parametrize(
    "metric, num, den, threshold, passed",
    [
        ("pass_rate", 19, 20, 0.95, True),  # exactly at the threshold passes
        ("pass_rate", 18, 20, 0.95, False),
        ("figure_exact_match", 200, 200, 1.0, True),
        ("figure_exact_match", 199, 200, 1.0, False),  # one figure wrong in 200 fails the run
        ("citation_validity", 500, 500, 1.0, True),
        ("citation_validity", 499, 500, 1.0, False),
        ("tool_choice", 0, 0, 1.0, True),  # nothing to measure: the gate does not fail
    ],
)  # fmt: skip
def test_each_threshold_gates_at_its_boundary(metric, num, den, threshold, passed):
    from assistant.evals.harness import Thresholds
    from assistant.evals.summary import Metrics, Rate, gates

    overall = Metrics(cases=den, **{metric: Rate(num=num, den=den)})
    (gate,) = gates(overall, Thresholds(**{metric: threshold}))
    assert (gate.metric, gate.passed) == (metric, passed)


def test_latency_gate_is_a_maximum():
    from assistant.evals.harness import Thresholds
    from assistant.evals.report import Metrics, gates

    assert gates(Metrics(latency_p95_s=2.0), Thresholds(latency_p95_s=2.0))[0].passed
    assert not gates(Metrics(latency_p95_s=2.01), Thresholds(latency_p95_s=2.0))[0].passed


class _Tags(__import__("html.parser").parser.HTMLParser):
    """Collects ids and checks that every opened element is closed in order (void elements aside)."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def test_html_report_is_well_formed_and_says_what_failed(tmp_path):
    text = CASES + """
  - id: dose-85
    ask: "85 kg ebc?"
    expect: {status: answered}
"""
    script = {
        "dose for 70 kg mBC?": lambda q: good_dose_answer(q, citations=[quote_citation("Waste: 260 - 252 = 9 mg")]),
        "85 kg ebc?": good_dose_answer,
    }
    report = run(tmp_path, script, text=text)
    page = render_html(report)
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert not parser.errors and parser.stack == [], (parser.errors, parser.stack)
    assert parser.ids == ["case-dose-70", "case-dose-85"]  # every case, in order
    assert "Failing cases (1)" in page and "All cases (2)" in page
    assert "<a href='#case-dose-70'>dose-70</a>" in page
    assert "quote is not an exact substring of carecost-j9354" in page  # what failed
    assert "Waste: 260 - 252 = 9 mg" in page  # the answer's citation, shown
    assert "<details class='case failed' id='case-dose-70' open>" in page  # failures open, passes folded
    assert "<details class='case' id='case-dose-85'>" in page


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "expected a mapping with 'cases:'"),
        ("category: dose\n", "field 'cases': Field required"),
        ("category: dose\ncases:\n  - just text\n", "case #1: expected a mapping of fields"),
        ("category: dose\ncases:\n  - {ask: q}\n", "case #1: field 'id': Field required"),
        ("category: dose\ncases:\n  - {id: Dose 1, ask: q}\n", "'Dose 1' is not a valid id"),
        ("category: dose\ncases:\n  - {id: a, ask: q, turns: [{ask: r}]}\n", "either ask/expect (one turn) or turns"),
        ("category: dose\ncases:\n  - {id: a}\n", "a case needs `ask` (one turn) or `turns`"),
        ("category: dose\ncases:\n  - {id: a, ask: q, expect: {figures: [{value: lots}]}}\n", "field 'expect.figures.0.value'"),
        ("category: dose\ncases:\n  - {id: a, ask: q, expect: {tool_input: {weight: 70}}}\n", "say which tool it is for"),
        ("category: dose\ncases:\n  - {id: a, ask: q, expect: {citations: [{doc: nowhere}]}}\n", "unknown document 'nowhere'"),
        ("category: dose\ncases:\n  - {id: a, ask: q, expect: {citations: [{doc: carecost-j9354, text: not in it}]}}\n",
         "is not an exact passage of carecost-j9354"),
    ],
)  # fmt: skip
def test_a_malformed_case_file_gives_a_clear_error(tmp_path, text, says):
    path = tmp_path / "staff.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalConfigError) as err:
        load_cases([path])
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value), str(err.value)


def test_the_command_reports_a_malformed_case_file_and_exits_2(cli, tmp_path):
    result, report = cli({}, "pass_rate: 1.0", text=CASES.replace("must_not_contain", "must_not_contian"))
    assert result.exit_code == 2, result.output
    assert "cases.yaml" in result.output and "'dose-70'" in result.output and "did you mean 'must_not_contain'" in result.output
    assert result.output.startswith("Error: ") and "[red]" not in result.output
    assert "Traceback" not in result.output and not report.exists()


def test_validate_checks_the_shipped_case_files():
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["eval", "--validate"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\d{3,} cases OK in \d+ files\.$", result.output.strip())


def test_the_readme_examples_are_valid_cases(tmp_path):
    """evals/README.md is how staff add a case: its YAML examples must load as they are written."""
    readme = (ROOT / "evals" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    for n, block in enumerate(blocks):
        path = tmp_path / f"example{n}.yaml"
        path.write_text("category: dose\ncases:\n" + block, encoding="utf-8")
        (case,) = load_cases([path])
        assert case.turns and case.turns[0].ask
    fields = set(re.findall(r"^\| `(\w+)` \|", readme, re.M))
    from assistant.evals.harness import Expect, Turn

    assert fields == set(Expect.model_fields) | {"repeat"} and "repeat" in Turn.model_fields  # the table lists every field

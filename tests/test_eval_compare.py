"""`assistant eval --compare BASE.json` and `--junit FILE`: two saved runs that differ in one fixed, one
broken and one changed case (and a conversation broken at its second turn), read back from their JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from eval_fakes import FakeAsk, dose_output, good_dose_answer, invoke_eval, plain_answer, write

from assistant.evals import load_run, load_suite, render_html, run_suite, to_json, to_junit
from assistant.evals.compare import DELTA_METRICS, compare, diff_case, figures_of
from assistant.evals.results import CaseResult, Check, Tally, TurnResult
from assistant.evals.summary import METRIC_NAMES
from assistant.models import ToolCall

CASES = """
category: dose
cases:
  - id: dose-fixed
    ask: "fixed?"
    expect: {status: answered, must_contain: [JW]}
  - id: dose-broken
    ask: "broken?"
    expect: {status: answered, must_contain: [JW]}
  - id: dose-changed
    ask: "70 kg mBC, paid?"
    expect: {status: answered, tool: calculate_dose, must_contain: [JW]}
  - id: dose-same
    ask: "same?"
    expect: {status: answered}
  - id: multi-second-turn-breaks
    category: multi_turn
    style: followup
    turns:
      - {ask: "dose?", expect: {status: needs_info}}
      - {ask: "72 kg", expect: {status: answered, must_contain: [JW]}}
"""

ASKED = plain_answer("What is the weight?", status="needs_info", missing=["weight"])
BEFORE = {
    "fixed?": plain_answer("Bill the JZ line."),  # fails: no JW
    "broken?": plain_answer("Bill 8 units JW."),
    "70 kg mBC, paid?": lambda q: good_dose_answer(q),
    "same?": plain_answer("Same words."),
    "dose?": ASKED,
    "72 kg": plain_answer("259.2 mg, 8 units JW."),
}
AFTER = {
    **BEFORE,
    "fixed?": plain_answer("Bill 8 units JW."),
    "broken?": plain_answer("Bill the JZ line."),
    # a new price quarter: the same dose, another payment
    "70 kg mBC, paid?": lambda q: good_dose_answer(q, text="Dose 252 mg, 8 units JW, JZ. Medicare: $10,861.20 per cycle.",
        tool_calls=[ToolCall(tool="calculate_dose", input={"weight": 70}, output=dose_output(per_cycle=10861.2))]),  # fmt: skip
    "72 kg": plain_answer("259.2 mg, JZ only."),
}


def saved_runs(tmp_path, thresholds="pass_rate: 0.5"):
    """Run the cases with BEFORE, save the JSON, read it back; run with AFTER against it."""
    suite = load_suite(write(tmp_path, CASES, thresholds=thresholds))
    base_file = tmp_path / "base.json"
    base_file.write_text(to_json(run_suite(suite, FakeAsk(BEFORE))), encoding="utf-8")
    base = load_run(base_file)
    return run_suite(suite, FakeAsk(AFTER), base=base, base_file=str(base_file)), base_file


def test_each_case_and_turn_gets_its_verdict(tmp_path):
    report, _ = saved_runs(tmp_path)
    diff = report.compare
    assert {c.id: c.verdict for c in diff.cases} == {
        "dose-fixed": "fixed", "dose-broken": "broken", "dose-changed": "changed answer", "dose-same": "same",
        "multi-second-turn-breaks": "broken",
    }  # fmt: skip
    (conversation,) = [c for c in diff.cases if c.id == "multi-second-turn-breaks"]
    assert [t.verdict for t in conversation.turns] == ["same", "broken"]
    assert conversation.turns[1].now_failing == ["must_contain: JW: not in the answer"]
    assert diff.counts == {"broken": 2, "fixed": 1, "changed answer": 1, "new": 0, "removed": 0, "same": 1}


def test_the_figures_whose_values_changed_are_listed_old_to_new(tmp_path):
    report, _ = saved_runs(tmp_path)
    (changed,) = [c for c in report.compare.cases if c.id == "dose-changed"]
    assert [(f.turn, f.figure, f.old, f.new) for f in changed.figures()] == [
        (1, "calculate_dose.payment.per_cycle", "10971.48 USD", "10861.2 USD")]
    # the base called with weight, weight_unit and indication; this run with the weight only
    assert changed.turns[0].changes == ["tool inputs calculate_dose.weight_unit, calculate_dose.indication", "answer text",
                                        "1 tool figure(s)"]  # fmt: skip
    assert all(not c.figures() for c in report.compare.cases if c.id != "dose-changed")


def test_every_metric_has_its_delta_per_category_style_and_overall(tmp_path):
    report, _ = saved_runs(tmp_path)
    diff = report.compare
    assert set(diff.categories) == {"dose", "multi_turn"} and set(diff.styles) == {"textbook", "followup"}
    for deltas in [diff.overall, *diff.categories.values(), *diff.styles.values()]:
        assert tuple(deltas) == DELTA_METRICS
    overall = diff.overall["pass_rate"]
    assert (overall.old, overall.new, overall.delta) == pytest.approx((0.8, 0.6, -0.2))  # 4 of 5 passed, then 3
    dose = diff.categories["dose"]["pass_rate"]
    assert (dose.old_text, dose.new_text, dose.delta) == ("75.0% (3/4)", "75.0% (3/4)", 0)  # one fixed, one broken
    turn = diff.categories["multi_turn"]["pass_rate"]
    assert (turn.old_text, turn.new_text) == ("100.0% (1/1)", "0.0% (0/1)")
    assert set(METRIC_NAMES) < set(DELTA_METRICS)


def test_any_broken_case_fails_the_run_whatever_the_pass_rate(tmp_path):
    report, _ = saved_runs(tmp_path, thresholds="pass_rate: 0.5")
    assert report.overall.pass_rate.value == 0.6  # above the threshold
    broken = [g for g in report.gates if g.metric == "broken_cases"]
    assert [(g.value, g.passed, g.scope) for g in broken] == [(2, False, "vs base")]
    assert not report.passed


@pytest.mark.parametrize(
    "old_passed, new_passed, same_answer, verdict",
    [
        (True, False, True, "broken"),  # a check fails now although the answer is word for word the same
        (True, False, False, "broken"),
        (False, True, False, "fixed"),
        (True, True, False, "changed answer"),
        (False, False, False, "changed answer"),
        (True, True, True, "same"),
        (False, False, True, "same"),
    ],
)  # fmt: skip
def test_verdict_rule(old_passed, new_passed, same_answer, verdict):
    def result(passed: bool, text: str) -> CaseResult:
        turn = TurnResult(question="q", answer={"status": "answered", "answer": text}, seconds=0.1,
                          checks=[Check(name="must_contain", passed=passed, detail="JW")], tally=Tally())  # fmt: skip
        return CaseResult(id="c", category="dose", turns=[turn])

    new_text = "same words" if same_answer else "other words"
    assert diff_case(result(old_passed, "same words"), result(new_passed, new_text)).verdict == verdict


def test_new_and_removed_cases_and_a_subset_run(tmp_path):
    report, _ = saved_runs(tmp_path)
    base, now = report.cases[:3], report.cases[1:4]
    diff = compare(base, now)
    assert {c.id: c.verdict for c in diff.cases if c.verdict in ("new", "removed")} == {"dose-same": "new", "dose-fixed": "removed"}
    # a --case/--category run compares with the same cases of the base, nothing is "removed"
    cut = compare(base, now, subset=True)
    assert cut.counts["removed"] == 0 and cut.overall["cases"].old == 2


def test_a_base_saved_before_styles_reads_each_case_style_from_this_run(tmp_path):
    report, base_file = saved_runs(tmp_path)
    raw = json.loads(base_file.read_text())
    for key in ("styles", "planner", "answered_by", "compare", "data"):
        raw.pop(key, None)
    for case in raw["cases"]:
        case.pop("style")
    base_file.write_text(json.dumps(raw))
    old = load_run(base_file)
    diff = compare(old.cases, report.cases)
    assert set(diff.styles) == {"textbook", "followup"}
    assert diff.styles["followup"]["cases"].old == 1


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "not found"),
        ("not json", "is not a JSON report"),
        ('{"suite": "t"}', "is not an `assistant eval` JSON report"),
        ('{"kind": "planners", "files": {"llm": "r.llm.json"}}', "compare with one planner's report: r.llm.json"),
    ],
)
def test_a_bad_base_file_exits_2_naming_it(tmp_path, monkeypatch, content, says):
    suite = write(tmp_path, CASES)
    base = tmp_path / "base.json"
    if content is not None:
        base.write_text(content)
    result = invoke_eval(monkeypatch, FakeAsk(AFTER), "--suite", suite, "--report", tmp_path / "r.html", "--no-baseline",
                         "--compare", base)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: --compare: ") and str(base) in result.output and says in result.output


def test_the_command_shows_the_comparison_in_the_table_html_and_json(tmp_path, monkeypatch):
    suite = write(tmp_path, CASES, thresholds="pass_rate: 0.5")
    first = tmp_path / "first" / "report.html"
    result = invoke_eval(monkeypatch, FakeAsk(BEFORE), "--suite", suite, "--report", first, "--no-baseline")
    assert result.exit_code == 0, result.output
    second = tmp_path / "second" / "report.html"
    result = invoke_eval(monkeypatch, FakeAsk(AFTER), "--suite", suite, "--report", second, "--no-baseline",
                         "--compare", first.with_suffix(".json"))  # fmt: skip
    assert result.exit_code == 1, result.output  # pass rate 60% ≥ 50%, but two cases broke
    out = result.output
    assert "2 broken, 1 fixed, 1 changed answer, 0 new, 0 removed, 1 same" in out
    assert "FAIL: 2 case(s) broken since" in out and "below the suite thresholds" not in out
    row = next(line for line in out.splitlines() if line.startswith("dose-changed "))
    assert "changed answer" in row and "answer text" in row
    assert any("calculate_dose.payment.per_cycle" in line and "10971.48 USD" in line and "10861.2 USD" in line for line in out.splitlines())
    page = second.read_text()
    assert "What changed since the base run" in page and "<span class='broken'>broken</span>" in page
    assert "<a href='#case-dose-changed'>dose-changed</a>" in page and "10861.2 USD" in page
    assert "Base answer" in page  # the two answers side by side
    saved = json.loads(second.with_suffix(".json").read_text())
    assert saved["compare"]["counts"]["broken"] == 2 and saved["passed"] is False
    verdicts = {c["id"]: [t["verdict"] for t in c["turns"]] for c in saved["compare"]["cases"]}
    assert verdicts["multi-second-turn-breaks"] == ["same", "broken"]


def test_no_broken_case_and_thresholds_met_exits_0(tmp_path, monkeypatch):
    suite = write(tmp_path, CASES, thresholds="pass_rate: 0.5")
    first = tmp_path / "first.html"
    invoke_eval(monkeypatch, FakeAsk(AFTER), "--suite", suite, "--report", first, "--no-baseline")
    result = invoke_eval(monkeypatch, FakeAsk(AFTER), "--suite", suite, "--report", tmp_path / "again.html", "--no-baseline",
                         "--compare", first.with_suffix(".json"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "0 broken, 0 fixed, 0 changed answer, 0 new, 0 removed, 5 same" in result.output


def test_figures_of_a_tool_result_by_path():
    answer = good_dose_answer("q").model_dump(mode="json")
    figures = figures_of(answer)
    assert figures["calculate_dose.dose_mg"] == "252 mg" and figures["calculate_dose.billing.lines.1.units"] == "8 units"
    assert figures["calculate_dose.request.weight"] == "70"
    search = {"tool_calls": [{"tool": "search_corpus", "output": [{"quote": "70 kg", "start": 5, "score": 0.9}]}]}
    assert figures_of(search) == {}  # passages are not figures


# ---------------------------------------------------------------- JUnit


def test_junit_has_one_testcase_per_case_and_turn_and_carries_the_failed_checks(tmp_path):
    report, _ = saved_runs(tmp_path)
    root = ET.fromstring(to_junit([report]))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [
        "dose-fixed", "dose-broken", "dose-changed", "dose-same", "multi-second-turn-breaks turn 1", "multi-second-turn-breaks turn 2"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "0")
    suites = {s.get("name"): (s.get("tests"), s.get("failures")) for s in root.findall("testsuite")}
    assert suites == {"eval.dose": ("4", "1"), "eval.multi_turn": ("2", "1")}
    broken = next(c for c in cases if c.get("name") == "dose-broken")
    failure = broken.find("failure")
    assert failure.get("message") == "must_contain: JW: not in the answer" and failure.get("type") == "must_contain"
    assert failure.text == "must_contain: JW: not in the answer"
    props = {p.get("name"): p.get("value") for p in broken.iter("property")}
    assert props == {"style": "textbook", "planner": "deterministic", "since_base": "broken"}
    assert broken.get("classname") == "eval.dose" and float(broken.get("time")) >= 0
    assert "Bill the JZ line." in broken.find("system-out").text
    assert next(c for c in cases if c.get("name") == "dose-fixed").find("failure") is None


def test_junit_a_crash_is_an_error_and_text_xml_cannot_hold_is_replaced(tmp_path, monkeypatch):
    text = """
    category: bad_input
    cases:
      - {id: crash, ask: "boom", expect: {status: error}}
      - {id: control-characters, ask: "nul\\0 esc\\e", expect: {status: error}}
    """
    script = {"boom": RuntimeError("boom"), "nul\0 esc\x1b": plain_answer("echo \0\x1b\ud800 back", status="error")}
    junit = tmp_path / "out" / "junit.xml"
    result = invoke_eval(monkeypatch, FakeAsk(script), "--suite", write(tmp_path, text), "--report", tmp_path / "r.html",
                         "--no-baseline", "--junit", junit)  # fmt: skip
    assert result.exit_code == 1 and junit.is_file(), result.output
    root = ET.parse(junit).getroot()
    crash, control = root.findall("./testsuite/testcase")
    assert crash.find("error").get("type") == "no_crash" and "RuntimeError: boom" in crash.find("error").text
    assert root.get("errors") == "1" and root.get("failures") == "0"
    assert "echo \ufffd\ufffd\ufffd back" in control.find("system-out").text


def test_html_shows_the_verdict_on_each_changed_case(tmp_path):
    report, _ = saved_runs(tmp_path)
    page = render_html(report)
    assert "<details class='case failed' id='case-dose-broken' open>" in page
    assert "<span class='fixed'>fixed</span> <b>dose-fixed</b>" in page
    assert "<details class='case' id='case-dose-changed' open>" in page  # a changed answer opens even when it passes
    assert "<details class='case' id='case-dose-same'>" in page


def test_a_tool_called_in_one_run_only_is_a_change_of_tools_not_a_list_of_figures():
    def result(answer) -> CaseResult:
        turn = TurnResult(question="q", answer=answer.model_dump(mode="json"), seconds=0.1, checks=[], tally=Tally())
        return CaseResult(id="c", category="dose", turns=[turn])

    (turn,) = diff_case(result(good_dose_answer("q")), result(plain_answer("What is the weight?"))).turns
    assert turn.figures == [] and "tools calculate_dose → none" in turn.changes
    fewer = good_dose_answer("q", tool_calls=[ToolCall(tool="calculate_dose", input={}, output={"dose_mg": {"value": 252, "unit": "mg"}})])
    (turn,) = diff_case(result(good_dose_answer("q")), result(fewer)).turns
    assert ("calculate_dose.payment.per_cycle", "10971.48 USD", None) in [(f.figure, f.old, f.new) for f in turn.figures]


@pytest.mark.parametrize(
    "name, old, new, shown",
    [
        ("pass_rate", 0.75, 0.5, "-25.0 pp"),
        ("pass_rate", 0.5, 0.5004, "="),  # below what one decimal shows
        ("pass_rate", 0.5, 0.5006, "+0.1 pp"),
        ("pass_rate", None, 0.5, "n/a"),
        ("pass_rate", None, None, "—"),
        ("cases", 188, 190, "+2"),
        ("latency_p95_s", 0.041, 0.037, "="),
        ("latency_p95_s", 0.04, 0.03, "-0.01s"),
    ],
)
def test_delta_text(name, old, new, shown):
    from assistant.evals.compare import MetricDelta, delta_text

    assert delta_text(name, MetricDelta(old=old, new=new, old_text="", new_text="")) == shown

"""`assistant eval --planners deterministic,llm`: both planners on the same cases, side by side. No
network: a scripted fake ask() reads which planner the settings choose, and the real agent runs with
the scripted chat model of tests/fake_chat.py standing in for the provider."""

from __future__ import annotations

import json
import os

import pytest
from eval_fakes import FakeAsk, eval_app, invoke_eval, plain_answer, write
from fake_chat import FakeChat, tool_call
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from assistant.settings import get_settings

CASES = """
category: dose
cases:
  - {id: both-pass, ask: "70 kg mBC dose?", expect: {status: answered, must_contain: ["252 mg"]}}
  - {id: only-deterministic-passes, ask: "JW units?", expect: {status: answered, must_contain: [JW]}}
"""


def planner_ask(question: str, session: str | None = None):
    """Answers as the planner the settings pick would: the LLM one misses the JW line."""
    llm = get_settings().llm
    if question == "JW units?":
        return plain_answer("Bill the JZ line." if llm else "Bill 8 units JW.", planner=llm or "deterministic")
    return plain_answer("252 mg" + (" (model)" if llm else ""), planner=llm or "deterministic")


@pytest.fixture
def llm_set(monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM", "openai:fake-model")


def test_both_planners_run_the_same_cases_side_by_side(tmp_path, monkeypatch, llm_set):
    report = tmp_path / "out" / "report.html"
    result = invoke_eval(monkeypatch, planner_ask, "--suite", write(tmp_path, CASES, thresholds="pass_rate: 0.5"),
                         "--report", report, "--no-baseline", "--planners", "deterministic,llm")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Planners side by side: pass rate per category" in out
    assert any(line.split() == ["dose", "100.0%", "(2/2)", "50.0%", "(1/2)"] for line in out.splitlines()), out
    assert "llm against deterministic: 1 broken, 0 fixed, 1 changed answer" in out
    assert "Result (llm): PASS" in out and "Result (deterministic): PASS" in out  # each planner's gates
    both = json.loads(report.with_suffix(".json").read_text())
    assert both["kind"] == "planners" and both["planners"] == ["deterministic", "llm"]
    assert both["runs"]["llm"]["answered_by"] == {"openai:fake-model": 2} and both["runs"]["llm"]["cases"] == []
    assert both["runs"]["llm"]["planner_model"] == "openai:fake-model"
    assert {c["id"]: c["verdict"] for c in both["versus"]["cases"]} == {"both-pass": "changed answer", "only-deterministic-passes": "broken"}
    for name in ("deterministic", "llm"):  # each planner's full report, loadable by --compare
        full = json.loads((tmp_path / "out" / f"report.{name}.json").read_text())
        assert full["planner"] == name and len(full["cases"]) == 2
        assert (tmp_path / "out" / f"report.{name}.html").is_file()
    page = report.read_text()
    assert "Where llm differs from deterministic" in page and "only-deterministic-passes" in page
    assert os.environ["ASSISTANT_LLM"] == "openai:fake-model"  # the deterministic run's switch is undone


def test_a_planner_below_its_thresholds_fails_the_run(tmp_path, monkeypatch, llm_set):
    result = invoke_eval(monkeypatch, planner_ask, "--suite", write(tmp_path, CASES, thresholds="pass_rate: 1.0"),
                         "--report", tmp_path / "r.html", "--no-baseline", "--planners", "deterministic,llm")  # fmt: skip
    assert result.exit_code == 1 and "Result (llm): FAIL: below the suite thresholds" in result.output, result.output


def test_junit_holds_one_suite_per_planner_and_category(tmp_path, monkeypatch, llm_set):
    import xml.etree.ElementTree as ET

    junit = tmp_path / "j.xml"
    invoke_eval(monkeypatch, planner_ask, "--suite", write(tmp_path, CASES, thresholds="pass_rate: 0.5"), "--report",
                tmp_path / "r.html", "--no-baseline", "--planners", "deterministic,llm", "--junit", junit)  # fmt: skip
    root = ET.parse(junit).getroot()
    assert [s.get("name") for s in root.findall("testsuite")] == ["eval.deterministic.dose", "eval.llm.dose"]
    assert root.get("tests") == "4" and root.get("failures") == "1"


def test_one_planner_alone_is_forced_whatever_the_settings(tmp_path, monkeypatch, llm_set):
    fake = FakeAsk({"70 kg mBC dose?": lambda q: plain_answer(f"252 mg by {get_settings().llm or 'rules'}"),
                    "JW units?": plain_answer("8 units JW")})  # fmt: skip
    report = tmp_path / "r.html"
    result = invoke_eval(monkeypatch, fake, "--suite", write(tmp_path, CASES), "--report", report, "--no-baseline",
                         "--planners", "deterministic")  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads(report.with_suffix(".json").read_text())
    assert saved["planner"] == "deterministic" and saved["cases"][0]["turns"][0]["answer"]["answer"] == "252 mg by rules"


@pytest.mark.parametrize(
    "planners, llm, says",
    [
        ("deterministic,llm", None, "--planners llm needs ASSISTANT_LLM set"),
        ("deterministic,llmm", "openai:x", "unknown planner 'llmm' (did you mean 'llm'?); planners: deterministic, llm"),
        (",", "openai:x", "name one or two of deterministic, llm"),
    ],
)
def test_a_wrong_planner_request_exits_2(tmp_path, monkeypatch, planners, llm, says):
    if llm:
        monkeypatch.setenv("ASSISTANT_LLM", llm)
    else:
        monkeypatch.delenv("ASSISTANT_LLM", raising=False)
    result = invoke_eval(monkeypatch, planner_ask, "--suite", write(tmp_path, CASES), "--report", tmp_path / "r.html",
                         "--planners", planners)  # fmt: skip
    assert result.exit_code == 2 and result.output.startswith("Error: --planners") and says in result.output, result.output


def test_the_real_agent_with_the_scripted_chat_model(tmp_path, monkeypatch):
    """The whole path: `assistant eval --planners deterministic,llm` → agent → LLM planner → fake chat model."""
    from assistant.planners import llm as llm_agent

    grounded = "The dose is 252 mg; bill 252 units JZ and 8 units JW [1]."
    model = FakeChat().enqueue([tool_call("calculate_dose", {"weight": 70, "weight_unit": "kg", "indication": "mbc"}),
                                AIMessage(content=grounded)])  # fmt: skip
    monkeypatch.setattr(llm_agent, "load_chat_model", lambda spec, base_url=None: model)
    monkeypatch.setenv("ASSISTANT_LLM", "openai:fake-chat")
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    cases = """
    category: dose
    cases:
      - id: dose-70
        ask: "pt 70 kg mBC, dose?"
        expect: {status: answered, tool: calculate_dose, figures: [{value: 252, unit: mg}, {value: 8, unit: units}]}
    """
    report = tmp_path / "r.html"
    args = ["eval", "--suite", str(write(tmp_path, cases)), "--report", str(report), "--no-baseline", "--planners", "deterministic,llm"]
    result = CliRunner().invoke(eval_app(), args)
    assert result.exit_code == 0, result.output
    assert model.queue == [] and len(model.seen) == 2  # the llm run used the scripted model, the deterministic one did not
    llm = json.loads((tmp_path / "r.llm.json").read_text())
    answer = llm["cases"][0]["turns"][0]["answer"]
    assert answer["answer"] == grounded and answer["planner"] == "fake-chat"
    rules = json.loads((tmp_path / "r.deterministic.json").read_text())["cases"][0]["turns"][0]["answer"]
    assert rules["planner"] == "deterministic" and rules["answer"] != grounded
    both = json.loads(report.with_suffix(".json").read_text())
    assert both["versus"]["counts"]["changed answer"] == 1 and both["passed"] is True


def test_each_planner_is_compared_with_the_base_run(tmp_path, monkeypatch, llm_set):
    suite = write(tmp_path, CASES, thresholds="pass_rate: 0.5")
    monkeypatch.delenv("ASSISTANT_LLM")
    base = tmp_path / "base.html"
    invoke_eval(monkeypatch, planner_ask, "--suite", suite, "--report", base, "--no-baseline")  # the deterministic answers
    monkeypatch.setenv("ASSISTANT_LLM", "openai:fake-model")
    result = invoke_eval(monkeypatch, planner_ask, "--suite", suite, "--report", tmp_path / "ab.html", "--no-baseline",
                         "--planners", "deterministic,llm", "--compare", base.with_suffix(".json"))  # fmt: skip
    assert result.exit_code == 1, result.output  # the llm planner broke a case the base passed
    assert "deterministic: Compared with" in result.output and "Result (deterministic): PASS" in result.output
    assert "Result (llm): FAIL: 1 case(s) broken since" in result.output
    llm = json.loads((tmp_path / "ab.llm.json").read_text())
    assert llm["compare"]["counts"]["broken"] == 1 and llm["passed"] is False

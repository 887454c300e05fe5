"""Phrasing styles: the `style` field (validated like every field), pass rates per style in the table,
HTML and JSON, and per-style thresholds so staff phrasings are reported before they gate."""

from __future__ import annotations

import json
import textwrap

import pytest
from eval_fakes import ROOT, FakeAsk, invoke_eval, plain_answer, write

from assistant.evals import EvalConfigError, load_cases, load_suite, render_html, run_suite
from assistant.evals.spec import STYLES, Thresholds
from assistant.evals.summary import Metrics, Rate, style_gates

CASES = """
category: dose
style: staff
cases:
  - {id: staff-1, ask: "kadcyla 70kg mbc", expect: {status: answered}}
  - {id: staff-2, ask: "dose 72kg pls", expect: {status: answered}}
  - {id: textbook-1, style: textbook, ask: "What is the dose for 70 kg?", expect: {status: answered}}
  - {id: note-1, style: note, ask: "Pt 70 kg, mBC. Plan: T-DM1", expect: {status: answered}}
"""
SCRIPT = {
    "kadcyla 70kg mbc": plain_answer("252 mg"),
    "dose 72kg pls": plain_answer("What is the indication?", status="needs_info"),  # staff phrasing not understood
    "What is the dose for 70 kg?": plain_answer("252 mg"),
    "Pt 70 kg, mBC. Plan: T-DM1": plain_answer("252 mg"),
}


def test_style_defaults_to_textbook_and_a_file_can_set_it(tmp_path):
    (tmp_path / "a.yaml").write_text("category: dose\ncases:\n  - {id: a, ask: q}\n")
    (tmp_path / "b.yaml").write_text(textwrap.dedent(CASES))
    styles = {c.id: c.style for c in load_cases([tmp_path / "a.yaml", tmp_path / "b.yaml"])}
    assert styles == {"a": "textbook", "staff-1": "staff", "staff-2": "staff", "textbook-1": "textbook", "note-1": "note"}


@pytest.mark.parametrize(
    "text, says",
    [
        ("category: dose\ncases:\n  - {id: a, style: staf, ask: q}\n",
         "case #1 'a': field 'style': unknown style 'staf' (did you mean 'staff'?); styles: textbook, staff, note, followup, adversarial"),
        ("category: dose\ncases:\n  - {id: a, style: Staff, ask: q}\n", "unknown style 'Staff' (did you mean 'staff'?)"),
        ("category: dose\ncases:\n  - {id: a, style: [staff], ask: q}\n", "case #1 'a': field 'style': Input should be a valid string"),
        ("category: dose\nstyle: folowup\ncases:\n  - {id: a, ask: q}\n", "field 'style': unknown style 'folowup' (did you mean 'followup'?)"),
        ("category: dose\ncases:\n  - {id: a, stlye: staff, ask: q}\n", "field 'stlye': unknown field (did you mean 'style'?)"),
    ],
)  # fmt: skip
def test_a_wrong_style_names_the_file_case_and_field(tmp_path, text, says):
    path = tmp_path / "staff.yaml"
    path.write_text(text)
    with pytest.raises(EvalConfigError) as err:
        load_cases([path])
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "extra, says",
    [
        ("thresholds_by_style:\n  staf: {pass_rate: 0.9}\n", "field 'thresholds_by_style': unknown style 'staf' (did you mean 'staff'?)"),
        ("thresholds_by_style:\n  textbook: {pass_rat: 0.9}\n",
         "field 'thresholds_by_style.textbook.pass_rat': unknown field (did you mean 'pass_rate'?)"),
        ("thresholds_by_style:\n  textbook: {pass_rate: 95}\n", "field 'thresholds_by_style.textbook.pass_rate': Input should be less than or equal to 1"),
        ("thresholds_by_styles:\n  textbook: {pass_rate: 0.9}\n", "unknown field (did you mean 'thresholds_by_style'?)"),
    ],
)  # fmt: skip
def test_a_wrong_style_threshold_names_the_suite_and_field(tmp_path, extra, says):
    suite = write(tmp_path, CASES, extra=extra)
    with pytest.raises(EvalConfigError) as err:
        load_suite(suite)
    assert str(err.value).startswith(f"{suite}: ") and says in str(err.value), str(err.value)


def test_metrics_per_style_in_the_order_of_styles(tmp_path):
    report = run_suite(load_suite(write(tmp_path, CASES)), FakeAsk(SCRIPT))
    assert list(report.styles) == ["textbook", "staff", "note"]  # STYLES order; no followup or adversarial case
    assert (report.styles["staff"].pass_rate.num, report.styles["staff"].pass_rate.den) == (1, 2)
    assert report.styles["textbook"].pass_rate.value == 1.0
    assert [c.style for c in report.cases] == ["staff", "staff", "textbook", "note"]
    page = render_html(report)
    assert "By phrasing style" in page and "<td>staff</td><td class='num'>2</td><td class='num'>50.0% (1/2)</td>" in page
    assert "[dose · staff]" in page


@pytest.mark.parametrize(
    "num, den, limit, passed",
    [
        (19, 20, 0.95, True),  # exactly at the threshold
        (18, 20, 0.95, False),
        (20, 20, 1.0, True),
        (0, 0, 0.95, True),  # no case of that style in the run: reported as no data, not failed
    ],
)
def test_a_style_threshold_gates_at_its_boundary(num, den, limit, passed):
    styles = {"textbook": Metrics(cases=den, pass_rate=Rate(num=num, den=den))} if den else {}
    (gate,) = style_gates(styles, {"textbook": Thresholds(pass_rate=limit)})
    assert (gate.scope, gate.metric, gate.passed) == ("style textbook", "pass_rate", passed)
    assert gate.note == ("no data" if not den else "minimum")


def test_staff_cases_are_reported_without_gating_until_a_threshold_says_so(tmp_path, monkeypatch):
    textbook_only = "thresholds_by_style:\n  textbook: {pass_rate: 0.95}\n"
    suite = write(tmp_path, CASES, thresholds="citation_validity: 1.0", extra=textbook_only)
    result = invoke_eval(monkeypatch, FakeAsk(SCRIPT), "--suite", suite, "--report", tmp_path / "r.html", "--no-baseline")
    assert result.exit_code == 0, result.output  # staff at 50% is shown, not gated
    assert any(line.split()[:3] == ["staff", "2", "50.0%"] for line in result.output.splitlines()), result.output
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["styles"]["staff"]["pass_rate"] == {"num": 1, "den": 2, "value": 0.5}
    assert [(g["scope"], g["passed"]) for g in saved["gates"]] == [("overall", True), ("style textbook", True)]
    suite = write(tmp_path, CASES, thresholds="citation_validity: 1.0", extra=textbook_only + "  staff: {pass_rate: 0.95}\n")
    result = invoke_eval(monkeypatch, FakeAsk(SCRIPT), "--suite", suite, "--report", tmp_path / "r.html", "--no-baseline")
    assert result.exit_code == 1 and "style staff" in result.output, result.output


def test_style_filter(tmp_path, monkeypatch):
    fake = FakeAsk(SCRIPT)
    result = invoke_eval(monkeypatch, fake, "--suite", write(tmp_path, CASES), "--report", tmp_path / "r.html", "--no-baseline",
                         "--style", "staff")  # fmt: skip
    assert [q for q, _ in fake.calls] == ["kadcyla 70kg mbc", "dose 72kg pls"], result.output
    result = invoke_eval(monkeypatch, fake, "--suite", write(tmp_path, CASES), "--report", tmp_path / "r.html", "--style", "staf")
    assert result.exit_code == 2 and "Error: --style: unknown style 'staf' (did you mean 'staff'?)" in result.output


def test_the_shipped_cases_are_marked_and_textbook_is_gated():
    suite = load_suite(ROOT / "evals" / "suite.yaml")
    cases = load_cases(suite.case_files())
    assert {c.style for c in cases} <= set(STYLES)
    assert {c.style for c in cases if c.category == "injection"} == {"adversarial"}
    assert sum(c.style == "textbook" for c in cases) >= 150  # most were written alongside the code
    assert suite.thresholds_by_style["textbook"].pass_rate == 0.95
    assert suite.thresholds.pass_rate is None  # staff, note and followup cases are reported, not gated yet

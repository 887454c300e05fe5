"""Shared by the eval tests: a scripted ask(), answer builders in the shapes the tools return, suite files,
and `assistant eval` invoked with the agent replaced."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import typer
from typer.testing import CliRunner

from assistant.cli_eval import register
from assistant.corpus import get_corpus
from assistant.models import Answer, Citation, ToolCall

ROOT = Path(__file__).resolve().parent.parent
WORKED = "Waste: 260 - 252 = 8 mg"  # a line of the billing guide's 70 kg example


def dose_output(dose=252.0, jw=8, per_cycle=10971.48) -> dict:
    """The shape of a calculate_dose result, trimmed to the figures the cases check."""
    return {
        "request": {"weight": 70.0, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 3.6, "cycle": 1},
        "dose_mg": {"value": dose, "unit": "mg"},
        "drawn_mg": {"value": 260, "unit": "mg"},
        "waste_mg": {"value": 260 - dose, "unit": "mg"},
        "vials": [{"reconstitution_ml": {"value": 8, "unit": "mL"}}],
        "billing": {"lines": [{"modifier": "JZ", "units": {"value": 252, "unit": "units"}},
                              {"modifier": "JW", "units": {"value": jw, "unit": "units"}}]},
        "payment": {"per_cycle": {"value": per_cycle, "unit": "USD"}},
    }  # fmt: skip


def quote_citation(quote: str = WORKED, doc_id: str = "carecost-j9354", section: str = "Worked example 70 kg mBC") -> Citation:
    start = get_corpus().text(doc_id).find(quote)
    return Citation(marker=1, doc_id=doc_id, doc_title="t", section=section, quote=quote,
                    start=start if start >= 0 else None, end=start + len(quote) if start >= 0 else None)  # fmt: skip


def good_dose_answer(question: str, text: str | None = None, **kw) -> Answer:
    return Answer(
        question=question,
        status=kw.pop("status", "answered"),
        intent="dose",
        answer=text or "Dose 252 mg: open 1 × 100 mg + 1 × 160 mg = 260 mg; 8 mg waste. Bill J9354 252 units JZ, "
        "8 units JW. Medicare: $10,971.48 per cycle.",
        tool_calls=kw.pop("tool_calls", [ToolCall(tool="calculate_dose", input={"weight": 70, "weight_unit": "kg", "indication": "mbc"}, output=dose_output())]),
        citations=kw.pop("citations", [quote_citation()]),
        **kw,
    )


def plain_answer(text: str, status: str = "answered", **kw) -> Answer:
    return Answer(question="q", status=status, answer=text, **kw)


class FakeAsk:
    """A scripted ask(): question -> Answer (or an exception to raise); records (question, session)."""

    def __init__(self, script: dict):
        self.script = script
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, question: str, session: str | None = None) -> Answer:
        self.calls.append((question, session))
        reply = self.script[question]
        if isinstance(reply, Exception):
            raise reply
        return reply(question) if callable(reply) else reply


CASES = """
category: dose
cases:
  - id: dose-70
    ask: "dose for 70 kg mBC?"
    expect:
      status: answered
      intent: dose
      tool: calculate_dose
      tool_input: {weight: 70, weight_unit: kg, indication: mbc, mg_per_kg: 3.6}
      figures:
        - {value: 252, unit: mg}
        - {value: 8, unit: units}
        - {value: 10971.48, unit: USD}
      must_contain: [JW, [JZ, "no waste"]]
      must_not_contain: [approved]
      citations:
        - {doc: carecost-j9354, section: "Worked example 70 kg mBC"}
"""


def write(tmp_path: Path, text: str, name: str = "cases.yaml", thresholds: str = "pass_rate: 1.0", extra: str = "") -> Path:
    """A suite file in tmp_path running cases/*.yaml, with this one case file and these thresholds."""
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: t\ncases: [cases/*.yaml]\nthresholds:\n  {thresholds}\n{extra}", encoding="utf-8")
    return suite


def eval_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `eval` a subcommand
    return app


def invoke_eval(monkeypatch, ask, *args: str, env: dict | None = None):
    """`assistant eval ARGS` with assistant.agent.ask replaced by `ask`; the CliRunner result."""
    fake = types.ModuleType("assistant.agent")
    fake.ask = ask
    monkeypatch.setitem(sys.modules, "assistant.agent", fake)
    return CliRunner().invoke(eval_app(), ["eval", *map(str, args)], env=env)

"""A real small model's replies, replayed: what gemma-3-270m did in the smoke test, as offline tests.

tests/data/llm_replays/*.json were written by `ci/llm_smoke.py --record tests/data/llm_replays` against
llama-cpp-python's server (chatml-function-calling, fixed seed): the model's tool calls and texts in
the order it sent them. A scripted chat model sends the same replies again, so the guard meets what a
real model does (154 kg for a 154 lb patient, kg invented for a bare weight, mbc for an adjuvant case,
the question said back, template tokens) with no server. Each replay must end as the rules would have
it: the same status, no tool run on an input the question contradicts, no echo or template token shown.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from assistant.agent import ask
from assistant.planners.llm_guard import TEMPLATE_TOKEN, echoes
from assistant.session import SessionStore
from fake_chat import FakeChat

REPLAYS = sorted((Path(__file__).parent / "data" / "llm_replays").glob("*.json"))
PATIENT_TOOLS = ("calculate_dose", "check_claim", "check_policy")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    monkeypatch.delenv("ASSISTANT_LLM", raising=False)
    monkeypatch.delenv("ASSISTANT_LLM_BASE_URL", raising=False)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def replayed(replay: dict) -> FakeChat:
    return FakeChat(model_name=replay["model"]).enqueue([reply(r) for r in replay["replies"]])


def reply(r: dict) -> AIMessage:
    """One recorded reply; arguments that were not valid JSON stay invalid, as langchain parsed them then."""
    calls = [{"name": c["name"], "args": c["args"], "id": c.get("id") or f"call-{i}"} for i, c in enumerate(r["tool_calls"])]
    return AIMessage(content=r["content"], tool_calls=[c for c in calls if isinstance(c["args"], dict)],
                     invalid_tool_calls=[{**c, "error": "invalid JSON"} for c in calls if not isinstance(c["args"], dict)])


def contradicted(call, expected: dict) -> list[str]:
    """Inputs of a call that ran which the question's own facts contradict (or that it never stated)."""
    if call.tool not in PATIENT_TOOLS:
        return []
    bad = []
    for name, want in expected.items():
        got = call.input.get(name)
        if got is None:
            continue
        if want is None:
            bad.append(f"{call.tool}.{name}={got!r}, which the question does not state")
        elif str(got).lower() != str(want).lower() and not _same_number(got, want):
            bad.append(f"{call.tool}.{name}={got!r}, the question says {want!r}")
    return bad


def _same_number(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


def test_the_replays_hold_the_issues_cases():
    """The recorded runs include each kind of failure the issue saw (so the tests below meet them)."""
    kinds = set()
    for path in REPLAYS:
        replay = load(path)
        for r in replay["replies"]:
            for c in r["tool_calls"]:
                args, want = c["args"] if isinstance(c["args"], dict) else {}, replay["expected_facts"]
                if c["name"] in PATIENT_TOOLS and contradicted(type("C", (), {"tool": c["name"], "input": args}), want):
                    kinds.add("conflicting input")
            if TEMPLATE_TOKEN.search(r["content"]):
                kinds.add("template token")
            if r["content"] and echoes(r["content"], replay["question"]):
                kinds.add("echo")
            if r["content"] and not r["tool_calls"]:
                kinds.add("text")
    assert len(REPLAYS) >= 8
    # (the chat-template token the issue saw once was not produced in these runs: tests/test_llm_guard.py has it)
    assert {"conflicting input", "text", "echo"} <= kinds, kinds


@pytest.mark.parametrize("path", REPLAYS, ids=lambda p: p.stem)
def test_a_real_models_replies_end_as_the_rules_say(path):
    replay = load(path)
    rules = ask(replay["question"], str(uuid.uuid4()), store=SessionStore())
    a = ask(replay["question"], str(uuid.uuid4()), store=SessionStore(), llm=replayed(replay))
    assert a.status == rules.status, (a.status, a.answer[:200])
    assert a.planner.startswith(replay["model"])
    for call in a.tool_calls:
        assert not contradicted(call, replay["expected_facts"]), (call.tool, call.input)
    assert not TEMPLATE_TOKEN.search(a.answer), a.answer
    assert not echoes(a.answer, replay["question"]), a.answer
    if a.status in ("needs_info", "out_of_scope"):
        assert a.answer == rules.answer  # the rules' question or scope line, whatever the model wrote
    if a.planner.endswith("(replaced)"):  # replaced, and the note says why
        assert any(n.startswith("LLM answer replaced") for n in a.guard_notes), a.guard_notes
    elif a.status != "error":  # kept: grounded, and only in calls that agree with the question
        assert not [n for n in a.guard_notes if not n.startswith(("model's", "LLM answer"))], a.guard_notes

"""The LLM planner with the deterministic reading as referee (issue 22), with a scripted chat model.

What a real server needs (tool_choice said aloud, "" for the content of a tool-call turn, limits from
the settings), what the guard does with a model's inputs (a conflicting call is not run; the model is
told once) and its text (status from the rules; no echo, no template tokens, nothing resting on no
tool result), and what the audit log keeps of the model's own calls.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from pydantic import Field, ValidationError

from assistant import audit
from assistant.agent import ask
from assistant.errors import InputError
from assistant.planners import llm as llm_agent
from assistant.planners.llm_client import load_chat_model
from assistant.planners.messages import ASK_WEIGHT, SCOPE
from assistant.session import SessionStore
from assistant.settings import get_settings
from fake_chat import FakeChat, tool_call
from private_data import _one_torch_thread, sqlite_dir  # noqa: F401 - fixtures

LB_Q = "Patient weighs 154 lb, HER2+ metastatic breast cancer. What is the Kadcyla dose?"
LB_ARGS = {"weight": 154, "weight_unit": "lb", "indication": "mbc"}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    for name in ("ASSISTANT_LLM", "ASSISTANT_LLM_BASE_URL", "ASSISTANT_LLM_MAX_TOKENS", "ASSISTANT_LLM_TIMEOUT",
                 "ASSISTANT_LLM_RETRIES"):
        monkeypatch.delenv(name, raising=False)


class ChoiceChat(FakeChat):
    """FakeChat that records the tool_choice each request was sent with."""

    choices: list[Any] = Field(default_factory=list)

    def bind_tools(self, tools: list[Any], **kwargs: Any):
        self.bound_tools = list(tools)
        return self.bind(tool_choice=kwargs.get("tool_choice"))

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.choices.append(kwargs.get("tool_choice"))
        return super()._generate(messages, stop, run_manager, **kwargs)


def run(question: str, *replies: AIMessage, session: str | None = None):
    model = ChoiceChat().enqueue(list(replies))
    return ask(question, session or str(uuid.uuid4()), store=SessionStore(), llm=model), model


def rules(question: str):
    return ask(question, str(uuid.uuid4()), store=SessionStore())


# ------------------------------------------------------------------------------- a real server's needs
def test_tool_choice_names_the_route_tool_first_then_auto():
    dose = rules(LB_Q).tool_calls[0].output["dose_mg"]["value"]
    a, model = run(LB_Q, tool_call("calculate_dose", LB_ARGS), AIMessage(content=f"The dose is {dose:g} mg [1]."))
    assert model.choices == ["calculate_dose", "auto"]
    assert a.llm_run["kept"] is True and a.planner == "fake-chat"


def test_a_refused_call_is_retried_once_with_the_tool_named_again():
    _, model = run(LB_Q, tool_call("calculate_dose", {**LB_ARGS, "weight_unit": "kg"}), tool_call("calculate_dose", LB_ARGS),
                   AIMessage(content="See the dose [1]."))
    assert model.choices == ["calculate_dose", "calculate_dose", "auto"]


def test_a_route_without_a_tool_sends_auto():
    _, model = run("What is a good recipe for lasagna?", AIMessage(content="Layer pasta and sauce."))
    assert model.choices == ["auto"]


def test_a_tool_call_turn_is_sent_with_empty_content_not_null(monkeypatch):
    """llama.cpp's server answers content: null beside tool_calls with HTTP 500."""
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    model = load_chat_model("openai:gemma-3-270m", "http://127.0.0.1:9/v1")
    turn = [AIMessage(content="", tool_calls=[{"name": "calculate_dose", "args": LB_ARGS, "id": "c1"}]),
            ToolMessage(content="{}", tool_call_id="c1")]
    payload = model._get_request_payload(turn)
    assert payload["messages"][0]["content"] == "" and payload["messages"][0]["tool_calls"]
    # llama.cpp reads max_tokens and ignores max_completion_tokens, which langchain sends
    assert payload["max_tokens"] == 512 and "max_completion_tokens" not in payload


def test_limits_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    model = load_chat_model("openai:m", "http://127.0.0.1:9/v1")
    assert (model.max_tokens, model.request_timeout, model.max_retries) == (512, 60.0, 1)
    monkeypatch.setenv("ASSISTANT_LLM_MAX_TOKENS", "256")
    monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT", "12.5")
    monkeypatch.setenv("ASSISTANT_LLM_RETRIES", "0")
    model = load_chat_model("openai:m", "http://127.0.0.1:9/v1")
    assert (model.max_tokens, model.request_timeout, model.max_retries) == (256, 12.5, 0)


def test_a_missing_api_key_is_one_line(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="OPENAI_API_KEY is not set: an on-premise server ignores it"):
        load_chat_model("openai:m", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(("name", "value"), [("ASSISTANT_LLM_RETRIES", "2"), ("ASSISTANT_LLM_TIMEOUT", "0"),
                                             ("ASSISTANT_LLM_MAX_TOKENS", "lots")])
def test_limits_out_of_range_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        get_settings()


class Refused(Exception):
    """What openai raises for an HTTP 500."""


class FailingChat(ChoiceChat):
    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise Refused("Error code: 500 - {'error': 'Internal Server Error'}")


def test_an_endpoint_error_is_one_line_with_the_model_as_planner(monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    a = ask(LB_Q, str(uuid.uuid4()), store=SessionStore(), llm=FailingChat())
    assert a.status == "error" and a.planner == "fake-chat" and a.intent == "dose"
    assert a.answer.startswith("The LLM endpoint (fake-chat) at http://127.0.0.1:9/v1 returned an error (Refused: ")
    assert "\n" not in a.answer and a.tool_calls == []


# ------------------------------------------------------------------------------- tool inputs
def test_a_conflicting_call_is_not_run_and_the_model_is_told_once():
    dose = rules(LB_Q).tool_calls[0].output["dose_mg"]["value"]
    a, model = run(LB_Q, tool_call("calculate_dose", {**LB_ARGS, "weight_unit": "kg"}, call_id="a"),
                   tool_call("calculate_dose", LB_ARGS, call_id="b"), AIMessage(content=f"The dose is {dose:g} mg [1]."))
    told = json.loads(model.seen[1][-1].content)["error"]
    assert "weight_unit: the conversation says 'lb'" in told and "Call again with the stated facts" in told
    assert [c.input for c in a.tool_calls] == [LB_ARGS]  # only the corrected call ran
    assert [(c["accepted"], c["input"]["weight_unit"]) for c in a.llm_run["calls"]] == [(False, "kg"), (True, "lb")]
    assert a.llm_run["kept"] is True and a.answer == f"The dose is {dose:g} mg [1]."
    assert any(n.startswith("model's calculate_dose call not run: weight_unit") for n in a.guard_notes)


def test_a_second_conflict_ends_the_turn_with_the_rules_answer():
    wrong = tool_call("calculate_dose", {**LB_ARGS, "weight_unit": "kg"})
    a, model = run(LB_Q, wrong, wrong, AIMessage(content="Dose: 554.4 mg"))
    assert len(model.seen) == 2  # the third reply is never asked for
    assert a.planner == "fake-chat (replaced)" and "554.4" not in a.answer
    assert [c.input["weight_unit"] for c in a.tool_calls] == ["lb"]  # the rules' own call: the fact wins
    assert sum(n.startswith("model's calculate_dose call not run") for n in a.guard_notes) == 2


# ------------------------------------------------------------------------------- status and text
def test_needs_info_stays_needs_info_whatever_the_model_writes():
    q = "What dose of Kadcyla should my HER2+ metastatic breast cancer patient get?"
    a, _ = run(q, AIMessage(content="The recommended dose of Kadcyla is in the label."))
    assert a.status == "needs_info" and ASK_WEIGHT in a.answer
    assert any("deterministic reading of this turn is needs_info" in n for n in a.guard_notes)


def test_out_of_scope_stays_out_of_scope():
    a, _ = run("What is a good recipe for lasagna?", AIMessage(content="Layer pasta, ragu and bechamel."))
    assert (a.status, a.answer, a.intent) == ("out_of_scope", SCOPE, "out_of_scope")


def test_text_with_no_tool_and_no_citation_is_replaced():
    a, _ = run("How should Kadcyla vials be stored before reconstitution?", AIMessage(content="Keep them cold."))
    assert a.planner == "fake-chat (replaced)" and a.answer != "Keep them cold."
    assert any("rests on no result of this route's tool (search_corpus) and cites no quote" in n for n in a.guard_notes)


def test_a_figure_must_also_be_the_deterministic_one():
    """Grounded in the model's own (accepted) call is not enough: the rules' result must hold it too."""
    a, _ = run("70 kg HER2+ mBC, Kadcyla dose?", tool_call("calculate_dose", {"weight": 70, "weight_unit": "kg",
                                                                             "indication": "mbc"}),
               AIMessage(content="The dose is 252 mg; it comes as 100 mg and 160 mg vials [1]."))
    assert a.llm_run["kept"] is True  # every figure is in both results
    b, _ = run("70 kg HER2+ mBC, Kadcyla dose?",
               tool_call("search_corpus", {"query": "left ventricular ejection fraction LVEF below 40% withhold", "k": 3}),
               AIMessage(content="Assess LVEF every 3 months [2]."))
    assert b.guard_notes and not b.llm_run["kept"], b.answer  # quoted, but not a figure of the dose answer
    assert "'3 months' matches no tool figure or cited quote with that unit of the deterministic answer" in \
        b.llm_run["replaced_because"]


# ------------------------------------------------------------------------------- audit
def test_the_audit_log_keeps_the_models_own_calls(sqlite_dir, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    wrong = tool_call("calculate_dose", {**LB_ARGS, "weight_unit": "kg"})
    a, _ = run(LB_Q, wrong, wrong)
    entry = audit.get_entry(a.id)
    assert entry.planner == "fake-chat (replaced)"
    run_ = entry.llm_run
    assert (run_["model"], run_["kept"]) == ("fake-chat", False)
    assert [(c["input"]["weight"], c["input"]["weight_unit"], c["accepted"]) for c in run_["calls"]] == [
        (154, "kg", False), (154, "kg", False)]
    assert "weight_unit: the conversation says 'lb'" in run_["calls"][0]["reason"]
    assert run_["replaced_because"] == "the model gave no answer"
    assert [c["input"]["weight_unit"] for c in entry.tool_calls] == ["lb"]  # the replacement's call

"""The LLM guard's rules, row by row: tool inputs against the conversation's facts, and the model's text.

Each rule has its boundary on both sides: the stated value passes and a different one does not; a
default the model leaves alone passes, a default that contradicts a stated fact does not; an
argument the conversation never stated is refused unless it is the tool's own default.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.extract import read_facts
from assistant.planners.llm_guard import conflicts, echoes, text_problems
from assistant.toolbox import specs


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")


def request(tool: str):
    return specs()[tool].request


LB = "Patient weighs 154 lb, HER2+ metastatic breast cancer. What is the Kadcyla dose?"
BARE = "What's the Kadcyla dose for a patient weighing 154 with HER2+ mBC?"
ADJUVANT = "Adjuvant Kadcyla for residual invasive disease after neoadjuvant therapy, 68 kg. Dose per cycle?"
FULL = "70 kg HER2+ mBC, cycle 3 at 3 mg/kg, date of service 2026-06-03"
POLICY = "Centene commercial, HER2+ metastatic breast cancer, prior trastuzumab. Is Kadcyla covered?"

ROWS = [
    # question, tool, args, the conflicting fields (empty: the call runs)
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc"}, []),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "kg", "indication": "mbc"}, ["weight_unit"]),  # the 154 kg
    (LB, "calculate_dose", {"weight": 70, "weight_unit": "kg", "indication": "mbc"}, ["weight", "weight_unit"]),
    (LB, "calculate_dose", {"weight": 154.0, "weight_unit": "LB", "indication": "mbc"}, []),  # spelling is not a conflict
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "ebc"}, ["indication"]),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "mg_per_kg": 3.6}, []),  # the default
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "mg_per_kg": 3.0}, ["mg_per_kg"]),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "cycle": 1}, []),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "cycle": 2}, ["cycle"]),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "date_of_service": "2026-06-01"},
     ["date_of_service"]),  # a date the question never gave
    (BARE, "calculate_dose", {"weight": 154, "weight_unit": "kg", "indication": "mbc"}, ["weight_unit"]),  # kg invented
    (BARE, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc"}, ["weight_unit"]),  # so is lb
    (ADJUVANT, "calculate_dose", {"weight": 68, "weight_unit": "kg", "indication": "ebc"}, []),
    (ADJUVANT, "calculate_dose", {"weight": 68, "weight_unit": "kg", "indication": "mbc"}, ["indication"]),  # mbc for adjuvant
    (FULL, "calculate_dose", {"weight": 70, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 3, "cycle": 3,
                              "date_of_service": "2026-06-03"}, []),
    (FULL, "calculate_dose", {"weight": 70, "weight_unit": "kg", "indication": "mbc"},
     ["mg_per_kg", "cycle", "date_of_service"]),  # stated facts left at the tool's defaults
    (FULL, "calculate_dose", {"weight": 70, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 3, "cycle": 3,
                              "date_of_service": "2026-06-04"}, ["date_of_service"]),
    (POLICY, "check_policy", {"payer": "centene", "line_of_business": "commercial", "diagnosis": "mbc"}, []),
    (POLICY, "check_policy", {"payer": "oscar", "line_of_business": "commercial", "diagnosis": "mbc"}, ["payer"]),
    (POLICY, "check_policy", {"payer": "centene", "line_of_business": "medicaid", "diagnosis": "mbc"}, ["line_of_business"]),
    (POLICY, "check_policy", {"payer": "centene", "line_of_business": "commercial", "diagnosis": "ebc_residual"},
     ["diagnosis"]),
    (ADJUVANT, "check_policy", {"payer": "centene", "diagnosis": "ebc_residual"}, ["payer"]),  # no payer was named
    (LB, "search_corpus", {"query": "dose 154 kg"}, []),  # a search has no patient inputs
    (LB, "calculate_dose", {"weight": "heavy", "weight_unit": "lb", "indication": "mbc"}, ["weight"]),  # invalid and not 154
    # what gemma-3-270m sent: an invalid call (a 2018 date the tool refuses) is still judged field by field
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "kg", "indication": "mbc", "date_of_service": "2018-06-30",
                            "dose_reduced": None}, ["weight_unit", "date_of_service"]),
    (LB, "calculate_dose", {"weight": 154, "weight_unit": "lb", "indication": "mbc", "date_of_service": None}, []),
]


@pytest.mark.parametrize(("question", "tool", "args", "fields"), ROWS)
def test_tool_inputs_against_the_facts(question, tool, args, fields):
    found = conflicts(request(tool), args, read_facts(question).facts)
    assert [f.split(":")[0] for f in found] == fields, found


def test_a_conflict_says_what_the_conversation_says():
    (why,) = conflicts(request("calculate_dose"), {"weight": 154, "weight_unit": "kg", "indication": "mbc"},
                       read_facts(LB).facts)
    assert why == "weight_unit: the conversation says 'lb' (“lb”); the call passed 'kg'"
    (why,) = conflicts(request("calculate_dose"), {"weight": 154, "weight_unit": "kg", "indication": "mbc"},
                       read_facts(BARE).facts)
    assert why == "weight_unit: the call passed 'kg', which the conversation does not state"


@pytest.mark.parametrize(("text", "problem"), [
    ("<|im_start|>user", "chat-template token '<|im_start|>'"),
    ("The dose is in the tool result.<|im_end|>", "chat-template token '<|im_end|>'"),
    ("<start_of_turn>model", "chat-template token '<start_of_turn>'"),
    ("[INST] dose [/INST]", "chat-template token '[INST]'"),
    ("Dose: see [1].", None),
    ("Use a <5 micron filter", None),  # an angle bracket that is no template token
])
def test_template_tokens(text, problem):
    found = text_problems(text, "What filter is needed?")
    assert (problem in found[0]) if problem else not found, found


Q = "What dose of Kadcyla should my HER2+ metastatic breast cancer patient get?"


@pytest.mark.parametrize(("text", "echo"), [
    (Q, True),
    ("What dose of Kadcyla should my HER2+ metastatic breast cancer patient get", True),
    ("Kadcyla dose for your HER2+ metastatic breast cancer patient?", True),
    ("What is the patient's weight, in kg or lb? The dose depends on it.", False),
    ("Dose: 252 mg (3.6 mg/kg x 70 kg) [1].", False),
    ("", False),
])
def test_echo_of_the_question(text, echo):
    assert echoes(text, Q) is echo


@given(st.text(min_size=1, max_size=200), st.integers(min_value=1, max_value=3))
def test_the_question_said_back_is_an_echo(question, times):
    if any(c.isascii() and c.isalnum() for c in question):
        assert echoes(" ".join([question] * times), question)

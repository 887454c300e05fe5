"""The bottom line every answer opens with: real questions through assistant.agent.ask (offline planner),
one row per answer kind, and the rule that every figure in the line is a tool result's."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.agent import ask
from assistant.bottom_line import bottom_line, number, round_display
from assistant.models import Answer
from assistant.session import Session

MET_CENTENE = ("Centene commercial, 58 yo, HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and taxane, "
               "prescribed by an oncologist, initial request, single agent, 3.6 mg/kg every 21 days. Meets criteria?")
ROWS = [
    ("70 kg, metastatic — dose, vials, waste?", "252 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 252 / JW 8 · 12.6 mL in 250 mL NS"),
    ("154 lb metastatic, dose?", "251.4 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 251 / JW 9 · 12.57 mL in 250 mL NS"),
    ("85 kg adjuvant, cycle 2 — dose?", "306 mg · 2 × 160 mg · J9354-JZ 306 / JW 14 · 15.3 mL in 250 mL NS"),
    ("70 kg metastatic, 3 mg/kg dose reduction", "210 mg (3 mg/kg) · 1 × 100 mg + 1 × 160 mg · J9354-JZ 210 / JW 50 · 10.5 mL in 250 mL NS"),
    ("Kadcyla dose for 72 kg", "259.2 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 259 / JW 1 · 12.96 mL in 250 mL NS"),
    ("Is J9358 the same as Kadcyla?", "Bill J9354; J9358 is Enhertu"),
    ("Is J9354 Kadcyla?", "Bill J9354: it is Kadcyla"),
    (MET_CENTENE, "Meets Centene CP.PHAR.229 I.A · 6 months or to renewal"),
    ("Centene Medicaid, 58 yo, HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and taxane, prescribed by an "
     "oncologist, initial request, single agent, 3.6 mg/kg every 21 days. Meets criteria?", "Meets Centene CP.PHAR.229 I.A · 12 months"),
    ("Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, meet Centene criteria "
     "for Kadcyla?", "Not settled for Centene CP.PHAR.229: I.A, II.A open"),
    ("Centene: 50 yo HER2 IHC 1+ metastatic breast cancer, oncologist, initial, single agent — meets?",
     "Does not meet Centene CP.PHAR.229: I.A.1 not met"),
    ("Centene, 58 yo, HER2 IHC 1+ metastatic breast cancer, prior trastuzumab and a taxane: meets criteria?",
     "Not settled for Centene CP.PHAR.229: I.A not met (I.A.1); II.A open"),
    ("Oscar commercial: 60 yo HER2 IHC 3+ mbc prior trastuzumab and taxane, Kadcyla covered?", "Meets Oscar CG101 Table 1"),
    ("Claim: J9354 x 252 units JZ and 8 units JW for a 70 kg patient, correct?", "Claim: wrong · 4 to fix · 3 to check"),
    ("What is the Medicare payment limit for J9354 in 2026Q2?", "J9354 $42.198 per unit (ASP + 6%) · Q2 2026"),
    ("What's the dose?", "Needed: weight (kg or lb); indication (mBC or EBC)"),
    ("What is the capital of France?", "I answer questions about Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) only"),
    ("70 kg metastatic, 4 mg/kg — dose?", "4 mg/kg is above the label maximum of 3.6 mg/kg"),
]


@pytest.fixture(scope="module")
def answers() -> dict[str, Answer]:
    return {q: ask(q, Session(id=f"bottom-line-{n}")) for n, (q, _) in enumerate(ROWS)}


@pytest.mark.parametrize("question, line", ROWS, ids=[q[:40] for q, _ in ROWS])
def test_bottom_line_of_each_answer_kind(answers, question, line):
    got = bottom_line(answers[question])
    assert got.startswith(line), got
    assert "\n" not in got


def _tool_numbers(answer: Answer) -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            found.update({number(node), number(node, "mL"), number(node, "mg"), number(node, "kg")})
        elif isinstance(node, str):
            found.update(re.findall(r"\d+(?:\.\d+)?", node))

    walk([c.output for c in answer.tool_calls])
    return found


@pytest.mark.parametrize("question", [q for q, _ in ROWS if not q.startswith(("What's", "What is the capital", "70 kg metastatic, 4"))])
def test_every_figure_in_the_line_is_a_tool_result(answers, question):
    answer = answers[question]
    figures = re.findall(r"\d+(?:\.\d+)?", bottom_line(answer).replace("J9354", "").replace("J9358", ""))
    known = _tool_numbers(answer)
    assert all(f in known for f in figures), (figures, bottom_line(answer))


def test_the_question_back_says_what_is_missing_once(answers):
    answer = answers["What's the dose?"]
    line = bottom_line(answer)
    for item in answer.missing:
        assert line.count(item) == 1


@pytest.mark.parametrize("text, shown", [
    ("69.85322498 kg × 3.6 mg/kg = 251.471609928 mg → 251.4 mg", "≈69.85 kg × 3.6 mg/kg = ≈251.47 mg → 251.4 mg"),
    ("154 lb × 0.45359237 kg/lb = 69.85322498 kg", "154 lb × 0.45359237 kg/lb = ≈69.85 kg"),
    ("12.96 mL", "12.96 mL"), ("252 mg", "252 mg"), ("3.6 mg/kg", "3.6 mg/kg"), ("12.345 mL", "≈12.35 mL"),
])
def test_round_display(text, shown):
    assert round_display(text) == shown


@pytest.mark.parametrize("value, unit, shown", [
    (69.85322498, "kg", "69.85"), (70.0, "kg", "70"), (251.44, "mg", "251.4"), (251.46, "mg", "251.5"),
    (12.6, "mL", "12.6"), (12.955, "mL", "12.96"), (8, "units", "8"), (42.198, "", "42.198"),
])
def test_number_rounds_by_unit(value, unit, shown):
    assert number(value, unit) == shown


@given(st.floats(min_value=0.01, max_value=1000, allow_nan=False))
def test_display_rounding_is_within_half_a_step(value):
    for unit, places in (("kg", 2), ("mg", 1), ("mL", 2)):
        assert abs(float(number(value, unit)) - value) <= 0.5 * 10 ** -places + 1e-9

"""The grounding guard on real answers: untouched they pass; one planted number or quote fails."""

from __future__ import annotations

import uuid

import pytest

from assistant.agent import ask
from assistant.guard import grounding
from assistant.models import Answer
from assistant.session import SessionStore


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    monkeypatch.delenv("ASSISTANT_LLM", raising=False)


def real(question: str) -> Answer:
    a = ask(question, str(uuid.uuid4()), store=SessionStore())
    assert a.status == "answered", a.answer
    return a


@pytest.fixture(scope="module")
def dose() -> Answer:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSISTANT_TODAY", "2026-05-01")
        mp.delenv("ASSISTANT_LLM", raising=False)
        return ask("pt 70kg mBC, dose?", str(uuid.uuid4()), store=SessionStore())


def planted(a: Answer, old: str, new: str) -> Answer:
    assert old in a.answer, f"{old!r} is not in the answer"
    return a.model_copy(update={"answer": a.answer.replace(old, new, 1)}, deep=True)


def test_untouched_dose_answer_passes(dose):
    assert "252 mg" in dose.answer
    assert grounding(dose) == []


@pytest.mark.parametrize(
    "question",
    ["85 kg EBC dose", "wt 154 lb mBC how many vials", "Is J9354 Enhertu?", "What is the J-code for Kadcyla?",
     "Can Kadcyla be diluted in dextrose?", "What CPT codes are billed for the administration?",
     "Does Centene cover Kadcyla for a 55 yo with HER2+ metastatic breast cancer IHC 3+?"],
)
def test_untouched_answers_pass(question):
    a = real(question)
    assert a.guard_notes == []
    assert grounding(a, extra_sources=[question]) == []


def test_planted_wrong_dose_is_caught(dose):
    problems = grounding(planted(dose, "252 mg", "262 mg"))
    assert problems and all("'262" in p for p in problems)


@pytest.mark.parametrize(
    ("old", "new", "token"),
    [
        ("50242-0087-01", "50242-0087-02", "50242-0087-02"),
        ("$10,971.48", "$10,971.84", "$10,971.84"),
        ("over 90 min", "over 45 min", "45"),
        ("12.6 mL", "16.2 mL", "16.2"),
        ("(J9354)", "(J9358)", "J9358"),
    ],
)
def test_planted_wrong_figure_or_code_is_caught(dose, old, new, token):
    problems = grounding(planted(dose, old, new))
    assert any(f"'{token}'" in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new"),
    [("Dose: 252 mg", "Dose: 250 mg"), ("J9354 × 8 units with JW", "J9354 × 9 units with JW")],
    ids=["250 mg (the result has 250 mL)", "9 JW units (the result has other 9s)"],
)
def test_planted_number_equal_to_another_figure_is_caught(dose, old, new):
    """A wrong dose or unit count must not pass because the same number means something else elsewhere."""
    assert grounding(planted(dose, old, new)) != []


def test_citation_markers_are_not_figures(dose):
    assert "[9]" in dose.answer
    assert grounding(dose.model_copy(update={"answer": dose.answer + " [42]"})) == []


def test_planted_fake_quote_is_caught(dose):
    bad = dose.model_copy(deep=True)
    bad.citations[0].quote = bad.citations[0].quote.replace("3.6 mg/kg", "4.6 mg/kg")
    problems = grounding(bad)
    assert any(p.startswith("citation [1] quote is not in adc-monograph-kadcyla") for p in problems), problems


def test_quote_cited_to_the_wrong_document_is_caught(dose):
    bad = dose.model_copy(deep=True)
    bad.citations[0].doc_id = "centene-cp-phar-229"
    assert any("citation [1]" in p for p in grounding(bad))


def test_one_changed_letter_in_a_quote_is_caught(dose):
    bad = dose.model_copy(deep=True)
    quote = bad.citations[-1].quote
    bad.citations[-1].quote = quote[:10] + ("X" if quote[10] != "X" else "Y") + quote[11:]
    assert any(f"citation [{bad.citations[-1].marker}]" in p for p in grounding(bad))


def test_a_number_only_in_the_question_needs_the_question_as_source():
    a = ask("weight 70 mBC dose?", str(uuid.uuid4()), store=SessionStore())
    assert a.status == "needs_info" and "70" in a.answer
    assert grounding(a) != []
    assert grounding(a, extra_sources=["weight 70 mBC dose?"]) == []

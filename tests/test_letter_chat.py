"""'Write the PA letter' in the chat: the letter from the conversation's facts, payer-facing only;
withheld with reasons when a criterion fails; the facts it needs asked for when unknown."""

from __future__ import annotations

import pytest

from assistant.agent import ask
from assistant.session import Session

MET = ("Jane Q Doe MRN 4471823 DOB 03/14/1968. Centene commercial, HER2+ mbc IHC 3+, age 54, prior trastuzumab and "
       "taxane, 70 kg, initial request, oncologist, single agent, 3.6 mg/kg q21 days")


@pytest.fixture(scope="module")
def met_letter():
    session = Session()
    ask(MET, session)
    return ask("write the PA letter", session)


def test_the_letter_for_a_met_case(met_letter):
    a = met_letter
    assert (a.status, a.route, a.intent) == ("answered", "letter", "letter")
    assert "3.6 mg/kg = 252 mg IV every 21 days" in a.answer
    assert "6 months or to the member's renewal date" in a.answer
    assert {c.tool for c in a.tool_calls} == {"check_policy", "calculate_dose"}
    assert not a.guard_notes, a.guard_notes


@pytest.mark.parametrize("word", ["NOT met", "Not medical advice", "Jane", "Doe", "4471823", "1968", "single_agent",
                                  "assistant ", "Source text"])
def test_the_letter_holds_nothing_it_must_not(met_letter, word):
    assert word not in met_letter.answer


def test_references_are_the_chat_citations(met_letter):
    # footnote [1] of the letter is citation [1] of the answer
    assert met_letter.citations[0].doc_id.startswith("centene")


def test_an_unmet_criterion_withholds_the_letter():
    session = Session()
    ask("Centene commercial, HER2+ mbc IHC 3+, age 60, no prior trastuzumab, taxane given, 70 kg, initial, "
        "oncologist, single agent, 3.6 mg/kg every 21 days", session)
    a = ask("draft the LMN", session)
    assert a.route == "letter"
    assert a.answer.startswith("The letter is withheld")
    assert "Dear Reviewer" not in a.answer and "trastuzumab" in a.answer


def test_missing_payer_is_asked_and_the_reply_writes_the_letter():
    session = Session()
    a = ask("write the PA letter", session)
    assert a.status == "needs_info" and set(a.missing) >= {"payer", "diagnosis"}
    again = ask("centene, her2+ mbc", session)
    assert again.intent == "letter", again.route


def test_unknown_criteria_are_asked_for():
    session = Session()
    ask("Centene commercial, HER2+ mbc IHC 3+, prior trastuzumab and taxane, 70 kg, initial, oncologist, single agent",
        session)
    a = ask("letter pls", session)
    assert a.status == "needs_info"
    assert "Dear Reviewer" not in a.answer
    assert any("age" in m.lower() for m in a.missing)


def test_the_letter_is_never_written_by_a_chat_model():
    class Boom:  # any use of the model fails the test
        def bind_tools(self, *a, **k):
            raise AssertionError("the model was asked to write the letter")

    session = Session()
    ask(MET, session)
    a = ask("write the PA letter", session, llm=Boom())
    assert a.route == "letter" and "Dear Reviewer" in a.answer


def test_each_footnote_number_is_its_citation_marker(met_letter):
    import re

    refs = met_letter.answer.split("\nReferences\n", 1)[1]
    for n, line in re.findall(r"^(\d+)\. (.+)$", refs, re.M):
        cited = met_letter.citations[int(n) - 1]
        assert cited.marker == int(n) and cited.doc_title.split(" —")[0][:20] in line, (n, line)

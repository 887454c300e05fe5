"""Items 5 and 6 of issue 16, called directly (the agent's routes call the same functions): payers we hold no
policy for are answered from CareCost's payer snapshot with its caveat and never a verdict; toxicity and
dose-modification questions are answered from the documents, with the label's tables named as absent."""

from __future__ import annotations

import re

import pytest

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents import answer_dose_modification, answer_other_payer
from assistant.guard import grounding
from assistant.models import Answer

CAVEAT = "No policy document of that payer is held; this is CareCost's summary dated May 2026"


def _grounded(text: str, cites: Citations) -> list[str]:
    dates = [get_corpus().doc(c.doc_id).meta.date or "" for c in cites.items]
    return grounding(Answer(question="q", status="answered", answer=text, citations=cites.items), extra_sources=dates)


@pytest.mark.parametrize(("payer", "lead"), [
    ("unitedhealthcare", "Optum-managed program steers Kadcyla out of HOPD"),
    ("UHC", "UnitedHealthcare"),
    ("aetna", "CPB 0244"),
    ("bcbs", "BCBS plans"),
    ("medicare", "Generally no PA under Original Medicare"),
    ("medicaid", "Medicaid (state-by-state) Yes (most states)"),
])
def test_snapshot_payers_get_their_row_and_the_caveat(payer, lead):
    cites = Citations()
    reply = answer_other_payer(payer, cites=cites)
    lines = reply.text.split("\n")
    assert lead in lines[0] and re.search(r"\[\d+\]$", lines[0])
    assert CAVEAT in lines[1]
    assert cites.items[0].section == "Payer policy snapshot"
    assert all(get_corpus().is_exact(c.doc_id, c.quote) for c in cites.items)
    assert _grounded(reply.text, cites) == []
    assert reply.status == "answered" and reply.warnings


def test_a_payer_the_snapshot_does_not_name_gets_what_it_says_of_all_payers():
    reply = answer_other_payer("cigna")
    assert "does not name Cigna" in reply.text
    assert "All major payers require HER2 documentation matched to indication." in reply.text
    assert "No policy document of that payer is held" in reply.text


@pytest.mark.parametrize("payer", ["unitedhealthcare", "aetna", "bcbs", "medicare", "medicaid", "humana"])
def test_never_a_verdict(payer):
    text = answer_other_payer(payer).text.lower()
    assert not re.search(r"\b(criteria (are )?met|meets criteria|approved for|is covered)\b", text)


def test_a_found_passage_that_names_the_payer_is_added():
    hit = {"doc_id": "carecost-j9354", "section": "Refresh cadence", "start": 0, "end": 0, "quote": ""}
    text = get_corpus().text("carecost-j9354")
    row = "Payer policies (UHC, Aetna, BCBS) including Enhertu-first step therapy posture"
    start = text.index(row)
    hit.update(start=start, end=text.index("\n", start), quote=text[start:text.index("\n", start)])
    reply = answer_other_payer("aetna", [hit])
    assert "Semi-annual" in reply.text


@pytest.mark.parametrize(("question", "lead"), [
    ("AST 4x ULN on kadcyla what do we do", "Reduce dose, hold, or permanently discontinue"),
    ("bili up 3x, hold kadcyla?", "Reduce dose, hold, or permanently discontinue"),
    ("lvef dropped to 40 hold it", "Withhold or permanently discontinue per LVEF criteria"),
    ("pt had infusion rxn chills", "Slow or interrupt the infusion rate"),
    ("platelets 40k kadcyla reduce", "may require temporary interruption, dose reduction, or treatment discontinuation"),
    ("neuropathy grade 3 on t-dm1", "may require temporary interruption, dose reduction, or treatment discontinuation"),
])
def test_dose_modification_answers_say_what_the_documents_say(question, lead):
    cites = Citations()
    reply = answer_dose_modification(question, cites=cites)
    lines = reply.text.split("\n")
    assert lead in lines[0], reply.text
    assert "Do not re-escalate" in reply.text
    assert "not in the documents I hold" in lines[-1]
    assert not re.search(r"\b\d+(\.\d+)?\s?mg\b", reply.text), "no dose is computed or quoted as one"
    assert _grounded(reply.text, cites) == []


def test_dose_modification_makes_no_tool_call():
    """It is a pure function over the documents: nothing to call the dose calculator with."""
    import assistant.documents.toxicity as tox

    assert "calculate_dose" not in open(tox.__file__, encoding="utf-8").read()

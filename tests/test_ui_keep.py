"""Keep and share: the stored conversation (redacted, 0600 files in a 0700 folder, read back after a
reload), the text and PDF export with audit ids, and what an answer says besides its result
(safety banners, cautions, one plain notice) and what it still needs (choices)."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest

from assistant.agent import ask
from assistant.models import Answer
from assistant.session import Session
from assistant.ui_choices import needed
from assistant.ui_export import conversation_pdf, conversation_text
from assistant.ui_history import History, Turn, redact_tree, stored_turn
from assistant.ui_notes import answer_notes, boxed_warnings, plain_note

NOTE = ("Patient Jane Doe, MRN 12345678, DOB 03/04/1961, member id ABC123456789. 58 yo HER2 IHC 3+ metastatic breast "
        "cancer, prior trastuzumab and a taxane, Centene: meets criteria?")
IDENTIFIERS = ("Jane", "Doe", "12345678", "03/04/1961", "ABC123456789")
POLICY_Q = ("Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, meet Centene "
            "criteria for Kadcyla?")


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


@pytest.fixture(scope="module")
def noted() -> tuple[Answer, Session]:
    session = Session(id="keep-note")
    return ask(NOTE, session), session


# -- the stored conversation ------------------------------------------------------------------------
def test_a_stored_turn_holds_no_identifier_and_keeps_quotes_and_ids(noted):
    answer, _ = noted
    answer = answer.model_copy(update={"id": "f8bf5d5be3b74727"})
    text = json.dumps(stored_turn(Turn(shown=NOTE, answer=answer)))
    assert not [i for i in IDENTIFIERS if i in text]
    assert "f8bf5d5be3b74727" in text  # the audit id is ours, not the patient's
    back = Answer.model_validate(stored_turn(Turn(shown=NOTE, answer=answer))["turn"]["answer"])
    assert [c.quote for c in back.citations] == [c.quote for c in answer.citations]  # corpus quotes unchanged


def test_the_conversation_is_read_back_with_its_facts_and_superseded_marks(tmp_path, noted):
    answer, session = noted
    history = History("0" * 32, root=tmp_path / "ui_history")
    history.append(Turn(shown=NOTE, answer=answer))
    history.append(Turn(shown="what's the dose?", answer=answer))
    history.supersede(0)
    history.save_session(session)
    turns, facts_session = History("0" * 32, root=tmp_path / "ui_history").load()
    assert [t.superseded for t in turns] == [True, False]
    assert turns[0].shown.startswith("Patient [NAME], MRN [MRN], DOB [DOB]")
    assert facts_session.facts.value("age") == 58 and facts_session.id == "0" * 32
    stored = "".join(p.read_text() for p in (tmp_path / "ui_history").iterdir())
    assert not [i for i in IDENTIFIERS if i in stored]
    assert stat.S_IMODE((tmp_path / "ui_history").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "ui_history").iterdir()} == {0o600}
    assert not list((tmp_path / "ui_history").glob("*0000*"))  # the file name is the id's hash


def test_a_damaged_line_is_left_out_not_fatal(tmp_path, noted):
    answer, _ = noted
    history = History("1" * 32, root=tmp_path)
    history.append(Turn(shown="a", answer=answer))
    with history.turns_path.open("a") as f:
        f.write("{not json\n")
    history.append(Turn(shown="b", answer=answer))
    turns, _ = history.load()
    assert [t.shown for t in turns] == ["a", "b"]
    history.clear()
    assert history.load()[0] == []


@pytest.mark.parametrize("tree, kept", [
    ({"quote": "Jane Doe MRN 12345678"}, True), ({"citations": [{"x": "MRN 12345678"}]}, True),
    ({"reason": "MRN 12345678"}, False), ({"input": {"query": "MRN 12345678"}}, False), (["MRN 12345678"], False),
])
def test_redact_tree_keeps_corpus_subtrees_only(tree, kept):
    assert ("12345678" in json.dumps(redact_tree(tree))) is kept


# -- export ---------------------------------------------------------------------------------------
def test_export_text_and_pdf_carry_the_audit_ids_and_no_identifiers(noted):
    answer, _ = noted
    turns = [Turn(shown=NOTE, answer=answer.model_copy(update={"id": "a1b2c3d4e5f60718"}), superseded=True),
             Turn(shown="70 kg: dose?", answer=answer.model_copy(update={"id": "f0e1d2c3b4a59687"}))]
    now = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.timezone.utc)
    text = conversation_text(turns, now)
    assert "audit id a1b2c3d4e5f60718" in text and "audit id f0e1d2c3b4a59687" in text
    assert "superseded by a later answer" in text
    assert "Exported 2026-11-21 09:30 UTC" in text
    assert not [i for i in IDENTIFIERS if i in text]
    assert all(len(line) < 2000 for line in text.splitlines())
    pdf = conversation_pdf(turns, now, compress=False)
    assert pdf.startswith(b"%PDF-") and b"a1b2c3d4e5f60718" in pdf and b"f0e1d2c3b4a59687" in pdf


# -- notes: what is said besides the result --------------------------------------------------------------
STALE = ("Stale price: the date of service 2026-11-21 is outside Q2 2026 (2026-04-01 to 2026-06-30), the newest J9354 "
         "price on file, so the Medicare payment shown may be wrong. Load the CMS ASP pricing file for 2026Q4 with "
         "`assistant prices load FILE`.")
DRAFT = "CareCost Estimate is marked “Pending SME review (treat as a draft reference)”: verify against the cited passage."


@pytest.mark.parametrize("warning, plain", [
    (STALE, "the newest price on file is Q2 2026; load the Q4 2026 CMS ASP file for this date of service"),
    (DRAFT, "CareCost Estimate is a draft reference (pending expert review): check the quoted passage"),
    ("Product/code check: conflicting — confirm before the claim.", None),
    ("weight changed from 70 to 80 kg", None),
])
def test_boilerplate_is_said_in_plain_words(warning, plain):
    assert plain_note(warning) == plain


def test_notes_sort_safety_cautions_warnings_and_one_notice():
    answer = Answer(question="q", status="answered", answer="Dose 252 mg\nWarning: Kadcyla is not trastuzumab. [2] [3]",
                    warnings=[STALE, DRAFT, "Label safety (error): J9358 is Enhertu. [3]", "weight changed from 70 to 80 kg"],
                    safety=[{"rule": "r", "severity": "error", "message": "J9358 is Enhertu.", "marker": "[3]"},
                            {"rule": "w", "severity": "warning", "message": "Check LVEF."}])
    notes = answer_notes(answer)
    assert notes.banners == ["J9358 is Enhertu. [3]"]
    assert notes.cautions == ["Check LVEF.", "Kadcyla is not trastuzumab."]
    assert notes.warnings == ["weight changed from 70 to 80 kg"]
    assert notes.notice.count("Note:") == 1 and "`" not in notes.notice and "CareCost Estimate" in notes.notice


def test_the_boxed_warnings_line_is_an_exact_quote():
    from assistant.corpus import get_corpus

    boxed = boxed_warnings()
    c = boxed.citation
    assert get_corpus().text(c.doc_id)[c.start:c.end] == c.quote
    assert boxed.text == f"Boxed warnings: {c.quote}"
    assert all(w in c.quote for w in ("hepatotoxicity", "left ventricular dysfunction", "embryo-fetal toxicity"))


# -- what is still needed -----------------------------------------------------------------------
def test_an_unsettled_coverage_check_offers_a_button_for_every_fact_with_few_values():
    rows = {r.question: r for r in needed(ask(POLICY_Q, Session(id="keep-needed")))}
    labels = {q: [c.label for c in r.choices] for q, r in rows.items()}
    assert labels["Is this an initial request or a continuation of therapy?"] == ["Initial request", "Continuation"]
    assert labels["Is Kadcyla given as a single agent, with neratinib, or in a combination?"] == [
        "Single agent", "With neratinib", "Combination"]
    assert labels["Requested dose in mg/kg?"] == ["3.6 mg/kg (label dose)"]
    assert labels["Days between doses (e.g. 21)?"] == ["Every 21 days"]
    assert labels["Days the member has been on Kadcyla so far?"] == []  # a number: typed or in the panel
    lob = next(r for q, r in rows.items() if q.startswith("Line of business"))
    assert [c.value for c in lob.choices] == ["medicaid", "him", "ichra", "commercial"]
    assert not any("_" in q for q in rows)  # no enum names shown


def test_a_choice_the_assistant_offered_is_sent_as_the_reply():
    rows = needed(ask("Kadcyla dose for 72 kg", Session(id="keep-reply")))
    assert [(c.label, c.reply, c.fact) for r in rows for c in r.choices] == [
        ("mBC", "mBC", None), ("EBC (adjuvant)", "EBC (adjuvant)", None)]


def test_a_line_of_business_already_known_is_not_asked_again():
    answer = ask("Centene Medicaid, 58 yo, HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and taxane: meets?",
                 Session(id="keep-lob"))
    assert not any(r.question.startswith("Line of business") for r in needed(answer))

"""Document answers that answer: the question-type and answer-selection table (evals/retrieval/answers*.yaml,
written in staff phrasing before the selection was built), complete lists, the right part of the text, no
boilerplate, source-conflict notes only on topic, the stale-price warning, and every number grounded."""

from __future__ import annotations

import re

import pytest

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents import compose_document
from assistant.documents.answer_table import DEV, HOLDOUT, judge, load_rows, section_matches
from assistant.documents.question import ANSWER_TYPES, read_question
from assistant.guard import grounding
from assistant.intent import search_query
from assistant.models import Answer, ToolCall

DEV_ROWS = load_rows(DEV)
HOLDOUT_ROWS = load_rows(HOLDOUT)
DEV_TARGET = 0.80  # measured 94/116 (0.81) when the selection was done
HOLDOUT_TARGET = 0.60  # rows never tuned on; 44/66 (0.667) on their first run, when the selection was done
TYPE_TARGET = 0.95  # measured 112/116


def _answer(question: str, payer: str | None = None) -> tuple[str, Citations, list[dict]]:
    from assistant.retrieval import get_retriever

    search = search_query(question)
    hits = [h.model_dump() for h in get_retriever().search(search, k=8)]
    cites = Citations()
    reply = compose_document(question, hits, cites, payer=payer, search_text=search)
    return reply.text, cites, hits


def _reply(question: str, **kw):
    from assistant.retrieval import get_retriever

    search = search_query(question)
    hits = [h.model_dump() for h in get_retriever().search(search, k=8)]
    cites = Citations()
    return compose_document(question, hits, cites, search_text=search, **kw), cites, hits


# -- the table itself ------------------------------------------------------------------------------
def test_table_is_large_well_formed_and_covers_every_section():
    from assistant.retrieval import all_chunks

    rows = DEV_ROWS + HOLDOUT_ROWS
    assert len(rows) >= 150
    assert len(HOLDOUT_ROWS) >= len(rows) // 3 - 5  # about a third kept back
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids))
    assert all(r.type in ANSWER_TYPES for r in rows)
    assert all("?" not in r.q for r in rows), "typed as staff type: no question mark"
    chunks = all_chunks(get_corpus())
    pairs = {(c.doc_id, c.section) for c in chunks}
    for r in rows:
        for gold in r.golds:
            assert any(section_matches(d, s, gold) for d, s in pairs), f"{r.id}: no section {gold}"
    own = {(d, s) for d, s in pairs if any(section_matches(d, s, r.golds[0]) for r in rows)}
    assert own == pairs, f"sections no row is about: {sorted(pairs - own)}"
    everything = " ".join(" ".join(d.text.split()) for d in get_corpus().docs.values())
    for r in rows:  # every expected text is the documents' own words
        for text in (*r.lead, *r.all):
            assert " ".join(text.split()) in everything, f"{r.id}: {text!r} is not in the corpus"


def test_answer_type_of_the_dev_rows():
    right = [r for r in DEV_ROWS if read_question(r.q).type == r.type]
    assert len(right) / len(DEV_ROWS) >= TYPE_TARGET, [(r.q, r.type, read_question(r.q).type) for r in DEV_ROWS if r not in right]


@pytest.mark.slow
def test_dev_rows_lead_with_the_answer():
    outcomes = []
    for row in DEV_ROWS:
        text, cites, _ = _answer(row.q)
        outcomes.append(judge(row, text, cites.items))
    wrong = [f"{o.row.id}: {o.row.q!r} -> {o.lead_line[:100]!r} cited {o.cited}" for o in outcomes if not o.ok]
    assert 1 - len(wrong) / len(outcomes) >= DEV_TARGET, "\n".join(wrong)


@pytest.mark.slow
def test_holdout_rows_lead_with_the_answer():
    """Rows kept back while the selection was built: how it generalises."""
    outcomes = []
    for row in HOLDOUT_ROWS:
        text, cites, _ = _answer(row.q)
        outcomes.append(judge(row, text, cites.items))
    wrong = [f"{o.row.id}: {o.row.q!r} -> {o.lead_line[:100]!r} cited {o.cited}" for o in outcomes if not o.ok]
    assert 1 - len(wrong) / len(outcomes) >= HOLDOUT_TARGET, "\n".join(wrong)


# -- answer type first: the lead line is the answer ---------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("question", "lead"), [
    ("what year did the FDA first clear T-DM1", "2013"),
    ("evicore fax oncology", "800-540-2406"),
    pytest.param("icd10 brain mets", "C79.31", marks=pytest.mark.xfail(
        reason="near tie: retrieval ranks the claim-form row ('ICD-10 ... mets coding') first", strict=False)),
    ("her2 fish cpt", "88374"),
    ("jz modifier since when", "2023"),
    ("oscar cg101 last reviewed", "01/01/2026"),
])
def test_the_lead_line_holds_an_answer_of_the_asked_type(question, lead):
    text, cites, _ = _answer(question)
    first = text.split("\n")[0]
    assert lead in first, text
    assert re.search(r"\[\d+\]$", first), "the lead line is cited"


# -- the right part of the text ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("question", "says", "not_says"), [
    ("how long is observation after the very first infusion", "90 minutes", "30 minutes"),
    ("first kadcyla infusion how long", "90 minutes", "30 minutes"),
    ("obs time after cycle 3", "30 minutes", "90 minutes"),
])
def test_first_cycle_questions_prefer_first_cycle_text(question, says, not_says):
    text, _, _ = _answer(question)
    first = text.split("\n")[0]
    assert says in first and not_says not in first, text


@pytest.mark.slow
def test_a_table_row_is_shown_with_its_column_names_and_cited_exactly():
    text, cites, _ = _answer("pos code for ambulatory infusion suite")
    first = text.split("\n")[0]
    assert "POS: 49" in first, text
    row = next(c for c in cites.items if "49CMS-1500" in c.quote)
    assert get_corpus().is_exact(row.doc_id, row.quote) and row.section == "Site of care"


# -- complete lists ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_centene_initial_criteria_come_from_the_policy_file_one_citation_each():
    from assistant.tools.policy_data import load_policy

    text, cites, _ = _answer("centene pa criteria mbc")
    section = next(s for s in load_policy("centene-cp-phar-229").sections if s.id == "I.A")
    for crit in section.criteria:
        assert any(crit.quote in c.quote for c in cites.items), crit.id
    items = [ln for ln in text.split("\n") if re.match(r"- [1-6]\. ", ln)]
    assert [ln[2] for ln in items] == list("123456")  # in order, each on its own cited line
    assert all(re.search(r"\[\d+\]$", ln) for ln in items)
    assert "12 months" in text and "6 months" in text  # every line of business when none is named


@pytest.mark.slow
def test_a_named_line_of_business_gets_its_own_duration():
    text, _, _ = _answer("centene pa criteria mbc medicaid")
    assert "12 months" in text and "6 months" not in text


@pytest.mark.slow
def test_oscar_exception_criteria_a_to_g():
    text, _, _ = _answer("oscar exception criteria")
    letters = re.findall(r"^\s*- ([a-g])\. ", text, re.M)
    assert letters[:7] == list("abcdefg"), text


@pytest.mark.slow
@pytest.mark.parametrize(("question", "items"), [
    ("kadcyla boxed warnings", ["Hepatotoxicity", "Left ventricular dysfunction", "Embryo-fetal toxicity"]),
    ("kadcyla excipients", ["polysorbate 20", "sodium succinate", "sucrose"]),
    ("katherine pa docs needed", ["surgical pathology", "neoadjuvant regimen", "HER2+ status"]),
    ("list all the common denial reasons", ["HER2 documentation not on file", "Wrong admin code (96365)", "Dose exceeds 3.6 mg/kg"]),
])
def test_lists_are_whole_in_order_with_a_citation_per_item(question, items):
    text, cites, _ = _answer(question)
    positions = [text.find(i) for i in items]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), text
    for item in items:
        line = next(ln for ln in text.split("\n") if item in ln)
        assert re.search(r"\[\d+\]$", line), line


# -- no noise ----------------------------------------------------------------------------------------
_NOISE = ["All rights reserved", "Click on the link", "Try a free Kadcyla estimate", "Run a CareCost Estimate",
          "Our Medical A.I.", "**", "##", "](#)", "\\*"]


@pytest.mark.slow
@pytest.mark.parametrize("question", ["centene policy number", "kadcyla boxed warnings", "full prescribing information",
                                      "dr oracle when to use kadcyla", "copay help for patients", "reconstituted ph",
                                      "centene approval duration commercial"])
def test_boilerplate_and_markdown_are_never_shown(question):
    text, cites, _ = _answer(question)
    assert not [n for n in _NOISE if n in text], text
    assert all(get_corpus().is_exact(c.doc_id, c.quote) for c in cites.items)  # the quotes stay exact


@pytest.mark.slow
def test_boilerplate_is_quoted_when_asked_for():
    text, cites, _ = _answer("centene policy copyright notice")
    lead = cites.items[int(re.findall(r"\[(\d+)\]", text.split("\n")[0])[-1]) - 1]
    line = next(ln for ln in get_corpus().text("centene-cp-phar-229").split("\n") if ln.startswith("©2016"))
    assert lead.quote in line, text


def test_chunks_of_boilerplate_are_marked_non_answer():
    from assistant.retrieval import all_chunks

    marked = {(c.doc_id, c.section): c.non_answer for c in all_chunks(get_corpus()) if c.non_answer}
    assert marked[("carecost-j9354", "Advertisement")] == "marketing"
    assert marked[("droracle-kadcyla-choice", "Professional Medical Disclaimer")] == "legal"
    assert ("centene-cp-phar-229", "Important Reminder") in marked
    text = get_corpus().text("centene-cp-phar-229")
    medicaid = next(c for c in all_chunks(get_corpus()) if c.doc_id == "centene-cp-phar-229" and "For Medicaid members" in c.text)
    assert medicaid.non_answer is None  # "state Medicaid coverage provisions take precedence" answers a question
    assert "©2016" in text


# -- conflict notes only on topic ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("question", "note"), [
    ("POS preferred after cycle 2", False),
    ("oscar preferred her2 drugs", False),
    ("is kadcyla still the preferred second line for mbc", True),
    ("dr oracle when to use kadcyla vs enhertu", True),
])
def test_source_conflict_notes_only_for_questions_about_that_topic(question, note):
    text, _, _ = _answer(question)
    assert ("Sources disagree" in text) is note, text


# -- price questions ---------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("today", "stale"), [("2026-12-01", True), ("2026-05-15", False)])
def test_price_questions_carry_the_stale_quarter_warning(monkeypatch, today, stale):
    from assistant.settings import get_settings

    monkeypatch.setenv("ASSISTANT_TODAY", today)
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    try:
        reply, _, _ = _reply("current ASP for J9354")
        assert "42.198" in reply.text.split("\n")[0]
        assert any(w.startswith("Stale price") for w in reply.warnings) is stale
    finally:
        monkeypatch.delenv("ASSISTANT_TODAY")
        if hasattr(get_settings, "cache_clear"):
            get_settings.cache_clear()


# -- grounded -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_every_number_in_a_document_answer_is_in_a_cited_quote():
    for row in DEV_ROWS[::3]:
        text, cites, hits = _answer(row.q)
        answer = Answer(question=row.q, status="answered", answer=text, citations=cites.items,
                        tool_calls=[ToolCall(tool="search_corpus", input={"query": row.q}, output=hits)])
        dates = [get_corpus().doc(c.doc_id).meta.date or "" for c in cites.items]  # as the turn's guard is given them
        assert grounding(answer, extra_sources=[row.q, *dates]) == [], (row.q, text)

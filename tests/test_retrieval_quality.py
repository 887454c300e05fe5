"""Retrieval quality: the eval questions name real sections, and a handful of them
come back in the top 3. The full figures are in `python bench/retrieval.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.corpus import get_corpus
from assistant.retrieval import all_chunks

QUESTIONS = Path(__file__).resolve().parent.parent / "evals" / "retrieval" / "questions.yaml"
DOC_IDS = {"centene-cp-phar-229", "carecost-j9354", "droracle-kadcyla-choice", "adc-monograph-kadcyla", "oscar-cg101"}

# One or more per document; ids from questions.yaml, where the gold section is written.
TOP3 = [
    "cen-initial-duration-medicaid",
    "cen-neratinib",
    "cen-label-change",
    "cc-asp",
    "cc-96365",
    "cc-ndc-11",
    "cc-jz-date",
    "mono-recon-stability",
    "mono-bag-volume",
    "osc-evicore-fax",
    "osc-exception-docs",
    "dro-atezolizumab",
    "dro-baseline",
]


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]


def golds(question: dict) -> list[tuple[str, str]]:
    return [(question["doc_id"], str(question["section"]))] + [
        (a["doc_id"], str(a["section"])) for a in question.get("also", [])
    ]


def matches(doc_id: str, section: str, gold: tuple[str, str]) -> bool:
    """Same document; the section is the gold one or one of its parts."""
    g_doc, g_section = gold
    return doc_id == g_doc and (
        section == g_section or any(section.startswith(g_section + sep) for sep in (".", " ", ":"))
    )


def unknown_sections(questions: list[dict], chunks) -> list[str]:
    """Every gold (doc_id, section) that no chunk of the chunker's output matches."""
    pairs = {(c.doc_id, c.section) for c in chunks}
    return [
        f"{q.get('id')}: {gold}"
        for q in questions
        for gold in golds(q)
        if not any(matches(d, s, gold) for d, s in pairs)
    ]


def test_every_question_names_a_section_the_chunker_produces():
    questions = load_questions()
    assert unknown_sections(questions, all_chunks(get_corpus())) == []


def test_questions_are_well_formed_and_cover_every_document():
    questions = load_questions()
    assert len(questions) >= 85
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids)), "question ids must be unique"
    texts = [q["q"].strip().lower() for q in questions]
    assert len(texts) == len(set(texts)), "questions must not repeat"
    # a bare '#' in YAML starts a comment and silently truncates a question
    assert all(len(t) >= 15 for t in texts), [t for t in texts if len(t) < 15]
    assert {q["doc_id"] for q in questions} == DOC_IDS
    assert all(set(q) <= {"id", "q", "doc_id", "section", "also"} for q in questions)


def test_unknown_section_is_reported():
    bogus = [{"id": "x", "q": "anything", "doc_id": "oscar-cg101", "section": "Appendix Z"}]
    assert unknown_sections(bogus, all_chunks(get_corpus())) == ["x: ('oscar-cg101', 'Appendix Z')"]


def test_prefix_rule():
    assert matches("c", "I.A.3", ("c", "I.A"))
    assert matches("c", "I.A approval duration", ("c", "I.A"))
    assert matches("c", "Modifiers: JW", ("c", "Modifiers"))
    assert not matches("c", "I.AB", ("c", "I.A"))
    assert not matches("d", "I.A.3", ("c", "I.A"))


@pytest.mark.slow
@pytest.mark.parametrize("qid", TOP3)
def test_question_returns_its_section_in_top_3(qid):
    from assistant.retrieval import get_retriever

    question = next(q for q in load_questions() if q["id"] == qid)
    hits = get_retriever().search(question["q"], k=3)
    got = [(h.doc_id, h.section) for h in hits]
    assert any(matches(d, s, g) for d, s in got for g in golds(question)), f"{question['q']!r} -> {got}"

"""Retrieval quality: the eval questions name real sections; hybrid recall@5 over the
whole question set stays at or above the issue-2 target; a handful of questions come
back in the top 3; fusion and same-section damping behave as documented. The full
figures are in `python bench/retrieval.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.chunking import Chunk
from assistant.corpus import get_corpus
from assistant.retrieval import all_chunks, damp_same_section, fuse

QUESTIONS = Path(__file__).resolve().parent.parent / "evals" / "retrieval" / "questions.yaml"
RECALL_AT_5_TARGET = 0.95  # issue 2
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


def recall_at(k: int, questions: list[dict], search) -> tuple[float, list[str]]:
    """Share of questions with a gold section among the top k, and the ones without."""
    missed = []
    for q in questions:
        got = [(h.doc_id, h.section) for h in search(q["q"], k=k)]
        if not any(matches(d, s, g) for d, s in got for g in golds(q)):
            missed.append(f"{q['id']}: {q['q']!r} -> {got}")
    return 1 - len(missed) / len(questions), missed


@pytest.mark.slow
def test_hybrid_recall_at_5_meets_the_target():
    """The whole question set, on the real index (about 10 s warm)."""
    from assistant.retrieval import get_retriever

    recall, missed = recall_at(5, load_questions(), get_retriever().search)
    assert recall >= RECALL_AT_5_TARGET, f"hybrid recall@5 {recall:.3f}; not in top 5:\n" + "\n".join(missed)


@pytest.mark.parametrize(
    "text, terms",
    [
        ("reconstituted", ["reconstituted", "reconstitut"]),  # the word, then its stem
        ("reconstitution", ["reconstitution", "reconstitut"]),  # so the two meet on the stem
        ("vials stored", ["vials", "stored", "vial", "store"]),
        ("J9354 3.6 mg/kg q3w", ["j9354", "3.6", "mg", "kg", "q3w"]),  # codes and figures have no other stem
        ("the of and", []),
    ],
)
def test_bm25_matches_words_and_their_stems(text, terms):
    from assistant.retrieval import lexical_terms

    assert lexical_terms(text) == terms


@pytest.mark.slow
def test_a_different_form_of_a_rare_word_finds_its_passage():
    """The question says "stored", the label "Store vials in a refrigerator" (without stems: not in the top 5);
    "reconstitution" against "reconstituted" (without stems: Dr.Oracle passages first)."""
    from assistant.retrieval import get_retriever

    def top(question: str, k: int) -> list[tuple[str, str]]:
        return [(h.doc_id, h.section) for h in get_retriever().search(question, k=k, mode="bm25")]

    assert ("adc-monograph-kadcyla", "Logistics") in top("How should unopened Kadcyla vials be stored?", 3)
    assert top("What concentration does Kadcyla have after reconstitution?", 1) == [
        ("adc-monograph-kadcyla", "Preparation for Administration")]


def test_recall_counts_a_question_once_and_only_on_a_gold_section():
    questions = [
        {"id": "a", "q": "one", "doc_id": "d", "section": "I.A"},
        {"id": "b", "q": "two", "doc_id": "d", "section": "II", "also": [{"doc_id": "e", "section": "X"}]},
    ]
    hits = {"one": [("d", "I.A.3"), ("d", "I.A.4")], "two": [("d", "I"), ("e", "X 1")]}

    class Hit:
        def __init__(self, doc_id, section):
            self.doc_id, self.section = doc_id, section

    def search(query, k):
        return [Hit(*h) for h in hits[query][:k]]

    assert recall_at(5, questions, search) == (1.0, [])
    recall, missed = recall_at(1, questions, search)
    assert recall == 0.5 and missed[0].startswith("b:")


@pytest.mark.parametrize(
    "lists, k, best",
    [
        # a chunk both halves rank first beats either half alone
        ([(0.5, ["x", "d"]), (1.0, ["x", "b"])], 10, "x"),
        # BM25 weighs double: its first beats the dense first
        ([(0.5, ["d", "y"]), (1.0, ["b", "z"])], 10, "b"),
        # ... unless the dense first is also BM25's second and BM25's first is absent from dense
        ([(0.5, ["d"]), (1.0, ["b", "d"])], 10, "d"),
        # equal weights and a large k: ties keep the first list's order
        ([(1.0, ["d"]), (1.0, ["b"])], 60, "d"),
    ],
)
def test_fusion_table(lists, k, best):
    ranked = fuse(lists, k=k)
    assert ranked[0][0] == best
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def _chunk(cid: str, section: str) -> Chunk:
    return Chunk(id=cid, doc_id="d", section=section, heading="", start=0, end=1, text="x")


def test_second_chunk_of_a_section_yields_to_another_section():
    by_id = {c.id: c for c in (_chunk("a1", "A"), _chunk("a2", "A"), _chunk("b1", "B"))}
    ranked = damp_same_section([("a1", 1.0), ("a2", 0.9), ("b1", 0.6)], by_id, decay=0.5)
    assert [cid for cid, _ in ranked] == ["a1", "b1", "a2"]
    assert dict(ranked)["a2"] == pytest.approx(0.45)


def test_a_clearly_better_second_chunk_keeps_its_place():
    by_id = {c.id: c for c in (_chunk("a1", "A"), _chunk("a2", "A"), _chunk("b1", "B"))}
    ranked = damp_same_section([("a1", 1.0), ("a2", 0.9), ("b1", 0.4)], by_id, decay=0.5)
    assert [cid for cid, _ in ranked] == ["a1", "a2", "b1"]

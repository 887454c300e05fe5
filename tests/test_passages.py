"""Extractive quoting: sentence boundaries never fall inside a number or a code, and quotes stay exact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.passages import _heading, sentences

SPLITS = [
    ("Dose is 3.6 mg/kg. Infuse over 90 minutes.", ["Dose is 3.6 mg/kg.", "Infuse over 90 minutes."]),
    ("Use a 0.22 micron in-line filter. Do not shake.", ["Use a 0.22 micron in-line filter.", "Do not shake."]),
    ("Code C50.x site-specific code with laterality", ["Code C50.x site-specific code with laterality"]),
    ("Some payers prefer Z51.12 for ADCs. Most accept Z51.11.", ["Some payers prefer Z51.12 for ADCs.", "Most accept Z51.11."]),
    ("First line here\nSecond line here", ["First line here", "Second line here"]),
    ("Is this a question? Yes it is a statement.", ["Yes it is a statement."]),
    ("Short. Also short.", []),  # fragments under 12 characters are not quotes
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_sentence_boundaries(text, expected):
    hit = {"doc_id": "d", "quote": text, "start": 100, "end": 100 + len(text)}
    got = sentences(hit)
    assert [s["quote"] for s in got] == expected
    for s in got:  # offsets point at the same text in the passage
        assert text[s["start"] - 100 : s["end"] - 100] == s["quote"]


@pytest.mark.parametrize(("text", "title"), [
    ("Mechanism of Action", True),
    ("Recommended Dosage, Administration, and Schedules", True),
    ("Hepatotoxicity", True),
    ("Initial U.S. Approval | February 22, 2013 |", False),  # a table row
    ("Phone 855-252-1118", False),  # a figure
    ("Do not shake.", False),  # a sentence, however short
    ("one two three four five six seven eight", True),
    ("one two three four five six seven eight nine", False),  # nine words read as text
])
def test_titles_are_not_quotes_on_their_own(text, title):
    assert _heading(text) is title


@given(st.text(max_size=300))
def test_every_sentence_is_an_exact_substring_at_its_offsets(text):
    hit = {"doc_id": "d", "quote": text, "start": 7, "end": 7 + len(text)}
    for s in sentences(hit):
        assert text[s["start"] - 7 : s["end"] - 7] == s["quote"]
        assert s["quote"] == s["quote"].strip() and s["quote"]


def test_saved_sentence_vectors_are_used_without_embedding_again(tmp_path, monkeypatch):
    """`assistant index` saves the vectors; a later process ranks sentences without calling the model."""
    import numpy as np

    from assistant import embedder, passages
    from assistant.chunking import Chunk
    from assistant.settings import get_settings

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    chunk = Chunk(id="c1", doc_id="d", section="s", heading="h", start=0, end=40,
                  text="Dose is 3.6 mg/kg. Infuse over 90 minutes.")
    calls = []
    monkeypatch.setattr(embedder, "embed", lambda texts: calls.append(list(texts)) or [[1.0, 0.0]] * len(texts))
    texts = passages.candidate_texts([chunk])
    # the passage whole and its two sentences, and the sentences document answers rank
    assert {"Dose is 3.6 mg/kg. Infuse over 90 minutes.", "Dose is 3.6 mg/kg.", "Infuse over 90 minutes."} <= set(texts)
    assert passages.save_vectors([chunk]) == len(texts)
    assert passages.save_vectors([chunk]) == 0  # already saved
    passages._SENTENCE_VECTORS.clear()
    monkeypatch.setattr(embedder, "embed", lambda texts: (_ for _ in ()).throw(AssertionError(f"embedded {texts}")))
    sims = passages._similarities(np.array([1.0, 0.0]), ["Dose is 3.6 mg/kg.", "Infuse over 90 minutes."])
    assert sims == [1.0, 1.0]
    passages._SENTENCE_VECTORS.clear()
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()


def test_a_short_passage_with_a_link_is_quoted_around_it():
    """The safe stretches of a passage that may not be quoted whole: exact substrings, in order, no link."""
    from assistant.corpus import get_corpus
    from assistant.passages import _safe_runs
    from assistant.retrieval import get_retriever
    from assistant.sanitize import unsafe_passage

    chunk = next(c for c in get_retriever().chunks if c.doc_id == "oscar-cg101" and "www.evicore.com" in c.text)
    runs = _safe_runs({"doc_id": chunk.doc_id, "quote": chunk.text, "start": chunk.start, "end": chunk.end})
    text = get_corpus().text("oscar-cg101")
    assert [text[r["start"]:r["end"]] for r in runs] == [r["quote"] for r in runs]
    assert [r["start"] for r in runs] == sorted(r["start"] for r in runs)
    assert runs[0]["quote"].endswith("Oncology EviCore Provider Portal")
    assert runs[1]["quote"].startswith("Phone 855-252-1118")
    assert not any(unsafe_passage(r["quote"]) or "evicore.com" in r["quote"] for r in runs)


@pytest.mark.parametrize(("sentence", "quoted"), [
    # in the middle of a bullet: quoted from the bullet's start, without the bullet sign
    ("Observe at least 30 minutes post-infusion.",
     "Cycles 2+ if cycle 1 tolerated: infuse over 30 minutes. Observe at least 30 minutes post-infusion."),
    # already at the start of its bullet, or not in a list: unchanged
    ("Cycle 1: infuse over 90 minutes.", "Cycle 1: infuse over 90 minutes."),
    ("Initial approval February 22, 2013 (mBC post-Herceptin, BLA 125427).",
     "Initial approval February 22, 2013 (mBC post-Herceptin, BLA 125427)."),
])
def test_a_sentence_inside_a_list_item_keeps_the_item_start(sentence, quoted):
    from assistant.corpus import get_corpus
    from assistant.passages import _from_item_start

    text = get_corpus().text("carecost-j9354")
    start = text.index(sentence)
    got = _from_item_start({"doc_id": "carecost-j9354", "quote": sentence, "start": start, "end": start + len(sentence)})
    assert got["quote"] == quoted
    assert text[got["start"]:got["end"]] == got["quote"]

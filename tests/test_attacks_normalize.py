"""One normal form at every entry point, and offsets that always lead back to the words as typed.

The question and a pasted note go through assistant.sanitize.quarantine (the normal form of
assistant.normalize) and then the fact readers (the same normal form, with offsets); case and claim
files have every string put in the normal form when loaded (assistant.normalize.normalize_values);
the corpus is already in it (only whitespace and emoji variation selectors differ), so indexing it
as it is or normalised gives the same words. Hypothesis: for any text, every piece of evidence the
readers keep is the exact slice of the message it names.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.extract import read_facts
from assistant.normalize import normalize, normalize_values
from assistant.sanitize import quarantine

_PIECES = st.sampled_from([
    "72 kg", "72\u00a0kg", "７２ ｋｇ", "metastatic", "HER2 IHC 3+", "IHC\u200b 2+", "ISH negative", "Centene", "\u0421entene",
    "cycle 2", "154 lb", "3.6 mg/kg", "prior trastuzumab", "oncologist", "dose?", "\n", "  ", "\t", "\u034f", "\ufe0f",
    "\U000e0041", "\u3164", "\u0307", "\u0456", "ｍｇ", ".", ",", "Ignore  the above:", "SYSTEM:", "2026-05-01",
])
MESSAGES = st.lists(_PIECES, min_size=1, max_size=14).map(" ".join) | st.text(max_size=80)


def _evidence(reading) -> list[dict]:
    return [e for row in reading.facts.rows() for e in row["evidence"]]


def test_the_messages_do_yield_evidence():
    assert len(_evidence(read_facts("７２ ｋｇ metastatic HER2 IHC\u200b 3+ \u0421entene"))) >= 4


@settings(max_examples=300, deadline=None)
@given(MESSAGES)
def test_evidence_is_always_the_exact_slice_of_the_message_it_names(text):
    reading = read_facts(text)
    for e in _evidence(reading):
        assert reading.original[e["start"]:e["end"]] == e["text"], (e, text)


@settings(max_examples=300, deadline=None)
@given(MESSAGES)
def test_what_quarantine_keeps_is_in_the_one_normal_form(text):
    if not normalize(text)[0].strip():
        return  # empty once invisible characters go: an InputError, tested elsewhere
    kept, _ = quarantine(text, semantic=False)
    assert normalize(kept)[0] == kept


def test_every_string_in_a_case_or_claim_file_is_read_in_the_normal_form(tmp_path):
    from assistant.tools.claim_request import load_claim
    from assistant.tools.policy_case import load_case

    plain = {"payer": "centene", "line_of_business": "commercial", "age": 55, "diagnosis": "mbc", "her2_ihc": "3+",
             "prescriber_oncologist": True, "prior_therapies": ["trastuzumab", "paclitaxel"]}
    odd = {**plain, "payer": "\u0441entene", "line_of_business": "ｃｏｍｍｅｒｃｉａｌ", "her2_ihc": "3\u200b+",
           "prior_therapies": ["trastu\u034fzumab", "pacli\ufe0ftaxel"]}
    for name, data in (("plain.json", plain), ("odd.json", odd)):
        (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_case(tmp_path / "odd.json") == load_case(tmp_path / "plain.json")
    claim = {"lines": [{"hcpcs": "J9354", "modifiers": ["JZ"], "units": 259}], "dose_mg": 259.2}
    odd_claim = {"lines": [{"hcpcs": "Ｊ9354", "modifiers": ["J\u200bZ"], "units": 259}], "dose_mg": 259.2}
    (tmp_path / "c1.json").write_text(json.dumps(claim), encoding="utf-8")
    (tmp_path / "c2.json").write_text(json.dumps(odd_claim, ensure_ascii=False), encoding="utf-8")
    try:
        assert load_claim(tmp_path / "c2.json") == load_claim(tmp_path / "c1.json")
    except Exception as exc:  # noqa: BLE001 - the claim schema may want more fields: then both must fail alike
        import pytest

        with pytest.raises(type(exc)):
            load_claim(tmp_path / "c1.json")


def test_normalize_values_reaches_nested_strings_and_leaves_other_values():
    assert normalize_values({"ａ": ["Ｂ\u200b", {"c": "d\u00a0 e"}], "n": 3.6, "t": True, "x": None}) == \
        {"a": ["B", {"c": "d e"}], "n": 3.6, "t": True, "x": None}


def test_the_corpus_is_in_the_normal_form_but_for_whitespace_and_emoji_selectors():
    """So the index reads the same words whether or not the normaliser runs at indexing."""
    from assistant.corpus import get_corpus

    corpus = get_corpus()
    for doc in corpus.docs:
        text = corpus.text(doc).replace("\ufe0f", "")
        assert " ".join(normalize(text)[0].split()) == " ".join(text.split()), doc

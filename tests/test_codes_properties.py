"""Invariants of the disambiguator over generated text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.codes import disambiguate_code

FRAGMENTS = [
    "Kadcyla", "kadcila", "Enhertu", "enhurtu", "trastuzumab", "ado-trastuzumab emtansine", "T-DM1", "T-DXd",
    "Herceptin", "Perjeta", "Phesgo", "Margenza", "pertuzumab", "DM1", "deruxtecan", "J9354", "J9358", "J9355",
    "J9306", "J9316", "J9353", "J9999", "50242-088-01", "50242-0087-01", "50242008801", "50242-87-1",
    "3.6 mg/kg", "5.4 mg/kg", "6.4mg/kg", "252 mg", "1,200 mg", "0 mg", "9" * 40 + " mg", "the", "dose", "patient",
    "?", "/", "-", "®",
]

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(query: str) -> None:
    try:
        result = disambiguate_code(query)
    except InputError:
        assert not query.strip() or len(query.strip()) > 2000
        return
    assert result.verdict in {"consistent", "conflicting", "ambiguous", "unknown"}
    if result.verdict == "conflicting":
        assert result.conflicts
    if result.verdict == "ambiguous":
        assert len(result.choices) >= 2
    corpus = get_corpus()
    for f in result.figures():
        if f.source is not None:
            assert corpus.text(f.source.doc_id)[f.source.start : f.source.end] == f.source.quote
    for u in result.units:
        assert u.units is None or u.units >= 0


@_SETTINGS
@given(st.text(max_size=300))
def test_random_text_raises_nothing_but_input_error(query):
    _check(query)


@_SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8), st.sampled_from([" ", ", ", "", " and "]))
def test_mixed_clues_raise_nothing(parts, sep):
    _check(sep.join(parts))

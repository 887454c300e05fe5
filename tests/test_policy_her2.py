"""HER2 status from IHC/ISH by the billing guide's rules, each category with its quotes."""

from __future__ import annotations

import pytest

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.her2 import classify_her2

TABLE = [
    ("3+", None, "positive", True),
    (3, None, "positive", True),
    ("IHC 3+", "negative", "positive", True),
    ("2+", "positive", "positive", True),
    ("2", "amplified", "positive", True),
    ("2+", "pending", "incomplete", None),
    ("2+", "not done", "incomplete", None),
    ("2+", None, "incomplete", None),
    ("2+", "negative", "low", False),
    ("1+", None, "low", False),
    ("1", "negative", "low", False),
    ("0", None, "negative", False),
    (0, "not_done", "negative", False),
    (None, "positive", "unknown", None),
    (None, None, "unknown", None),
    ("unknown", "unknown", "unknown", None),
]


@pytest.mark.parametrize("ihc,ish,category,eligible", TABLE)
def test_classify(ihc, ish, category, eligible):
    status = classify_her2(ihc, ish)
    assert (status.category, status.eligible) == (category, eligible), status.reason
    text = get_corpus().text("carecost-j9354")
    assert status.sources and all(text[q.start:q.end] == q.quote for q in status.sources)


def test_ish_pending_says_order_ish():
    status = classify_her2("2+", "pending")
    assert "ISH" in status.action and "IHC 2+" in status.sources[0].quote


def test_her2_low_points_to_enhertu():
    status = classify_her2("1+", None)
    assert status.alternative == "Enhertu" and "Enhertu" in status.reason
    assert any("should go to Enhertu" in q.quote for q in status.sources)


@pytest.mark.parametrize("ihc,ish", [("4+", None), ("3+", "maybe"), (True, None)])
def test_nonsense_is_an_input_error(ihc, ish):
    with pytest.raises(InputError):
        classify_her2(ihc, ish)

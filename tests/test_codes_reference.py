"""products.yaml: every fact cited and checked against the corpus on load; bad data fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.tools.code_reference import DATA_FILE, load_reference

EXPECTED = {
    # id: (J-code, mg per unit, doses mg/kg, NDC 11-digit forms)
    "kadcyla": ("J9354", 1, [3.6], ["50242-0088-01", "50242-0087-01"]),
    "enhertu": ("J9358", 1, [5.4, 6.4], []),
    "trastuzumab": ("J9355", None, [], []),
    "perjeta": ("J9306", 1, [], []),
    "phesgo": ("J9316", 10, [], []),
    "margenza": ("J9353", 5, [], []),
}


def test_reference_facts():
    ref = load_reference()
    got = {
        p.id: (
            p.jcode.value,
            p.mg_per_unit.value if p.mg_per_unit else None,
            [d.value for d in p.doses],
            [n.ndc11 for n in p.ndcs],
        )
        for p in ref.products
    }
    assert got == EXPECTED


def test_every_quote_in_the_reference_is_exact():
    ref = load_reference()
    corpus = get_corpus()
    count = 0
    for quote in ref.all_quotes():
        assert corpus.text(quote.doc_id)[quote.start : quote.end] == quote.quote
        count += 1
    assert count > 40


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "products.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _product(raw, pid):
    return next(p for p in raw["products"] if p["id"] == pid)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda r: _product(r, "kadcyla")["jcode"].update(quote="Kadcyla [J9354]"), "not an exact substring"),
        (lambda r: _product(r, "kadcyla")["jcode"].update(value="J9345"), "does not appear in its quote"),
        (lambda r: _product(r, "kadcyla")["doses"][0].update(value=3.8), "does not appear in its quote"),
        (lambda r: _product(r, "kadcyla")["ndcs"][0].update(ndc11="50242-0088-02"), "ndc"),
        (lambda r: _product(r, "phesgo")["mg_per_unit"].update(value=1), "does not appear in its quote"),
        (lambda r: _product(r, "kadcyla")["jcode"].update(doc="no-such-doc"), "unknown document"),
        (lambda r: r["ambiguous_terms"][0].update(products=["kadcyla", "nope"]), "nope"),
        (lambda r: _product(r, "kadcyla").update(colour="blue"), "colour"),
        (lambda r: _product(r, "enhertu")["brand"].update(value="Kadcyla"), "does not appear in its quote"),
    ],
)
def test_bad_data_fails_loudly(tmp_path, mutate, message):
    with pytest.raises(DataError, match=message):
        load_reference(_write(tmp_path, mutate))


def test_duplicate_terms_across_products_fail(tmp_path):
    def mutate(raw):
        _product(raw, "enhertu")["aliases"].append(dict(_product(raw, "kadcyla")["aliases"][0]))

    with pytest.raises(DataError, match="T-DM1"):
        load_reference(_write(tmp_path, mutate))

"""PatientCase: friendly spellings normalised, bad values named, files read into InputErrors."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.errors import InputError
from assistant.tools.policy import payer_policy_id
from assistant.tools.policy_case import load_case, parse_case

FRIENDLY = [
    ("payer", "Centene", "centene"),
    ("payer", "Centene Corporation", "centene"),
    ("payer", "OSCAR HEALTH", "oscar"),
    ("line_of_business", "Medicaid", "medicaid"),
    ("line_of_business", "Commercial", "commercial"),
    ("line_of_business", "HIM", "him"),
    ("line_of_business", "health insurance marketplace", "him"),
    ("line_of_business", "ICHRA", "ichra"),
    ("request_type", "renewal", "continuation"),
    ("request_type", "New", "initial"),
    ("diagnosis", "adjuvant", "ebc_residual"),
    ("diagnosis", "HER2+ metastatic breast cancer", "mbc"),
    ("diagnosis", "Brain metastases from breast cancer", "brain_mets"),
    ("diagnosis", "recurrent salivary gland tumor", "salivary"),
    ("her2_ihc", "3", "3+"),
    ("her2_ihc", 2, "2+"),
    ("her2_ish", "pos", "positive"),
    ("her2_ish", "not done", "not_done"),
    ("line_of_therapy", "first-line", 1),
    ("line_of_therapy", "subsequent", 2),
    ("requested_product", "margetuximab", "margenza"),
    ("prior_therapies", "Herceptin, Taxol", ["trastuzumab", "paclitaxel"]),
    ("documents", ["HER2 pathology"], ["her2_pathology"]),
    ("age", "unknown", None),
    ("renewal_date", "2027-01-31", dt.date(2027, 1, 31)),
]


@pytest.mark.parametrize("field,given,expected", FRIENDLY)
def test_friendly_spellings(field, given, expected):
    assert getattr(parse_case({field: given}), field) == expected


@pytest.mark.parametrize("regimen,expected,drugs", [
    ("single agent", "single_agent", None),
    ("Kadcyla + neratinib", "with_neratinib", None),
    ("with pertuzumab", "combination", ["pertuzumab"]),
    ("in combination with Perjeta and capecitabine", "combination", ["capecitabine", "pertuzumab"]),
])
def test_regimen_spellings(regimen, expected, drugs):
    case = parse_case({"regimen": regimen})
    assert (case.regimen, case.combined_with) == (expected, drugs)


def test_preferred_trials_from_text():
    case = parse_case({"preferred_trials": ["Enhertu: inadequate response", {"product": "Perjeta",
                                                                             "outcome": "intolerant"}]})
    assert [(t.product, t.outcome) for t in case.preferred_trials] == [("enhertu", "failure"),
                                                                       ("perjeta", "intolerance")]


@pytest.mark.parametrize("data,field", [
    ({"payer": "Aetna"}, "payer"),
    ({"line_of_business": "medicare"}, "line_of_business"),
    ({"her2_ihc": "4+"}, "her2_ihc"),
    ({"diagnosis": "flu"}, "diagnosis"),
    ({"agee": 40}, "agee"),
    ({"age": -1}, "age"),
    ({"regimen": "sometimes"}, "regimen"),
    ({"preferred_trials": ["enhertu: loved it"]}, "preferred_trials"),
    ({"regimen": "single_agent", "combined_with": ["pertuzumab"]}, "single_agent"),
])
def test_bad_values_name_the_field(data, field):
    with pytest.raises(InputError) as err:
        parse_case(data)
    assert field in str(err.value) and "\n" not in str(err.value)


def test_unsupported_payer_lists_the_supported_ones():
    with pytest.raises(InputError, match="centene, oscar"):
        parse_case({"payer": "Aetna"})


@pytest.mark.parametrize("payer,policy", [("centene", "centene-cp-phar-229"), ("Centene", "centene-cp-phar-229"),
                                          ("oscar", "oscar-cg101"), ("Oscar Health", "oscar-cg101")])
def test_payer_policy_id(payer, policy):
    assert payer_policy_id(payer) == policy


def test_payer_policy_id_unknown():
    with pytest.raises(InputError, match="supported payers: centene, oscar"):
        payer_policy_id("aetna")


def test_load_json_and_yaml(tmp_path):
    (tmp_path / "c.json").write_text('{"payer": "Centene", "age": 50}')
    (tmp_path / "c.yaml").write_text("payer: oscar\nrequested_product: Kadcyla\n")
    assert load_case(tmp_path / "c.json").age == 50
    assert load_case(tmp_path / "c.yaml").requested_product == "kadcyla"


@pytest.mark.parametrize("name,text,message", [
    ("a.json", '{"age": 50', "not valid JSON"),
    ("a.yaml", "age: [50", "not valid YAML"),
    ("a.json", "[1, 2]", "mapping"),
    ("a.json", "", "empty"),
    ("a.json", '{"age": "fifty"}', "field 'age'"),
])
def test_load_problems_are_input_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_case(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_case(tmp_path / "nope.json")

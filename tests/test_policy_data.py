"""Policy files: every quote is exact and in its section; a planted error fails loudly on load."""

from __future__ import annotations

import shutil

import pytest

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.tools import policy_data
from assistant.tools.her2 import her2_quotes
from assistant.tools.policy import check_policy
from assistant.tools import policy_files as policy_files_module
from assistant.tools.policy_data import POLICY_DIR, load_policy, load_policy_file, policy_files

CENTENE = POLICY_DIR / "centene-cp-phar-229.yaml"


def all_sources(policy):
    for s in policy.sections:
        yield s.source
        for top in s.criteria:
            yield from (c.source for c in top.walk())
        yield from (d.source for d in s.approval_durations)
        yield from (n.source for n in s.notes)
    yield from (p.source for p in policy.products)
    yield from (item.source for item in policy.checklist)
    if policy.submission:
        yield from (c.source for c in policy.submission.contacts)


@pytest.mark.parametrize("policy_id", sorted(policy_files()))
def test_every_quote_is_exact(policy_id):
    corpus = get_corpus()
    sources = list(all_sources(load_policy(policy_id)))
    assert len(sources) > 20
    for q in sources:
        assert q is not None and corpus.text(q.doc_id)[q.start:q.end] == q.quote


def test_her2_quotes_are_exact():
    text = get_corpus().text("carecost-j9354")
    assert all(text[q.start:q.end] == q.quote for q in her2_quotes().values())


def test_repeated_sentences_point_into_their_own_section():
    policy = load_policy("centene-cp-phar-229")
    by_id = {c.id: c.source for s in policy.sections for top in s.criteria for c in top.walk()}
    section_start = {s.id: s.source.start for s in policy.sections}
    assert by_id["I.A.2"].quote == by_id["I.B.2"].quote
    assert section_start["I.A"] < by_id["I.A.2"].start < section_start["I.B"] < by_id["I.B.2"].start
    assert by_id["I.C.2"].start < section_start["II.A"] < by_id["II.B.2"].start


def test_sections_cover_the_brief():
    centene = {c.id for s in load_policy("centene-cp-phar-229").sections for top in s.criteria for c in top.walk()}
    assert {f"I.A.{i}" for i in range(1, 7)} | {"I.A.5.a", "I.A.5.b", "I.A.6.a", "I.A.6.b", "I.A.6.c"} <= centene
    assert {"I.B.1.a", "I.B.1.b", "I.B.1.c", "I.B.5.b", "I.B.6", "I.C.1.a", "I.C.2", "II.A.1", "II.A.2", "II.A.3",
            "II.B.2", "III.A"} <= centene
    oscar = {c.id for s in load_policy("oscar-cg101").sections for top in s.criteria for c in top.walk()}
    assert {f"1.{x}" for x in "abcdefg"} | {f"2.{x}" for x in "abcde"} <= oscar


def planted(tmp_path, old, new, count=1):
    text = CENTENE.read_text(encoding="utf-8")
    assert text.count(old) >= count, old
    path = tmp_path / CENTENE.name
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize("old,new,message", [
    ('quote: "Age ≥ 18 years;"', 'quote: "Age ≥ 19 years;"', "I.A.3: quote is not an exact substring"),
    ('quote: "Prescribed as a single agent;"', 'quote: "Prescribed as a single-agent;"', "I.A.4"),
    ('quote: "Prescribed as a single agent;"', 'quote: "Disease is HER2-positive;"', "not inside section 'I.A'"),
    ("{rule: min_age, args: {years: 18}}", "{rule: min_age, args: {years: 19}}", "number 19 in its logic"),
    ("max_mg_per_kg: 3.6, every_days: 21}", "max_mg_per_kg: 3.8, every_days: 21}", "number 3.8"),
    ("{rule: subsequent_line}", "{rule: second_line}", "unknown rule 'second_line'"),
    ("{rule: min_age, args: {years: 18}}", "{rule: min_age, args: {age: 18}}", "rule min_age"),
    ("medicaid: CP.PMN.53}", "medicaid: CP.PMN.54}", "referral policy CP.PMN.54 is not in the quote"),
    ("        months: 12\n", "        months: 11\n", "11 months is not in its quote"),
    ('anchor: "A. Breast Cancer (must meet all):"', 'anchor: "Breast Cancer"', "anchor must occur exactly once"),
    ("diagnosis: [mbc, ebc_residual]}", "diagnosis: [metastatic, ebc_residual]}", "write 'mbc'"),
    ("        logic: {rule: is_true, args: {field: responding}}\n",
     "        logic: {rule: is_true, args: {field: respondng}}\n", "unknown case field 'respondng'"),
])
def test_planted_errors_fail_loudly(tmp_path, old, new, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_policy_file(planted(tmp_path, old, new))


def test_unchanged_copy_loads(tmp_path):
    assert load_policy_file(planted(tmp_path, "policy_id", "policy_id")).policy_id == "centene-cp-phar-229"


def test_a_new_payer_is_a_new_file(tmp_path, monkeypatch):
    """Another payer whose criteria use existing rules needs a data file, no code."""
    for path in POLICY_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    acme = (tmp_path / "centene-cp-phar-229.yaml").read_text(encoding="utf-8")
    acme = acme.replace("policy_id: centene-cp-phar-229", "policy_id: acme-kadcyla").replace(
        "payer: centene\npayer_aliases: [Centene Corporation, Centene Corp]",
        "payer: acme\npayer_aliases: [ACME Health]")
    (tmp_path / "acme-kadcyla.yaml").write_text(acme, encoding="utf-8")
    monkeypatch.setattr(policy_files_module, "POLICY_DIR", tmp_path)
    result = check_policy(dict(payer="ACME Health", line_of_business="medicaid", request_type="initial", age=50,
                               diagnosis="mbc", her2_ihc="3+", prescriber_oncologist=True, regimen="single_agent",
                               prior_therapies=["trastuzumab", "docetaxel"], dose_mg_per_kg=3.6, interval_days=21))
    assert (result.policy_id, result.overall) == ("acme-kadcyla", "meets_criteria")

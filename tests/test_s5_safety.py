"""Unsafe 'met' readings the eval showed: a what-if that removes the oncologist, an allergy read as a course given."""

from __future__ import annotations

from assistant.agent import ask
from assistant.session import Session


def _verdict(answer):
    return next(c.output["overall"] for c in answer.tool_calls if c.tool == "check_policy")


def test_what_if_no_oncologist_is_a_what_if_without_one():
    session = Session()
    first = ask("centene comm initial kadcyla 66yo her2 3+ mbc, med onc, mono 3.6 mg/kg q21d, prior herceptin + taxotere",
                session)
    assert _verdict(first) == "meets_criteria"
    for question in ("what if her pcp ordered it and no onc is involved", "what if there's no oncologist involved"):
        variant = ask(question, session)
        assert _verdict(variant) == "does_not_meet", question
        assert session.facts.value("prescriber_oncologist") is True  # the stored case is unchanged


def test_an_allergy_is_never_a_course_given():
    a = ask("Dx: MBC, HER2 IHC 3+\nHx: 54 y/o, anaphylaxis to paclitaxel 2023 - no taxane given since, never got "
            "docetaxel\nPrior tx: trastuzumab + capecitabine\nPlan: kadcyla mono 3.6 mg/kg q3w, onc ordering\n"
            "Ins: centene commercial, initial request")
    assert _verdict(a) != "meets_criteria"

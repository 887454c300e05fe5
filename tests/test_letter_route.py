"""'Write the PA letter' in the chat is a request for the letter, in any of the ways staff type it;
a question about letters (does the payer need one? what goes in it?) is not."""

from __future__ import annotations

import pytest

from assistant.routing import State
from test_routing import decide  # the route table's rules-only decide (no model)

FRESH = State()
POLICY = State(last_intent="policy")
DOSE = State(last_intent="dose", has_dose=True)

ASKS = [
    ("write the PA letter", POLICY),
    ("draft the pa narrative for this pt", POLICY),
    ("can you write a letter of medical necessity", POLICY),
    ("LMN pls", POLICY),
    ("draft PA letter for centene", POLICY),
    ("need the med necessity letter", DOSE),
    ("generate LOMN", POLICY),
    ("pa narrative", POLICY),
    ("make me the prior auth letter for this one", POLICY),
    ("write it up for the PA", POLICY),
    ("ok write the letter", POLICY),
    ("letter pls", POLICY),
    ("prep the narrative so i can paste into availity", POLICY),
    ("can u draft the LMN for her", DOSE),
    ("write up the medical necessity", POLICY),
    ("PA letter now", POLICY),
    ("letter of med necessity for J9354", POLICY),
    ("Write the PA letter. 70 kg, Centene commercial, HER2+ mbc, prior trastuzumab and taxane", FRESH),
    ("could you put together the prior authorization letter", POLICY),
    ("draft narrative", DOSE),
    ("pls write letter of medical necessity for ambetter", FRESH),
    ("type up the LMN", POLICY),
    # written after the cue, tried once
    ("draft a letter for the PA", POLICY),
    ("i need the LMN for this pt asap", POLICY),
    ("cn you write the letter of necessity", POLICY),
    ("prior auth narrative please", POLICY),
    ("generate the PA narrative for centene", POLICY),
    ("write the letter to the payer", POLICY),
    ("narrative for PA pls", POLICY),
]
NOT_ASKS = [
    ("does centene need a letter of medical necessity?", FRESH),
    ("what should the LMN include", POLICY),
    ("is a letter required for renewal", POLICY),
    ("what does the narrative section of the form ask", FRESH),
    ("dose for 70 kg metastatic", FRESH),
    ("the letter from the payer says denied, why", POLICY),
    ("we got a denial letter back from centene", POLICY),
    ("does this patient meet the prior authorization criteria?", FRESH),
    ("what's the EviCore fax for the PA", FRESH),
    ("is J9354 Enhertu", FRESH),
    ("who signs the letter of medical necessity", POLICY),
    ("where do I send the LMN", POLICY),
    ("what's a letter of medical necessity", POLICY),
    ("medical necessity criteria for kadcyla", POLICY),
    ("medical necessity for kadcyla", POLICY),
]


@pytest.mark.parametrize(("text", "state"), ASKS, ids=[t for t, _ in ASKS])
def test_a_letter_request_is_the_letter(text, state):
    d = decide(text, state)
    assert (d.route, d.intent) == ("letter", "letter"), d


@pytest.mark.parametrize(("text", "state"), NOT_ASKS, ids=[t for t, _ in NOT_ASKS])
def test_a_question_about_letters_is_not(text, state):
    assert decide(text, state).intent != "letter"

"""The route table, row by row: what each kind of message in each conversation state is taken to want.

No index and no model: the classifier route uses its rules only (the MiniLM fallback is not called).
"""

from __future__ import annotations

import pytest

from assistant.extract import read_facts
from assistant.intent import classify
from assistant.routing import State, route

FRESH = State()
DOSE = State(last_intent="dose", has_dose=True)
DOSE_ASKED = State(pending="dose", last_intent="dose")
DOSE_NO_INDICATION = State(pending="dose", last_intent="dose", has_dose=True)
POLICY = State(last_intent="policy")
POLICY_ASKED = State(pending="policy", last_intent="policy")
CODE = State(last_intent="code")
DOC = State(last_intent="document")


def rules_only(said):
    def run(text):
        found = classify(text, said, similarity=None)
        return found.name, found.by

    return run


def decide(text, state):
    said = read_facts(text).facts
    return route(text, state, said, classify=rules_only(said))


# (message, state, route, intent)
ROWS = [
    # -- replies that only state facts re-run what was asked ------------------------------------------
    ("75 kg", DOSE_ASKED, "fact_reply", "dose"),
    ("154 lb", DOSE_ASKED, "fact_reply", "dose"),
    ("wt 68kg", DOSE_ASKED, "fact_reply", "dose"),
    ("she's 62 kg", DOSE_ASKED, "fact_reply", "dose"),
    ("metastatic", DOSE_NO_INDICATION, "fact_reply", "dose"),
    ("mbc", DOSE_NO_INDICATION, "fact_reply", "dose"),
    ("adjuvant", DOSE_NO_INDICATION, "fact_reply", "dose"),
    ("ebc, katherine", DOSE_NO_INDICATION, "fact_reply", "dose"),
    ("kg", DOSE_ASKED, "fact_reply", "dose"),
    ("lbs", DOSE_ASKED, "fact_reply", "dose"),
    ("in pounds", DOSE_ASKED, "fact_reply", "dose"),
    ("commercial", POLICY_ASKED, "fact_reply", "policy"),
    ("medicaid", POLICY_ASKED, "fact_reply", "policy"),
    ("marketplace plan", POLICY_ASKED, "fact_reply", "policy"),
    ("initial request, oncologist, single agent", POLICY_ASKED, "fact_reply", "policy"),
    ("initial, onc, mono", POLICY_ASKED, "fact_reply", "policy"),
    ("continuation", POLICY_ASKED, "fact_reply", "policy"),
    ("renewal, responding", POLICY_ASKED, "fact_reply", "policy"),
    ("centene", POLICY_ASKED, "fact_reply", "policy"),
    ("oscar", POLICY_ASKED, "fact_reply", "policy"),
    ("ambetter", POLICY_ASKED, "fact_reply", "policy"),
    ("ihc 3+", POLICY_ASKED, "fact_reply", "policy"),
    ("fish amplified", POLICY_ASKED, "fact_reply", "policy"),
    ("age 58", POLICY_ASKED, "fact_reply", "policy"),
    ("58 yo", POLICY_ASKED, "fact_reply", "policy"),
    ("prior herceptin and taxol", POLICY_ASKED, "fact_reply", "policy"),
    ("s/p TCHP x6", POLICY_ASKED, "fact_reply", "policy"),
    ("3.6 mg/kg q21d", POLICY_ASKED, "fact_reply", "policy"),
    ("q3w", POLICY_ASKED, "fact_reply", "policy"),
    ("her pcp is prescribing", POLICY_ASKED, "fact_reply", "policy"),
    ("with neratinib", POLICY_ASKED, "fact_reply", "policy"),
    ("metastatic breast cancer, IHC 3+, age 55", POLICY_ASKED, "fact_reply", "policy"),
    ("she's responding, on it thru centene 5 mo", POLICY_ASKED, "fact_reply", "policy"),
    ("on kadcyla 200 days", POLICY_ASKED, "fact_reply", "policy"),
    ("no dose increase", POLICY_ASKED, "pending_reply", "policy"),
    ("same dose, no increase requested", POLICY_ASKED, "pending_reply", "policy"),
    ("nope, never had a taxane", POLICY_ASKED, "fact_reply", "policy"),
    # -- corrections replace the fact and re-run -------------------------------------------------------
    ("oops, it's metastatic, not adjuvant", DOSE, "correction", "dose"),
    ("sorry 75 kg not 70", DOSE, "correction", "dose"),
    ("correction: 80 kg", DOSE, "correction", "dose"),
    ("actually she's 64 kg", DOSE, "correction", "dose"),
    ("my bad, lbs not kg", DOSE, "correction", "dose"),
    ("i misread the scale, 168 lb", DOSE, "correction", "dose"),
    ("typo - 71 kg", DOSE, "correction", "dose"),
    ("wait, it's cycle 3", DOSE, "correction", "dose"),
    ("sorry, adjuvant not metastatic", DOSE, "correction", "dose"),
    ("actually it's medicaid not commercial", POLICY, "correction", "policy"),
    ("correction - she never had a taxane", POLICY, "correction", "policy"),
    ("oops she is 71 not 17", POLICY, "correction", "policy"),
    ("sorry, ihc 2+ not 3+", POLICY, "correction", "policy"),
    ("wait shes actually centene medicaid", POLICY, "correction", "policy"),
    ("actually it's a renewal", POLICY, "correction", "policy"),
    ("typo, shes 71", POLICY, "correction", "policy"),
    ("i meant 2nd line", POLICY, "correction", "policy"),
    ("sorry, fish came back negative", POLICY, "correction", "policy"),
    # -- what-ifs answer a variant and keep the facts -------------------------------------------------
    ("what if she were IHC 1+?", POLICY, "what_if", "policy"),
    ("and on the medicaid plan?", POLICY, "what_if", "policy"),
    ("what if it's a renewal", POLICY, "what_if", "policy"),
    ("what if the pcp orders it", POLICY, "what_if", "policy"),
    ("what if onc adds pertuzumab", POLICY, "what_if", "policy"),
    ("what if she was 17", POLICY, "what_if", "policy"),
    ("suppose she had no taxane", POLICY, "what_if", "policy"),
    ("if she were on ambetter instead?", POLICY, "what_if", "policy"),
    ("same patient but she's on medicaid", POLICY, "what_if", "policy"),
    ("what about with neratinib", POLICY, "what_if", "policy"),
    ("and with tucatinib instead", POLICY, "what_if", "policy"),
    ("what if she weighed 80 kg", DOSE, "what_if", "dose"),
    ("what if we reduce to 3 mg/kg", DOSE, "what_if", "dose"),
    ("and at 2.4 mg/kg?", DOSE, "what_if", "dose"),
    ("what if she was 80", DOSE, "what_if", "dose"),
    ("what if it were adjuvant", DOSE, "what_if", "dose"),
    ("hypothetically 90 kg?", DOSE, "what_if", "dose"),
    ("what about if only 160s are in stock", DOSE, "what_if", "dose"),
    # -- the next cycle, the course ------------------------------------------------------------------
    ("what about the cycle after that?", DOSE, "next_cycle", "dose"),
    ("and the next cycle?", DOSE, "next_cycle", "dose"),
    ("next one?", DOSE, "next_cycle", "dose"),
    ("and the following infusion", DOSE, "next_cycle", "dose"),
    ("2nd dose?", DOSE, "next_cycle", "dose"),
    ("what about cycle 2", DOSE, "next_cycle", "dose"),
    ("and c4", DOSE, "next_cycle", "dose"),
    ("she's had 14 already, they want one more", DOSE, "next_cycle", "dose"),
    ("total for the course?", DOSE, "course", "dose"),
    ("and the whole course", DOSE, "course", "dose"),
    ("over 14 cycles?", DOSE, "course", "dose"),
    ("what does a year cost", DOSE, "course", "dose"),
    ("annual medicare total", DOSE, "course", "dose"),
    ("full course $", DOSE, "course", "dose"),
    ("cycle 3 dose", DOSE, "cycle_for_patient", "dose"),
    ("C5D1", DOSE, "cycle_for_patient", "dose"),
    ("vials?", DOSE, "dose_follow_up", "dose"),
    ("and the JW units", DOSE, "dose_follow_up", "dose"),
    ("how many mL do we draw", DOSE, "dose_follow_up", "dose"),
    ("ok back to her real numbers - vials?", DOSE, "dose_follow_up", "dose"),
    ("what size bag", DOSE, "dose_follow_up", "dose"),
    ("And what's the pembrolizumab dose for her?", DOSE, "classify:rule", "out_of_scope"),
    ("and the herceptin dose", DOSE, "classify:rule", "out_of_scope"),
    # -- follow-ups on a code answer or a document answer ----------------------------------------------
    ("and which NDC is the bigger vial?", CODE, "code_follow_up", "code"),
    ("and the 160", CODE, "code_follow_up", "code"),
    ("and the one for Enhertu?", CODE, "code_follow_up", "code"),
    ("what about herceptin", CODE, "code_follow_up", "code"),
    ("which one is the 100 mg", CODE, "code_follow_up", "code"),
    ("and the jw modifier?", CODE, "code_follow_up", "code"),
    ("how long does it keep?", DOC, "document_follow_up", "document"),
    ("how often do we check?", DOC, "document_follow_up", "document"),
    ("and after the first one", DOC, "document_follow_up", "document"),
    ("and for mbc", DOC, "document_follow_up", "document"),
    ("is that in the fridge", DOC, "document_follow_up", "document"),
    ("what about the fax", DOC, "document_follow_up", "document"),
    ("and the phone number", DOC, "document_follow_up", "document"),
    ("the cardiac one - how often?", DOC, "document_follow_up", "document"),
    # -- claims ----------------------------------------------------------------------------------------
    ("does this claim look right: J9354 JZ 378 units, 70 kg mbc", FRESH, "claim", "claim"),
    ("check this claim J9354-JZ 252 units, J9354-JW 8 units, 96413, 70 kg", FRESH, "claim", "claim"),
    ("billed J9354 x 300 units for 80kg pt, look right?", FRESH, "claim", "claim"),
    ("claim: J9354 JZ 260 units no JW, 72 kg", FRESH, "claim", "claim"),
    ("cms-1500 lines J9354 252 units + 96413 + 96415, pos 11", FRESH, "claim", "claim"),
    ("units billed J9354 x 378 for 70kg, ok?", FRESH, "claim", "claim"),
    ("check my billing lines: J9358 x 378 units", FRESH, "claim", "claim"),
    ("does this look right J9354 252u JZ, JW 8u", FRESH, "claim", "claim"),
    # -- prices ---------------------------------------------------------------------------------------
    ("J9354 payment rate this quarter?", FRESH, "price", "price"),
    ("current ASP for J9354", FRESH, "price", "price"),
    ("what's the medicare allowable per mg", FRESH, "price", "price"),
    ("reimbursement per unit j9354", FRESH, "price", "price"),
    ("price per mg kadcyla medicare", FRESH, "price", "price"),
    ("payment limit for J9354 q2", FRESH, "price", "price"),
    ("how often does carecost refresh asp pricing", FRESH, "classify:rule", "document"),
    ("when does cms update the asp next", FRESH, "classify:rule", "document"),
    # -- toxicity: what the documents say about holding, reducing, stopping ------------------------------
    ("AST 4x ULN on kadcyla, what do we do?", FRESH, "dose_modification", "dose_modification"),
    ("lvef dropped to 40%, hold kadcyla?", FRESH, "dose_modification", "dose_modification"),
    ("platelets 40k, can we still dose", FRESH, "dose_modification", "dose_modification"),
    ("bili 3x uln - reduce or stop t-dm1", FRESH, "dose_modification", "dose_modification"),
    ("grade 3 neuropathy, ok to continue kadcyla?", FRESH, "dose_modification", "dose_modification"),
    ("grade 2 transaminases, reducing kadcyla to 3 mg/kg. 70 kg mbc. new dose?", FRESH, "classify:rule", "dose"),
    # -- several things in one message ---------------------------------------------------------------
    ("70 kg mbc dose, and does Centene cover it?", FRESH, "multi_part", "multi"),
    ("dose for 80kg adjuvant; also is an oncologist required by centene?", FRESH, "multi_part", "multi"),
    ("what's the j-code, and how many vials for 70 kg mbc", FRESH, "multi_part", "multi"),
    ("62F 70kg mbc centene medicaid: dose, and does she qualify?", FRESH, "multi_part", "multi"),
    # -- new questions: the classifier decides ---------------------------------------------------------
    ("70 kg, metastatic - dose, vials, waste?", FRESH, "classify:rule", "dose"),
    ("pt wt 154 lb mBC, what do we draw up?", FRESH, "classify:rule", "dose"),
    ("85 kg adjuvant cycle 3 dose and JW units", FRESH, "classify:rule", "dose"),
    ("dose for 62.5kg mets pt", FRESH, "classify:rule", "dose"),
    ("4 mg/kg for 70 kg mbc", FRESH, "classify:rule", "dose"),
    ("2.4 mg/kg dose 70 kg", FRESH, "classify:rule", "dose"),
    ("7000 kg mbc dose", FRESH, "classify:rule", "dose"),
    ("we only stock 160 mg vials, 70 kg mbc dose", FRESH, "classify:rule", "dose"),
    ("Is J9354 Enhertu?", FRESH, "classify:rule", "code"),
    ("What product is NDC 50242-087-01?", FRESH, "classify:rule", "code"),
    ("j9358 vs j9354", FRESH, "classify:rule", "code"),
    ("Centene medicaid: 58 yo, HER2 IHC 3+, metastatic, prior trastuzumab and docetaxel, single agent, oncologist. Covered?",
     FRESH, "classify:rule", "policy"),
    ("Does Centene cover this patient? 62F her2+ mbc s/p TCHP", FRESH, "classify:rule", "policy"),
    ("does aetna cover kadcyla for her", FRESH, "classify:rule", "policy"),
    ("Does this patient meet the prior authorization criteria?", FRESH, "classify:rule", "policy"),
    ("Does Oscar cover Margenza after failure of Enhertu and Kadcyla?", FRESH, "classify:rule", "policy"),
    ("how long is the first infusion", FRESH, "classify:rule", "document"),
    ("what's the EviCore fax for oncology", FRESH, "classify:rule", "document"),
    ("what are centene's PA criteria for mbc", FRESH, "classify:rule", "document"),
    ("What is the dose of pembrolizumab?", FRESH, "classify:rule", "out_of_scope"),
    ("write me a poem", DOSE, "classify:rule", "out_of_scope"),
    # a real question after a dose answer is not a reply to it
    ("how do i reconstitute it", DOSE, "classify:rule", "document"),
    ("is j9354 enhertu", DOSE, "classify:rule", "code"),
    ("does centene cover her", DOSE, "classify:rule", "policy"),
    # a question that names the payer is not a correction
    ("what does centene need for renewal", POLICY, "classify:rule", "document"),
]
# The same replies and follow-ups in a fresh conversation are new questions, not replies.
FRESH_ROWS = [(text, FRESH) for text, state, name, _ in ROWS if name in ("fact_reply", "pending_reply", "correction", "what_if",
                                                                        "next_cycle", "course", "code_follow_up",
                                                                        "document_follow_up", "cycle_for_patient", "dose_follow_up")]
FOLLOW_UP_ROUTES = {"fact_reply", "pending_reply", "correction", "what_if", "next_cycle", "course", "code_follow_up",
                    "document_follow_up", "cycle_for_patient", "dose_follow_up", "payment", "policy_follow_up"}


@pytest.mark.parametrize(("text", "state", "name", "intent"), ROWS, ids=[f"{r[2]}:{r[0][:40]}" for r in ROWS])
def test_route(text, state, name, intent):
    d = decide(text, state)
    assert (d.route, d.intent) == (name, intent), d


@pytest.mark.parametrize(("text", "state"), FRESH_ROWS, ids=[r[0][:40] for r in FRESH_ROWS])
def test_a_follow_up_with_nothing_before_it_is_a_new_question(text, state):
    assert decide(text, state).route not in FOLLOW_UP_ROUTES


def test_the_table_is_big_enough():
    assert len(ROWS) + len(FRESH_ROWS) >= 200
    assert {r[2] for r in ROWS} >= {"fact_reply", "correction", "what_if", "next_cycle", "course", "code_follow_up",
                                     "document_follow_up", "claim", "price", "multi_part", "classify:rule"}


# Rows the classifier settles only with its MiniLM fallback (the bundled model, offline).
MODEL_ROWS = [
    ("kadcila j-code", "code"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "intent"), MODEL_ROWS)
def test_route_with_the_similarity_fallback(text, intent):
    from assistant.intent import intent_model

    said = read_facts(text).facts

    def run(t):
        found = classify(t, said, similarity=lambda q: intent_model().similarity(q))
        return found.name, found.by

    assert route(text, FRESH, said, classify=run).intent == intent


def test_multi_part_keeps_each_question():
    d = decide("70 kg mbc dose, and does Centene cover it?", FRESH)
    assert len(d.parts) == 2 and "Centene" in d.parts[1]

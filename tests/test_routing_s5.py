"""Coverage requests and the facts that finish them, as the blind session-5 cases showed staff write them:
'need centene PA check', a note that ends 'criteria?', a list of the patient's facts after a question about
the payer, 'where do I send the PA', 'fax #'. Rows marked (fresh) were written after the rules, tried once."""

from __future__ import annotations

import pytest

from assistant.routing import State
from test_routing import decide  # the route table's rules-only decide (no model)

FRESH = State()
PAYER_DOC = State(last_intent="document", has_payer=True)
POLICY = State(last_intent="policy", has_payer=True)

ROWS = [
    ("need centene PA check for kadcyla", FRESH, "policy"),
    ("run a PA check, oscar, kadcyla", FRESH, "policy"),
    ("pls check coverage centene kadcyla", FRESH, "policy"),
    ("is this approvable w/ ambetter", FRESH, "policy"),
    ("centene medicaid kadcyla initial auth (new start): 59F, wt 70 kg, HER2 IHC 3+ mbc, med onc, s/p paclitaxel + "
     "trastuzumab + pertuzumab, kadcyla single agent 3.6 mg/kg q21d. criteria?", FRESH, "policy"),
    ("centene commercial, kadcyla adjuvant initial request: 42F wt 61 kg, HER2 3+, residual ypT2 N1 after TCHP, onc, "
     "single agent 3.6 mg/kg q21d x 14. meets criteria?", FRESH, "policy"),
    ("HER2 3+, 44F, residual dz ypT1c N0 after TCHP, onc ordering, kadcyla alone 3.6 mg/kg q21d x 14, commercial plan",
     PAYER_DOC, "policy"),
    ("mbc, HER2 3+, 61 yo, med onc, single agent, s/p THP", PAYER_DOC, "policy"),
    ("oscar pt on kadcyla for mbc, where do i send the PA", FRESH, "document"),
    ("where do we fax the centene PA for kadcyla", FRESH, "document"),
    ("fax #", POLICY, "document"),
    ("phone?", POLICY, "document"),
    # stays as it was
    ("70 kg mbc dose", FRESH, "dose"),
    ("72 kg metastatic, vials and waste, centene pt", FRESH, "dose"),
    ("what are centene's PA criteria for mbc", FRESH, "document"),
    ("does centene cover kadcyla adjuvant", FRESH, "document"),
    ("how do i reconstitute it", PAYER_DOC, "document"),
    ("kadcyla dose adj pls", FRESH, "dose"),
    ("kadcyla dose pls", FRESH, "dose"),
    ("t-dm1 dose?", FRESH, "dose"),
    ("need kadcyla dose", FRESH, "dose"),
    ("standard dose t-dm1", FRESH, "document"),
    ("kadcyla max dose", FRESH, "document"),
    ("how is kadcyla dosed", FRESH, "document"),
]
FRESH_ROWS = [
    ("can u run centene criteria on this one: 58F HER2 3+ mbc s/p TH, onc, mono", FRESH, "policy"),
    ("wt 64 kg, HER2 IHC 3+ mbc, onc, s/p docetaxel + herceptin, kadcyla 3.6 mg/kg q3w, centene. approvable?", FRESH,
     "policy"),
    ("47F, IHC 3+, metastatic, onc prescribing, prior herceptin and taxol", PAYER_DOC, "policy"),
    ("where to submit oscar PA", FRESH, "document"),
    ("portal?", POLICY, "document"),
]


@pytest.mark.parametrize(("text", "state", "intent"), ROWS + FRESH_ROWS, ids=[r[0][:50] for r in ROWS + FRESH_ROWS])
def test_intent(text, state, intent):
    d = decide(text, state)
    assert d.intent == intent, d

"""The displayed form of a quote: markdown and extraction artefacts gone, every word and figure kept; a
table's glued cells split only when the cut is sure; the structure a sentence sits in."""

from __future__ import annotations

import re

import pytest

from assistant.corpus import get_corpus
from assistant.documents import display
from assistant.documents.question import read_question, topic_free
from assistant.documents.structure import structure


@pytest.mark.parametrize(("raw", "shown"), [
    ("**Medicaid/HIM/ICHRA** – 12 months", "Medicaid/HIM/ICHRA – 12 months"),
    ("#### I. Initial Approval Criteria\n\n##### A. Breast Cancer (must meet all):", "I. Initial Approval Criteria: A. Breast Cancer (must meet all):"),
    ("6. Request meets one of the following (a, b, or c):\\*", "6. Request meets one of the following (a, b, or c):"),  # a footnote mark
    ("See [Important Reminder](#) at the end", "See Important Reminder at the end"),
    ("  • Cycle 1: infuse over 90 minutes.", "Cycle 1: infuse over 90 minutes."),
    ("- First infusion\n- Administer infusion over 90 minutes.", "First infusion: Administer infusion over 90 minutes."),
    ("J9354\tInjection, ado-trastuzumab emtansine, 1 mg", "J9354 | Injection, ado-trastuzumab emtansine, 1 mg"),
])
def test_markdown_and_layout_are_cleaned(raw, shown):
    assert display.clean(raw) == shown


@pytest.mark.parametrize(("row", "header", "shown"), [
    ("Physician oncology office11CMS-1500 / 837PPreferred by commercial UM", "SettingPOSClaim formPayer steering",
     "Setting: Physician oncology office · POS: 11 · Claim form: CMS-1500 / 837P · Payer steering: Preferred by commercial UM"),
    ("HCPCSJ9354J9358", "AttributeKadcyla (this page)Enhertu", "Attribute: HCPCS · Kadcyla (this page): J9354 · Enhertu: J9358"),
    ("HER2 FISH (in situ hybridization)88374Required for IHC 2+ (equivocal) reflex — determines HER2+ amplified vs not",
     "TestCPTFor Kadcyla", "Test: HER2 FISH (in situ hybridization) · CPT: 88374 · For Kadcyla: Required for IHC 2+ (equivocal) reflex — determines HER2+ amplified vs not"),
    # not sure where the cells end ("24DCPT": 24 | DCPT or 24D | CPT?): shown whole after the column names
    ("HER2 biomarker test claim line (separate, when first done)24DCPT 88360/88361 (HER2 IHC), 88374/88377 (HER2 ISH FISH/CISH)",
     "InformationCMS-1500 boxNotes", "Information | CMS-1500 box | Notes — HER2 biomarker test claim line (separate, when first done)24DCPT 88360/88361 (HER2 IHC), 88374/88377 (HER2 ISH FISH/CISH)"),
    # "mBC" and "CareCost" are words, not two cells
    ("Medicare ASP pricingQuarterlyAuto-bound to CareCost ASP layer; updates on CMS file release.", "ElementCadenceHow it's refreshed",
     "Element: Medicare ASP pricing · Cadence: Quarterly · How it's refreshed: Auto-bound to CareCost ASP layer; updates on CMS file release."),
])
def test_glued_table_cells_split_only_when_sure(row, header, shown):
    assert display.table_row(row, header) == shown


def _subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


@pytest.mark.parametrize("doc_id", sorted(get_corpus().docs))
def test_every_line_keeps_its_words_and_figures_in_order_when_shown(doc_id):
    st = structure(doc_id)
    for line in st.lines:
        raw = st.text[line.start:line.end]
        shown = display.table_row(raw, st.text[line.table_header[0]:line.table_header[1]]) if line.table_header else display.clean(raw)
        letters = re.sub(r"[^A-Za-z0-9]", "", raw)
        assert _subsequence(letters, re.sub(r"[^A-Za-z0-9]", "", shown)), (raw, shown)


def test_lists_of_the_documents_are_found_whole():
    st = structure("oscar-cg101")
    exceptions = next(g for g in st.groups if g.lead and "meets BOTH" in st.text[g.lead[0]:g.lead[1]])
    assert len(exceptions.items) == 2  # criterion 1 (with a-g) and criterion 2 (with a-e)
    assert "g. The request is for cancer treatment" in st.text[exceptions.items[0][0]:exceptions.items[0][1]]
    boxed = next(g for g in structure("carecost-j9354").groups if g.lead and "Boxed Warnings" in structure("carecost-j9354").text[g.lead[0]:g.lead[1]])
    assert len(boxed.items) == 3


def test_a_pdf_line_break_inside_a_sentence_is_joined():
    st = structure("oscar-cg101")
    i = st.line_at(st.text.index("For trastuzumab products"))
    assert "(CG082)" in st.text[st.lines[i].start:st.lines[i].end]


@pytest.mark.parametrize(("question", "kind"), [
    ("wat yr did fda clear tdm1", "date"), ("how long obs after first infusion", "duration"), ("lvef how often", "frequency"),
    ("evicore fax", "contact"), ("icd10 brain mets", "code"), ("who makes enhertu", "organisation"),
    ("min age centene", "number"), ("can we bill 96365", "yes_no"), ("list all denial reasons", "list"),
    ("missed dose what now", "procedure"), ("why does oscar have a drug list", "text"),
])
def test_answer_types(question, kind):
    assert read_question(question).type == kind


@pytest.mark.parametrize(("question", "cycle"), [
    ("observation after the very first infusion", "first"), ("cycle 1 infusion time", "first"),
    ("obs time cycle 3", "later"), ("subsequent infusions how long", "later"),
    ("pos preferred after cycle 2", None),  # about a site of care, not about giving the drug
])
def test_cycle_preference(question, cycle):
    assert read_question(question).cycle == cycle


def test_topic_free_drops_the_drug_and_the_document_and_spells_out_shorthand():
    assert topic_free("special handling kadcyla") == "special handling"
    assert topic_free("oscar cg101 last reviewed") == "last reviewed"
    assert topic_free("std dose t-dm1") == "std dose (standard)"
    assert topic_free("kadcyla") == "kadcyla"

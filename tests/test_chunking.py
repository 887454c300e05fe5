"""Chunker invariants over the real corpus."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import _config, chunk_document, doc_label
from assistant.corpus import Corpus
from assistant.settings import PROJECT_ROOT

CORPUS = Corpus(PROJECT_ROOT / "corpus")
CHUNKS = {doc_id: chunk_document(doc_id, doc.text) for doc_id, doc in CORPUS.docs.items()}


@pytest.mark.parametrize("doc_id", sorted(CHUNKS))
def test_every_chunk_is_an_exact_substring_at_its_offsets(doc_id):
    text = CORPUS.text(doc_id)
    for chunk in CHUNKS[doc_id]:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip()


@pytest.mark.parametrize("doc_id", sorted(CHUNKS))
def test_every_non_blank_line_is_inside_a_chunk(doc_id):
    text = CORPUS.text(doc_id)
    spans = [(c.start, c.end) for c in CHUNKS[doc_id]]
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            assert any(s <= pos and pos + len(line) <= e for s, e in spans), line[:80]
        pos += len(line) + 1


@pytest.mark.parametrize("doc_id", sorted(CHUNKS))
def test_chunks_do_not_overlap_and_are_ordered(doc_id):
    chunks = CHUNKS[doc_id]
    for a, b in zip(chunks, chunks[1:]):
        assert a.end < b.start


def test_table_rows_are_whole_and_carry_their_header():
    cfg = _config()["carecost-j9354"]["tables"]
    text = CORPUS.text("carecost-j9354")
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for table in cfg:
        i = next(k for k, line in enumerate(lines) if line.strip() == table["header"])
        for k in range(i + 1, i + 1 + table["rows"]):
            row, start = lines[k], offsets[k]
            owners = [c for c in CHUNKS["carecost-j9354"] if c.start <= start and start + len(row) <= c.end]
            assert len(owners) == 1, row[:60]
            assert owners[0].table_header == table["header"], row[:60]


@pytest.mark.parametrize(
    "doc_id, section, must_contain",
    [
        ("centene-cp-phar-229", "I.A.3", "Age ≥ 18 years"),
        ("centene-cp-phar-229", "I.A.6", "a. As adjuvant treatment: Dose does not exceed 3.6 mg/kg"),
        ("centene-cp-phar-229", "I.B.5", "b. In combination with neratinib for brain metastases"),
        ("centene-cp-phar-229", "II.A.1", "at least 30 days"),
        ("centene-cp-phar-229", "I.C.1", "CP.PMN.255 for Medicaid"),
        ("oscar-cg101", "Exception Criteria 1", "g. The request is for cancer treatment"),
        ("oscar-cg101", "Exception Criteria 2", "e. Notification of drug shortage or unavailability."),
        ("carecost-j9354", "Worked example 70 kg mBC", "Waste: 260 - 252 = 8 mg"),
        ("carecost-j9354", "FAQ: What CPT do I bill for T-DM1 infusion?", "96415"),
    ],
)
def test_criteria_and_sections_are_their_own_chunks(doc_id, section, must_contain):
    matches = [c for c in CHUNKS[doc_id] if c.section == section]
    assert matches, f"no chunk with section {section}"
    assert any(must_contain in c.text for c in matches)


def test_criterion_sub_items_stay_with_their_criterion():
    """I.A.6 holds a, b and c; none leaks into I.A.7 or the note after it."""
    chunk = next(c for c in CHUNKS["centene-cp-phar-229"] if c.section == "I.A.6")
    for marker in ("  - a.", "  - b.", "  - c."):
        assert marker in chunk.text


@pytest.mark.parametrize(
    "doc_id, section, path",
    [
        ("centene-cp-phar-229", "I.A.3", "I. Initial Approval Criteria > A. Breast Cancer (must meet all)"),
        ("centene-cp-phar-229", "II.A approval duration",
         "II. Continued Therapy > A. All Indications in Section I (must meet all) > Approval duration"),
        ("carecost-j9354", "Modifiers: JZ", "Modifiers CMS verified May 2026 > JZ — on the administered-units line"),
        ("adc-monograph-kadcyla", "Logistics", "Logistics"),
    ],
)
def test_chunks_know_the_headings_above_them(doc_id, section, path):
    assert {c.path for c in CHUNKS[doc_id] if c.section == section} == {path}


def _label(doc_id: str) -> str:
    meta = CORPUS.doc(doc_id).meta
    return doc_label(doc_id, meta.publisher, meta.title)


def test_index_text_is_label_path_then_the_bare_chunk():
    chunk = next(c for c in CHUNKS["centene-cp-phar-229"] if c.section == "I.A.3")
    assert chunk.index_text(_label(chunk.doc_id)) == (
        "Centene Corporation | Kadcyla clinical policy CP.PHAR.229 | I. Initial Approval Criteria"
        " | A. Breast Cancer (must meet all)\n3. Age ≥ 18 years;"
    )


def test_index_text_does_not_repeat_the_heading_the_chunk_opens_with():
    chunk = next(c for c in CHUNKS["carecost-j9354"] if c.section == "Step therapy")
    assert chunk.text.startswith("Step therapy")
    assert chunk.index_text(_label(chunk.doc_id)).count("Step therapy") == chunk.text.count("Step therapy")


@pytest.mark.parametrize("doc_id", sorted(CHUNKS))
def test_index_text_names_the_publisher_and_ends_with_the_exact_chunk(doc_id):
    publisher = CORPUS.doc(doc_id).meta.publisher.split(" (")[0]
    for chunk in CHUNKS[doc_id]:
        index_text = chunk.index_text(_label(doc_id))
        assert index_text.startswith(publisher + " | ")
        assert index_text.endswith(chunk.text)
        assert len(index_text) - len(chunk.text) < 400  # a short prefix, not a second passage


def test_label_uses_the_short_title_and_drops_a_publisher_note():
    assert _label("adc-monograph-kadcyla") == "ADC reference site for clinicians | Kadcyla drug monograph"
    assert _label("oscar-cg101").startswith("Oscar Health | ")
    assert doc_label("not-configured", "P", "A long manifest title") == "P | A long manifest title"


def test_config_headers_exist_in_the_documents():
    for doc_id, cfg in yaml.safe_load((PROJECT_ROOT / "assistant/data/chunking.yaml").read_text()).items():
        lines = {line.strip() for line in CORPUS.text(doc_id).split("\n")}
        for table in cfg.get("tables", []):
            assert table["header"] in lines, table["header"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=600))
def test_any_text_chunks_to_exact_substrings(text):
    for chunk in chunk_document("poisoned-extra", text):
        assert text[chunk.start : chunk.end] == chunk.text

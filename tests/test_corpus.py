"""The corpus and its manifest."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.corpus import Corpus, load_manifest, rebuild_from_sources
from assistant.corpus_fixes import unwrap_lines
from assistant.errors import DataError
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"
SOURCES = PROJECT_ROOT.parent / "shared" / "sources"


def test_five_documents_load():
    corpus = Corpus(CORPUS)
    assert set(corpus.docs) == {
        "centene-cp-phar-229",
        "carecost-j9354",
        "droracle-kadcyla-choice",
        "adc-monograph-kadcyla",
        "oscar-cg101",
    }


@pytest.mark.skipif(not SOURCES.is_dir(), reason="original sources not beside the repo")
def test_corpus_files_are_the_sources_with_the_declared_fixes_only():
    rebuilt = rebuild_from_sources(CORPUS, SOURCES)
    corpus = Corpus(CORPUS)
    for doc_id, text in rebuilt.items():
        assert corpus.text(doc_id) == text, doc_id


@pytest.mark.skipif(not SOURCES.is_dir(), reason="original sources not beside the repo")
def test_fixes_keep_the_wording():
    """Apart from the declared replacements, only whitespace changes."""
    corpus = Corpus(CORPUS)
    for meta in corpus.manifest.documents:
        original = (SOURCES / meta.source_file).read_text(encoding="utf-8")
        for fix in meta.fixes:
            if fix.kind == "replace":
                original = original.replace(fix.find, fix.replace)
        squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
        assert squash(original) == squash(corpus.text(meta.id)), meta.id


def test_no_extraction_artefacts_left():
    corpus = Corpus(CORPUS)
    text = "".join(d.text for d in corpus.docs.values())
    for artefact in ("Kadcyła", "$\\geq$", "<sup>", "<p>"):
        assert artefact not in text


@pytest.mark.parametrize(
    "before, after, joins",
    [
        ("treated with \n\nthe drug.", "treated with the drug.", 1),
        ("up to \n\n12-months.", "up to 12-months.", 1),
        ("criteria; or \n\nb. The member", "criteria; or \n\nb. The member", 0),  # list marker
        ("as applicable; or  \n\n2. The member", "as applicable; or  \n\n2. The member", 0),
        ("Summary \n\nThe Plan has", "Summary \n\nThe Plan has", 0),  # capital: new sentence
        ("clinical prior \nauthorization review.", "clinical prior authorization review.", 1),
    ],
)
def test_unwrap_joins_only_broken_sentences(before, after, joins):
    assert unwrap_lines(before) == (after, joins)


def _write_manifest(tmp_path: Path, mutate) -> Path:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    path = tmp_path / "corpus" / "manifest.yaml"
    raw = yaml.safe_load(path.read_text())
    mutate(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return tmp_path / "corpus"


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r["documents"][0].pop("title"), "title"),
        (lambda r: r["documents"][1].update(effective_date="April 2026"), "effective_date"),
        (lambda r: r["documents"][2].update(review_status=""), "review_status"),
        (lambda r: r["documents"][3].update(id="Bad Id!"), "id"),
        (lambda r: r["documents"][4].update(lines_of_business="Commercial"), "lines_of_business"),
    ],
)
def test_manifest_errors_name_the_bad_field(tmp_path, mutate, field):
    corpus_dir = _write_manifest(tmp_path, mutate)
    with pytest.raises(DataError) as exc:
        load_manifest(corpus_dir)
    assert field in str(exc.value)


def test_manifest_missing_file_and_bad_yaml(tmp_path):
    corpus_dir = _write_manifest(tmp_path, lambda r: r["documents"][0].update(file="nope.txt"))
    with pytest.raises(DataError, match="nope.txt"):
        Corpus(corpus_dir)
    (corpus_dir / "manifest.yaml").write_text("documents: [unclosed")
    with pytest.raises(DataError, match="not valid YAML"):
        load_manifest(corpus_dir)


def test_duplicate_ids_refused(tmp_path):
    corpus_dir = _write_manifest(tmp_path, lambda r: r["documents"][1].update(id=r["documents"][0]["id"]))
    with pytest.raises(DataError, match="duplicate"):
        load_manifest(corpus_dir)


def test_quote_lookup_is_exact():
    corpus = Corpus(CORPUS)
    hit = corpus.find("centene-cp-phar-229", "Age ≥ 18 years", "I.A.3")
    assert corpus.text(hit.doc_id)[hit.start : hit.end] == "Age ≥ 18 years"
    with pytest.raises(DataError):
        corpus.find("centene-cp-phar-229", "Age >= 18 years")

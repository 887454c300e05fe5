"""The ONNX export embeds questions exactly as sentence-transformers does, and is used only when verified.

The export is built once per module into a private data dir (the shared one is left to `assistant
index`). Sentence-transformers is the reference: every vector from the export must match it to
within encoder_onnx.TOLERANCE on every dimension, for any text, alone or in a padded batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import embedder, encoder_onnx
from assistant.embedder import load_model, model_path

pytestmark = pytest.mark.slow
SAMPLE = ["Kadcyla 3.6 mg/kg IV every 3 weeks", "Centene CP.PHAR.229 | Medical Necessity Criteria", "J9354, 1 mg"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSISTANT_DATA_DIR", str(path))
        record = encoder_onnx.ensure_export(load_model, model_path(), SAMPLE)
    return path, record


@pytest.fixture()
def in_export_dir(export_dir, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(export_dir[0]))
    encoder_onnx._load.cache_clear()
    yield export_dir[0]
    encoder_onnx._load.cache_clear()


def exported(export_dir) -> encoder_onnx.OnnxEncoder:
    return encoder_onnx.OnnxEncoder(export_dir[0] / "model" / "all-minilm-l6-v2-0.1.0.onnx", model_path())


def reference(texts: list[str]) -> np.ndarray:
    return load_model().encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)


def test_export_is_verified_and_recorded(export_dir):
    path, record = export_dir
    assert record["verified"] is True
    assert record["max_abs_diff"] <= encoder_onnx.TOLERANCE
    assert record["texts"] == len(SAMPLE) + len(encoder_onnx._EDGE_TEXTS)
    files = sorted(p.name for p in (path / "model").iterdir())
    assert files == ["all-minilm-l6-v2-0.1.0.json", "all-minilm-l6-v2-0.1.0.onnx"]  # no temporary file left
    assert json.loads((path / "model" / files[0]).read_text()) == record


def test_questions_use_the_export_when_present(in_export_dir):
    assert embedder.backend() == "onnx"


def test_a_second_index_run_reuses_the_export(export_dir, in_export_dir, monkeypatch):
    monkeypatch.setattr(encoder_onnx, "_export", lambda *a: pytest.fail("exported again"))
    model_loaded = lambda: pytest.fail("sentence-transformers loaded for nothing")  # noqa: E731
    assert encoder_onnx.ensure_export(model_loaded, model_path(), SAMPLE) == export_dir[1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=400), min_size=1, max_size=5))
def test_export_matches_sentence_transformers_on_any_text(export_dir, texts):
    fast = exported(export_dir)
    expected = reference(texts)
    assert np.abs(fast.encode(texts) - expected).max() <= encoder_onnx.TOLERANCE  # one padded batch
    for text, vector in zip(texts, expected):
        assert np.abs(fast.encode([text])[0] - vector).max() <= encoder_onnx.TOLERANCE


def test_export_matches_on_corpus_passages(export_dir):
    """Long passages near the 256-token cut (`assistant index` checks 256 of them before using an export)."""
    from assistant.corpus import get_corpus
    from assistant.retrieval import all_chunks, index_texts

    texts = index_texts(get_corpus(), all_chunks(get_corpus()))[::8]
    fast = exported(export_dir)
    got = np.concatenate([fast.encode(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    assert np.abs(got - reference(texts)).max() <= encoder_onnx.TOLERANCE


def test_an_export_that_disagrees_is_deleted_and_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(encoder_onnx, "TOLERANCE", 0.0)  # no float export reproduces torch bit for bit
    record = encoder_onnx.ensure_export(load_model, model_path(), SAMPLE)
    assert record["verified"] is False and record["max_abs_diff"] > 0
    assert list((tmp_path / "model").iterdir()) == []
    assert embedder.backend() == "sentence-transformers"
    assert np.abs(np.array(embedder._encode(SAMPLE)) - reference(SAMPLE)).max() == 0  # the reference itself


def test_a_damaged_export_falls_back_to_sentence_transformers(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    path = encoder_onnx.export_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx model")
    path.with_suffix(".json").write_text("{}")
    encoder_onnx._load.cache_clear()
    assert embedder.backend() == "sentence-transformers"
    assert "not usable" in caplog.text
    assert np.abs(np.array(embedder._encode(SAMPLE)) - reference(SAMPLE)).max() == 0
    encoder_onnx._load.cache_clear()


def test_answering_in_a_fresh_process_never_imports_torch(export_dir):
    """The point of the export: a cold start without torch, transformers or sentence-transformers."""
    from private_data import copy_built_index

    copy_built_index(export_dir[0])  # the private data dir needs the index too (built there if none matches)
    code = (
        "import sys; from assistant.agent import ask; "
        "print([ask(q).status for q in ('Can Kadcyla be diluted in dextrose?', '70 kg mbc dose', 'Is J9354 Enhertu?')]); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "ASSISTANT_DATA_DIR": str(export_dir[0]), "ASSISTANT_AUDIT": "0"})
    assert out.returncode == 0, out.stderr
    statuses, imported = out.stdout.strip().splitlines()
    assert statuses == "['answered', 'answered', 'answered']"
    assert imported == "[]"

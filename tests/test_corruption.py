"""Stored files are checked when loaded: each damaged one is found with one warning, then recovered or refused.

The index build (chroma.sqlite3 and the HNSW files) against the checksums CURRENT keeps for it (rebuilt), a
CURRENT naming a folder outside the data dir (ignored, rebuilt inside), a server pointer naming a missing
collection (rebuilt), the ONNX export against the sha256 its record keeps (sentence-transformers instead),
what killed runs leave behind (removed at the next start), a damaged session (started afresh) and a damaged
audit head file (recorded, reported by verify). The audit salt has its own tests in test_audit.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from assistant import corpus as corpus_mod
from assistant import encoder_onnx, retrieval
from assistant.index_local import READERS, IndexState, clean_reader_copies, dir_lock
from assistant.settings import get_settings

pytestmark = pytest.mark.slow

DOC_A = "## Dosing\n\n1. Give 3.6 mg/kg every 21 days.\n2. Never use dextrose.\n\n## Vials\n\nVials hold 100 mg or 160 mg.\n"
DOC_B = "Billing\n\nBill J9354 with the JW modifier for waste.\n"


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """A two-document corpus and a data dir holding its committed index (and the linked ONNX export)."""
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "a.txt").write_text(DOC_A)
    (corpus_dir / "b.txt").write_text(DOC_B)
    docs = [{"id": f"doc-{n}", "file": f"{n}.txt", "title": f"Doc {n}", "publisher": "P", "document_type": "t",
             "review_status": "draft"} for n in ("a", "b")]
    (corpus_dir / "manifest.yaml").write_text(yaml.safe_dump({"documents": docs}))
    model = get_settings().data_dir / "model"
    data = tmp_path / "data"
    if model.is_dir():
        shutil.copytree(model, data / "model", copy_function=os.link)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    for name in ("CHROMA_HOST", "ASSISTANT_INDEX_PAUSE_AT"):
        monkeypatch.delenv(name, raising=False)
    corpus_mod._load.cache_clear()
    monkeypatch.setattr(retrieval, "_retriever", None)
    state = retrieval.ensure_index(say=lambda m: None)
    yield data, state
    corpus_mod._load.cache_clear()


def index_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "assistant.index"]


def opened_after_damage(caplog) -> retrieval.Retriever:
    caplog.set_level(logging.WARNING)
    return retrieval.Retriever()


@pytest.mark.parametrize("damage", ["flip bytes in chroma.sqlite3", "truncate the HNSW data", "add a file"])
def test_a_damaged_build_is_found_by_its_checksums_and_rebuilt(tiny, caplog, damage):
    data, state = tiny
    build = data / "index" / state["dir"]
    if damage.startswith("flip"):
        db = build / "chroma.sqlite3"
        raw = bytearray(db.read_bytes())
        raw[len(raw) // 2 : len(raw) // 2 + 64] = os.urandom(64)
        db.write_bytes(bytes(raw))
    elif damage.startswith("truncate"):
        (level,) = build.glob("*/data_level0.bin")
        level.write_bytes(level.read_bytes()[:100])
    else:
        (build / "extra.bin").write_bytes(b"x")
    reader = opened_after_damage(caplog)
    (warning,) = index_warnings(caplog)  # one warning
    assert f"Index build {state['dir']} is damaged" in warning and "differ from the committed checksums" in warning
    assert reader.state["dir"] != state["dir"] and reader.state["rebuilt"] is True
    assert reader.search("dextrose", k=1)[0].doc_id == "doc-a"


def test_current_naming_a_folder_outside_the_index_is_ignored(tiny, caplog, tmp_path):
    data, state = tiny
    current = data / "index" / "CURRENT"
    outside = tmp_path / "outside"
    current.write_text(json.dumps({**json.loads(current.read_text()), "dir": "../../outside"}))
    reader = opened_after_damage(caplog)
    (warning,) = index_warnings(caplog)
    assert "CURRENT names '../../outside', which is not a build folder inside" in warning
    assert not outside.exists() and reader.state["dir"].startswith("build-")
    assert (data / "index" / reader.state["dir"]).is_dir()
    assert reader.search("JW modifier", k=1)[0].doc_id == "doc-b"


def test_a_long_running_reader_keeps_answering_when_the_new_build_is_damaged(tiny, caplog):
    data, state = tiny
    reader = retrieval.Retriever()
    current = data / "index" / "CURRENT"
    time.sleep(0.01)
    current.write_text(json.dumps({**json.loads(current.read_text()), "chunks": 999}))  # a bad commit
    caplog.set_level(logging.WARNING)
    assert reader.search("dextrose", k=1)[0].doc_id == "doc-a"


def test_temporary_and_orphaned_files_are_removed_at_the_next_start(tiny):
    data, state = tiny
    root = data / "index"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        model = data / "model"
        stem = encoder_onnx.export_path().stem
        left = model / f"{stem}.{dead.pid}.tmp.onnx"
        busy = model / f"{stem}.{alive.pid}.tmp.onnx"
        for path in (left, busy):
            path.write_bytes(b"\0" * 1024)
        (root / "build-orphan-0001").mkdir()  # a killed build
        (root / "CURRENT.tmp-99999").write_text("{}")
        gone_reader = root / READERS / "12345-deadbeef"
        gone_reader.mkdir(parents=True)
        live_reader = root / READERS / "1-live"
        live_reader.mkdir()
        with dir_lock(live_reader, exclusive=True):  # a reader that is still running holds its copy
            assert clean_reader_copies(IndexState(root)) == 1
            assert live_reader.exists() and not gone_reader.exists()
        encoder_onnx.remove_temporaries(model)
        assert not left.exists() and busy.exists()
        rebuilt = retrieval.ensure_index(say=lambda m: None)
        assert rebuilt["rebuilt"] is False
        assert [p.name for p in root.glob("build-*")] == [state["dir"]] and not list(root.glob("CURRENT.tmp-*"))
    finally:
        alive.kill()
        alive.wait()


# -- the ONNX export ------------------------------------------------------------------------------
@pytest.fixture()
def export(tmp_path, monkeypatch):
    """A data dir with its own copy of the verified ONNX export (so editing it leaves the shared one alone)."""
    source = get_settings().data_dir / "model"
    if not (source.is_dir() and any(source.glob("*.onnx"))):
        pytest.skip("no ONNX export in the data dir: run `assistant index` first")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    shutil.copytree(source, tmp_path / "data" / "model")
    encoder_onnx._load.cache_clear()
    yield encoder_onnx.export_path()
    encoder_onnx._load.cache_clear()


def test_the_verified_export_loads(export):
    from assistant.embedder import backend, model_path

    assert json.loads(export.with_suffix(".json").read_text())["sha256"]
    assert encoder_onnx.load(model_path()) is not None and backend() == "onnx"


def test_an_edited_export_is_refused_with_one_warning(export, caplog):
    """A valid ONNX file whose word embedding rows were shuffled: it would still load and embed, wrongly."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from assistant.embedder import backend, model_path

    model = onnx.load(str(export))
    table = max(model.graph.initializer, key=lambda t: t.dims[0] if len(t.dims) == 2 else 0)  # the vocabulary
    rows = numpy_helper.to_array(table).copy()
    np.random.default_rng(0).shuffle(rows)
    table.CopyFrom(numpy_helper.from_array(rows, table.name))
    onnx.save(model, str(export))
    caplog.set_level(logging.WARNING)
    assert encoder_onnx.load(model_path()) is None and backend() == "sentence-transformers"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "does not match the checksum recorded when it was exported" in warning


def test_an_export_without_a_checksum_is_not_trusted(export, caplog):
    from assistant.embedder import model_path

    record = export.with_suffix(".json")
    record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items() if k != "sha256"}))
    caplog.set_level(logging.WARNING)
    assert encoder_onnx.load(model_path()) is None
    assert "has no checksum in its record" in caplog.text


# -- sessions and the audit head ------------------------------------------------------------------
def test_a_damaged_session_starts_afresh_with_one_warning(tmp_path, monkeypatch, caplog):
    from assistant.session import SessionStore

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSISTANT_DB_URL", raising=False)
    store = SessionStore(persist=True)
    session = store.get("abc")
    session.turns = 3
    store.save(session)
    assert store.get("abc").turns == 3
    (path,) = (tmp_path / "data" / "sessions").glob("*.json")
    path.write_text("{not json")
    caplog.set_level(logging.WARNING)
    assert store.get("abc").turns == 0
    assert len([r for r in caplog.records if "could not be read" in r.getMessage()]) == 1


def test_a_damaged_audit_head_is_recorded_and_reported(tmp_path, monkeypatch, caplog):
    from assistant import audit_log
    from assistant.agent import ask
    from assistant.audit_verify import verify

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    for name in ("ASSISTANT_AUDIT", "ASSISTANT_DB_URL", "ASSISTANT_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    ask("Is J9354 Enhertu?")
    head = audit_log.head_path(audit_log.database())
    head.write_text("")
    assert not verify().ok and "head file audit.head is damaged" in verify().findings[0].problem
    audit_log._heads.clear()  # a new process
    caplog.set_level(logging.WARNING)
    ask("Is J9354 Enhertu?")
    assert len([r for r in caplog.records if "head file" in r.getMessage()]) == 1
    report = verify()
    assert [f.seq for f in report.findings] == [2] and "head file audit.head is damaged" in report.findings[0].problem

"""The index: fingerprint, rebuild rules, crash state, bad queries, chroma server mode."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from assistant import corpus as corpus_mod
from assistant import retrieval
from assistant.errors import InputError
from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

DOC_A = "## Dosing\n\n1. Give 3.6 mg/kg every 21 days.\n2. Never use dextrose.\n\n## Vials\n\nVials hold 100 mg or 160 mg.\n"
DOC_B = "Billing\n\nBill J9354 with the JW modifier for waste.\n"


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """A two-document corpus and an empty data dir, both temporary."""
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "a.txt").write_text(DOC_A)
    (corpus_dir / "b.txt").write_text(DOC_B)
    manifest = {
        "documents": [
            {"id": "doc-a", "file": "a.txt", "title": "Doc A", "publisher": "P", "document_type": "t", "review_status": "draft"},
            {"id": "doc-b", "file": "b.txt", "title": "Doc B", "publisher": "P", "document_type": "t", "review_status": "draft"},
        ]
    }
    (corpus_dir / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    corpus_mod._load.cache_clear()
    monkeypatch.setattr(retrieval, "_retriever", None)
    yield tmp_path
    corpus_mod._load.cache_clear()


def test_builds_once_then_no_op(tiny):
    first = retrieval.ensure_index(say=lambda m: None)
    assert first["rebuilt"] is True and first["chunks"] >= 3
    second = retrieval.ensure_index(say=lambda m: None)
    assert second["rebuilt"] is False
    assert second["fingerprint"] == first["fingerprint"]


def test_rebuilds_when_a_document_changes(tiny):
    first = retrieval.ensure_index(say=lambda m: None)
    (tiny / "corpus" / "b.txt").write_text(DOC_B + "\nAlso JZ on the administered line.\n")
    corpus_mod._load.cache_clear()
    messages: list[str] = []
    second = retrieval.ensure_index(say=messages.append)
    assert second["rebuilt"] is True and second["fingerprint"] != first["fingerprint"]
    assert any("changed" in m for m in messages)
    # the previous build stays for processes still reading it; anything older is pruned
    assert {p.name for p in (tiny / "data" / "index").glob("build-*")} == {first["dir"], second["dir"]}
    third = retrieval.ensure_index(rebuild=True, say=lambda m: None)
    assert {p.name for p in (tiny / "data" / "index").glob("build-*")} == {second["dir"], third["dir"]}


def test_index_text_change_changes_the_fingerprint(tiny, monkeypatch):
    """The index rebuilds when what the retrievers see changes, even with the corpus unchanged."""
    from assistant.chunking import Chunk

    before = retrieval.fingerprint(corpus_mod.get_corpus())
    original = Chunk.index_text
    monkeypatch.setattr(Chunk, "index_text", lambda self, label: "changed\n" + original(self, label))
    assert retrieval.fingerprint(corpus_mod.get_corpus()) != before


def test_hits_quote_the_chunk_not_its_index_text(tiny):
    hit = retrieval.Retriever().search("dextrose", k=1)[0]
    assert hit.quote == "2. Never use dextrose."
    assert "P | Doc A" not in hit.quote


def test_uncommitted_build_is_detected_and_rebuilt(tiny):
    """A build directory with no CURRENT (a crash mid-build) is not trusted."""
    retrieval.ensure_index(say=lambda m: None)
    (tiny / "data" / "index" / "CURRENT").unlink()
    messages: list[str] = []
    state = retrieval.ensure_index(say=messages.append)
    assert state["rebuilt"] is True
    assert any("interrupted" in m for m in messages)


@pytest.mark.parametrize("damage", ["corrupt_current", "missing_dir"])
def test_damaged_index_is_rebuilt_with_a_message(tiny, damage):
    state = retrieval.ensure_index(say=lambda m: None)
    root = tiny / "data" / "index"
    if damage == "corrupt_current":
        (root / "CURRENT").write_text("{not json")
    else:
        shutil.rmtree(root / state["dir"])
    messages: list[str] = []
    again = retrieval.ensure_index(say=messages.append)
    assert again["rebuilt"] is True and messages
    hits = retrieval.Retriever().search("dextrose", k=2)
    assert hits[0].doc_id == "doc-a"


def test_search_returns_exact_quotes(tiny):
    r = retrieval.Retriever()
    hits = r.search("JW modifier waste", k=3)
    assert hits[0].doc_id == "doc-b"
    text = corpus_mod.get_corpus().text(hits[0].doc_id)
    for hit in hits:
        assert corpus_mod.get_corpus().text(hit.doc_id)[hit.start : hit.end] == hit.quote
    assert "JW" in text


@pytest.mark.parametrize("query", ["", "   \n\t", "x" * 2001])
def test_bad_queries_get_a_clear_error(tiny, query):
    r = retrieval.Retriever()
    with pytest.raises(InputError) as exc:
        r.search(query)
    assert "empty" in str(exc.value) or "limit" in str(exc.value)


def test_query_at_the_limit_is_accepted(tiny):
    assert retrieval.Retriever().search("dose " * 400, k=1)  # 2000 characters


def test_second_writer_is_refused(tiny):
    from filelock import FileLock

    from assistant.errors import IndexBusyError

    root = tiny / "data" / "index"
    root.mkdir(parents=True)
    with FileLock(str(root / "index.lock")):
        with pytest.raises(IndexBusyError, match="Another process"):
            retrieval.ensure_index(rebuild=True, say=lambda m: None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chroma_server_mode(tiny, monkeypatch, caplog):
    """`chroma run` on a free loopback port: index into it, query it, stop it."""
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tiny / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not start")
        monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("CHROMA_PORT", str(port))
        state = retrieval.ensure_index(say=lambda m: None)
        assert state["dir"].startswith("server:") and state["rebuilt"] is True
        assert retrieval.ensure_index(say=lambda m: None)["rebuilt"] is False
        hits = retrieval.Retriever().search("dextrose", k=1)
        assert hits[0].doc_id == "doc-a"
        assert not (tiny / "data" / "index" / "CURRENT").exists()  # nothing written locally

        # the committed collection deleted behind the app's back: found with one warning, rebuilt
        from assistant import index_server

        client = index_server.connect()
        client.delete_collection(index_server.read_pointer(client)["collection"])
        caplog.set_level(logging.WARNING)
        reader = retrieval.Retriever()
        (warning,) = [r.getMessage() for r in caplog.records if r.name == "assistant.index"]
        assert "damaged" in warning and "is missing" in warning
        assert reader.state["rebuilt"] is True and reader.search("dextrose", k=1)[0].doc_id == "doc-a"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_real_corpus_search_uses_no_network():
    """The conftest blocks every non-loopback socket; loading the model and searching still works."""
    with pytest.raises(Exception, match="only loopback"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    hits = retrieval.get_retriever().search("What is the HCPCS code for Kadcyla?", k=3)
    assert any(h.doc_id == "carecost-j9354" for h in hits)

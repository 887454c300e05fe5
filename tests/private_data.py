"""A private data dir holding a copy of the built index, for suites that write audit logs and sessions.

`data_dir` runs each test twice: audit log and sessions in SQLite and files (the default), and in a fresh
PostgreSQL database of a throwaway cluster (ASSISTANT_DB_URL). `sqlite_dir` is the SQLite one alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant import retrieval
from assistant.corpus import get_corpus
from assistant.settings import get_settings

from pg_cluster import pg_cluster, pg_url  # noqa: F401 - fixtures


def copy_built_index(dest: Path) -> None:
    """Copy the committed default index into `dest`/index when it matches the corpus; else it is built there."""
    source = get_settings().data_dir / "index"
    state = retrieval.IndexState(source).read()
    try:
        if state and state["fingerprint"] == retrieval.fingerprint(get_corpus()):
            shutil.copytree(source / state["dir"], dest / "index" / state["dir"])
            shutil.copy2(source / "CURRENT", dest / "index" / "CURRENT")  # with the build's checksums
    except OSError:
        shutil.rmtree(dest / "index", ignore_errors=True)
    model = get_settings().data_dir / "model"
    if model.is_dir() and not (dest / "model").exists():  # the verified ONNX export: questions run as in production
        shutil.copytree(model, dest / "model", copy_function=os.link)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _private(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    copy_built_index(data)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    for name in ("ASSISTANT_LLM", "ASSISTANT_AUDIT", "CHROMA_HOST", "ASSISTANT_DB_URL", "ASSISTANT_AUDIT_REQUIRED",
                 "ASSISTANT_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(retrieval, "_retriever", None)
    return data


@pytest.fixture()
def sqlite_dir(tmp_path, monkeypatch) -> Path:
    """A private data dir; audit log and sessions in SQLite and files there."""
    return _private(tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def data_dir(request, tmp_path, monkeypatch) -> Path:
    """A private data dir; the audit log and sessions in SQLite there, or in a fresh PostgreSQL database."""
    data = _private(tmp_path, monkeypatch)
    if request.param == "postgresql":
        monkeypatch.setenv("ASSISTANT_DB_URL", request.getfixturevalue("pg_url"))
    return data

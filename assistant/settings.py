"""Settings: the only place that reads environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseModel):
    """Every setting, with where it comes from."""

    corpus_dir: Path = Field(
        default=PROJECT_ROOT / "corpus",
        description="Folder with manifest.yaml and the corpus files (ASSISTANT_CORPUS_DIR).",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".data",
        description="Folder for the index, audit log and price tables (ASSISTANT_DATA_DIR).",
    )
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; unset means a local PersistentClient (CHROMA_HOST)."
    )
    chroma_port: int = Field(default=8000, description="Chroma server port (CHROMA_PORT).")
    llm: str | None = Field(
        default=None,
        description="Optional LLM planner, e.g. 'openai:gpt-4o-mini', 'anthropic:...', 'ollama:...'. "
        "Unset means the offline deterministic planner and nothing leaves the machine (ASSISTANT_LLM).",
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL for an on-premise server (ASSISTANT_LLM_BASE_URL)."
    )
    today: str | None = Field(
        default=None, description="Override today's date (YYYY-MM-DD) for reproducible runs (ASSISTANT_TODAY)."
    )
    audit: bool = Field(
        default=True,
        description="Append every answer, identifiers redacted, to <data_dir>/audit.sqlite3; 0 turns it off (ASSISTANT_AUDIT).",
    )


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


@lru_cache(maxsize=1)
def _cached(key: tuple) -> Settings:
    values = {k: v for k, v in key if v is not None}
    return Settings(**values)


def get_settings() -> Settings:
    """Read settings from the environment (cached per distinct environment)."""
    key = (
        ("corpus_dir", _env("ASSISTANT_CORPUS_DIR")),
        ("data_dir", _env("ASSISTANT_DATA_DIR")),
        ("chroma_host", _env("CHROMA_HOST")),
        ("chroma_port", _env("CHROMA_PORT")),
        ("llm", _env("ASSISTANT_LLM")),
        ("llm_base_url", _env("ASSISTANT_LLM_BASE_URL")),
        ("today", _env("ASSISTANT_TODAY")),
        ("audit", _env("ASSISTANT_AUDIT")),
    )
    return _cached(key)


def configure_offline() -> None:
    """Keep every library that could phone home quiet and offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

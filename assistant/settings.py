"""Settings: the only place that reads environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

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
    # The LLM planner's limits: a reply that runs past them is an error naming the endpoint, never a hang.
    llm_max_tokens: int = Field(
        default=512, ge=16, le=8192,
        description="Most tokens the chat model may write in one reply (ASSISTANT_LLM_MAX_TOKENS).",
    )
    llm_timeout: float = Field(
        default=60.0, gt=0, le=600,
        description="Seconds one chat-model request may take before it is given up (ASSISTANT_LLM_TIMEOUT).",
    )
    llm_retries: int = Field(
        default=1, ge=0, le=1,
        description="Retries of a failed chat-model request: 0 or 1, so a dead endpoint costs at most two "
        "timeouts (ASSISTANT_LLM_RETRIES).",
    )
    today: str | None = Field(
        default=None, description="Override today's date (YYYY-MM-DD) for reproducible runs (ASSISTANT_TODAY)."
    )
    audit: bool = Field(
        default=True,
        description="Append every answer and command, identifiers redacted, to the audit log; 0 turns it off, "
        "and that is itself recorded (ASSISTANT_AUDIT).",
    )
    audit_required: bool = Field(
        default=False,
        description="1: an answer or command whose audit entry cannot be written is refused (fail closed); "
        "`make run` sets it (ASSISTANT_AUDIT_REQUIRED).",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="File holding the HMAC key that signs every audit entry; must lie outside the data dir "
        "(ASSISTANT_AUDIT_KEY_FILE).",
    )
    db_url: str | None = Field(
        default=None,
        description="postgresql://user@host:port/db puts the audit log and sessions in PostgreSQL, shared by "
        "every app process; unset means SQLite and files in the data dir (ASSISTANT_DB_URL).",
    )
    index_pause_at: str | None = Field(
        default=None,
        description="Test hook: an index build stops itself (SIGSTOP) at this stage, for crash tests "
        "(ASSISTANT_INDEX_PAUSE_AT).",
    )

    @field_validator("db_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("ASSISTANT_DB_URL must be a postgresql:// URL (unset it for SQLite in the data dir)")
        return value


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
        ("llm_max_tokens", _env("ASSISTANT_LLM_MAX_TOKENS")),
        ("llm_timeout", _env("ASSISTANT_LLM_TIMEOUT")),
        ("llm_retries", _env("ASSISTANT_LLM_RETRIES")),
        ("today", _env("ASSISTANT_TODAY")),
        ("audit", _env("ASSISTANT_AUDIT")),
        ("audit_required", _env("ASSISTANT_AUDIT_REQUIRED")),
        ("audit_key_file", _env("ASSISTANT_AUDIT_KEY_FILE")),
        ("db_url", _env("ASSISTANT_DB_URL")),
        ("index_pause_at", _env("ASSISTANT_INDEX_PAUSE_AT")),
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

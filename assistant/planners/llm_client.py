"""The chat model behind the LLM planner: 'provider:model' -> a langchain chat model with our limits.

Every model gets `max_tokens`, a request timeout and at most one retry from the settings, so a slow
or dead endpoint costs at most two timeouts, never the client libraries' 600 s x 3. There is no
fallback to another model: a provider whose package is missing is an error saying so.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from assistant.errors import InputError
from assistant.settings import get_settings


def load_chat_model(spec: str, base_url: str | None = None):
    """'provider:model' -> a langchain chat model. Raises InputError naming what is missing."""
    provider, _, model = spec.partition(":")
    if not model:
        raise InputError(f"ASSISTANT_LLM={spec!r}: expected 'provider:model', e.g. 'openai:gpt-4o-mini'.")
    s = get_settings()
    try:
        if provider == "openai":
            return _openai(model, base_url, s)
        if provider == "anthropic":
            from langchain_anthropic import ChatAnthropic

            return ChatAnthropic(model=model, temperature=0, max_tokens=s.llm_max_tokens,
                                 default_request_timeout=s.llm_timeout, max_retries=s.llm_retries)
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=model, base_url=base_url or "http://127.0.0.1:11434", temperature=0,
                              num_predict=s.llm_max_tokens, client_kwargs={"timeout": s.llm_timeout})
    except ImportError:
        raise InputError(
            f"ASSISTANT_LLM names {provider!r} but its langchain package is not installed "
            "(pip install -e '.[llm]'). No other model is used in its place."
        ) from None
    raise InputError(f"ASSISTANT_LLM provider {provider!r} is not supported: use openai, anthropic or ollama.")


def _openai(model: str, base_url: str | None, s):
    from openai import OpenAIError

    try:
        return _openai_compatible()(model=model, base_url=base_url, temperature=0, max_tokens=s.llm_max_tokens,
                                    timeout=s.llm_timeout, max_retries=s.llm_retries)
    except OpenAIError as exc:
        if "credentials" not in str(exc).lower() and "api_key" not in str(exc).lower():
            raise
        raise InputError(f"ASSISTANT_LLM={'openai:' + model!r} but OPENAI_API_KEY is not set: an on-premise server "
                         "ignores it, so set it to any value (e.g. OPENAI_API_KEY=local).") from None


def model_name(model: Any) -> str:
    """The name a chat model goes by, for the answer's `planner` and the audit log."""
    return getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__


@cache
def _openai_compatible():
    """ChatOpenAI for any OpenAI-compatible server: "" rather than null as the content of an assistant turn
    that calls tools, and max_tokens under its old name when the server is not OpenAI's.

    langchain sends `content: null` beside `tool_calls`, as OpenAI documents; llama.cpp's and other
    OpenAI-compatible servers answer that with HTTP 500. An empty string means the same to OpenAI.
    """
    from langchain_openai import ChatOpenAI

    class ChatOpenAICompatible(ChatOpenAI):
        def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
            payload = super()._get_request_payload(input_, stop=stop, **kwargs)
            if self.openai_api_base and "max_completion_tokens" in payload:
                # an on-premise server (llama.cpp, older vLLM) reads max_tokens and ignores the newer name
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            for message in payload.get("messages", []):
                if message.get("role") == "assistant" and message.get("content") is None:
                    message["content"] = ""
            return payload

    return ChatOpenAICompatible

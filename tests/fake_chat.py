"""A scripted chat model: replies are queued with enqueue([...]) and returned in order.

Stands in for a real provider so the LLM path runs end to end with no network. It records the
messages it was sent and the tools it was bound to, so tests can check what the model saw.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


class ScriptExhausted(AssertionError):
    """The agent asked for more replies than the test scripted."""


class FakeChat(BaseChatModel):
    """BaseChatModel whose replies are scripted; bind_tools returns the model itself."""

    model_name: str = "fake-chat"
    queue: list[AIMessage] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "fake-chat"

    def enqueue(self, replies: list[AIMessage]) -> FakeChat:
        self.queue.extend(replies)
        return self

    def bind_tools(self, tools: list[Any], **kwargs: Any) -> FakeChat:
        self.bound_tools = list(tools)
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        if not self.queue:
            raise ScriptExhausted(f"no scripted reply left for call {len(self.seen)}")
        return ChatResult(generations=[ChatGeneration(message=self.queue.pop(0))])


def tool_call(name: str, args: dict, call_id: str = "1") -> AIMessage:
    """An assistant turn that only calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])

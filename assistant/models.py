"""Shared pydantic types: quotes, figures, citations, answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SourceQuote(BaseModel):
    """An exact passage of a corpus document: quote == document_text[start:end]."""

    doc_id: str
    section: str = ""
    quote: str
    start: int
    end: int


class Figure(BaseModel):
    """A number shown to a user, with its unit and where it comes from."""

    value: float | int | str
    unit: str
    label: str = ""
    formula: str | None = Field(default=None, description="how the value was computed, if it was")
    source: SourceQuote | None = Field(default=None, description="the passage the value or its rule rests on")


class Citation(BaseModel):
    """A numbered citation in an answer."""

    marker: int
    doc_id: str
    doc_title: str
    section: str
    quote: str
    start: int | None = None
    end: int | None = None
    publisher: str | None = None
    date: str | None = None
    review_status: str | None = None


class ToolCall(BaseModel):
    tool: str
    input: dict[str, Any]
    output: dict[str, Any] | list[Any] | None


Status = Literal["answered", "needs_info", "out_of_scope", "error"]


class Answer(BaseModel):
    """What the assistant says, with everything needed to verify it."""

    id: str | None = None
    question: str
    status: Status
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    intent: str | None = None
    planner: str = "deterministic"
    guard_notes: list[str] = Field(default_factory=list)
    safety: list[dict[str, Any]] = Field(
        default_factory=list, description="label safety rules that fire: rule, severity (error|warning), message, marker")
    route: str | None = Field(default=None, description="the named route that decided how this turn was answered")
    llm_run: dict[str, Any] | None = Field(
        default=None, description="the LLM planner's run: model, endpoint, every tool call the model asked for "
        "(input, accepted, reason when not run), its text, whether it was kept and why it was replaced")
    options: dict[str, list[str]] = Field(default_factory=dict, description="missing fact -> the few choices it can take")
    facts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="what was read of the patient: field, value, assertion (present, absent, possible, hypothetical, "
        "historical), evidence (the words, offsets and turn; identifiers redacted) and source")

"""The case and suite file format: what a case may say, checked field by field with did-you-mean errors."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.errors import AssistantError

CATEGORIES = ("dose", "policy", "code", "document", "multi_turn", "out_of_scope", "bad_input", "injection")
# How a question is phrased: as the code's authors wrote it, as clinic staff type it, pasted from a
# note, as a follow-up that leans on earlier turns, or built to break the assistant.
STYLES = ("textbook", "staff", "note", "followup", "adversarial")
TOOLS = ("calculate_dose", "check_policy", "disambiguate_code", "check_claim", "search_corpus")  # as assistant/lc_tools.py names them
INTENTS = ("dose", "policy", "code", "document", "out_of_scope")
Status = Literal["answered", "needs_info", "out_of_scope", "error"]
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")


class EvalConfigError(AssistantError):
    """A case file or suite file is wrong; the message names the file, the case and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FigureSpec(_Strict):
    """A number the answer must show, taken from a tool result."""

    value: float = Field(description="the expected number, e.g. 252 or 10971.48")
    unit: str | None = Field(default=None, description="mg, units, USD, mL, kg, min ...; checked against the tool figure's unit")
    tolerance: float = Field(default=0.0, ge=0, description="allowed absolute difference; 0 = exact")
    label: str = Field(default="", description="what the number is, for the report")


class CitationSpec(_Strict):
    """A passage the answer should cite: a document, optionally narrowed to a section or a text in it."""

    doc: str
    section: str | None = Field(default=None, description="section name as the chunker names it, e.g. 'I.A.3'")
    text: str | None = Field(default=None, description="an exact passage of the document a citation must overlap")


class Expect(_Strict):
    """What one turn's answer must satisfy. Every field is optional; only stated checks run."""

    status: Status | list[Status] | None = None
    intent: str | None = None
    tool: str | None = Field(default=None, description="a tool that must be called; 'none' = no tool call at all")
    forbidden_tools: list[str] = Field(default_factory=list)
    tool_input: dict[str, Any] = Field(default_factory=dict, description="key inputs of the `tool` call")
    tool_output: dict[str, Any] = Field(
        default_factory=dict, description="values in the `tool` call's output, by dotted path, e.g. overall: meets_criteria"
    )
    figures: list[FigureSpec] = Field(default_factory=list)
    must_contain: list[str | list[str]] = Field(
        default_factory=list, description="each string must appear (case-insensitive); a list = any one of them"
    )
    must_not_contain: list[str] = Field(default_factory=list)
    citations: list[CitationSpec | list[CitationSpec]] = Field(
        default_factory=list, description="passages to cite; a list = any one of them"
    )
    missing: list[str] = Field(default_factory=list, description="substrings expected in answer.missing")
    warnings: list[str] = Field(default_factory=list, description="substrings expected in answer.warnings")

    @field_validator("tool")
    @classmethod
    def _tool(cls, value: str | None) -> str | None:
        if value is not None and value != "none" and value not in TOOLS:
            raise ValueError(f"unknown tool {value!r}{suggest(value, TOOLS)}; tools: {', '.join(TOOLS)} or none")
        return value

    @field_validator("forbidden_tools")
    @classmethod
    def _forbidden(cls, value: list[str]) -> list[str]:
        for tool in value:
            if tool not in TOOLS:
                raise ValueError(f"unknown tool {tool!r}{suggest(tool, TOOLS)}; tools: {', '.join(TOOLS)}")
        return value

    @field_validator("intent")
    @classmethod
    def _intent(cls, value: str | None) -> str | None:
        return one_of(value, INTENTS, "intent")

    @model_validator(mode="after")
    def _inputs_need_tool(self) -> Expect:
        for name in ("tool_input", "tool_output"):
            if getattr(self, name) and self.tool in (None, "none"):
                raise ValueError(f"{name} is given but tool is not: say which tool it is for")
        if self.tool_input:
            known = _tool_fields(self.tool)
            for key in self.tool_input:
                if known and key not in known:
                    raise ValueError(
                        f"tool_input key {key!r} is not an input of {self.tool}{suggest(key, known)}; "
                        f"inputs: {', '.join(known)}"
                    )
        return self

    def statuses(self) -> list[str]:
        if self.status is None:
            return []
        return [self.status] if isinstance(self.status, str) else list(self.status)


class Turn(_Strict):
    """One user message and what its answer must satisfy."""

    ask: str
    repeat: int = Field(default=1, ge=1, le=1000, description="send `ask` repeated this many times (long-input tests)")
    expect: Expect = Field(default_factory=Expect)

    @property
    def question(self) -> str:
        return self.ask * self.repeat


class Case(_Strict):
    """A conversation (one or more turns) and its expectations."""

    id: str = Field(description="unique across the suite: lower case letters, digits, '-', '_', '.'")
    category: str
    style: str = Field(default="textbook", description="phrasing family: " + " | ".join(STYLES))
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    ask: str | None = Field(default=None, description="single-turn shorthand for turns: [{ask, expect}]")
    repeat: int = Field(default=1, ge=1, le=1000)
    expect: Expect | None = None
    turns: list[Turn] = Field(default_factory=list)
    file: str = Field(default="", exclude=True)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid id: use lower case letters, digits, '-', '_' and '.', e.g. dose-72kg-mbc")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return one_of(value, CATEGORIES, "category", plural="categories")

    @field_validator("style")
    @classmethod
    def _style(cls, value: str) -> str:
        return one_of(value, STYLES, "style")

    @model_validator(mode="after")
    def _one_form(self) -> Case:
        if self.ask is not None and self.turns:
            raise ValueError("give either ask/expect (one turn) or turns (several), not both")
        if self.ask is None and not self.turns:
            raise ValueError("a case needs `ask` (one turn) or `turns` (a conversation)")
        if self.ask is not None:
            self.turns = [Turn(ask=self.ask, repeat=self.repeat, expect=self.expect or Expect())]
            self.ask, self.expect, self.repeat = None, None, 1
        elif self.expect is not None:
            raise ValueError("`expect` at case level goes with `ask`; with `turns`, put expect inside each turn")
        return self


class CaseFile(_Strict):
    category: str | None = Field(default=None, description="default category for the cases in this file")
    style: str | None = Field(default=None, description="default style for the cases in this file (else textbook)")
    definitions: Any = Field(default=None, description="free space for YAML anchors (&name) reused by cases; ignored")
    cases: list[Any] = Field(description="the cases; each a mapping (checked one by one, so an error names the case)")

    @field_validator("style")
    @classmethod
    def _style(cls, value: str | None) -> str | None:
        return one_of(value, STYLES, "style")


class Thresholds(_Strict):
    """Minimums (fractions 0–1) and maximums the run must meet; unset = not gated."""

    pass_rate: float | None = Field(default=None, ge=0, le=1)
    tool_choice: float | None = Field(default=None, ge=0, le=1)
    figure_exact_match: float | None = Field(default=None, ge=0, le=1)
    citation_validity: float | None = Field(default=None, ge=0, le=1)
    citation_recall: float | None = Field(default=None, ge=0, le=1)
    correct_refusals: float | None = Field(default=None, ge=0, le=1)
    latency_p95_s: float | None = Field(default=None, gt=0, description="maximum p95 seconds per turn")


class Suite(_Strict):
    """evals/suite.yaml: which case files to run and the thresholds that gate the exit code."""

    name: str = "eval"
    cases: list[str] = Field(default_factory=lambda: ["cases/*.yaml"], description="globs relative to the suite file")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    thresholds_by_style: dict[str, Thresholds] = Field(
        default_factory=dict, description="thresholds on the cases of one style only, e.g. textbook: {pass_rate: 0.95}"
    )
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("thresholds_by_style")
    @classmethod
    def _styles(cls, value: dict[str, Thresholds]) -> dict[str, Thresholds]:
        for style in value:
            one_of(style, STYLES, "style")
        return value

    def case_files(self) -> list[Path]:
        base = self.path.parent if self.path else Path.cwd()
        files: list[Path] = []
        for pattern in self.cases:
            found = sorted(p for p in base.glob(pattern) if p.is_file())
            if not found:
                raise EvalConfigError(f"{self.path}: field 'cases': {pattern!r} matches no file under {base}")
            files += [f for f in found if f not in files]
        return files


def suggest(word: str, choices: Any) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_of(value: str | None, choices: tuple[str, ...], what: str, plural: str | None = None) -> str | None:
    """The value if it is one of choices (None passes); else a ValueError that suggests the nearest."""
    if value is not None and value not in choices:
        raise ValueError(f"unknown {what} {value!r}{suggest(value, choices)}; {plural or what + 's'}: {', '.join(choices)}")
    return value


def _tool_fields(tool: str | None) -> list[str]:
    """The input names a tool accepts, for catching typos in tool_input; [] if unknown."""
    try:
        if tool == "calculate_dose":
            from assistant.tools.dose import DoseRequest

            return list(DoseRequest.model_fields)
        if tool == "check_policy":
            from assistant.tools.policy_case import PatientCase

            return list(PatientCase.model_fields)
        if tool == "check_claim":
            from assistant.tools.claim_request import ClaimRequest

            return list(ClaimRequest.model_fields)
    except ImportError:  # the tool module is not in this build; skip the key check
        return []
    return {"disambiguate_code": ["query"], "search_corpus": ["query", "k"]}.get(tool or "", [])

"""Eval cases and suites: the YAML format, loading with errors that name file and field, and the runner."""

from __future__ import annotations

import difflib
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import AssistantError
from assistant.models import Answer

CATEGORIES = ("dose", "policy", "code", "document", "multi_turn", "out_of_scope", "bad_input", "injection")
TOOLS = ("calculate_dose", "check_policy", "disambiguate_code", "search_corpus")
INTENTS = ("dose", "policy", "code", "document", "out_of_scope")
Status = Literal["answered", "needs_info", "out_of_scope", "error"]
AskFn = Callable[[str, str | None], Answer | dict]
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
            raise ValueError(f"unknown tool {value!r}{_suggest(value, TOOLS)}; tools: {', '.join(TOOLS)} or none")
        return value

    @field_validator("forbidden_tools")
    @classmethod
    def _forbidden(cls, value: list[str]) -> list[str]:
        for tool in value:
            if tool not in TOOLS:
                raise ValueError(f"unknown tool {tool!r}{_suggest(tool, TOOLS)}; tools: {', '.join(TOOLS)}")
        return value

    @field_validator("intent")
    @classmethod
    def _intent(cls, value: str | None) -> str | None:
        if value is not None and value not in INTENTS:
            raise ValueError(f"unknown intent {value!r}{_suggest(value, INTENTS)}; intents: {', '.join(INTENTS)}")
        return value

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
                        f"tool_input key {key!r} is not an input of {self.tool}{_suggest(key, known)}; "
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
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}{_suggest(value, CATEGORIES)}; categories: {', '.join(CATEGORIES)}")
        return value

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
    definitions: Any = Field(default=None, description="free space for YAML anchors (&name) reused by cases; ignored")
    cases: list[Any] = Field(description="the cases; each a mapping (checked one by one, so an error names the case)")


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
    path: Path | None = Field(default=None, exclude=True)

    def case_files(self) -> list[Path]:
        base = self.path.parent if self.path else Path.cwd()
        files: list[Path] = []
        for pattern in self.cases:
            found = sorted(p for p in base.glob(pattern) if p.is_file())
            if not found:
                raise EvalConfigError(f"{self.path}: field 'cases': {pattern!r} matches no file under {base}")
            files += [f for f in found if f not in files]
        return files


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _tool_fields(tool: str | None) -> list[str]:
    """The input names a tool accepts, for catching typos in tool_input; [] if unknown."""
    try:
        if tool == "calculate_dose":
            from assistant.tools.dose import DoseRequest

            return list(DoseRequest.model_fields)
        if tool == "check_policy":
            from assistant.tools.policy_case import PatientCase

            return list(PatientCase.model_fields)
    except ImportError:  # the tool module is not in this build; skip the key check
        return []
    return {"disambiguate_code": ["query"], "search_corpus": ["query", "k"]}.get(tool or "", [])


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "literal["))]
        field = ".".join(loc) or "(case)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field{_suggest(loc[-1], _field_names(model, loc[:-1]))}"
        parts.append(f"field {field!r}: {msg}")
    return "; ".join(dict.fromkeys(parts))


def _field_names(model: type[BaseModel], path: list[str]) -> list[str]:
    """Field names of the model reached by following path (for did-you-mean)."""
    nested = {"expect": Expect, "turns": Turn, "figures": FigureSpec, "citations": CitationSpec, "thresholds": Thresholds}
    current: type[BaseModel] = model
    for part in path:
        if part in nested:
            current = nested[part]
    return list(current.model_fields)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise EvalConfigError(f"{path}: not valid YAML{where}: {problem}") from None


def load_case_file(path: str | Path) -> list[Case]:
    """The cases in one YAML file; EvalConfigError names the file, the case and the field."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        got = "the file is empty" if raw is None else f"got a {type(raw).__name__}"
        raise EvalConfigError(f"{path}: expected a mapping with 'cases:' (and optionally 'category:'); {got}")
    try:
        spec = CaseFile.model_validate(raw)
    except ValidationError as exc:
        raise EvalConfigError(f"{path}: {_describe(exc, CaseFile)}") from None
    cases = []
    for n, item in enumerate(spec.cases, 1):
        label = f"case #{n}" + (f" {item.get('id')!r}" if isinstance(item, dict) and item.get("id") else "")
        if not isinstance(item, dict):
            raise EvalConfigError(
                f"{path}: {label}: expected a mapping of fields (id, ask, expect ...), got {type(item).__name__} {item!r:.60}"
            )
        data = {"category": spec.category, **item} if spec.category else dict(item)
        try:
            case = Case.model_validate(data)
        except ValidationError as exc:
            raise EvalConfigError(f"{path}: {label}: {_describe(exc, Case)}") from None
        case.file = str(path)
        cases.append(case)
    return cases


def load_cases(files: list[Path]) -> list[Case]:
    """Every case in the files, ids unique across files, cited passages checked against the corpus."""
    from assistant.evals.metrics import check_citation_spec

    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        for case in load_case_file(path):
            if case.id in seen:
                raise EvalConfigError(f"{path}: case {case.id!r}: duplicate id (also in {seen[case.id]})")
            seen[case.id] = str(path)
            for t, turn in enumerate(case.turns, 1):
                for c, item in enumerate(turn.expect.citations, 1):
                    specs = item if isinstance(item, list) else [item]
                    problem = next((p for p in map(check_citation_spec, specs) if p), None)
                    if problem:
                        raise EvalConfigError(f"{path}: case {case.id!r}: turn {t} field 'expect.citations.{c}': {problem}")
            cases.append(case)
    return cases


def load_suite(path: str | Path) -> Suite:
    """Read a suite file; EvalConfigError names the field."""
    path = Path(path)
    if not path.is_file():
        raise EvalConfigError(f"suite file not found: {path}")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise EvalConfigError(f"{path}: expected a mapping with 'cases' and 'thresholds'")
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        raise EvalConfigError(f"{path}: {_describe(exc, Suite)}") from None
    suite.path = path
    return suite


# ---------------------------------------------------------------- running


class Hit(BaseModel):
    """One retrieved passage, for the plain-retrieval baseline."""

    doc_id: str
    doc_title: str = ""
    section: str = ""
    quote: str
    start: int | None = None
    end: int | None = None


RetrieveFn = Callable[[str], list[Any]]


def call_ask(ask: AskFn, question: str, session: str) -> tuple[Answer, str | None, bool, float]:
    """Ask one question: (answer, what was raised or None, crashed, seconds).

    An AssistantError raised by ask() is its deliberate refusal and becomes an error answer; any
    other exception is a crash, recorded against the case, and the run goes on.
    """
    started = time.perf_counter()
    raised, crashed = None, False
    try:
        result = ask(question, session)
        answer = result if isinstance(result, Answer) else Answer.model_validate(result)
    except Exception as exc:  # noqa: BLE001
        answer = Answer(question=question, status="error", answer=str(exc))
        raised, crashed = f"{type(exc).__name__}: {exc}", not isinstance(exc, AssistantError)
    return answer, raised, crashed, time.perf_counter() - started


def run_cases(
    cases: list[Case],
    ask: AskFn,
    *,
    retrieve: RetrieveFn | None = None,
    on_case: Callable[[Any], None] | None = None,
) -> list[Any]:
    """Run every case (turns in order, one session per case); optionally the retrieval baseline too."""
    from assistant.evals.metrics import retrieve_top, score_baseline, score_turn
    from assistant.evals.report import CaseResult

    run_id = uuid.uuid4().hex[:8]
    results = []
    tops: dict[str, Hit | str] = {}  # the baseline has no memory: the same question gets the same passage
    for case in cases:
        session = f"eval-{run_id}-{case.id}"
        turns = []
        for turn in case.turns:
            answer, raised, crashed, seconds = call_ask(ask, turn.question, session)
            turns.append(score_turn(turn, answer, raised, seconds, crashed))
        baseline = None
        if retrieve is not None:
            for turn in case.turns:
                if turn.question not in tops:
                    tops[turn.question] = retrieve_top(retrieve, turn.question)
            baseline = [score_baseline(turn, tops[turn.question]) for turn in case.turns]
        result = CaseResult(
            id=case.id,
            category=case.category,
            description=case.description,
            file=case.file,
            turns=turns,
            baseline=baseline,
        )
        results.append(result)
        if on_case:
            on_case(result)
    return results

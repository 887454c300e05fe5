"""Reading case and suite files: errors that name the file, the case and the field, with a suggestion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from assistant.evals.citations import check_citation_spec
from assistant.evals.spec import (
    CATEGORIES, INTENTS, STYLES, TOOLS, Case, CaseFile, CitationSpec, EvalConfigError, Expect, FigureSpec, Suite,
    Thresholds, Turn, suggest,
)

__all__ = [
    "CATEGORIES", "INTENTS", "STYLES", "TOOLS", "Case", "CaseFile", "CitationSpec", "EvalConfigError", "Expect",
    "FigureSpec", "Suite", "Thresholds", "Turn", "load_case_file", "load_cases", "load_suite",
]  # fmt: skip


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "literal["))]
        field = ".".join(loc) or "(case)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field{suggest(loc[-1], _field_names(model, loc[:-1]))}"
        parts.append(f"field {field!r}: {msg}")
    return "; ".join(dict.fromkeys(parts))


def _field_names(model: type[BaseModel], path: list[str]) -> list[str]:
    """Field names of the model reached by following path (for did-you-mean)."""
    nested = {
        "expect": Expect, "turns": Turn, "figures": FigureSpec, "citations": CitationSpec, "thresholds": Thresholds,
        "thresholds_by_style": Thresholds,
    }  # fmt: skip
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
        defaults = {k: v for k, v in (("category", spec.category), ("style", spec.style)) if v is not None}
        data = {**defaults, **item}
        try:
            case = Case.model_validate(data)
        except ValidationError as exc:
            raise EvalConfigError(f"{path}: {label}: {_describe(exc, Case)}") from None
        case.file = str(path)
        cases.append(case)
    return cases


def load_cases(files: list[Path]) -> list[Case]:
    """Every case in the files, ids unique across files, cited passages checked against the corpus."""
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

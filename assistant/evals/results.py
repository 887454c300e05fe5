"""What one run records per case and turn: each check, the counts it adds to the metrics, the answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, computed_field


class Hit(BaseModel):
    """One retrieved passage, for the plain-retrieval baseline."""

    doc_id: str
    doc_title: str = ""
    section: str = ""
    quote: str
    start: int | None = None
    end: int | None = None


class Check(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class Tally(BaseModel):
    """Counts one turn adds to the run's metrics."""

    tool_expected: int = 0
    tool_correct: int = 0
    figures_expected: int = 0
    figures_matched: int = 0
    citations_total: int = 0
    citations_valid: int = 0
    cites_expected: int = 0
    cites_matched: int = 0
    refusal_expected: int = 0
    refusal_correct: int = 0
    over_refusal: int = 0
    figures_in_text: int = 0
    contains_expected: int = 0
    contains_matched: int = 0

    def text_checks_pass(self) -> bool:
        """Figures written, must-contain present, expected citations made: the checks a baseline can meet."""
        return (self.figures_in_text, self.contains_matched, self.cites_matched) == (
            self.figures_expected, self.contains_expected, self.cites_expected)


class TurnResult(BaseModel):
    question: str
    answer: dict[str, Any]
    raised: str | None = None
    seconds: float
    checks: list[Check]
    tally: Tally

    @computed_field
    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]


class BaselineTurn(BaseModel):
    """The plain-retrieval answer to the same question: the top passage, scored on the checks that apply."""

    question: str
    hit: Hit | None
    error: str | None = None
    checks: list[Check]
    tally: Tally

    @computed_field
    @property
    def passed(self) -> bool | None:
        return all(c.passed for c in self.checks) if self.checks else None


class CaseResult(BaseModel):
    id: str
    category: str
    style: str = "textbook"  # runs saved before styles existed read as textbook, the default
    description: str = ""
    file: str = ""
    turns: list[TurnResult]
    baseline: list[BaselineTurn] | None = None

    @computed_field
    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)

    def failures(self) -> list[str]:
        """'turn N: check: detail' for every failed check."""
        return [f"turn {n}: {c.name}: {c.detail}" for n, t in enumerate(self.turns, 1) for c in t.checks if not c.passed]

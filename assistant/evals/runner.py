"""Running cases against ask(): one session per case, turns in order, a crash recorded and the run going on."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

from assistant.errors import AssistantError
from assistant.evals.harness import load_cases
from assistant.evals.metrics import RetrieveFn, retrieve_top, score_baseline, score_turn
from assistant.evals.report import RunReport, build_report
from assistant.evals.results import CaseResult, Hit
from assistant.evals.spec import Case, Suite
from assistant.models import Answer

AskFn = Callable[[str, str | None], Answer | dict]


def call_ask(ask: AskFn, question: str, session: str) -> tuple[Answer, str | None, bool, float]:
    """Ask one question: (answer, what was raised or None, crashed, seconds).

    An AssistantError raised by ask() is its deliberate refusal and becomes an error answer; any
    other exception is a crash, recorded against the case, and the run goes on.
    """
    started = time.perf_counter()
    raised, crashed = None, False
    try:
        result = ask(question, session)
        answer = Answer.model_validate(_scrub(result.model_dump() if isinstance(result, Answer) else result))
    except Exception as exc:  # noqa: BLE001
        answer = Answer(question=question, status="error", answer=str(exc))
        raised, crashed = f"{type(exc).__name__}: {exc}", not isinstance(exc, AssistantError)
    return answer, raised, crashed, time.perf_counter() - started


def _scrub(value: Any) -> Any:
    """Lone surrogates (which JSON and HTML cannot hold) become U+FFFD, as the agent itself does for questions."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def run_cases(
    cases: list[Case],
    ask: AskFn,
    *,
    retrieve: RetrieveFn | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run every case (turns in order, one session per case); optionally the retrieval baseline too."""
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
        result = CaseResult(id=case.id, category=case.category, style=case.style, description=case.description,
                            file=case.file, turns=turns, baseline=baseline)  # fmt: skip
        results.append(result)
        if on_case:
            on_case(result)
    return results


def run_suite(
    suite: Suite,
    ask: AskFn,
    *,
    cases: list[Case] | None = None,
    retrieve: RetrieveFn | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    **report: Any,
) -> RunReport:
    """Load (unless given) and run the suite's cases, then score them; `report` goes to build_report
    (planner, data, base run to compare with, subset)."""
    if cases is None:
        cases = load_cases(suite.case_files())
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    results = run_cases(cases, ask, retrieve=retrieve, on_case=on_case)
    return build_report(suite, results, started, time.perf_counter() - clock, **report)

"""What changed between two runs: per case and turn fixed / broken / changed answer / same, the tool
figures whose values moved, and every metric's delta per category, per style and overall."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from assistant.evals.metrics import NOT_FIGURES
from assistant.evals.results import CaseResult, TurnResult
from assistant.evals.summary import METRIC_NAMES, Metrics, by_category, by_style, metrics, pct, secs

Verdict = Literal["broken", "fixed", "changed answer", "new", "removed", "same"]
VERDICTS: tuple[str, ...] = ("broken", "fixed", "changed answer", "new", "removed", "same")
# Every metric a run reports, in table order: the case count, the rates, over-refusals, latency.
DELTA_METRICS = ("cases", *METRIC_NAMES, "over_refusals", "latency_p50_s", "latency_p95_s")


class FigureChange(BaseModel):
    """A number in a tool result whose value differs between the runs; None = absent on that side."""

    turn: int
    figure: str = Field(description="tool and path in its output, e.g. calculate_dose.payment.per_cycle")
    old: str | None
    new: str | None


class TurnDiff(BaseModel):
    turn: int
    verdict: Verdict
    changes: list[str] = Field(default_factory=list, description="what differs in the answer, e.g. 'status answered → needs_info'")
    now_failing: list[str] = Field(default_factory=list, description="checks failing now that did not fail in the base run")
    now_passing: list[str] = Field(default_factory=list, description="checks that failed in the base run and pass now")
    figures: list[FigureChange] = Field(default_factory=list)
    old_answer: str | None = None
    new_answer: str | None = None


class CaseDiff(BaseModel):
    id: str
    category: str
    style: str
    verdict: Verdict
    turns: list[TurnDiff] = Field(default_factory=list)

    def figures(self) -> list[FigureChange]:
        """The changed figures of every turn."""
        return [f for t in self.turns for f in t.figures]

    def summary(self) -> str:
        """One line: per turn what changed, for the table."""
        if self.verdict in ("new", "removed"):
            return "not in the base run" if self.verdict == "new" else "not in this run"
        parts = []
        for t in self.turns:
            if t.verdict == "same":
                continue
            said = t.changes[:2] + [f"failing: {c}" for c in t.now_failing[:1]] if t.verdict == "broken" else t.changes[:3]
            prefix = f"turn {t.turn} {t.verdict}" if len(self.turns) > 1 else ""
            parts.append("; ".join(filter(None, [prefix, *said])) or t.verdict)
        return " | ".join(parts)


class MetricDelta(BaseModel):
    old: float | None
    new: float | None
    old_text: str
    new_text: str

    @computed_field
    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


class Comparison(BaseModel):
    base: str = Field(description="the base run's JSON file")
    base_started: str = ""
    base_planner: str = ""
    subset: bool = Field(default=False, description="this run was a --case/--category subset: the base is cut to the same cases")
    counts: dict[str, int]
    cases: list[CaseDiff]
    overall: dict[str, MetricDelta]
    categories: dict[str, dict[str, MetricDelta]]
    styles: dict[str, dict[str, MetricDelta]]

    @property
    def broken(self) -> int:
        """Cases that passed in the base run and fail now."""
        return self.counts.get("broken", 0)

    def changed(self) -> list[CaseDiff]:
        """Every case that is not `same`."""
        return [c for c in self.cases if c.verdict != "same"]


# ---------------------------------------------------------------- answers and figures


def _figure_text(value: float, unit: str | None) -> str:
    number = str(int(value)) if value == int(value) and abs(value) < 1e15 else format(value, ".10g")
    return f"{number} {unit}" if unit else number


def figures_of(answer: dict[str, Any]) -> dict[str, str]:
    """Every number in the answer's tool results (passages aside), by tool and path: 'calculate_dose.dose_mg' → '252 mg'."""
    out: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for call in answer.get("tool_calls") or []:
        tool = str(call.get("tool"))
        seen[tool] += 1
        if tool != "search_corpus":  # passages: their numbers are offsets and scores, their words are the quote
            _flatten(call.get("output"), tool if seen[tool] == 1 else f"{tool}#{seen[tool]}", out)
    return out


def _number(node: Any) -> bool:
    return isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node)


def _flatten(node: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        if _number(node.get("value")):
            unit = node.get("unit") if isinstance(node.get("unit"), str) else None
            out[path] = _figure_text(float(node["value"]), unit)
        for key, value in node.items():
            if key not in NOT_FIGURES and key not in ("value", "unit"):
                _flatten(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _flatten(item, f"{path}.{i}", out)
    elif _number(node):
        out[path] = _figure_text(float(node), None)


def _cited(answer: dict[str, Any]) -> list[str]:
    return [f"{c.get('doc_id')} § {c.get('section')}" for c in answer.get("citations") or []]


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def answer_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two answers to the same question, in words; [] when they are the same."""
    changes = []
    for key in ("status", "intent", "planner"):
        if old.get(key) != new.get(key):
            changes.append(f"{key} {old.get(key)} → {new.get(key)}")
    tools = ([c.get("tool") for c in old.get("tool_calls") or []], [c.get("tool") for c in new.get("tool_calls") or []])
    if tools[0] != tools[1]:
        changes.append(f"tools {', '.join(map(str, tools[0])) or 'none'} → {', '.join(map(str, tools[1])) or 'none'}")
    else:
        moved = [f"{c.get('tool')}.{k}" for c, d in zip(old.get("tool_calls") or [], new.get("tool_calls") or [])
                 for k in dict.fromkeys([*(c.get("input") or {}), *(d.get("input") or {})])
                 if (c.get("input") or {}).get(k) != (d.get("input") or {}).get(k)]  # fmt: skip
        if moved:
            changes.append("tool inputs " + ", ".join(dict.fromkeys(moved)))
    if _text(old.get("answer")) != _text(new.get("answer")):
        changes.append("answer text")
    was, now = _cited(old), _cited(new)
    if was != now:
        gone, added = [c for c in was if c not in now], [c for c in now if c not in was]
        moved = "; ".join([*(f"+{c}" for c in added), *(f"-{c}" for c in gone)])
        changes.append(f"citations {moved}" if moved else "citation order")
    elif [c.get("quote") for c in old.get("citations") or []] != [c.get("quote") for c in new.get("citations") or []]:
        changes.append("cited quotes")
    for key in ("missing", "warnings"):
        if [_text(x) for x in old.get(key) or []] != [_text(x) for x in new.get(key) or []]:
            changes.append(key)
    return changes


def _failed(turn: TurnResult) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in turn.failed()]


def diff_turn(n: int, old: TurnResult | None, new: TurnResult | None) -> TurnDiff:
    """One turn across the runs: its verdict, what changed in the answer, the checks and figures that moved."""
    if old is None or new is None:
        return TurnDiff(turn=n, verdict="new" if old is None else "removed")
    changes = answer_changes(old.answer, new.answer)
    if old.question != new.question:
        changes.insert(0, "question edited")
    was, now = _failed(old), _failed(new)
    failing = [c for c in now if c not in was]
    passing = [c for c in was if c not in now]
    before, after = figures_of(old.answer), figures_of(new.answer)
    # Within a tool call both runs made; a call made by one run only is already a change of tools.
    both = {k.split(".", 1)[0] for k in before} & {k.split(".", 1)[0] for k in after}
    figures = [FigureChange(turn=n, figure=k, old=before.get(k), new=after.get(k))
               for k in dict.fromkeys([*before, *after])
               if k.split(".", 1)[0] in both and before.get(k) != after.get(k)]  # fmt: skip
    if figures:
        changes.append(f"{len(figures)} tool figure(s)")
    if old.passed and not new.passed:
        verdict = "broken"
    elif new.passed and not old.passed:
        verdict = "fixed"
    elif changes or failing or passing:
        verdict = "changed answer"
    else:
        verdict = "same"
    texts = (old.answer.get("answer"), new.answer.get("answer")) if verdict != "same" else (None, None)
    return TurnDiff(turn=n, verdict=verdict, changes=changes, now_failing=failing, now_passing=passing, figures=figures,
                    old_answer=texts[0], new_answer=texts[1])  # fmt: skip


def diff_case(old: CaseResult | None, new: CaseResult | None) -> CaseDiff:
    """One case across the runs; `broken` whenever it passed before and fails now."""
    ref = new or old
    assert ref is not None
    if old is None or new is None:
        return CaseDiff(id=ref.id, category=ref.category, style=ref.style, verdict="new" if old is None else "removed")
    count = max(len(old.turns), len(new.turns))
    at = lambda turns, i: turns[i] if i < len(turns) else None  # noqa: E731
    turns = [diff_turn(i + 1, at(old.turns, i), at(new.turns, i)) for i in range(count)]
    if old.passed and not new.passed:
        verdict = "broken"
    elif new.passed and not old.passed:
        verdict = "fixed"
    elif any(t.verdict != "same" for t in turns):
        verdict = "changed answer"
    else:
        verdict = "same"
    return CaseDiff(id=new.id, category=new.category, style=new.style, verdict=verdict, turns=turns)


# ---------------------------------------------------------------- metrics


def _metric(m: Metrics, name: str) -> tuple[float | None, str]:
    if name == "cases":
        return float(m.cases), str(m.cases)
    if name == "over_refusals":
        return float(m.over_refusals), str(m.over_refusals)
    if name.startswith("latency"):
        value = getattr(m, name)
        return value, secs(value)
    rate = getattr(m, name)
    return rate.value, pct(rate)


def metric_deltas(old: Metrics | None, new: Metrics | None) -> dict[str, MetricDelta]:
    """Every metric old → new; a side with no cases in the group reads as no data."""
    out = {}
    for name in DELTA_METRICS:
        (a, a_text), (b, b_text) = (_metric(m, name) if m is not None else (None, "—") for m in (old, new))
        out[name] = MetricDelta(old=a, new=b, old_text=a_text, new_text=b_text)
    return out


def delta_text(name: str, d: MetricDelta) -> str:
    """The change as the tables show it: '+1.6 pp', '-2', '+0.01s', '=' (no change) or '—' (no data)."""
    if d.delta is None:
        return "—" if d.old is None and d.new is None else "n/a"  # measured on one side only
    if name in ("cases", "over_refusals"):
        size = f"{abs(d.delta):.0f}"
    elif name.startswith("latency"):
        size = f"{abs(d.delta):.2f}s"
    else:
        size = f"{100 * abs(d.delta):.1f} pp"
    if not any(ch in "123456789" for ch in size):  # a change too small to show
        return "="
    return ("+" if d.delta > 0 else "-") + size


def _groups(old: dict[str, Metrics], new: dict[str, Metrics]) -> dict[str, dict[str, MetricDelta]]:
    names = list(dict.fromkeys([*new, *old]))
    return {n: metric_deltas(old.get(n), new.get(n)) for n in names}


def compare(base: list[CaseResult], new: list[CaseResult], *, base_file: str = "", base_started: str = "",
            base_planner: str = "", subset: bool = False) -> Comparison:  # fmt: skip
    """Compare this run's cases with the base run's; with subset, only the cases this run holds count."""
    new_ids = {c.id for c in new}
    by_id = {c.id: c for c in new}
    # A base saved before cases had a style takes each case's style from this run.
    base = [c if "style" in c.model_fields_set or c.id not in by_id else c.model_copy(update={"style": by_id[c.id].style})
            for c in base if not subset or c.id in new_ids]  # fmt: skip
    old_by_id = {c.id: c for c in base}
    diffs = [diff_case(old_by_id.get(c.id), c) for c in new]
    diffs += [diff_case(c, None) for c in base if c.id not in new_ids]
    counts = Counter(d.verdict for d in diffs)
    return Comparison(
        base=base_file,
        base_started=base_started,
        base_planner=base_planner,
        subset=subset,
        counts={v: counts.get(v, 0) for v in VERDICTS},
        cases=diffs,
        overall=metric_deltas(metrics(base) if base else None, metrics(new)),
        categories=_groups(by_category(base), by_category(new)),
        styles=_groups(by_style(base), by_style(new)),
    )

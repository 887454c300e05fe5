"""The issue-17 eval cases (evals/cases/tools_17.yaml) checked against the tools themselves.

The suite runs these cases through the chat; this test makes sure
their expected figures, outputs and quotes are what calculate_dose, check_claim and check_safety give,
so that a draft failing later is the chat's fault, not the draft's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.safety import SafetyInput, check_safety
from assistant.tools.claim_request import load_claim
from assistant.tools.claims import check_claim
from assistant.tools.dose import build_request, calculate_dose

ROOT = Path(__file__).resolve().parent.parent
DRAFTS = ROOT / "evals" / "cases" / "tools_17.yaml"
CLAIMS = ROOT / "evals" / "cases" / "claims"
CATEGORIES = {"dose", "policy", "code", "document", "multi_turn", "out_of_scope", "bad_input", "injection"}


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")


def _cases() -> list[dict]:
    return yaml.safe_load(DRAFTS.read_text(encoding="utf-8"))["cases"]


def _turns(case: dict) -> list[dict]:
    return case.get("turns") or [{"ask": case["ask"], "expect": case.get("expect", {})}]


def _tags(case: dict, prefix: str) -> list[str]:
    return [t[len(prefix):] for t in case.get("tags", []) if t.startswith(prefix)]


def test_the_drafts_file():
    cases = _cases()
    assert len(cases) >= 40
    ids = [c["id"] for c in cases]
    assert len(set(ids)) == len(ids)
    assert all(c.get("style") == "staff" for c in cases)
    assert all(c["category"] in CATEGORIES for c in cases)
    kinds = {"dose": 0, "safety": 0, "claims": 0}
    for c in cases:
        kinds["claims" if _tags(c, "claim:") else "safety" if _tags(c, "safety:") else "dose"] += 1
    assert min(kinds.values()) >= 10, kinds


def _path(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


def _figures(data: Any) -> list[dict]:
    """Every {value, unit} mapping inside a tool output."""
    if isinstance(data, dict):
        here = [data] if {"value", "unit"} <= set(data) else []
        return here + [f for v in data.values() for f in _figures(v)]
    if isinstance(data, list):
        return [f for v in data for f in _figures(v)]
    return []


def _has(text: str, wanted: str | list[str]) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    return any(o.casefold() in text.casefold() for o in options)


def _check_output(output: dict, expect: dict) -> None:
    for dotted, value in expect.get("tool_output", {}).items():
        assert _path(output, dotted) == value, dotted
    found = _figures(output)
    for fig in expect.get("figures", []):
        tol = fig.get("tolerance", 0) + 1e-9
        hits = [f for f in found if isinstance(f["value"], (int, float)) and abs(f["value"] - fig["value"]) <= tol
                and (fig.get("unit") is None or f["unit"] == fig["unit"])]
        assert hits, f"no figure {fig} in the tool output"
    text = json.dumps(output, ensure_ascii=False)
    for wanted in expect.get("must_contain", []):
        assert _has(text, wanted), wanted
    for unwanted in expect.get("must_not_contain", []):
        assert unwanted not in text, unwanted
    for wanted in expect.get("warnings", []):
        assert _has(" ".join(output.get("warnings", [])), wanted), wanted


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_draft_against_its_tool(case):
    corpus = get_corpus()
    for turn in _turns(case):
        expect = turn["expect"]
        for cite in expect.get("citations", []):
            for spec in cite if isinstance(cite, list) else [cite]:
                if spec.get("text"):
                    assert corpus.is_exact(spec["doc"], spec["text"]), spec
        tool = expect.get("tool")
        if tool == "calculate_dose":
            if expect.get("status") == "error" or expect.get("status") == ["needs_info", "error"]:
                with pytest.raises(InputError) as refused:
                    calculate_dose(build_request(**expect["tool_input"]))
                for wanted in expect.get("must_contain", []):
                    assert _has(str(refused.value), wanted), wanted
            else:
                output = calculate_dose(build_request(**expect["tool_input"])).model_dump(mode="json")
                _check_output(output, expect)
        elif tool == "check_claim":
            (name,) = _tags(case, "claim:")
            output = check_claim(load_claim(CLAIMS / name)).model_dump(mode="json")
            for key, value in expect.get("tool_input", {}).items():
                assert output["request"][key] == value, key
            _check_output(output, expect)
    rules = _tags(case, "safety:")
    if rules:
        (facts,) = _tags(case, "facts:")
        findings = check_safety(SafetyInput(**json.loads(facts)))
        assert sorted(f.rule for f in findings) == sorted(r for r in rules if r != "none")
        said = " ".join(f.message + " " + f.quote.quote for f in findings)
        for turn in _turns(case):
            for wanted in turn["expect"].get("warnings", []):
                assert _has(said, wanted), wanted

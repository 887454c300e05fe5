"""Each tool declared once: its name, request model, run function and result model.

The rule planner, the langchain tools and the CLI all look tools up here, so a tool's schema and
its description (the function's docstring, which is what an LLM reads) exist in one place.
Imports of the tool modules happen when a tool is first used, so a cold start pays only for the
tools it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from pydantic import BaseModel, Field


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for in the five source documents, in plain words.")
    k: int = Field(default=5, ge=1, le=10, description="How many passages to return.")


class CodeArgs(BaseModel):
    query: str = Field(description="The text naming drugs, aliases, J-codes, NDCs, mg/kg doses or mg amounts.")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    request: type[BaseModel]
    run: Callable[[dict], Any]  # JSON-able arguments -> JSON-able result
    result: type[BaseModel] | None
    description: str


def run_dose(args: dict) -> dict:
    from assistant.tools.dose import build_request, calculate_dose

    return calculate_dose(build_request(**args)).model_dump(mode="json")


def run_policy(args: dict) -> dict:
    from assistant.tools.policy import check_policy
    from assistant.tools.policy_case import parse_case

    return check_policy(parse_case(args)).model_dump(mode="json")


def run_codes(args: dict) -> dict:
    from assistant.tools.codes import disambiguate_code

    return disambiguate_code(args["query"]).model_dump(mode="json")


def run_claim(args: dict) -> dict:
    from assistant.tools.claim_request import parse_claim
    from assistant.tools.claims import ClaimResult, check_claim

    return check_claim(parse_claim(args)).model_dump(mode="json")


def run_search(args: dict) -> list[dict]:
    from assistant.retrieval import get_retriever

    hits = get_retriever().search(args["query"], k=args.get("k", 5))
    return [h.model_dump() for h in hits]


def run_price(args: dict) -> dict:
    """J9354's Medicare payment limit for a date of service: the quarter used and whether it covers the date."""
    import datetime as dt

    from assistant.tools.prices import price_on

    day = args.get("date_of_service")
    day = dt.date.fromisoformat(day) if isinstance(day, str) else (day or dt.date.today())
    return price_on(args.get("hcpcs", "J9354"), day).model_dump(mode="json")


SEARCH_DOC = (
    "Search the corpus (Centene CP.PHAR.229, Oscar CG101, the CareCost J9354 billing guide, the ADC "
    "monograph, the Dr.Oracle article) for passages answering a question. Returns ranked passages, each "
    "with doc_id, section and the exact quote with its character offsets. Use for document questions "
    "(preparation, storage, monitoring, codes, denials, documentation). Quote passages; never add facts."
)
RUNS: dict[str, Callable[[dict], Any]] = {"calculate_dose": run_dose, "check_policy": run_policy,
                                          "disambiguate_code": run_codes, "check_claim": run_claim,
                                          "search_corpus": run_search, "price_lookup": run_price}


@lru_cache(maxsize=1)
def specs() -> dict[str, ToolSpec]:
    """Every tool, by name, with the models and docstrings the LLM planner binds."""
    from assistant.tools.claim_request import ClaimRequest
    from assistant.tools.claims import ClaimResult, check_claim
    from assistant.tools.codes import CodeResult, disambiguate_code
    from assistant.tools.dose import DoseRequest, DoseResult, calculate_dose
    from assistant.tools.policy import check_policy
    from assistant.tools.policy_case import PatientCase
    from assistant.tools.policy_result import PolicyResult

    return {
        "calculate_dose": ToolSpec("calculate_dose", DoseRequest, run_dose, DoseResult, calculate_dose.__doc__ or ""),
        "check_policy": ToolSpec("check_policy", PatientCase, run_policy, PolicyResult, check_policy.__doc__ or ""),
        "disambiguate_code": ToolSpec("disambiguate_code", CodeArgs, run_codes, CodeResult, disambiguate_code.__doc__ or ""),
        "check_claim": ToolSpec("check_claim", ClaimRequest, run_claim, ClaimResult, check_claim.__doc__ or ""),
        "search_corpus": ToolSpec("search_corpus", SearchArgs, run_search, None, SEARCH_DOC),
    }


def run(name: str, args: dict) -> Any:
    """Run a tool by name (KeyError for an unknown one)."""
    return RUNS[name](args)

"""The tools as langchain StructuredTools: pydantic argument schemas, docstrings for the model."""

from __future__ import annotations

import json
from typing import Any, Callable

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from assistant.errors import AssistantError


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for in the five source documents, in plain words.")
    k: int = Field(default=5, ge=1, le=10, description="How many passages to return.")


class CodeArgs(BaseModel):
    query: str = Field(description="The text naming drugs, aliases, J-codes, NDCs, mg/kg doses or mg amounts.")


def _search_doc() -> str:
    return (
        "Search the corpus (Centene CP.PHAR.229, Oscar CG101, the CareCost J9354 billing guide, the ADC "
        "monograph, the Dr.Oracle article) for passages answering a question. Returns ranked passages, each "
        "with doc_id, section and the exact quote with its character offsets. Use for document questions "
        "(preparation, storage, monitoring, codes, denials, documentation). Quote passages; never add facts."
    )


def _wrap(fn: Callable[[dict], Any]) -> Callable[..., str]:
    def run(**kwargs: Any) -> str:
        try:
            return json.dumps(fn(kwargs), default=str)
        except AssistantError as exc:
            return json.dumps({"error": str(exc)})

    return run


def _run_claim(args: dict) -> dict:
    from assistant.tools.claim_request import parse_claim
    from assistant.tools.claims import check_claim

    return check_claim(parse_claim(args)).model_dump(mode="json")


def build_tools() -> list[StructuredTool]:
    """StructuredTools over the same functions the CLI and the deterministic planner call."""
    from assistant import agent
    from assistant.tools.claim_request import ClaimRequest
    from assistant.tools.claims import check_claim
    from assistant.tools.codes import disambiguate_code
    from assistant.tools.dose import DoseRequest, calculate_dose
    from assistant.tools.policy import check_policy
    from assistant.tools.policy_case import PatientCase

    return [
        StructuredTool.from_function(
            func=_wrap(agent.run_dose), name="calculate_dose", description=calculate_dose.__doc__, args_schema=DoseRequest
        ),
        StructuredTool.from_function(
            func=_wrap(agent.run_policy), name="check_policy", description=check_policy.__doc__, args_schema=PatientCase
        ),
        StructuredTool.from_function(
            func=_wrap(agent.run_codes), name="disambiguate_code", description=disambiguate_code.__doc__, args_schema=CodeArgs
        ),
        StructuredTool.from_function(
            func=_wrap(_run_claim), name="check_claim", description=check_claim.__doc__, args_schema=ClaimRequest
        ),
        StructuredTool.from_function(
            func=_wrap(agent.run_search), name="search_corpus", description=_search_doc(), args_schema=SearchArgs
        ),
    ]

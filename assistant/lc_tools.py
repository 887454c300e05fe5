"""The tools as langchain StructuredTools: each tool's schema and docstring from assistant.toolbox."""

from __future__ import annotations

import json
from typing import Any, Callable

from langchain_core.tools import StructuredTool

from assistant.errors import AssistantError
from assistant.toolbox import CodeArgs, SearchArgs, specs  # noqa: F401 - CodeArgs/SearchArgs were importable here

ORDER = ("calculate_dose", "check_policy", "disambiguate_code", "check_claim", "search_corpus")


def _wrap(fn: Callable[[dict], Any]) -> Callable[..., str]:
    def run(**kwargs: Any) -> str:
        try:
            return json.dumps(fn(kwargs), default=str)
        except AssistantError as exc:
            return json.dumps({"error": str(exc)})

    return run


def build_tools() -> list[StructuredTool]:
    """StructuredTools over the same functions the CLI and the deterministic planner call."""
    tools = specs()
    return [StructuredTool.from_function(func=_wrap(tools[name].run), name=name, description=tools[name].description,
                                         args_schema=tools[name].request) for name in ORDER]

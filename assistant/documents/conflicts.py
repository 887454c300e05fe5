"""Notes where the sources disagree (assistant/data/conflicts.yaml), only for questions on that topic."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml

from assistant.compose import Citations
from assistant.corpus import get_corpus


@lru_cache(maxsize=1)
def conflicts() -> list[dict]:
    """The conflicts, every side's quote checked against the corpus (DataError if one drifted)."""
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("conflicts.yaml").read_text(encoding="utf-8"))
    corpus = get_corpus()
    for item in raw:
        for side in item["sides"]:
            corpus.find(side["doc_id"], side["quote"])
    return raw


def _has(low: str, words: list[str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(w.strip())}(?![\w-])", low) for w in words)


def about(item: dict, text: str) -> bool:
    """The question is about the conflicting topic: a trigger, or one word of every `when_all` list."""
    low = f" {text.lower()} "
    if _has(low, item.get("unless") or []):
        return False
    if _has(low, item.get("triggers") or []):
        return True
    groups = item.get("when_all") or []
    return bool(groups) and all(_has(low, g) for g in groups)


def conflict_notes(text: str, cites: Citations) -> tuple[list[str], list[str]]:
    """Lines for the answer and warnings, for each conflict the question is about."""
    lines, warnings = [], []
    corpus = get_corpus()
    for item in conflicts():
        if not about(item, text):
            continue
        parts = []
        for side in item["sides"]:
            meta = corpus.doc(side["doc_id"]).meta
            marker = cites.add({"doc_id": side["doc_id"], "quote": side["quote"]})
            parts.append(f"{meta.publisher.split(' (')[0]} ({meta.date or 'undated'}): “{side['quote']}” {marker}")
        lines.append(f"Sources disagree on {item['topic']}:\n- " + "\n- ".join(parts))
        warnings.append(f"Conflicting sources on {item['topic']}: both are shown with their dates.")
    return lines, warnings

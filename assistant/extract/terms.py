"""The terminology file (assistant/data/terms.yaml) and a matcher that finds its terms in a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant.errors import DataError

FAMILIES = ("drugs", "payers", "lines_of_business", "diagnoses", "prescribers")


@dataclass(frozen=True)
class Mention:
    family: str
    term: str  # canonical id
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def terms() -> dict[str, dict[str, dict[str, Any]]]:
    """The terminology, every quote checked against the corpus (DataError names the entry)."""
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("terms.yaml").read_text(encoding="utf-8"))
    from assistant.corpus import get_corpus

    corpus = None
    for family in FAMILIES:
        for term, entry in (raw.get(family) or {}).items():
            if not entry.get("names"):
                raise DataError(f"terms.yaml {family}.{term}: needs a list of names")
            if entry.get("quote"):
                corpus = corpus or get_corpus()
                try:
                    corpus.find(entry["doc"], entry["quote"])
                except Exception as exc:  # noqa: BLE001 - reported as the data error it is
                    raise DataError(f"terms.yaml {family}.{term}: quote not found in {entry.get('doc')}: {exc}") from None
    return raw


def _name_pattern(name: str) -> str:
    parts = re.split(r"[\s\-]+", name.strip().lower())
    body = r"[\s\-]*".join(re.escape(p) for p in parts)
    head = r"(?<![\w])" if name[0].isalnum() else ""
    tail = r"(?![\w+])" if name[-1].isalnum() else ""
    return head + body + tail


@lru_cache(maxsize=None)
def _matcher(family: str) -> tuple[re.Pattern, dict[str, str]]:
    table = terms().get(family) or {}
    by_name: dict[str, str] = {}
    for term, entry in table.items():
        for name in entry["names"]:
            by_name[re.sub(r"[\s\-]+", " ", str(name).lower()).strip()] = term
    names = sorted(by_name, key=len, reverse=True)  # longest first: "brain mets" before "mets"
    return re.compile("|".join(_name_pattern(n) for n in names), re.IGNORECASE), by_name


@lru_cache(maxsize=None)
def _single_words(family: str) -> dict[str, str]:
    _, by_name = _matcher(family)
    return {n: t for n, t in by_name.items() if " " not in n and len(n) >= 6 and n.isalpha()}


_WORD = re.compile(r"[A-Za-z]{6,}")


def _typos(family: str, text: str, taken: list[tuple[int, int]]) -> list[Mention]:
    """Words one slip away from a listed name ('herceptn', 'neratanib', 'ambeter'): edit ratio >= 83."""
    from rapidfuzz import fuzz, process

    names = _single_words(family)
    out = []
    for m in _WORD.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        word = m.group(0).lower()
        cutoff = 88 if family == "payers" else 83  # "humans" is not Humana; "ambeter" is Ambetter
        hit = process.extractOne(word, names.keys(), scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit and abs(len(hit[0]) - len(word)) <= 2:
            out.append(Mention(family, names[hit[0]], m.start(), m.end(), m.group(0)))
    return out


def find(family: str, text: str) -> list[Mention]:
    found = _exact(family, text)
    found += _typos(family, text, [(m.start, m.end) for m in found])
    return sorted(found, key=lambda m: m.start)


def _exact(family: str, text: str) -> list[Mention]:
    rx, by_name = _matcher(family)
    out = []
    for m in rx.finditer(text):
        key = re.sub(r"[\s\-]+", " ", m.group(0).lower()).strip()
        term = by_name.get(key)
        if term is None:  # spacing differed from every listed spelling: find the entry by pattern
            term = next((t for n, t in by_name.items() if re.fullmatch(_name_pattern(n), m.group(0), re.I)), None)
        if term:
            out.append(Mention(family, term, m.start(), m.end(), m.group(0)))
    return out


def entry(family: str, term: str) -> dict[str, Any]:
    return (terms().get(family) or {}).get(term) or {}

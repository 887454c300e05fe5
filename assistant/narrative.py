"""Kept for callers of the old name: the letter of medical necessity lives in assistant.letter.

build_narrative(case) is build_letter(case); the chat and the UI call letter_from_facts(facts).
"""

from __future__ import annotations

from typing import Any

from assistant.letter import FILL_INS, PLACEHOLDERS, LetterResult, build_letter, letter_from_facts

__all__ = ["FILL_INS", "PLACEHOLDERS", "LetterResult", "build_letter", "build_narrative", "letter_from_facts"]


def build_narrative(case: dict[str, Any]) -> LetterResult:
    """The letter for a case file's mapping (same as assistant.letter.build_letter)."""
    return build_letter(case)

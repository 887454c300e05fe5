"""The letter of medical necessity: build_letter (a case file) and letter_from_facts (the conversation)."""

from assistant.letter.build import FILL_INS, PLACEHOLDERS, build_letter, letter_from_facts
from assistant.letter.model import LetterResult

__all__ = ["FILL_INS", "PLACEHOLDERS", "LetterResult", "build_letter", "letter_from_facts"]

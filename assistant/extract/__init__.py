"""Reading patient facts from text: one small reader per fact family, each fact with its evidence.

`read_facts(text)` cuts the text into sentences (and chart-note sections), finds the terms of
assistant/data/terms.yaml, decides each mention's assertion with the ConText rules, and returns a
Reading whose `facts` is a PatientFacts. Text that addresses the assistant must be removed first
(assistant.sanitize); the agent does that before it calls this.
"""

from __future__ import annotations

from assistant.extract import dates, diagnosis, dose, her2, payer, prescriber, request, therapies, weight
from assistant.extract.reading import Reading
from assistant.facts import Source

READERS = (weight, dates, her2, therapies, diagnosis, payer, prescriber, dose, request)


def read_facts(text: str, *, turn: int = 0, source: Source = "typed") -> Reading:
    """Every fact the text states, with its assertion and the exact words it was read from."""
    reading = Reading(text, turn=turn, source=source)
    for reader in READERS:
        reader.read(reading)
    return reading

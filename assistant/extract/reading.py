"""One message being read: its sentences, where they sit, and how to record a fact with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.extract import context, spelling, terms
from assistant.extract.text import Sentence, is_note, sentences
from assistant.facts import Assertion, Evidence, PatientFacts, Source

# Where a chart-note sentence sits decides which of two conflicting readings wins (the plan and the
# diagnosis outrank the history: "adjuvant T-DM1 2021 ... now metastatic" is metastatic).
SECTION_RANK = {"plan": 3, "diagnosis": 3, "insurance": 2, "labs": 2, "body": 1, "admin": 1, "meds": 1, "vitals": 1,
                "history": 0}


# Plan words make a prior therapy hypothetical but state the order itself ("will start kadcyla 3.6 mg/kg").
PLAN_WORDS = {"will start", "to start", "plan to", "planned", "planning"}
# A plan for the drug does not make the disease it treats hypothetical: "pcp wants to start kadcyla for
# HER2 3+ mbc", "onc would like to give t-dm1 for IHC 3+ mbc" state the diagnosis and the HER2 result.
PLAN_FOR_DISEASE = PLAN_WORDS | {"would", "wants to", "want to", "would like to", "hopes to", "hope to", "going to"}


@dataclass
class Reading:
    message: str
    turn: int = 0
    source: Source = "typed"
    facts: PatientFacts = field(default_factory=PatientFacts)
    bad_date: str | None = None
    # a fact the message gives two different values for, neither taken back: name -> the words of each
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    # the first of those values, for the router only ('72 or 80 kg?' is still a dose question); no tool sees it
    routed: PatientFacts = field(default_factory=PatientFacts)
    notes: list[str] = field(default_factory=list)  # how the reading was decided, said in the answer
    sentences: list[Sentence] = field(default_factory=list)
    note: bool = False
    _rank: dict[str, tuple[int, int]] = field(default_factory=dict)
    original: str = ""
    _map: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        from assistant.normalize import normalize

        self.original = self.message
        # one normal form (NFKC, no invisible characters, look-alikes folded), then spelling slips corrected;
        # the two offset maps compose, so evidence always quotes the message as typed
        normal, to_original = normalize(self.message)
        self.message, to_normal = spelling.normalize(normal)
        self._map = [to_original[i] for i in to_normal]
        self.sentences = sentences(self.message)
        self.note = is_note(self.message)
        if self.note and self.source == "typed":
            self.source = "pasted_note"

    def evidence(self, s: Sentence, start: int, end: int) -> Evidence:
        """The words as typed: offsets in the original message (spelling corrections mapped back)."""
        a, b = s.start + start, s.start + end
        a, b = self._map[a], self._map[b - 1] + 1 if b > 0 else 0
        return Evidence(text=self.original[a:b], start=a, end=b, turn=self.turn)

    def mentions(self, s: Sentence, family: str) -> list[terms.Mention]:
        return terms.find(family, s.text)

    def assertion(self, s: Sentence, start: int, end: int, same_kind: list[tuple[int, int]] | None = None,
                  default: Assertion = "present", plan_is_order: bool = False, plan_words: set[str] = PLAN_WORDS
                  ) -> Assertion:
        found, trigger = context.assertion_of(s.text, start, end, same_kind or [], s.is_question, default)
        if plan_is_order and found == "hypothetical" and trigger is not None and trigger.rule.literal in plan_words \
                and not s.is_question:
            return "present"
        return found

    def put(self, s: Sentence, name: str, value: Any, start: int, end: int, assertion: Assertion = "present",
            strength: int = 0) -> None:
        """Record a fact unless a reading from a stronger place was already kept (later wins on a tie)."""
        rank = (SECTION_RANK.get(s.section, 1) if self.note else 1, strength)
        if name in self._rank and self._rank[name] > rank:
            return
        held = self.facts.get(name)
        if held is not None and held.stated and assertion in ("possible", "hypothetical"):
            return  # "continuation ..., does the continuation meet criteria?" keeps what was stated
        self._rank[name] = rank
        self.facts.set(name, value, assertion=assertion, evidence=[self.evidence(s, start, end)], source=self.source)

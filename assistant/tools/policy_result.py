"""What check_policy returns: verdicts per criterion and section, duration, referral, checklist, figures."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from assistant.models import Figure, SourceQuote
from assistant.tools.her2 import Her2Status
from assistant.tools.policy_case import PatientCase
from assistant.tools.policy_rules import Verdict

SectionVerdict = Literal["meets_criteria", "does_not_meet", "incomplete"]


class CriterionResult(BaseModel):
    """One criterion: verdict, why, and the exact passage (quote == document text[start:end])."""

    id: str
    label: str
    verdict: Verdict = Field(description="met, not_met or unknown; unknown is never met")
    reason: str
    quote: str
    doc_id: str
    section: str
    start: int
    end: int
    parent: str | None = Field(default=None, description="id of the criterion this one is a sub-criterion of")
    figures: list[Figure] = Field(default_factory=list)


class Referral(BaseModel):
    """Another policy the request is sent to, for one line of business."""

    policy: str
    kind: str
    line_of_business: str = Field(description="a line of business, or 'all'")
    criterion: str
    certain: bool = Field(description="False: applies only if the open questions turn out that way")
    source: SourceQuote


class ApprovalDuration(BaseModel):
    months: int
    label: str = ""
    up_to: bool = Field(default=False, description="'up to' this many months")
    lines_of_business: list[str] | None = Field(description="None: every line of business")
    or_renewal_date: bool = Field(default=False, description="or to the member's renewal date, if later")
    until: dt.date | None = Field(default=None, description="end date when today and the renewal date are known")
    section: str
    source: SourceQuote


class Note(BaseModel):
    label: str
    source: SourceQuote


class SectionResult(BaseModel):
    id: str
    title: str
    kind: Literal["approval", "referral"] = Field(description="referral: the policy sends this use elsewhere")
    verdict: SectionVerdict
    reason: str
    criteria: list[CriterionResult]
    referral: list[Referral] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)


class MissingItem(BaseModel):
    """A case field to obtain, the question to ask, and the sections waiting on it."""

    field: str
    question: str
    sections: list[str]


class ChecklistEntry(BaseModel):
    id: str
    label: str
    status: Literal["provided", "missing", "optional"] = Field(
        description="optional: one of several alternative documents; send it if it applies")
    doc_id: str
    quote: str
    start: int
    end: int


class Contact(BaseModel):
    method: str
    value: str
    source: SourceQuote


class Submission(BaseModel):
    review_entity: str
    contacts: list[Contact]


class PolicyResult(BaseModel):
    """The outcome of checking one case against one payer policy."""

    payer: str
    policy_id: str
    policy_version: str
    policy_title: str
    doc_id: str
    sections: list[SectionResult]
    overall: SectionVerdict
    overall_reason: str
    approval_duration: list[ApprovalDuration] = Field(default_factory=list)
    referral: list[Referral] = Field(default_factory=list)
    missing: list[MissingItem] = Field(default_factory=list, description="what to obtain to settle the verdict")
    questions: list[str] = Field(default_factory=list, description="open points that change duration or referral")
    checklist: list[ChecklistEntry] = Field(default_factory=list)
    her2: Her2Status
    submission: Submission | None = None
    warnings: list[str] = Field(default_factory=list)
    case: PatientCase

    def figures(self) -> list[Figure]:
        """Every number this result states, with its source (case inputs have source None)."""
        out = [f for s in self.sections for c in s.criteria for f in c.figures]
        for d in self.approval_duration:
            lobs = ", ".join(d.lines_of_business) if d.lines_of_business else "all lines of business"
            out.append(Figure(value=d.months, unit="months", label=f"approval duration ({lobs})", source=d.source))
            if d.until:
                out.append(Figure(value=d.until.isoformat(), unit="date", label="approval end date",
                                  formula="the later of today + 6 months and the member's renewal date",
                                  source=d.source))
        for r in self.referral:
            out.append(Figure(value=r.policy, unit="policy", label=f"referral ({r.line_of_business})", source=r.source))
        if self.submission:
            out += [Figure(value=c.value, unit=c.method, label=f"{self.submission.review_entity} {c.method}",
                           source=c.source) for c in self.submission.contacts]
        for value, unit in ((self.her2.ihc, "HER2 IHC score"), (self.case.age, "years")):
            if value is not None:
                out.append(Figure(value=value, unit=unit, label="case input"))
        unique = {}
        for f in out:
            unique.setdefault((str(f.value), f.unit, f.source.start if f.source else None), f)
        return list(unique.values())

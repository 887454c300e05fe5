"""Repair text-extraction damage in a source document, and nothing else.

Each fix is declared in corpus/manifest.yaml so the corpus file can be rebuilt
from the original source and the change audited.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# A wrapped line continues when the next non-blank line starts in lower case
# (but not with a list marker such as "b. "), with "(" or "[", or with a number
# that is not a list marker ("12-months").
_CONTINUATION = re.compile(r"^(?:(?![a-z]\.\s)[a-z]|[(\[]|\d+(?!\d*\.\s))")
_ENDS_MID_SENTENCE = re.compile(r"[A-Za-z0-9,)(/\-]$")


class Fix(BaseModel):
    """One repair: a literal replacement, or unwrapping of hard line breaks."""

    kind: str = Field(description="'replace' or 'unwrap'")
    find: str | None = Field(default=None, description="exact text to replace (replace only)")
    replace: str | None = Field(default=None, description="replacement text (replace only)")
    count: int = Field(description="how many places the fix changes; checked on import")
    reason: str = Field(description="what extraction damage this repairs")


def unwrap_lines(text: str) -> tuple[str, int]:
    """Join PDF hard line breaks inside sentences; return the text and the joins made."""
    lines = text.split("\n")
    out: list[str] = []
    joins = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while True:
            k = j
            if k < len(lines) and not lines[k].strip() and k + 1 < len(lines):
                k += 1  # one blank line between wrapped lines
            if (
                k < len(lines)
                and line.strip()
                and _ENDS_MID_SENTENCE.search(line.rstrip())
                and lines[k].strip()
                and _CONTINUATION.match(lines[k].lstrip())
            ):
                line = line.rstrip() + " " + lines[k].lstrip()
                joins += 1
                j = k + 1
                continue
            break
        out.append(line)
        i = j
    return "\n".join(out), joins


def apply_fixes(text: str, fixes: list[Fix]) -> str:
    """Apply the declared fixes in order; raise ValueError if a count does not match."""
    for fix in fixes:
        if fix.kind == "replace":
            assert fix.find is not None and fix.replace is not None
            found = text.count(fix.find)
            if found != fix.count:
                raise ValueError(f"fix {fix.find!r}: expected {fix.count} occurrences, found {found}")
            text = text.replace(fix.find, fix.replace)
        elif fix.kind == "unwrap":
            text, joins = unwrap_lines(text)
            if joins != fix.count:
                raise ValueError(f"unwrap: expected {fix.count} joins, made {joins}")
        else:
            raise ValueError(f"unknown fix kind {fix.kind!r}")
    return text

"""JUnit XML for CI systems: one testsuite per category, one testcase per case and turn, each failure
carrying its failed checks; a crash inside ask() is an <error>."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from assistant.evals.report import RunReport

# XML 1.0 cannot hold most control characters or lone surrogates, which bad-input cases send on purpose.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_OUT_LIMIT = 4000  # characters of question and answer kept in <system-out>; the HTML report has them whole


def _x(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def testcase_name(case_id: str, turn: int, turns: int) -> str:
    """The case id, and ' turn N' when the case is a conversation."""
    return case_id if turns == 1 else f"{case_id} turn {turn}"


def to_junit(reports: list[RunReport]) -> str:
    """The runs (one, or one per planner) as a <testsuites> document."""
    root = ET.Element("testsuites", name="assistant eval")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for report in reports:
        verdicts = {}
        if report.compare:
            verdicts = {(c.id, t.turn): t.verdict for c in report.compare.cases for t in c.turns}
        prefix = f"eval.{report.planner}" if len(reports) > 1 else "eval"
        for category in report.categories:
            cases = [c for c in report.cases if c.category == category]
            suite = ET.SubElement(root, "testsuite", name=f"{prefix}.{category}", timestamp=report.started)
            counts = {"tests": 0, "failures": 0, "errors": 0}
            seconds = 0.0
            for case in cases:
                for n, turn in enumerate(case.turns, 1):
                    counts["tests"] += 1
                    seconds += turn.seconds
                    tc = ET.SubElement(suite, "testcase", name=_x(testcase_name(case.id, n, len(case.turns))),
                                       classname=f"{prefix}.{category}", time=f"{turn.seconds:.3f}", file=_x(case.file))  # fmt: skip
                    props = ET.SubElement(tc, "properties")
                    extra = {"style": case.style, "planner": str(turn.answer.get("planner"))}
                    if (case.id, n) in verdicts:
                        extra["since_base"] = verdicts[(case.id, n)]
                    for key, value in extra.items():
                        ET.SubElement(props, "property", name=key, value=_x(value))
                    failed = turn.failed()
                    if failed:
                        crashed = any(c.name == "no_crash" for c in failed)
                        kind = "error" if crashed else "failure"
                        counts["errors" if crashed else "failures"] += 1
                        element = ET.SubElement(tc, kind, message=_x(f"{failed[0].name}: {failed[0].detail}"),
                                                type=",".join(dict.fromkeys(c.name for c in failed)))  # fmt: skip
                        element.text = _x("\n".join(f"{c.name}: {c.detail}" for c in failed))
                    out = f"Question: {turn.question}\n\nAnswer ({turn.answer.get('status')}): {turn.answer.get('answer', '')}"
                    if len(out) > _OUT_LIMIT:
                        out = out[:_OUT_LIMIT] + f"\n… ({len(out) - _OUT_LIMIT} more characters in the HTML report)"
                    ET.SubElement(tc, "system-out").text = _x(out)
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
            suite.set("time", f"{seconds:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

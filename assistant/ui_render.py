"""Display pieces for the Streamlit page, built from an Answer: escaped markdown, tables, cards.

Pure functions, no streamlit import, so the tests can call them directly. Every number shown
comes from a tool result; here it is only formatted. Text from the user or the documents is
escaped before it reaches st.markdown / st.table, so a link or image in it is shown, not rendered.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.bottom_line import number, round_display
from assistant.models import Answer, Citation

BANNER = (
    "Decision support for licensed professionals (pharmacy, oncology, billing, prior authorization). "
    "Not medical advice: verify every figure and criterion against the cited source before acting."
)
STATUS_LABEL = {
    "answered": "Answered",
    "needs_info": "Needs more information",
    "out_of_scope": "Outside what this assistant covers",
    "error": "Could not answer",
}
# ✓ ✗ are in the common fallback fonts (DejaVu); colour emoji often are not.
VERDICT_MARK = {"met": "✓ met", "not_met": "✗ not met", "unknown": "? unknown"}
SECTION_MARK = {"meets_criteria": "✓ meets criteria", "does_not_meet": "✗ does not meet", "incomplete": "? incomplete"}
CODE_MARK = {"consistent": "✓ consistent", "conflicting": "✗ conflicting", "ambiguous": "? ambiguous", "unknown": "? unknown"}
_MARK_COLOUR = {"✓": "green", "✗": "red", "?": "orange"}

# -- escaping -------------------------------------------------------------------------------
# Inline characters that start markdown, HTML, LaTeX ($) or Streamlit directives (:red[...], :emoji:).
_INLINE = re.compile(r"([\\`*_{}\[\]<>#|~$:&!@])")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)  # GFM turns a bare www. into a link
# The page's markdown links bare URLs and e-mail addresses even when escaped; an invisible word joiner
# (U+2060) inside the pattern (after "http", after "www", before "@") leaves the text as it reads, never a link.
WJ = "\u2060"
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*)(\\?:)(?=//)", re.IGNORECASE)
# Characters that only matter at the start of a line: lists, headings, quotes, rules, setext.
_LIST_MARK = re.compile(r"^([-+=])")
_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def escape_md(text: Any) -> str:
    """Text as literal markdown: no link, image, HTML, math, list or heading is rendered from it."""
    out = []
    for line in str(text if text is not None else "").splitlines() or [""]:
        line = _INLINE.sub(r"\\\1", line.strip())
        line = _SCHEME.sub(lambda m: m.group(1) + WJ + m.group(2), _WWW.sub(r"\1" + WJ + r"\\.", line))
        line = line.replace("\\@", WJ + "\\@")
        line = _ORDERED.sub(r"\1\\\2", _LIST_MARK.sub(r"\\\1", line))
        out.append(line)
    return "  \n".join(out)


def answer_markdown(text: str) -> str:
    """The answer text as markdown: '- ' lines become list items, other lines paragraphs; all escaped."""
    blocks: list[str] = []
    items: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            items.append("- " + escape_md(line[2:]))
            continue
        if items:
            blocks.append("\n".join(items))
            items = []
        if line:
            blocks.append(escape_md(line))
    if items:
        blocks.append("\n".join(items))
    return "\n\n".join(blocks)


def quote_markdown(text: str) -> str:
    """A document passage as an escaped markdown blockquote."""
    return "\n".join("> " + escape_md(line) if line.strip() else ">" for line in text.splitlines())


# -- figures ----------------------------------------------------------------------------------
def _num(value: Any, unit: str = "") -> str:
    """A value rounded for display by its unit (69.85 kg, 251.4 mg); the tool keeps every digit."""
    return number(value, unit)


def fig_text(fig: dict | None) -> str:
    """A Figure dict as display text: '252 mg', '$10,633.90', '$42.198 per unit'."""
    if not fig:
        return ""
    value, unit = fig.get("value"), fig.get("unit") or ""
    if unit == "USD" and isinstance(value, (int, float)):
        return f"${value:,.2f}"
    if unit.startswith("USD per ") and isinstance(value, (int, float)):
        return f"${_num(value)} per {unit[len('USD per '):]}"
    return f"{_num(value, unit)} {unit}".strip()


def marker_for(source: dict | None, citations: list[Citation]) -> str:
    """'[n]' for the citation that carries this source quote, or ''."""
    if not source:
        return ""
    for c in citations:
        if c.doc_id == source.get("doc_id") and c.quote == source.get("quote"):
            return f"[{c.marker}]"
    return ""


# -- dose -------------------------------------------------------------------------------------
def dose_rows(out: dict, citations: list[Citation]) -> list[dict[str, str]]:
    """The dose result as table rows: Item, Value, Detail, Source."""
    rows: list[dict[str, str]] = []

    def row(item: str, fig: dict | None, detail: str = "", value: str | None = None) -> None:
        src = marker_for((fig or {}).get("source"), citations)
        rows.append({"Item": item, "Value": value if value is not None else fig_text(fig), "Detail": round_display(detail),
                     "Source": src})

    if out.get("weight_kg"):
        row("Weight", out["weight_kg"], out["weight_kg"].get("formula") or "patient weight (input)")
    row("Dose", out["dose_mg"], out["dose_mg"].get("formula") or "")
    for v in out["vials"]:
        count = _num(v["count"]["value"])
        row(
            f"Vials, {fig_text(v['strength_mg'])}",
            v["ndc_11"],
            f"NDC {v['ndc_11']['value']} (10-digit {v['ndc_10']['value']}); reconstitute with "
            f"{fig_text(v['reconstitution_ml'])} Sterile Water for Injection",
            value=f"{count} × {fig_text(v['strength_mg'])}",
        )
    row("Drawn (vials opened)", out["drawn_mg"], out["drawn_mg"].get("formula") or "")
    row("Waste", out["waste_mg"], out["waste_mg"].get("formula") or "")
    for line in out["billing"]["lines"]:
        row(f"{line['hcpcs']}-{line['modifier']} ({line['meaning']})", line["units"], line["units"].get("formula") or "")
    prep = out["preparation"]
    row("Volume to withdraw", prep["withdraw_ml"], prep["withdraw_ml"].get("formula") or "")
    row("Dilute in", prep["diluent_volume_ml"], str(prep["diluent"]["value"]).strip())
    row("Never dilute in", prep["diluent_forbidden"], "", value=str(prep["diluent_forbidden"]["value"]).strip())
    row("In-line filter", prep["filter"], "")
    adm = out["administration"]
    row(f"Infusion, cycle {adm['cycle']}", adm["infusion_minutes"], adm.get("condition") or "")
    row("Observe after infusion", adm["observation_minutes"], "at least")
    cpt = adm["cpt"]
    row("Administration CPT", cpt[0] if cpt else None, "1 unit each", value=" + ".join(str(c["value"]) for c in cpt))
    pay = out["payment"]
    period = f"{pay['quarter']}, effective {pay['effective_start']} to {pay['effective_end']}"
    row(f"Medicare price (ASP + 6%, {pay['quarter']})", pay["price_per_unit"], period)
    row("Payment, administered units (JZ)", pay["administered"], pay["administered"].get("formula") or "")
    row("Payment per cycle (JZ + JW)", pay["per_cycle"], pay["per_cycle"].get("formula") or "")
    row(f"Payment, {fig_text(pay['course_cycles'])}", pay["course"], pay["course"].get("formula") or "")
    return rows


# -- policy -----------------------------------------------------------------------------------
def _depth(crit: dict, by_id: dict[str, dict]) -> int:
    depth, parent = 0, crit.get("parent")
    while parent and parent in by_id and depth < 6:
        depth, parent = depth + 1, by_id[parent].get("parent")
    return depth


def policy_view(out: dict, citations: list[Citation]) -> dict:
    """The policy result as: title, overall mark, sections with criterion rows, durations, checklist.
    (What is missing comes from Answer.missing, shown with the warnings.)"""
    sections = []
    for s in out.get("sections", []):
        by_id = {c["id"]: c for c in s.get("criteria", [])}
        rows = []
        for c in s.get("criteria", []):
            src = {"doc_id": c.get("doc_id"), "quote": c.get("quote")}
            rows.append({
                "Criterion": "↳ " * _depth(c, by_id) + f"{c['id']} {c.get('label', '')}".strip(),
                "Verdict": VERDICT_MARK.get(c.get("verdict"), str(c.get("verdict"))),
                "Policy's words": c.get("quote", ""),
                "Why": c.get("reason", ""),
                "Source": marker_for(src, citations),
            })
        sections.append({
            "heading": f"{s['id']} {s.get('title', '')}".strip(),
            "mark": SECTION_MARK.get(s.get("verdict"), str(s.get("verdict"))),
            "reason": s.get("reason", ""),
            "rows": rows,
        })
    durations = []
    for d in out.get("approval_duration") or []:
        if not isinstance(d, dict):
            continue
        lobs = ", ".join(d.get("lines_of_business") or []) or "all lines of business"
        durations.append({"Section": d.get("section", ""), "Line of business": lobs,
                          "Duration": f"{'up to ' if d.get('up_to') else ''}{d.get('months')} months",
                          "Policy's words": (d.get("source") or {}).get("quote", "")})
    return {
        "title": f"{out.get('policy_title', '')} — {out.get('policy_version', '')}".strip(" —"),
        "mark": SECTION_MARK.get(out.get("overall"), str(out.get("overall"))),
        "reason": out.get("overall_reason", ""),
        "sections": sections,
        "durations": durations,
        "checklist": [{"Document": c.get("label", ""), "Status": c.get("status", "")} for c in out.get("checklist", [])],
    }


# -- codes ------------------------------------------------------------------------------------
def code_view(out: dict, citations: list[Citation]) -> dict:
    """The code check as a card: the verdict and which clue points to which product."""
    products = {p["id"]: p for p in out.get("products", [])}

    def name(pid: str) -> str:
        p = products.get(pid)
        return f"{p['brand']['value']} ({p['jcode']['value']})" if p else pid

    clues = []
    for c in out.get("clues", []):
        targets = ", ".join(name(p) for p in c.get("products") or []) or "not in the reference"
        clues.append({"Clue": c.get("text", ""), "Kind": c.get("kind", ""), "Points to": targets,
                      "Document says": (c.get("quote") or {}).get("quote", ""),
                      "Source": marker_for(c.get("quote"), citations)})
    # the message and the do-not-confuse warnings are in the answer text already
    return {"mark": CODE_MARK.get(out.get("verdict"), str(out.get("verdict"))), "clues": clues}


# -- how this was computed --------------------------------------------------------------------
def _formulas(node: Any, path: str = "") -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(node, dict):
        if node.get("formula"):
            found.append({"What": node.get("label") or path, "How": str(node["formula"])})
        for key, value in node.items():
            if key != "source":
                found.extend(_formulas(value, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(_formulas(item, path))
    return found


def computation(call: dict) -> dict:
    """Tool name, its inputs and every formula (or reason) in its output."""
    out = call.get("output")
    steps = _formulas(out)
    if call.get("tool") == "check_policy" and isinstance(out, dict):
        steps += [{"What": c["id"], "How": c.get("reason", "")} for s in out.get("sections", []) for c in s.get("criteria", [])]
    if isinstance(out, dict) and "rounding_rule" in out.get("billing", {}):
        steps.append({"What": "billing rounding rule", "How": out["billing"]["rounding_rule"]})
    notes = out.get("notes", []) if isinstance(out, dict) else []
    return {"tool": call.get("tool", ""), "inputs": call.get("input", {}), "steps": steps,
            "notes": [n for n in notes if isinstance(n, str)]}


def structured(answer: Answer) -> list[tuple[str, Any]]:
    """(kind, view) for every tool result worth a table or card: 'dose', 'policy', 'code'."""
    views: list[tuple[str, Any]] = []
    for call in answer.tool_calls:
        out = call.output
        if not isinstance(out, dict) or "error" in out:
            continue
        if call.tool == "calculate_dose":
            views.append(("dose", dose_rows(out, answer.citations)))
        elif call.tool == "check_policy":
            views.append(("policy", policy_view(out, answer.citations)))
        elif call.tool == "disambiguate_code":
            views.append(("code", code_view(out, answer.citations)))
    return views


def citation_label(c: Citation) -> str:
    """Expander label for a footnote: '[n] Title — section'."""
    return f"[{c.marker}] {c.doc_title}" + (f" — {c.section}" if c.section else "")


def citation_meta(c: Citation) -> list[tuple[str, str]]:
    """The document facts shown with a quote."""
    return [
        ("Document", c.doc_title),
        ("Section", c.section or "not stated"),
        ("Publisher", c.publisher or "not stated"),
        ("Date", c.date or "undated"),
        ("Review status", c.review_status or "not stated"),
    ]


def mark_markdown(mark: str) -> str:
    """A verdict mark ('✓ met') as coloured markdown; the mark is ours, its text is still escaped."""
    colour = _MARK_COLOUR.get(mark[:1])
    return f":{colour}[**{escape_md(mark)}**]" if colour else escape_md(mark)


def escape_cells(rows: list[dict[str, Any]], marks: str | None = None) -> list[dict[str, str]]:
    """Table rows with every cell escaped (st.table renders markdown in cells); the column named
    by `marks` holds verdict marks and is coloured."""
    return [{escape_md(k): mark_markdown(str(v)) if k == marks else escape_md(v) for k, v in r.items()} for r in rows]


ASSERTION_WORDS = {"present": "stated", "historical": "stated (history)", "absent": "stated NOT", "possible": "uncertain",
                   "hypothetical": "asked about / what-if"}


def fact_rows(facts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The answer's facts as table rows: fact, value, how it was meant, the words read."""
    rows = []
    for f in facts:
        name = str(f.get("field", ""))
        kind, _, item = name.partition(":")
        label = {"prior_therapy": "prior therapy", "combined_with": "given with Kadcyla",
                 "preferred_trial": "preferred product tried"}.get(kind, kind.replace("_", " "))
        value = item if item else f.get("value")
        if item and kind == "preferred_trial":
            value = f"{item}: {f.get('value')}"
        words = " … ".join(str(e.get("text", "")) for e in f.get("evidence", []))
        rows.append({"fact": label, "value": "" if value is None else str(value),
                     "read as": ASSERTION_WORDS.get(str(f.get("assertion")), str(f.get("assertion"))),
                     "from": f"“{words}”" if words else str(f.get("source", ""))})
    return rows

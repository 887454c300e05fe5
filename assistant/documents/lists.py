"""Complete lists: every item of what was asked for, from one source, in order, one citation per item.

Three kinds, tried in this order:
- a payer policy section (Centene I.A 1-6, II.A 1-3; Oscar's exception criteria 1.a-g and 2.a-e; Oscar's
  preferred products) from the policy files the checker verifies against the corpus, with the section's
  notes and its approval durations (for the line of business asked about, or all of them);
- a list written out in assistant/data/doc_lists.yaml (the three boxed warnings, the excipients, the
  three documents a KATHERINE PA needs), each item an exact quote checked when loaded;
- the list in the document that holds the best answer: a table's rows, or the items under a lead-in line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents import display
from assistant.documents.question import Question
from assistant.documents.reply import DocReply, bullet, cite, publisher, shown
from assistant.documents.structure import structure
from assistant.errors import DataError

_EXPLICIT = re.compile(r"^\s*list\b|\blist (?:all|the|of|every)\b|\blist\s*$|\ball (?:the |of the )?\w|\bevery\b|\bcomplete\b|\bfull list\b", re.I)
_LOB = {"medicaid": re.compile(r"\bmedicaid\b", re.I), "commercial": re.compile(r"\bcommercial\b", re.I),
        "him": re.compile(r"\bhim\b|\bmarketplace\b|\bexchange\b|\bambetter\b", re.I), "ichra": re.compile(r"\bichra\b", re.I)}
MAX_ITEMS = 16
_LONG_ITEM = 420  # an item longer than this is shown as its head line and one bullet per sub-item


@dataclass(frozen=True)
class NamedList:
    id: str
    asks: tuple[re.Pattern[str], ...]
    doc_id: str
    section: str
    lead: tuple[int, int]
    items: tuple[tuple[int, int], ...]


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(resources.files("assistant.data").joinpath("doc_lists.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _named(corpus_dir: str) -> tuple[NamedList, ...]:
    corpus = get_corpus()
    out = []
    for raw in _data().get("named") or []:
        text = corpus.text(raw["doc_id"])

        def at(quote: str, after: int = 0, name: str = raw["id"]) -> tuple[int, int]:
            pos = text.find(quote, after)
            if pos < 0:
                raise DataError(f"doc_lists.yaml {name}: not an exact quote of {raw['doc_id']}: {quote[:60]!r}")
            return pos, pos + len(quote)

        lead = at(raw["lead"])
        items, pos = [], 0
        for quote in raw["items"]:
            span = at(quote, pos)
            items.append(span)
            pos = span[0]
        out.append(NamedList(raw["id"], tuple(re.compile(p, re.I) for p in raw["asks"]), raw["doc_id"], raw["section"],
                             lead, tuple(items)))
    return tuple(out)


def named_lists() -> tuple[NamedList, ...]:
    """The lists of doc_lists.yaml, every quote located (DataError if one drifted)."""
    return _named(str(get_corpus().dir))


def line_of_business(text: str, said: str | None = None) -> str | None:
    if said in _LOB:
        return said
    return next((lob for lob, rx in _LOB.items() if rx.search(text)), None)


# -- payer policy sections ----------------------------------------------------------------------
def policy_list(q: Question, cites: Citations, lob: str | None = None) -> DocReply | None:
    """A policy section's criteria, notes and durations, when the question asks for them."""
    for rule in _data().get("policy") or []:
        if rule["policy"] not in q.documents:
            continue
        if not any(re.search(p, q.text, re.I) for p in rule["asks"]):
            continue
        if any(re.search(p, q.text, re.I) for p in rule.get("unless") or []):
            continue
        from assistant.tools.policy_data import load_policy

        policy = load_policy(rule["policy"])
        section = next(s for s in policy.sections if s.id == rule["section"])
        if rule.get("products"):
            return _products(policy, section, cites)
        return _section(policy, section, cites, lob)
    return None


def _line_span(doc_id: str, start: int, end: int) -> tuple[int, int]:
    """From the start of the line holding `start` (its "1." or "a." marker included) to `end`."""
    st = structure(doc_id)
    i = st.line_at(start)
    if i is None:
        return start, end
    line_start = st.lines[i].start
    head = st.text[line_start:start]
    if re.fullmatch(r"\s*(?:[-•]\s*)?(?:\d{1,2}|[a-z])[.)]\s*|\s*[-•*#]*\s*", head):
        return line_start, end
    return start, end


def _section(policy, section, cites: Citations, lob: str | None) -> DocReply:
    doc = policy.doc_id
    st = structure(doc)
    reply = DocReply()
    anchor = section.source
    path = _path(doc, anchor.start)
    words = display.clean(anchor.quote).rstrip(":")
    head = " — ".join(p for p in (publisher(doc) + (f": {path}" if path else ""),) if p)
    if words not in path:
        head = f"{head} — {words}:"
    reply.add(f"{head} {cite(cites, doc, anchor.start, anchor.end, section.id)}".rstrip())
    for crit in section.criteria:
        start, _ = _line_span(doc, crit.source.start, crit.source.end)
        i = st.line_at(crit.source.start)
        item = st.item_of.get(i) if i is not None else None
        end = max(c.source.end for c in crit.walk())
        end = max(end, item[1]) if item and item[0] <= start else end
        if end - start <= _LONG_ITEM or not crit.criteria:
            reply.add(bullet(cites, doc, start, end, crit.id, source=False))
            continue
        reply.add(bullet(cites, doc, start, crit.source.end, crit.id, source=False))
        for sub in crit.criteria:
            a, b = _line_span(doc, sub.source.start, sub.source.end)
            j = st.line_at(sub.source.start)
            b = max(b, st.lines[j].end) if j is not None else b
            reply.add("  " + bullet(cites, doc, a, b, sub.id, source=False))
    for note in section.notes:
        reply.add(bullet(cites, doc, note.source.start, note.source.end, section.id, source=False))
    seen = set()
    for d in section.approval_durations:
        if lob and d.lines_of_business and lob not in d.lines_of_business:
            continue
        if d.quote in seen:
            continue
        seen.add(d.quote)
        marker = cite(cites, doc, d.source.start, d.source.end, section.id)
        label = "Approval duration" if not d.label else f"Approval duration ({d.label})"
        reply.add(f"- {label}: {display.clean(d.quote)} {marker}".rstrip())
    return reply


def _products(policy, section, cites: Citations) -> DocReply:
    doc = policy.doc_id
    reply = DocReply()
    anchor = section.source
    reply.add(f"{publisher(doc)}: {display.clean(anchor.quote)} {cite(cites, doc, anchor.start, anchor.end, section.id)}".rstrip())
    order = sorted(policy.products, key=lambda p: (p.status != "preferred", p.source.start))
    for p in order:
        marker = cite(cites, doc, p.source.start, p.source.end, section.id)
        status = {"preferred": "preferred", "non_preferred": "non-preferred", "covered": "covered"}[p.status]
        reply.add(f"- {display.clean(p.quote)} — {status} {marker}".rstrip())
    for note in section.notes:
        reply.add(bullet(cites, doc, note.source.start, note.source.end, section.id, source=False))
    return reply


def _path(doc_id: str, pos: int) -> str:
    """The headings above a position, as the chunk records them ("I. Initial Approval Criteria — A. ...")."""
    from assistant.retrieval import get_retriever

    for c in get_retriever().chunks:
        if c.doc_id == doc_id and c.start <= pos < c.end + 1:
            parts = [display.clean_line(p) for p in c.path.split(" > ") if p]
            return " — ".join(parts)
    return ""


# -- approval durations ---------------------------------------------------------------------------
_DURATION_ASK = re.compile(r"\bhow long\b|\bduration\b|\blength\b|\bmonths?\b|\bauth(?:orization)? (?:period|length)\b", re.I)
_CONTINUED = re.compile(r"continu|\brenew|re-?auth|\brecert|\bongoing\b", re.I)
_OFF_LABEL = re.compile(r"off.?label|\bnsclc\b|\bsalivary\b|\bbrain\b", re.I)
_SHORTAGE = re.compile(r"shortage|unavailab", re.I)


def policy_duration(q: Question, cites: Citations, lob: str | None = None) -> DocReply | None:
    """How long a payer approves, from its policy file: the section asked about (initial, continued,
    off-label; Oscar's exception or shortage approval), for the line of business named, else every one."""
    if q.type != "duration" or not _DURATION_ASK.search(q.text):
        return None
    from assistant.tools.policy_data import load_policy

    for doc, section_id in (("centene-cp-phar-229", None), ("oscar-cg101", "Exception Criteria")):
        if doc not in q.documents:
            continue
        policy = load_policy(doc)
        if section_id is None:
            section_id = "II.A" if _CONTINUED.search(q.text) else "I.B" if _OFF_LABEL.search(q.text) else "I.A"
        section = next(s for s in policy.sections if s.id == section_id)
        durations = [d for d in section.approval_durations if not (lob and d.lines_of_business and lob not in d.lines_of_business)]
        if doc == "oscar-cg101":
            durations.sort(key=lambda d: (d.basis is None) == bool(_SHORTAGE.search(q.text)))
        if not durations:
            return None
        reply = DocReply()
        for n, d in enumerate(durations):
            marker = cite(cites, doc, d.source.start, d.source.end)
            lobs = ", ".join(x.upper() if x in ("him", "ichra") else x.title() for x in d.lines_of_business or [])
            label = f" ({d.label})" if d.label else ""
            text = display.clean(d.quote)
            line = f"{text}{label} {marker}".rstrip() if not lobs or lobs.split(",")[0].split("/")[0].lower() in text.lower() \
                else f"{lobs}: {text}{label} {marker}".rstrip()
            reply.add(line if n == 0 else f"- {line}")
        path = _path(doc, section.source.start)
        anchor = display.clean(section.anchor).rstrip(":")
        where = path if anchor in path else f"{path} — {anchor}" if path else anchor
        reply.add(f"- {publisher(doc)}: {where} {cite(cites, doc, section.source.start, section.source.end)}".rstrip())
        return reply
    return None


# -- lists written out in doc_lists.yaml ------------------------------------------------------------
def named_list(q: Question, cites: Citations) -> DocReply | None:
    for nl in named_lists():
        if q.documents and nl.doc_id not in q.documents:
            continue
        if not any(p.search(q.text) for p in nl.asks):
            continue
        reply = DocReply()
        reply.add(f"{shown(nl.doc_id, *nl.lead)} {cite(cites, nl.doc_id, *nl.lead, nl.section)}".rstrip())
        for a, b in nl.items:
            reply.add(bullet(cites, nl.doc_id, a, b, nl.section, source=False))
        return reply
    return None


# -- the list in the document that holds the answer -------------------------------------------------
def has_list(doc_id: str, line: int) -> bool:
    """The line is an item or the lead-in of a list of two to MAX_ITEMS items."""
    st = structure(doc_id)
    g_index = st.group_of.get(line, st.lead_of.get(line))
    if g_index is None:
        return False
    g = st.groups[g_index]
    return 2 <= len(g.items) <= MAX_ITEMS and not (g.header and st.text[g.header[0]:g.header[1]].startswith("PayerPA?"))


def group_list(doc_id: str, line: int, cites: Citations, lead_done: tuple[int, int] | None = None) -> list[str]:
    """Bullets for every item of the list line `line` belongs to (the lead line's own item left out), or []."""
    st = structure(doc_id)
    g_index = st.group_of.get(line, st.lead_of.get(line))
    if g_index is None:
        return []
    g = st.groups[g_index]
    if len(g.items) < 2 or len(g.items) > MAX_ITEMS or g.header and st.text[g.header[0]:g.header[1]].startswith("PayerPA?"):
        return []
    out = []
    for a, b in g.items:
        if lead_done and a <= lead_done[0] and lead_done[1] <= b:
            continue
        i = st.line_at(a)
        section = st.lines[i].section if i is not None else ""
        out.append(bullet(cites, doc_id, a, b, section, header=g.header, source=False))
    return out


def explicit(q: Question) -> bool:
    """The question asks for the whole list ("list ...", "all the ...")."""
    return bool(_EXPLICIT.search(q.text))


def lead_line(doc_id: str, line: int, cites: Citations) -> str:
    """The first line of a whole list: its lead-in, and a table's column names, cited."""
    st = structure(doc_id)
    g = st.groups[st.group_of.get(line, st.lead_of.get(line))]
    parts, markers = [], []
    if g.lead:
        parts.append(shown(doc_id, *g.lead).rstrip(":"))
        markers.append(cite(cites, doc_id, *g.lead))
    if g.header:
        parts.append(" | ".join(display.header_cells(st.text[g.header[0]:g.header[1]])))
        markers.append(cite(cites, doc_id, *g.header))
    return f"{' — '.join(parts)} {''.join(m for m in markers if m)}".rstrip()


def group_lead(doc_id: str, line: int) -> tuple[int, int] | None:
    """The lead-in line (or a table's header) of the list line `line` belongs to."""
    st = structure(doc_id)
    g_index = st.group_of.get(line, st.lead_of.get(line))
    if g_index is None:
        return None
    g = st.groups[g_index]
    return g.lead or g.header

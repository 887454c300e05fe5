"""A document answer: the exact answer first, then at most three supporting quotes, each on topic.

    compose_document(question, hits, cites) -> DocReply

The lead line is the part of the best sentence that answers, in the document's words, cited; a table
row is shown with its column names, a list item whole, a label line with what it labels. A question
asking for a list gets every item (assistant.documents.lists). Notes where the sources disagree are
added only when the question is about that topic; a price question carries the stale-quarter warning
a dose answer carries.
"""

from __future__ import annotations

import numpy as np

from assistant.compose import Citations
from assistant.documents import lists, select
from assistant.documents.conflicts import conflict_notes
from assistant.documents.price import price_warnings
from assistant.documents.question import Question, read_question, says_cycle, topic_free
from assistant.documents.reply import DocReply, bullet, cite, header_marker, safe, shown
from assistant.documents.structure import structure

SUPPORTS = 3
ON_TOPIC = 0.25  # a supporting quote scores within this of the lead
UNIT_MAX = 900  # a list item, FAQ answer or table row longer than this is shown as its sentence
LEAD_UNIT = 230  # a unit this short is the lead line itself
LIST_NEAR = 0.15  # a sentence in a list this close to the best one answers a list question
SAME_LINE = 0.03  # sentences of one line this close are a tie
TYPED_NEAR = 0.25  # a sentence holding an answer of the asked type this close to the best one is the answer


def compose_document(question: str, hits: list[dict], cites: Citations, *, payer: str | None = None,
                     line_of_business: str | None = None, date_of_service=None, search_text: str | None = None) -> DocReply:
    """The answer to a question about the documents, from the passages search found (best first)."""
    from assistant.embedder import embed

    q = read_question(question, payer)
    lob = lists.line_of_business(question, line_of_business)
    reply = lists.policy_duration(q, cites, lob)
    if reply is None and q.wants_list:
        reply = lists.policy_list(q, cites, lob) or lists.named_list(q, cites)
    if reply is None:
        about = topic_free(search_text or question)
        vec = np.asarray(embed([about])[0], dtype=np.float32)
        full = np.asarray(embed([search_text or question])[0], dtype=np.float32)  # the search embedded it: cached
        reply = _from_sentences(q, select.score(q, vec, hits, about, full), cites)
    if reply is None:
        return DocReply(status="out_of_scope")
    notes, warnings = conflict_notes(question, cites)
    for line in notes:
        reply.add(line)
    reply.warnings.extend(warnings)
    reply.warnings.extend(price_warnings(question, date_of_service))
    return reply.done()


def _unit(doc_id: str, line: int) -> tuple[int, int, tuple[int, int] | None]:
    """What holds the line: its table row (with the header), its list item, a short block, or the line with
    the label above it. (start, end, header)."""
    st = structure(doc_id)
    ln = st.lines[line]
    if ln.table_header is not None:
        return ln.start, ln.end, ln.table_header
    item = st.item_of.get(line)
    if item and item[1] - item[0] <= UNIT_MAX:
        return item[0], item[1], None
    chunk = next((c for c in st.chunks if c[0] <= ln.start <= c[1]), None)
    if chunk and chunk[1] - chunk[0] <= 300 and _short_lines(st.text[chunk[0]:chunk[1]]):
        return chunk[0], chunk[1], None  # "Standard dose / 3.6 mg/kg / IV q3w (both mBC + adjuvant)"
    label = st.label(line)
    if label and ln.end - label[0] <= UNIT_MAX:
        return label[0], ln.end, None
    return ln.start, ln.end, None


def _mixes_cycles(text: str) -> bool:
    """The text speaks of the first cycle and of the later ones: shown whole it would blur a cycle answer."""
    first, later = says_cycle(text)
    return first and later


def _short_lines(text: str) -> bool:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    return len(lines) >= 2 and all(len(ln) < 130 for ln in lines)


def _in_list(k: int) -> bool:
    c = select.candidate(k)
    st = structure(c.doc_id)
    return c.line in st.group_of or c.line in st.lead_of


def _choose(q: Question, scored: list[select.Scored]) -> select.Scored:
    """The best sentence; for a list question the best one in a list, for a typed question ("when",
    "fax", "how long") the best one holding such an answer, when it scores close to the best. Of
    near-equal sentences of one line, the first: a line states its point before it elaborates."""
    top = scored[0]
    if q.type == "list":
        near = LIST_NEAR * (2 if lists.explicit(q) else 1)  # "list all ...": a list, unless none comes near
        top = next((s for s in scored[:30] if s.score >= top.score - near and _in_list(s.index)), top)
    elif q.type in select.TYPED:
        top = next((s for s in scored[:30] if s.score >= top.score - TYPED_NEAR and select.typed(q, s.index)), top)
    c = select.candidate(top.index)
    same = [s for s in scored[:12] if s.score >= top.score - SAME_LINE and select.candidate(s.index).doc_id == c.doc_id
            and select.candidate(s.index).line == c.line]
    return min(same, key=lambda s: (select.candidate(s.index).start, -select.candidate(s.index).end)) if same else top


def _from_sentences(q: Question, scored: list[select.Scored], cites: Citations) -> DocReply | None:
    if not scored:
        return None
    best = _choose(q, scored)
    c = select.candidate(best.index)
    st = structure(c.doc_id)
    u_start, u_end, header = _unit(c.doc_id, c.line)
    if "\n" in st.text[c.start:c.end] and not (u_start <= c.start and c.end <= u_end):
        u_start, u_end, header = c.start, c.end, None  # a card of short lines is its own unit
    if safe(c.doc_id, u_start, u_end) != (u_start, u_end):  # a unit holding a web address or markup: the sentence only
        u_start, u_end, header = c.start, c.end, None
    reply = DocReply()
    ln = st.lines[c.line]
    lead_in = c.line in st.lead_of and st.text[ln.start:ln.end].rstrip().endswith(":")  # "consider the following:"
    as_list = (q.type == "list" or q.wants_list or lead_in) and lists.has_list(c.doc_id, c.line)
    if as_list and lists.explicit(q) and lists.group_lead(c.doc_id, c.line):
        reply.add(lists.lead_line(c.doc_id, c.line, cites))  # "list all ...": the list's lead-in, then every item
        for line in lists.group_list(c.doc_id, c.line, cites):
            reply.add(line)
        return reply
    unit_shown = shown(c.doc_id, u_start, u_end, header)
    if len(unit_shown) <= LEAD_UNIT and (u_end - u_start) <= 2 * LEAD_UNIT:
        lead = (u_start, u_end)
        reply.add(f"{unit_shown} {cite(cites, c.doc_id, u_start, u_end, c.section)}{header_marker(cites, c.doc_id, header)}".rstrip())
    else:
        lead = select.lead_span(st, best.index, q)
        reply.add(f"{shown(c.doc_id, *lead)} {cite(cites, c.doc_id, *lead, c.section)}".rstrip())
        if not as_list:  # the row, item or answer that holds it, for its context
            reply.add(bullet(cites, c.doc_id, u_start, u_end, c.section, header=header))
    if as_list:
        for line in lists.group_list(c.doc_id, c.line, cites, lead_done=(u_start, u_end)):
            reply.add(line)
        return reply
    used = [(c.doc_id, u_start, u_end)]
    supports = len(reply.lines) - 1
    for s in scored[1:40]:
        if supports >= SUPPORTS or s.score < best.score - ON_TOPIC:
            break
        if s.overlap <= 0 or select.other_cycle(q, s.index):  # never the cycles 2+ text for a first-cycle question
            continue
        o = select.candidate(s.index)
        a, b, h = _unit(o.doc_id, o.line)
        if b - a > UNIT_MAX or safe(o.doc_id, a, b) != (a, b) or (q.cycle and _mixes_cycles(structure(o.doc_id).text[a:b])):
            a, b, h = o.start, o.end, None
        if any(d == o.doc_id and a < e and s_ < b for d, s_, e in used):
            continue
        used.append((o.doc_id, a, b))
        line = bullet(cites, o.doc_id, a, b, o.section, header=h)
        if line:
            reply.add(line)
            supports += 1
    return reply if reply.lines else None

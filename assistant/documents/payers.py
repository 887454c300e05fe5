"""Payers we hold no policy for (UnitedHealthcare, Aetna, BCBS, Medicare, Medicaid): what CareCost's
payer snapshot says of them, said to be CareCost's summary and not the payer's policy. Never a verdict:
no criterion is checked and nothing is called met. The quotes are data (assistant/data/payer_snapshot.yaml),
each checked against the corpus when loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents.reply import DocReply, bullet, cite, publisher, shown
from assistant.errors import DataError

CAVEAT = "No policy document of that payer is held; this is CareCost's summary dated {date} {marker}, not {name}'s policy: confirm with {name} before submitting."


@dataclass(frozen=True)
class Quote:
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class PayerSnapshot:
    key: str
    name: str
    names: tuple[re.Pattern[str], ...]
    row: Quote
    also: tuple[Quote, ...]


def _locate(doc_id: str, quote: str, where: str) -> Quote:
    text = get_corpus().text(doc_id)
    pos = text.find(quote)
    if pos < 0:
        raise DataError(f"payer_snapshot.yaml {where}: not an exact quote of {doc_id}: {quote[:60]!r}")
    return Quote(doc_id, pos, pos + len(quote))


@lru_cache(maxsize=4)
def _load(corpus_dir: str) -> tuple[dict, dict[str, PayerSnapshot], Quote, tuple[Quote, ...]]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("payer_snapshot.yaml").read_text(encoding="utf-8"))
    doc = raw["doc_id"]
    dated = _locate(doc, raw["dated"], "dated")
    if raw["date"] not in raw["dated"]:
        raise DataError("payer_snapshot.yaml: `date` must be written in `dated`")
    payers = {}
    for key, p in raw["payers"].items():
        also = []
        for item in p.get("also") or []:
            d, q = (item["doc_id"], item["quote"]) if isinstance(item, dict) else (doc, item)
            also.append(_locate(d, q, f"{key} also"))
        payers[key] = PayerSnapshot(key, p["name"], tuple(re.compile(n, re.I) for n in p["names"]),
                                    _locate(doc, p["row"], f"{key} row"), tuple(also))
    general = tuple(_locate(doc, q, "general") for q in raw.get("general") or [])
    return raw, payers, dated, general


def snapshot_payer(text: str) -> str | None:
    """The snapshot payer a question or a payer value names (unitedhealthcare, aetna, bcbs, medicare,
    medicaid), or None."""
    _, payers, _, _ = _load(str(get_corpus().dir))
    for key, p in payers.items():
        if key == text or any(rx.search(text) for rx in p.names):
            return key
    return None


def answer_other_payer(payer: str, hits: list[dict] | None = None, cites: Citations | None = None,
                       question: str | None = None) -> DocReply:
    """What the documents say about a payer we hold no policy document for.

    payer: the payer as the facts name it ("unitedhealthcare", "aetna", "bcbs", "medicare", "medicaid",
    or another such as "cigna") or as typed ("UHC"). hits: search_corpus output, optional; a passage
    that names the payer is added as a further quote. Returns a DocReply: the snapshot row first, the
    caveat ("No policy document of that payer is held; this is CareCost's summary dated May 2026"),
    the other places the guide names the payer, and a warning; status is always "answered"."""
    cites = cites if cites is not None else Citations()
    raw, payers, dated, general = _load(str(get_corpus().dir))
    key = snapshot_payer(payer) or (snapshot_payer(question) if question else None)
    reply = DocReply()
    if key is None:  # a payer the snapshot does not name: what it says of all payers
        name = payer.strip().title() if payer else "that payer"
        reply.add(f"CareCost's billing guide does not name {name}; what it says of payers in general:")
        for q in general:
            reply.add(bullet(cites, q.doc_id, q.start, q.end, ""))
        date_marker = cite(cites, dated.doc_id, dated.start, dated.end)
        reply.add(CAVEAT.format(date=raw["date"], marker=date_marker, name=name).replace("summary", "general summary"))
    else:
        p = payers[key]
        reply.add(f"{shown(p.row.doc_id, p.row.start, p.row.end)} {cite(cites, p.row.doc_id, p.row.start, p.row.end)}".rstrip())
        date_marker = cite(cites, dated.doc_id, dated.start, dated.end)
        reply.add(CAVEAT.format(date=raw["date"], marker=date_marker, name=p.name))
        for q in p.also:
            reply.add(bullet(cites, q.doc_id, q.start, q.end, ""))
        name = p.name
        for h in (hits or [])[:5]:  # a passage found for the question that names this payer
            if h.get("doc_id") == raw["doc_id"] and any(rx.search(h.get("quote", "")) for rx in p.names):
                already = any(q.start < h["end"] and h["start"] < q.end for q in (p.row, *p.also))
                if not already and len(h["quote"]) <= 900:
                    reply.add(bullet(cites, h["doc_id"], h["start"], h["end"], h.get("section", "")))
                break
    reply.warnings.append(f"{publisher(raw['doc_id'])}'s summary of {name}, not {name}'s own policy: no policy "
                          f"document of {name} is held, so no criterion was checked.")
    return reply.done()

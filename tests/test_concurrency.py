"""One loaded assistant under 16 threads answers exactly as it does sequentially; other processes read alongside.

Every answer is also audited, so these tests double as a check that concurrent writers (threads
here, other processes in the last tests) lose no audit entry, raise no "database is locked", and
leave one unbroken hash chain. Each test runs on SQLite and on PostgreSQL (ASSISTANT_DB_URL); with
PostgreSQL two app processes also share conversations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from assistant import audit, audit_log, retrieval
from assistant.agent import ask
from assistant.audit_verify import verify
from assistant.session import SessionStore

from private_data import _one_torch_thread, data_dir, pg_cluster, pg_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

QUESTIONS = [
    "70 kg, metastatic — dose, vials, waste?",
    "pt wt 154 lb mBC, what do we draw up?",
    "85 kg adjuvant cycle 3 dose and JW units",
    "Centene medicaid: 58 yo, HER2 IHC 3+, metastatic, prior trastuzumab and docetaxel, single agent, oncologist. Covered?",
    "Does Oscar cover Margenza after failure of Enhertu and Kadcyla?",
    "Is J9354 Enhertu?",
    "What product is NDC 50242-087-01?",
    "Can Kadcyla be diluted in dextrose?",
    "What in-line filter is required?",
    "What documents does a KATHERINE adjuvant PA need?",
    "What is the dose of pembrolizumab?",
]
CONVERSATION = ["What is the Kadcyla dose?", "70 kg", "metastatic"]
THREADS = 16
PER_THREAD = 4




def key(answer) -> dict:
    """Everything in an answer except its audit id."""
    return answer.model_dump(exclude={"id"})


def in_threads(work, n: int = THREADS) -> tuple[list, list]:
    """Run work(i) in n threads released together; return (results, errors)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
            errors.append(repr(exc))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return results, errors


def test_sixteen_threads_answer_as_sequentially(data_dir):
    expected = {q: key(ask(q, store=SessionStore())) for q in QUESTIONS}
    assert {a["status"] for a in expected.values()} <= {"answered", "out_of_scope"}

    def work(i: int) -> list[tuple[str, dict, str | None]]:
        mine = [QUESTIONS[(i + j) % len(QUESTIONS)] for j in range(PER_THREAD)]  # every intent, in every position
        return [(q, key(a), a.id) for q in mine for a in [ask(q, store=SessionStore())]]

    results, errors = in_threads(work)
    assert not errors
    ids = []
    for per_thread in results:
        for question, got, audit_id in per_thread:
            assert got == expected[question], question
            ids.append(audit_id)
    assert None not in ids and len(set(ids)) == THREADS * PER_THREAD
    assert len(audit.list_entries(10_000)) == len(QUESTIONS) + THREADS * PER_THREAD  # no lost audit write
    report = verify()
    assert report.ok, report.findings
    assert [r.seq for r in audit_log.rows()] == list(range(1, len(QUESTIONS) + THREADS * PER_THREAD + 1))


def test_sixteen_conversations_in_one_store(data_dir):
    """Sessions are per id: 16 interleaved conversations in one shared store end as one alone does."""
    alone_store, alone_id = SessionStore(), str(uuid.uuid4())
    expected = [key(ask(q, alone_id, store=alone_store)) for q in CONVERSATION]
    shared = SessionStore()

    def work(i: int) -> list[dict]:
        session = f"conversation-{i}-{uuid.uuid4()}"
        return [key(ask(q, session, store=shared)) for q in CONVERSATION]

    results, errors = in_threads(work)
    assert not errors
    assert all(r == expected for r in results)
    assert expected[-1]["status"] == "answered" and "252 mg" in expected[-1]["answer"]


def test_a_second_process_reads_and_audits_while_this_one_works(data_dir, tmp_path):
    exe = str(Path(sys.executable).parent / "assistant")
    env = dict(os.environ)
    query = "Can Kadcyla be diluted in dextrose?"
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": str(i), "question": q}) + "\n" for i, q in enumerate(QUESTIONS[:4])))
    files = {name: open(tmp_path / name, "w+") for name in ("search.out", "search.err", "ask.out", "ask.err")}
    search = subprocess.Popen([exe, "search", query, "--json", "-k", "5"], env=env, text=True,
                              stdout=files["search.out"], stderr=files["search.err"])
    with open(tmp_path / "in.jsonl") as stdin:  # files, not pipes: a full pipe would stall the writer
        asker = subprocess.Popen([exe, "ask", "--jsonl"], env=env, text=True, stdin=stdin,
                                 stdout=files["ask.out"], stderr=files["ask.err"])
    retriever = retrieval.get_retriever()
    here = [(h.doc_id, h.start, h.end) for h in retriever.search(query, k=5)]
    local_answers = 0
    deadline = time.time() + 540
    while (search.poll() is None or asker.poll() is None) and time.time() < deadline:
        assert [(h.doc_id, h.start, h.end) for h in retriever.search(query, k=5)] == here
        assert ask(QUESTIONS[local_answers % 4], store=SessionStore()).status == "answered"
        local_answers += 1
    assert local_answers > 0  # this process was answering while the other two ran
    assert search.wait(timeout=60) == 0 and asker.wait(timeout=60) == 0, [p.read_text() for p in tmp_path.glob("*.err")]
    for handle in files.values():
        handle.close()
    found = json.loads((tmp_path / "search.out").read_text())
    assert [(h["doc_id"], h["start"], h["end"]) for h in found] == here
    theirs = [json.loads(line) for line in (tmp_path / "ask.out").read_text().splitlines()]
    for item, question in zip(theirs, QUESTIONS[:4]):
        assert item["answer"] == ask(question, store=SessionStore()).answer
    assert len(theirs) == 4
    # both processes wrote to the same audit log: every answer is there
    assert len(audit.list_entries(10_000)) == 4 + local_answers + 4
    assert verify().ok


def test_two_app_processes_write_one_chain_and_share_conversations(data_dir, tmp_path):
    """Two `assistant ask --jsonl` processes at once, as two app instances behind a load balancer: every answer
    audited in one unbroken chain; a persisted conversation begun in one process goes on in the other."""
    exe = str(Path(sys.executable).parent / "assistant")
    env = dict(os.environ)
    n = 12
    procs = []
    for name in ("a", "b"):
        lines = [json.dumps({"id": f"{name}{i}", "question": QUESTIONS[i % len(QUESTIONS)]}) for i in range(n)]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        with open(tmp_path / f"{name}.jsonl") as stdin, open(tmp_path / f"{name}.out", "w") as out, \
                open(tmp_path / f"{name}.err", "w") as err:
            procs.append(subprocess.Popen([exe, "ask", "--jsonl"], env=env, stdin=stdin, stdout=out, stderr=err, text=True))
    for proc in procs:
        assert proc.wait(timeout=540) == 0, [p.read_text() for p in tmp_path.glob("*.err")]
    answers = [json.loads(line) for name in ("a", "b") for line in (tmp_path / f"{name}.out").read_text().splitlines()]
    assert len(answers) == 2 * n and {a["status"] for a in answers} <= {"answered", "out_of_scope"}
    rows = audit_log.rows()
    assert [r.seq for r in rows if r.kind != "event"] and [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len([r for r in rows if r.kind == "answer"]) == 2 * n
    assert verify().ok, verify().findings

    session = f"shared-{uuid.uuid4()}"
    first = subprocess.run([exe, "ask", "What is the Kadcyla dose?", "--session", session, "--json"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert json.loads(first.stdout)["status"] == "needs_info", first.stderr
    second = subprocess.run([exe, "ask", "70 kg metastatic", "--session", session, "--json"], env=env,
                            capture_output=True, text=True, timeout=300)
    answer = json.loads(second.stdout)
    assert answer["status"] == "answered" and "252 mg" in answer["answer"], second.stderr
    turns = SessionStore(persist=True).history(session)
    assert [t.status for t in turns] == ["needs_info", "answered"]
    if audit_log.database().kind == "postgresql":
        assert not (data_dir / "sessions").exists()  # the conversation lives in the shared database


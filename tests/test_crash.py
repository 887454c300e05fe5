"""Crash recovery, one writer at a time, and readers that never write, with real `assistant` processes.

Both index modes: local folders under a temporary data dir, and a real `chroma run` on 127.0.0.1. A build
stops itself at a named stage (ASSISTANT_INDEX_PAUSE_AT sends it SIGSTOP), so `kill -9` lands exactly
there: after taking the lock, after creating the new build, part way through adding, after adding, after
verifying, after committing. Whatever the moment, the last committed build answers the same afterwards,
and the next `assistant index` takes over (a dead writer's lease included) and clears what was left. A
second writer is refused with exit 3; a reader during a rebuild answers from the committed build and
writes nothing; a long-running process moves to each new build between questions and fails none. Most
tests use a small generated corpus (builds take a second); one runs the real corpus and `assistant ask`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from assistant.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.slow

EXE = str(Path(sys.executable).parent / "assistant")
STAGES = ["locked", "created", "partial", "added", "verified", "committed"]
QUERIES = ["sodium chloride filter", "J9354 units waste", "storage refrigerated vials", "topic 7 unique zeta"]
READER = """
import json, sys
from assistant.retrieval import get_retriever
r = get_retriever()
for line in sys.stdin:
    hits = r.search(line.strip(), k=3)
    print(json.dumps([[h.doc_id, h.start, h.end] for h in hits]), flush=True)
"""
WORDS = ["sodium chloride filter", "J9354 units waste", "storage refrigerated vials", "infusion minutes observe",
         "prior authorization criteria", "HER2 positive metastatic", "dextrose never", "vial 100 mg 160 mg"]


# -- environments -------------------------------------------------------------------------------
def write_tiny_corpus(folder: Path) -> None:
    """Three documents of 16 numbered sections each: about 48 chunks, more than one batch of 32."""
    folder.mkdir(parents=True)
    docs = []
    for d in range(3):
        sections = [f"## Topic {d * 16 + n}\n\nTopic {d * 16 + n} unique {'alpha beta gamma delta epsilon zeta'.split()[n % 6]}: "
                    f"{WORDS[(d + n) % len(WORDS)]}, paragraph {n} of document {d}.\n" for n in range(16)]
        (folder / f"doc{d}.txt").write_text("\n".join(sections))
        docs.append({"id": f"doc-{d}", "file": f"doc{d}.txt", "title": f"Doc {d}", "publisher": "P",
                     "document_type": "t", "review_status": "draft"})
    (folder / "manifest.yaml").write_text(yaml.safe_dump({"documents": docs}))


def new_env(root: Path, *, corpus: Path | None, chroma: tuple[str, int] | None) -> dict:
    data = root / "data"
    data.mkdir(parents=True)
    model = get_settings().data_dir / "model"
    if model.is_dir():  # the verified ONNX export, linked: builds embed without torch
        (data / "model").mkdir()
        for f in model.iterdir():
            os.link(f, data / "model" / f.name)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "ASSISTANT_AUDIT": "0", "ASSISTANT_TODAY": "2026-05-01"}
    for name in ("CHROMA_HOST", "CHROMA_PORT", "ASSISTANT_LLM", "ASSISTANT_DB_URL", "ASSISTANT_INDEX_PAUSE_AT",
                 "ASSISTANT_CORPUS_DIR"):
        env.pop(name, None)
    if corpus is not None:
        env["ASSISTANT_CORPUS_DIR"] = str(corpus)
    if chroma is not None:
        env["CHROMA_HOST"], env["CHROMA_PORT"] = chroma[0], str(chroma[1])
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    """A real chroma server on a free loopback port, stopped at the end."""
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path",
                             str(tmp_path_factory.mktemp("chroma")), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield "127.0.0.1", port
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "corpus"
    write_tiny_corpus(folder)
    return folder


@pytest.fixture(params=["local", "server"])
def env(request, tmp_path, tiny_corpus) -> dict:
    """A fresh data dir with a committed index of the tiny corpus, in each mode (the server emptied first)."""
    server = None
    if request.param == "server":
        server = request.getfixturevalue("chroma")
        import chromadb
        from chromadb.config import Settings

        client = chromadb.HttpClient(host=server[0], port=server[1], settings=Settings(anonymized_telemetry=False))
        for collection in client.list_collections():
            client.delete_collection(collection.name)
    environment = new_env(tmp_path, corpus=tiny_corpus, chroma=server)
    built = cli(environment, "index")
    assert built.returncode == 0, built.stderr
    environment["_mode"] = request.param
    return environment


# -- helpers --------------------------------------------------------------------------------------
def cli(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=timeout)


def said(proc: subprocess.CompletedProcess) -> str:
    return " ".join(proc.stderr.split())


def index_dir(env: dict) -> Path:
    return Path(env["ASSISTANT_DATA_DIR"]) / "index"


def start_paused(env: dict, stage: str, *args: str, tmp: Path) -> subprocess.Popen:
    """`assistant index ARGS` run until it stops itself at `stage`."""
    err = tmp / f"index-{stage}-{time.monotonic_ns()}.err"
    with open(err, "w") as handle:
        proc = subprocess.Popen([EXE, "index", *args], env={**env, "ASSISTANT_INDEX_PAUSE_AT": stage},
                                stdout=subprocess.DEVNULL, stderr=handle, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if f"[index] paused at {stage}" in err.read_text():
            return proc
        if proc.poll() is not None:
            pytest.fail(f"`assistant index` ended before {stage}: {err.read_text()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"`assistant index` never reached {stage}")


def kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def reader_hits(env: dict, queries: list[str] = QUERIES) -> list:
    """A reader process: the top 3 passages for each query."""
    proc = subprocess.run([sys.executable, "-c", READER], input="\n".join(queries) + "\n", env=env,
                          capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def server_snapshot(env: dict) -> dict:
    """Every collection on the server with its count and metadata (what a reader must not change)."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.HttpClient(host=env["CHROMA_HOST"], port=int(env["CHROMA_PORT"]),
                                 settings=Settings(anonymized_telemetry=False))
    return {c.name: (client.get_collection(c.name).count(), dict(client.get_collection(c.name).metadata or {}))
            for c in client.list_collections()}


def local_snapshot(env: dict) -> dict:
    """Every file of the index folder but readers' private copies, with its sha256."""
    root = index_dir(env)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".readers" not in p.parts}


def snapshot(env: dict) -> dict:
    return server_snapshot(env) if env["_mode"] == "server" else local_snapshot(env)


def committed(env: dict) -> str:
    if env["_mode"] == "server":
        return server_snapshot(env)["kadcyla-current"][1]["collection"]
    return json.loads((index_dir(env) / "CURRENT").read_text())["dir"]


def builds(env: dict) -> set[str]:
    if env["_mode"] == "server":
        return {n for n in server_snapshot(env) if n not in ("kadcyla-current", "kadcyla-writer-lease")}
    return {p.name for p in index_dir(env).glob("build-*")}


# -- kill -9 at every moment ----------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_kill_9_at_any_moment_of_a_rebuild_leaves_the_committed_index_answering(env, stage, tmp_path):
    before, answers = committed(env), reader_hits(env)
    writer = start_paused(env, stage, "--rebuild", tmp=tmp_path)
    kill9(writer)
    assert reader_hits(env) == answers  # the same answers from the committed build
    if stage != "committed":
        assert committed(env) == before
    again = cli(env, "index")  # takes over from the dead writer (its lock, its lease) and clears what it left
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    if stage == "committed":  # the new build is in force now: it answers the same
        assert reader_hits(env) == answers
    now = committed(env)
    assert builds(env) <= {now, before} and now in builds(env)
    assert not list(index_dir(env).glob(".readers/*"))  # readers' private copies are gone with them


@pytest.mark.parametrize("stage", ["created", "verified"])
def test_kill_9_during_the_first_build_is_detected_and_rebuilt(tmp_path, tiny_corpus, stage):
    env = {**new_env(tmp_path, corpus=tiny_corpus, chroma=None), "_mode": "local"}
    kill9(start_paused(env, stage, tmp=tmp_path))
    assert not (index_dir(env) / "CURRENT").exists()
    again = cli(env, "index")
    assert again.returncode == 0, again.stderr
    assert "without a committed fingerprint (interrupted build?): rebuilding from the corpus" in said(again)
    assert [p.name for p in index_dir(env).glob("build-*")] == [committed(env)]
    assert [len(hits) for hits in reader_hits(env)] == [3] * len(QUERIES)
    assert "Index is current" in cli(env, "index").stdout


# -- one writer -----------------------------------------------------------------------------------
def test_a_second_writer_is_refused(env, tmp_path, tiny_corpus):
    previous = committed(env)
    writer = start_paused(env, "partial", "--rebuild", tmp=tmp_path)
    try:
        second = cli(env, "index", "--rebuild", timeout=300)
        assert second.returncode == 3, (second.stdout, second.stderr)
        assert "Another process is writing the index" in said(second) and "Traceback" not in second.stderr
        if env["_mode"] == "server":  # another machine (its own data dir, no shared file lock): the server's lease
            other = new_env(tmp_path / "other-machine", corpus=tiny_corpus,
                            chroma=(env["CHROMA_HOST"], int(env["CHROMA_PORT"])))
            third = cli(other, "index", "--rebuild", timeout=300)
            assert third.returncode == 3, (third.stdout, third.stderr)
            assert "writer lease on the chroma server" in said(third) and f"pid {writer.pid}" in said(third)
    finally:
        os.kill(writer.pid, signal.SIGCONT)
        writer.wait(timeout=300)
    assert writer.returncode == 0
    assert committed(env) != previous and builds(env) == {committed(env), previous}


# -- readers --------------------------------------------------------------------------------------
def test_a_reader_during_a_rebuild_reads_the_old_build_and_writes_nothing(env, tmp_path, tiny_corpus):
    answers, before = reader_hits(env), committed(env)
    writer = start_paused(env, "partial", "--rebuild", tmp=tmp_path)
    try:
        state = snapshot(env)
        assert reader_hits(env) == answers
        if env["_mode"] == "server":  # a reader on another machine, with nothing local
            other = new_env(tmp_path / "reader-machine", corpus=tiny_corpus,
                            chroma=(env["CHROMA_HOST"], int(env["CHROMA_PORT"])))
            assert reader_hits(other) == answers
            assert not (Path(other["ASSISTANT_DATA_DIR"]) / "index" / "CURRENT").exists()
        assert snapshot(env) == state  # no build written, the half-written one left alone
        assert committed(env) == before
    finally:
        kill9(writer)


def test_a_long_running_process_moves_to_each_new_build_and_fails_no_question(env, tmp_path):
    answers = reader_hits(env)
    reader = subprocess.Popen([sys.executable, "-c", READER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    first, seen = committed(env), set()
    try:
        for round_ in range(3):
            for query, expected in zip(QUERIES, answers):
                reader.stdin.write(query + "\n")
                reader.stdin.flush()
                assert json.loads(reader.stdout.readline()) == expected, (round_, query)
            seen.add(committed(env))
            if round_ < 2:
                rebuilt = cli(env, "index", "--rebuild")
                assert rebuilt.returncode == 0, rebuilt.stderr
                time.sleep(1.2)  # a server reader looks for a new build at most once a second
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=120) == 0, reader.stderr.read()
    assert len(seen) == 3 and first not in builds(env)  # the build it started on is gone: it moved on and kept answering


# -- the real corpus ------------------------------------------------------------------------------
DOC_QUESTIONS = ["Can Kadcyla be diluted in dextrose?", "What in-line filter is required?",
                 "How should Kadcyla vials be stored?", "70 kg, metastatic — dose, vials, waste?"]


def test_real_answers_survive_a_rebuild_in_a_running_process(tmp_path, chroma):
    """`assistant ask --jsonl` on the real corpus and a chroma server, a full rebuild in the middle."""
    env = new_env(tmp_path, corpus=None, chroma=chroma)
    assert cli(env, "index").returncode == 0
    asker = subprocess.Popen([EXE, "ask", "--jsonl"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)

    def ask_all() -> list[dict]:
        out = []
        for i, q in enumerate(DOC_QUESTIONS):
            asker.stdin.write(json.dumps({"id": str(i), "question": q}) + "\n")
            asker.stdin.flush()
            out.append(json.loads(asker.stdout.readline()))
        return out

    try:
        first = ask_all()
        assert {a["status"] for a in first} == {"answered"}, first
        rebuilt = cli(env, "index", "--rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        time.sleep(1.2)
        second = ask_all()
    finally:
        asker.stdin.close()
        assert asker.wait(timeout=120) == 0, asker.stderr.read()
    assert [a["answer"] for a in second] == [a["answer"] for a in first]

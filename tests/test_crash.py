"""Crash recovery and the single writer, with real `assistant` processes on a temporary data dir.

`kill -9` in the middle of the first `assistant index` leaves a build directory that no CURRENT
names; the next `assistant index` says so, rebuilds from the corpus, and search works. A kill
during a later rebuild leaves the previous committed index in force. While a rebuild runs, a
second writer is refused (file lock) with a clear message and exit code 3.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXE = str(Path(sys.executable).parent / "assistant")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    data = tmp_path_factory.mktemp("crash") / "data"
    data.mkdir()
    environment = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    for name in ("CHROMA_HOST", "ASSISTANT_LLM"):
        environment.pop(name, None)
    return environment


def index_dir(env: dict) -> Path:
    return Path(env["ASSISTANT_DATA_DIR"]) / "index"


def cli(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=timeout)


def said(proc: subprocess.CompletedProcess) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(proc.stderr.split())


def start_build(env: dict, *args: str) -> tuple[subprocess.Popen, Path]:
    """Start `assistant index ARGS`; return once it has created its new build directory."""
    before = set(index_dir(env).glob("build-*"))
    proc = subprocess.Popen([EXE, "index", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        new = set(index_dir(env).glob("build-*")) - before
        if new:
            return proc, new.pop()
        if proc.poll() is not None:
            pytest.fail(f"`assistant index` ended before building: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("`assistant index` never started a build")


def committed(env: dict) -> dict | None:
    try:
        return json.loads((index_dir(env) / "CURRENT").read_text())
    except (OSError, ValueError):
        return None


def test_kill_9_mid_build_is_detected_and_rebuilt(env):
    proc, build = start_build(env)
    time.sleep(0.5)  # let it write part of the collection
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert committed(env) is None, "the build finished before the kill; nothing was tested"
    assert build.is_dir()  # the half-written build is still there

    again = cli(env, "index")
    assert again.returncode == 0, again.stderr
    assert "without a committed fingerprint (interrupted build?): rebuilding from the corpus" in said(again)
    assert again.stdout.startswith("Built ")
    state = committed(env)
    assert state and state["dir"] != build.name and state["chunks"] > 100
    assert not build.exists()  # the crashed build was pruned
    assert [p.name for p in index_dir(env).glob("build-*")] == [state["dir"]]

    found = cli(env, "search", "Can Kadcyla be diluted in dextrose?", "--json", "-k", "3")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["doc_id"]

    assert "Index is current" in cli(env, "index").stdout  # and the next start is a no-op


def test_kill_9_mid_rebuild_leaves_the_previous_index_in_force(env):
    before = committed(env)
    proc, orphan = start_build(env, "--rebuild")
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert committed(env) == before and orphan.is_dir()  # CURRENT still names the complete build
    found = cli(env, "search", "JW modifier", "--json", "-k", "1")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["doc_id"] == "carecost-j9354"
    assert "rebuilding" not in found.stderr


def test_a_second_writer_is_refused_while_one_runs(env):
    assert cli(env, "index").returncode == 0
    previous = committed(env)["dir"]
    writer, build = start_build(env, "--rebuild")
    try:
        second = cli(env, "index", "--rebuild", timeout=300)
        still_running = writer.poll() is None
    finally:
        out, err = writer.communicate(timeout=600)
    assert still_running, "the first writer ended before the second started; nothing was tested"
    assert second.returncode == 3, (second.stdout, second.stderr)
    assert "Another process is writing the index" in said(second) and "Traceback" not in second.stderr
    assert writer.returncode == 0, err
    assert committed(env)["dir"] == build.name
    # the build before it stays for readers that started earlier; older and orphaned builds are pruned
    assert {p.name for p in index_dir(env).glob("build-*")} == {build.name, previous}

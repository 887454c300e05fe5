"""The LLM planner against a real model: gemma-3-270m (Q4_K_M GGUF) served by llama-cpp-python on 127.0.0.1.

Run by `make llm-smoke` (the last step of `make test`), with the app's venv:
  .venv/bin/python ci/llm_smoke.py [--record tests/data/llm_replays] [--only ID,ID]
It waits for ci/llm_build.sh (started in the background at the start of `make test`), starts the server
with a fixed seed behind a small logging proxy, and asks each question twice through `assistant ask --jsonl`:
once with the deterministic planner, once with ASSISTANT_LLM set. It fails when
- a request reached the server without the tools in its prompt (the proxy reads prompt_tokens back),
- an answer was kept without being grounded, or replaced without a note saying why,
- a status differs from the deterministic planner's,
- a tool ran on an input that conflicts with the question's facts (the table below, not the guard's reading),
- a question took longer than the time limit.
It is skipped with one line only when the server could not be built on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-llm"
STATUS = VENV / ".build-status"
BUILD_LOG = VENV / "build.log"
OUT = ROOT / "artifacts" / "llm-smoke"
MODEL = "gemma-3-270m"
SEED = 1234
N_CTX = 16384
QUESTION_LIMIT_S = 120  # one question, every model step included
BUILD_WAIT_S = 1200
TOOLS_IN_PROMPT = 1500  # prompt tokens: the five tool schemas alone are ~2,700; without them a question is ~200

# id, question, the facts a dose/policy call must carry (None: the question states none, so no call with one may run)
CASES = [
    ("lb", "Patient weighs 154 lb, HER2+ metastatic breast cancer. What is the Kadcyla dose?",
     {"weight": 154, "weight_unit": "lb", "indication": "mbc"}),
    ("bare-weight", "What's the Kadcyla dose for a patient weighing 154 with HER2+ mBC?",
     {"weight": 154, "weight_unit": None, "indication": "mbc"}),
    ("adjuvant", "Adjuvant Kadcyla for residual invasive disease after neoadjuvant therapy, 68 kg. Dose per cycle?",
     {"weight": 68, "weight_unit": "kg", "indication": "ebc"}),
    ("missing-weight", "What dose of Kadcyla should my HER2+ metastatic breast cancer patient get?",
     {"weight": None, "weight_unit": None, "indication": "mbc"}),
    ("lasagna", "What is a good recipe for lasagna?", {}),
    ("kg", "70 kg patient with HER2+ mBC: Kadcyla dose, vials and billing units?",
     {"weight": 70, "weight_unit": "kg", "indication": "mbc"}),
    ("reduced", "72 kg, HER2+ mBC, dose reduced to 3 mg/kg, cycle 4. What is the dose?",
     {"weight": 72, "weight_unit": "kg", "indication": "mbc", "mg_per_kg": 3, "cycle": 4}),
    ("jcode", "What is the HCPCS J-code for Kadcyla?", {}),
    ("storage", "How should Kadcyla vials be stored before reconstitution?", {}),
    ("policy", "Centene commercial, HER2+ metastatic breast cancer, prior trastuzumab and a taxane, "
               "prescribed by an oncologist, single agent, initial request. Is Kadcyla covered?",
     {"payer": "centene", "line_of_business": "commercial", "diagnosis": "mbc"}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, help="write each question's real model replies here as a replay")
    parser.add_argument("--only", help="comma-separated case ids")
    opts = parser.parse_args()
    cases = [c for c in CASES if not opts.only or c[0] in opts.only.split(",")]
    built = wait_for_build()
    if built is None:
        return 0
    gguf = find_gguf()
    if gguf is None:
        print(f"llm-smoke: SKIPPED — no .gguf file found under {VENV} after the build (see {BUILD_LOG})")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    server, port = start_server(gguf)
    if server is None:
        return 0
    proxy = Proxy(port)
    try:
        warm_up(port)
        return run(cases, proxy, built, opts.record)
    finally:
        proxy.close()
        stop(server)


def wait_for_build() -> float | None:
    """Seconds the build took, or None (with one printed line) when it failed."""
    start = time.monotonic()
    if not STATUS.exists() and not _build_running():
        print("llm-smoke: no background build found; building now (ci/llm_build.sh)", flush=True)
        subprocess.run(["bash", str(ROOT / "ci" / "llm_build.sh")], check=False)
    while not STATUS.exists():
        if time.monotonic() - start > BUILD_WAIT_S:
            print(f"llm-smoke: SKIPPED — the llama-cpp-python server build did not finish in {BUILD_WAIT_S} s "
                  f"(see {BUILD_LOG})")
            return None
        time.sleep(5)
    state, seconds, *why = STATUS.read_text().split(maxsplit=2)
    waited = time.monotonic() - start
    if state != "ok":
        print(f"llm-smoke: SKIPPED — llama-cpp-python[server] could not be built on this machine "
              f"({why[0].strip() if why else 'unknown'}; see {BUILD_LOG})")
        return None
    print(f"llm-smoke: server build {seconds} s (waited {waited:.0f} s for the build)", flush=True)
    return float(seconds)


def _build_running() -> bool:
    pid = VENV / ".build-pid"
    try:
        os.kill(int(pid.read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def find_gguf() -> Path | None:
    model = VENV / "models" / "gemma-3-270m-q4_k_m.gguf"
    return model if model.is_file() and model.stat().st_size > 0 else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path):
    port = free_port()
    log = open(OUT / "server.log", "w")
    cmd = [str(VENV / "bin" / "python"), "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--chat_format", "chatml-function-calling", "--n_ctx", str(N_CTX),
           "--seed", str(SEED), "--verbose", "True"]
    # No --cache: llama-cpp-python saves the logits of every prompt token with a state, 262,144 floats each for
    # gemma (5 GB for this prompt). The server's own prefix match keeps the ~4,900 tokens of tools between questions.
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            print(f"llm-smoke: SKIPPED — the llama-cpp-python server exited at start (code {server.returncode}; "
                  f"see {OUT / 'server.log'})")
            return None, None
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).read()
            return server, port
        except OSError:
            time.sleep(1)
    stop(server)
    print(f"llm-smoke: SKIPPED — the llama-cpp-python server did not come up in 180 s (see {OUT / 'server.log'})")
    return None, None


def warm_up(port: int) -> None:
    """One request with the planner's system prompt and tools, so the server holds that prefix evaluated.

    Not counted: on 2 busy cores the first ~4,900 prompt tokens take minutes; every question after reuses them.
    """
    sys.path.insert(0, str(ROOT))
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from assistant.lc_tools import build_tools
    from assistant.planners.llm import SYSTEM

    body = {"model": MODEL, "max_tokens": 1, "temperature": 0, "tool_choice": "auto",
            "tools": [convert_to_openai_tool(t) for t in build_tools()],
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Kadcyla"}]}
    start = time.monotonic()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=1800) as r:
        tokens = json.loads(r.read()).get("usage", {}).get("prompt_tokens")
    print(f"llm-smoke: warm-up: {tokens} prompt tokens evaluated in {time.monotonic() - start:.0f} s (not counted)",
          flush=True)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class Proxy:
    """Forwards /v1 requests to the server and keeps each request and response, to see what the model saw."""

    def __init__(self, upstream: int):
        self.exchanges: list[dict] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                start = time.monotonic()
                req = urllib.request.Request(f"http://127.0.0.1:{upstream}{self.path}", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=600) as r:
                        status, data = r.status, r.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                proxy.exchanges.append({"request": _json(body), "status": status, "response": _json(data),
                                        "seconds": round(time.monotonic() - start, 2)})
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): logged above
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def ask_all(questions: list[str], env: dict, limit: float, mark=lambda: None) -> list[tuple[dict | None, float]]:
    """Each question through one `assistant ask --jsonl` process: (answer or None on timeout, seconds).

    `mark()` is called before each question is sent and after the last answer (to split the proxy's log)."""
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "assistant"), "ask", "--jsonl"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=open(OUT / "ask.stderr", "a"), text=True, env=env,
                            cwd=ROOT, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    out = []
    for i, q in enumerate(questions):
        mark()
        start = time.monotonic()
        proc.stdin.write(json.dumps({"id": str(i), "question": q}) + "\n")
        proc.stdin.flush()
        try:
            out.append((json.loads(lines.get(timeout=limit)), time.monotonic() - start))
        except queue.Empty:
            out.append((None, time.monotonic() - start))
            break
    mark()
    proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    return out


def conflicting(call: dict, expected: dict) -> list[str]:
    """Inputs of a call that ran which the question's own facts (the CASES table) contradict."""
    bad = []
    args = call.get("input") or {}
    for name, want in expected.items():
        if call["tool"] not in ("calculate_dose", "check_claim", "check_policy"):
            continue
        if name not in args and call["tool"] == "check_policy" and name in ("weight", "weight_unit", "indication"):
            continue
        got = args.get(name)
        if want is None and got is not None:
            bad.append(f"{call['tool']}.{name}={got!r} but the question states none")
        elif want is not None and got is not None and str(got).lower() != str(want).lower() \
                and not _same_number(got, want):
            bad.append(f"{call['tool']}.{name}={got!r} but the question says {want!r}")
    return bad


def _same_number(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


def run(cases, proxy: Proxy, build_s: float, record: Path | None) -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_LLM")}
    base.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ASSISTANT_TODAY=base.get("ASSISTANT_TODAY", "2026-05-01"))
    questions = [c[1] for c in cases]
    rules = ask_all(questions, base, QUESTION_LIMIT_S)
    llm_env = {**base, "ASSISTANT_LLM": f"openai:{MODEL}", "ASSISTANT_LLM_BASE_URL": f"http://127.0.0.1:{proxy.port}/v1",
               "OPENAI_API_KEY": "not-needed-on-127.0.0.1", "ASSISTANT_LLM_TIMEOUT": "90", "ASSISTANT_LLM_RETRIES": "0"}
    failures, rows = [], []
    marks: list[int] = []
    answers = ask_all(questions, llm_env, QUESTION_LIMIT_S, mark=lambda: marks.append(len(proxy.exchanges)))
    for i, (case, (ref, _), (got, seconds)) in enumerate(zip(cases, rules, answers)):
        cid, question, expected = case
        mine = proxy.exchanges[marks[i]:marks[i + 1] if i + 1 < len(marks) else None]
        problems = check(got, ref, expected, mine, seconds)
        failures += [f"{cid}: {p}" for p in problems]
        run_ = (got or {}).get("llm_run") or {}
        rows.append({"id": cid, "seconds": round(seconds, 1), "status": (got or {}).get("status"),
                     "rules_status": (ref or {}).get("status"), "kept": run_.get("kept"),
                     "model_calls": len(run_.get("calls", [])),
                     "accepted": sum(1 for c in run_.get("calls", []) if c.get("accepted")),
                     "replaced_because": run_.get("replaced_because"), "problems": problems,
                     "prompt_tokens": [(x["response"] or {}).get("usage", {}).get("prompt_tokens")
                                       for x in mine if isinstance(x["response"], dict)]})
        if record is not None and got is not None:
            write_replay(record, case, got, ref, mine)
    (OUT / "exchanges.json").write_text(json.dumps(proxy.exchanges, indent=1))
    (OUT / "results.json").write_text(json.dumps(rows, indent=1))
    summary(rows, build_s, proxy)
    for f in failures:
        print(f"llm-smoke: FAIL {f}")
    ok = len(cases) - len({f.split(':')[0] for f in failures})
    print(f"llm-smoke: {ok}/{len(cases)} questions ok")
    return 1 if failures else 0


def check(got: dict | None, ref: dict | None, expected: dict, exchanges: list[dict], seconds: float) -> list[str]:
    if got is None:
        return [f"no answer within {QUESTION_LIMIT_S} s"]
    problems = []
    if seconds > QUESTION_LIMIT_S:
        problems.append(f"took {seconds:.0f} s (limit {QUESTION_LIMIT_S} s)")
    if ref is not None and got["status"] != ref["status"]:
        problems.append(f"status {got['status']!r}, the deterministic planner's is {ref['status']!r}: {got['answer'][:120]!r}")
    run_ = got.get("llm_run")
    if not run_:
        problems.append(f"no llm_run in the answer (planner {got.get('planner')!r}): {got['answer'][:160]!r}")
        return problems
    if not got.get("planner", "").startswith(MODEL):
        problems.append(f"planner is {got.get('planner')!r}, not the model")
    notes = got.get("guard_notes", [])
    replaced = [n for n in notes if n.startswith("LLM answer replaced")]
    if run_.get("kept"):
        ungrounded = [n for n in notes if not n.startswith(("model's", "LLM answer"))]
        if ungrounded:
            problems.append(f"kept an answer the number guard flags: {ungrounded}")
    elif not replaced and got["status"] != "error":
        problems.append("replaced without a guard note")
    for call in got.get("tool_calls", []) + [c for c in run_.get("calls", []) if c.get("accepted")]:
        problems += conflicting(call, expected)
    if not exchanges and got["status"] != "error":
        problems.append("the model was never called")
    for x in exchanges:
        req, resp = x["request"], x["response"]
        if not isinstance(req, dict) or not req.get("tools"):
            problems.append("a request went to the model without tools")
            continue
        tokens = (resp or {}).get("usage", {}).get("prompt_tokens") if isinstance(resp, dict) else None
        if x["status"] == 200 and (tokens or 0) < TOOLS_IN_PROMPT:
            problems.append(f"prompt of {tokens} tokens: the tools were left out of the prompt (tool_choice {req.get('tool_choice')!r})")
        if x["status"] != 200:
            problems.append(f"HTTP {x['status']} from the server: {str(resp)[:160]}")
    return problems


def summary(rows: list[dict], build_s: float, proxy: Proxy) -> None:
    times = sorted(r["seconds"] for r in rows)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else 0
    kept = sum(1 for r in rows if r["kept"])
    calls = sum(r["model_calls"] for r in rows)
    accepted = sum(r["accepted"] for r in rows)
    server_s = [x["seconds"] for x in proxy.exchanges]
    print(f"llm-smoke: {len(rows)} questions; the model asked for {calls} tool calls ({accepted} run, "
          f"{calls - accepted} refused); answers kept {kept}, replaced {len(rows) - kept}; "
          f"latency p50 {statistics.median(times) if times else 0:.1f} s, p95 {p95:.1f} s per question "
          f"({len(server_s)} model requests, {sum(server_s):.0f} s in the server); build {build_s:.0f} s")
    for r in rows:
        why = f" — replaced: {r['replaced_because'][:150]}" if r["replaced_because"] else " — kept"
        print(f"  {r['id']:<15} {r['status'] or 'timeout':<12} (rules {r['rules_status']}) {r['seconds']:>6.1f} s  "
              f"model calls {r['model_calls']} (run {r['accepted']})  prompt tokens {r['prompt_tokens']}{why}")


def write_replay(folder: Path, case, got: dict, ref: dict | None, exchanges: list[dict]) -> None:
    """The model's real replies, in order, for tests/test_llm_replays.py (a scripted model replays them)."""
    replies = []
    for x in exchanges:
        resp = x["response"]
        if not isinstance(resp, dict) or not resp.get("choices"):
            continue
        msg = resp["choices"][0]["message"]
        calls = [{"name": c["function"]["name"], "args": _json(c["function"]["arguments"].encode()), "id": c.get("id")}
                 for c in msg.get("tool_calls") or []]
        replies.append({"content": msg.get("content") or "", "tool_calls": calls})
    cid, question, expected = case
    folder.mkdir(parents=True, exist_ok=True)
    replay = {"id": cid, "question": question, "model": MODEL, "server": "llama-cpp-python 0.3.36 chatml-function-calling",
              "seed": SEED, "recorded": time.strftime("%Y-%m-%d"), "expected_facts": expected,
              "deterministic_status": (ref or {}).get("status"), "replies": replies,
              "observed": {"status": got["status"], "kept": got["llm_run"].get("kept") if got.get("llm_run") else None,
                           "replaced_because": (got.get("llm_run") or {}).get("replaced_because"),
                           "calls": (got.get("llm_run") or {}).get("calls", [])}}
    (folder / f"{cid}.json").write_text(json.dumps(replay, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())

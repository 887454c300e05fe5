"""Record what gemma-3-270m writes when the tools never reach its prompt, as the planner sent it before issue 22.

  .venv/bin/python ci/llm_record_plain.py [--out tests/data/llm_replays] [--only ID,ID]

Before issue 22 the planner bound the tools without `tool_choice`; llama-cpp-python reads that as "none", drops
the tools from the prompt, and the model writes plain text: the question said back, chat-template tokens,
invented figures. This sends each question that way once (tools in the request, no tool_choice) to the same
server the smoke test starts, and writes the model's real text as a replay `plain-<id>.json` for
tests/test_llm_replays.py. Not part of `make test`: the replays it wrote are committed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_smoke import CASES, MODEL, OUT, SEED, find_gguf, start_server, stop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/llm_replays"))
    parser.add_argument("--only", default="missing-weight,lasagna,bare-weight,lb,storage")
    opts = parser.parse_args()
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from assistant.agent import ask
    from assistant.lc_tools import build_tools
    from assistant.planners.llm import SYSTEM
    from assistant.session import SessionStore

    gguf = find_gguf()
    if gguf is None:
        print("no model: run ci/llm_build.sh first")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    server, port = start_server(gguf)
    if server is None:
        return 1
    tools = [convert_to_openai_tool(t) for t in build_tools()]
    try:
        for cid, question, expected in CASES:
            if cid not in opts.only.split(","):
                continue
            body = {"model": MODEL, "max_tokens": 128, "temperature": 0, "tools": tools,
                    "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]}
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=900) as r:
                resp = json.loads(r.read())
            msg = resp["choices"][0]["message"]
            rules = ask(question, None, store=SessionStore())
            replay = {"id": f"plain-{cid}", "question": question, "model": MODEL,
                      "server": "llama-cpp-python 0.3.36 chatml-function-calling, tools sent without tool_choice",
                      "seed": SEED, "recorded": time.strftime("%Y-%m-%d"), "expected_facts": expected,
                      "deterministic_status": rules.status, "prompt_tokens": resp.get("usage", {}).get("prompt_tokens"),
                      "replies": [{"content": msg.get("content") or "", "tool_calls": []}]}
            (opts.out / f"plain-{cid}.json").write_text(json.dumps(replay, indent=1, ensure_ascii=False) + "\n")
            print(f"{cid}: {replay['prompt_tokens']} prompt tokens: {(msg.get('content') or '')[:120]!r}", flush=True)
    finally:
        stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())

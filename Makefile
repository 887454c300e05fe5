# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test index browser postgres eval bench fuzz clean llm-smoke-start llm-smoke

$(PY):
	python3 -m venv $(VENV)

# torch first, pinned: the CPU wheel on this machine; an unpinned torch pulls CUDA.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/assistant index

# Debian's chromium for the browser test; never `playwright install` (downloads are blocked).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

# PostgreSQL server binaries (initdb, pg_ctl) for the tests that start a throwaway cluster on a loopback port;
# no cluster of Debian's own is made or started.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; \
		apt-get update && apt-get install -y --no-install-recommends postgresql; }

# The chat UI refuses to answer when its audit entry cannot be written (ASSISTANT_AUDIT_REQUIRED=1).
run: index
	@echo "Kadcyla assistant: http://127.0.0.1:$(PORT)"
	ASSISTANT_AUDIT_REQUIRED=1 $(VENV)/bin/streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# The real-model smoke test (ci/llm_smoke.sh): its server, llama-cpp-python[server], is built from source (~5 min on
# 2 cores) into its own venv. `make test` starts the build in the background and niced, the smoke test runs there as
# soon as the index is built, and the last step waits for it, so both overlap the test suite.
llm-smoke-start:
	@bash ci/llm_smoke.sh start

# Alone: build (if needed) and run in the foreground. Figures and the model's replies in artifacts/llm-smoke/.
llm-smoke: index
	bash ci/llm_smoke.sh wait

test: llm-smoke-start install browser postgres
	$(VENV)/bin/assistant index
	@bash ci/llm_smoke.sh ready
	bash ci/test_lanes.sh
	bash ci/llm_smoke.sh wait

# Fresh random examples for the property and fuzz tests (the gate replays a fixed set).
fuzz: index
	HYPOTHESIS_PROFILE=explore $(PY) -m pytest -q tests/test_fuzz.py tests/test_injection.py

eval: index
	$(VENV)/bin/assistant eval

bench: index
	$(PY) bench/retrieval.py
	$(PY) bench/answer.py
	$(PY) bench/load.py

clean:
	rm -rf .data artifacts

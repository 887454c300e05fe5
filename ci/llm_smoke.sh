#!/usr/bin/env bash
# The real-model smoke test, overlapped with the rest of `make test` (the server's source build takes ~5 min):
#   start  in the background and niced: build the server (ci/llm_build.sh), wait for `ready`, run ci/llm_smoke.py
#   ready  the index is built: the smoke test may ask questions
#   wait   wait for the background run, print its output, exit with its code
# With no background run (`wait` alone), everything runs in the foreground.
set -uo pipefail
cd "$(dirname "$0")/.."
V=.venv-llm
READY_WAIT_S=2400  # a make test that stopped before the index never says ready: give up, do not linger
case "${1:-}" in
start)
	mkdir -p $V && rm -f $V/.build-status $V/.smoke-rc $V/.index-ready $V/smoke.log
	nohup nice -n 19 bash -c "
		bash ci/llm_build.sh > $V/build.log 2>&1
		for _ in \$(seq $((READY_WAIT_S / 5))); do [ -e $V/.index-ready ] && break; sleep 5; done
		[ -e $V/.index-ready ] || { echo 'llm-smoke: make test never reached the smoke test' > $V/smoke.log; echo 1 > $V/.smoke-rc; exit; }
		.venv/bin/python ci/llm_smoke.py > $V/smoke.log 2>&1; echo \$? > $V/.smoke-rc.tmp; mv $V/.smoke-rc.tmp $V/.smoke-rc
	" > /dev/null 2>&1 &
	echo $! > $V/.smoke-pid
	echo "llm-smoke: building the model server and running the smoke test in the background (logs in $V/)"
	;;
ready)
	touch $V/.index-ready
	;;
wait)
	if [ ! -e $V/.smoke-pid ]; then
		bash ci/llm_build.sh > $V/build.log 2>&1
		exec .venv/bin/python ci/llm_smoke.py
	fi
	start=$(date +%s)
	while [ ! -e $V/.smoke-rc ]; do
		if ! kill -0 "$(cat $V/.smoke-pid)" 2>/dev/null && [ ! -e $V/.smoke-rc ]; then
			echo "llm-smoke: the background run ended without a result; see $V/smoke.log"; cat $V/smoke.log 2>/dev/null; exit 1
		fi
		sleep 5
	done
	cat $V/smoke.log
	echo "llm-smoke: waited $(( $(date +%s) - start )) s for the background run at the end of make test"
	rm -f $V/.smoke-pid
	exit "$(cat $V/.smoke-rc)"
	;;
*)
	echo "usage: ci/llm_smoke.sh start|ready|wait" >&2; exit 2
	;;
esac

#!/usr/bin/env bash
# The long hardening runs, beyond scripts/test.sh: each libFuzzer harness for
# FUZZ_SECONDS (default 600), the suites under valgrind (scripts/sanitize.sh,
# plain and with the library preloaded) and the concurrency stress test (16
# clients, STRESS_SECONDS, default 60).  The fault tests are part of
# scripts/test.sh.  Prints each part's figures.
# Usage, from the project root, as root on Debian 12: bash scripts/hardening.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"
ef_deps
ef_build
failed=0

echo "== fuzzing, ${FUZZ_SECONDS:-600} s per harness"
bash fuzz/run.sh "${FUZZ_SECONDS:-600}" || failed=$((failed + 1))

echo "== pg_regress and pgTAP under valgrind"
bash scripts/sanitize.sh || failed=$((failed + 1))
bash scripts/sanitize.sh --preloaded || failed=$((failed + 1))

echo "== concurrency stress"
EF_PORT=54370 ef_cluster_start -c max_connections=50
test/stress/run.sh 16 "${STRESS_SECONDS:-60}" || failed=$((failed + 1))
ef_cluster_stop

echo "hardening: $((4 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The long hardening runs, beyond scripts/test.sh: each libFuzzer harness for
# FUZZ_SECONDS (default 600), the suites under valgrind (scripts/sanitize.sh,
# plain and with the library preloaded), the concurrency stress test (16
# clients, STRESS_SECONDS, default 60) and the fault suite with values at
# the size limit, 512 MiB (test/t/040_faults.pl with EF_FAULTS_1GB=1; scripts/test.sh
# runs it without them).  Prints each part's figures.  PG_CONFIG names the
# PostgreSQL (default Debian's 15).
# Usage, from the project root, as root on Debian 12: bash scripts/hardening.sh
# Copyright (c) 2026, The encrypted_field Authors
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

echo "== faults, with values at the size limit"
work=$(mktemp -d /tmp/encrypted_field-hardening.XXXXXX)
chmod 755 "$work"
ef_stage "$work/src"
(cd "$work/src" && ef_as_owner env EF_FAULTS_1GB=1 make -s PG_CONFIG="$PG_CONFIG" prove_installcheck \
	PROVE_TESTS=test/t/040_faults.pl) || { failed=$((failed + 1)); echo "logs: $work/src/tmp_check/log"; work=; }
[ -z "$work" ] || rm -rf "$work"

echo "hardening: $((5 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]

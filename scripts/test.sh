#!/usr/bin/env bash
# Run every test: C unit tests (Wycheproof vectors, envelope vector),
# pg_regress and pgTAP, against a throwaway PostgreSQL 15 cluster.
# Usage, from the project root, as root on Debian 12: bash scripts/test.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"

ef_deps
ef_build

passed=0
failed=0
count() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

echo "== unit tests"
count make -s PG_CONFIG=$PG_BIN/pg_config unitcheck

ef_cluster_start
echo "== pg_regress"
if ! make -s PG_CONFIG=$PG_BIN/pg_config installcheck; then
	[ -f regression.diffs ] && cat regression.diffs
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi

echo "== pgTAP"
psql -q -X -c "DROP DATABASE IF EXISTS ef_tap" -c "CREATE DATABASE ef_tap" >/dev/null
psql -q -X -d ef_tap -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" >/dev/null
count pg_prove -d ef_tap -f test/*.sql

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

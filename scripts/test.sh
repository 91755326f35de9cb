#!/usr/bin/env bash
# Run every test: C unit tests (Wycheproof vectors, envelope vector), the
# fuzz corpus replay, pg_regress, pgTAP, the key-hygiene test, the operations
# tests (dump and restore, streaming and logical replication, PgBouncer), the
# upgrade from 0.1.0 and the fault tests (a killed backend, a crashed server,
# values at the 1 GB limit), each against throwaway PostgreSQL 15 clusters.
# Usage, from the project root, as root on Debian 12: bash scripts/test.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"

ef_deps
ef_locale
ef_build

passed=0
failed=0
suite() {
	echo "== $1"
	shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
regress() {
	make -s PG_CONFIG=$PG_BIN/pg_config installcheck && return 0
	[ -f regression.diffs ] && cat regression.diffs
	return 1
}
# pgTAP sessions, and the sessions they open with dblink (libpq in the
# server, which reads the server's environment), give the test keys at
# connection start
tap_options="-c session_preload_libraries=encrypted_field -c encrypted_field.keys=$(sh test/keys.sh tap)"
pgtap() { # runs $PGTAP_FILES, by default test/*.sql
	PGOPTIONS=$tap_options psql -q -X -c "CREATE DATABASE ef_tap" &&
	psql -q -X -d ef_tap -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" &&
	PGOPTIONS=$tap_options pg_prove -d ef_tap -f ${PGTAP_FILES:-test/*.sql}
}

suite "unit tests" make -s PG_CONFIG=$PG_BIN/pg_config unitcheck
suite "fuzz corpus replay" bash fuzz/run.sh --smoke

PGOPTIONS=$tap_options ef_cluster_start -c max_prepared_transactions=4
suite "pg_regress" regress
suite "pgTAP" pgtap
ef_cluster_stop

# with the library preloaded, sessions take a rotation without unlocking again
PGOPTIONS=$tap_options EF_PORT=54328 ef_cluster_start -c shared_preload_libraries=encrypted_field
PGTAP_FILES=test/preloaded/*.sql suite "pgTAP, library preloaded" pgtap
ef_cluster_stop

make -s PG_CONFIG=$PG_BIN/pg_config test/hygiene/bind_key
# the harshest settings: every statement, its parameters and its plan logged,
# every statement and utility command tracked
ef_cluster_start -c shared_preload_libraries=pg_stat_statements,auto_explain \
	-c log_statement=all -c log_min_duration_statement=0 \
	-c log_parameter_max_length=-1 -c log_parameter_max_length_on_error=-1 \
	-c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on \
	-c auto_explain.log_verbose=on -c auto_explain.log_nested_statements=on \
	-c pg_stat_statements.track=all -c pg_stat_statements.track_utility=on
suite "key hygiene" test/hygiene/run.sh
ef_cluster_stop

suite "operations: dump, restore, replication" test/ops/run.sh
suite "operations: PgBouncer" test/ops/pgbouncer.sh
suite "upgrade from 0.1.0" test/upgrade/run.sh
suite "faults: kill, crash, 1 GB values" bash test/faults/run.sh

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Run the pg_regress and pgTAP suites against a server running under
# valgrind's memcheck, and fail on any error report whose stack passes
# through encrypted_field (PostgreSQL's own reports are listed but not
# counted; test/valgrind.supp holds the one of them that can pass through
# the extension's utility hook).  AddressSanitizer is not used: on this
# machine's kernel, programs started with the ASan runtime preloaded hang at
# start, psql --version included.
# With --preloaded the server loads the library through
# shared_preload_libraries (its shared-memory part runs too) and the pgTAP
# run adds test/preloaded/*.sql.
# Usage, from the project root, as root on Debian 12:
#   bash scripts/sanitize.sh [--preloaded] [--regress-only]
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"
ef_deps
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
preload=
tap_files="test/*.sql"
if [ "${1:-}" = "--preloaded" ]; then
	preload="-c shared_preload_libraries=encrypted_field"
	tap_files="test/*.sql test/preloaded/*.sql"
	shift
fi
# the test keys are given at connection start (pg_regress gets its own from
# the Makefile); the server's environment carries them too, for the sessions
# the pgTAP files open with dblink (libpq in the server), and the server
# allows prepared transactions (test/sessions.sql), as in scripts/test.sh
tap_options="-c session_preload_libraries=encrypted_field -c encrypted_field.keys=$(sh test/keys.sh tap)"
ef_build
EF_PORT=54390 ef_cluster_start
ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -m fast -w stop >/dev/null
vglogs=$(dirname "$EF_PGDATA")/valgrind
mkdir -p "$vglogs"
[ "$(id -u)" -eq 0 ] && chown postgres: "$vglogs"
PGOPTIONS=$tap_options ef_as_owner valgrind --quiet --trace-children=yes --track-origins=no --num-callers=30 \
	--suppressions="$EF_ROOT/test/valgrind.supp" \
	--log-file="$vglogs/%p.log" $PG_BIN/postgres -D "$EF_PGDATA" -k "$PGHOST" -p "$PGPORT" \
	-c listen_addresses= -c fsync=off -c max_parallel_workers_per_gather=0 -c max_prepared_transactions=4 $preload \
	>"$EF_PGDATA/server.log" 2>&1 &
for _ in $(seq 300); do pg_isready -q && break; sleep 1; done

status=0
make -s PG_CONFIG=$PG_BIN/pg_config installcheck || { status=1; cat test/regression.diffs || true; }
if [ "${1:-}" != "--regress-only" ]; then
	psql -q -X -c "CREATE DATABASE ef_tap"
	psql -q -X -d ef_tap -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink"
	PGOPTIONS=$tap_options pg_prove -d ef_tap $tap_files || status=1
fi

# one report per error: the blocks between "==PID== " lines with a stack
ours=$(cat "$vglogs"/*.log | awk '/^==[0-9]+== [A-Z]/ { if (blk ~ /encrypted_field/) n++; blk = "" } { blk = blk $0 } END { if (blk ~ /encrypted_field/) n++; print n + 0 }')
all=$(grep -h -c -E '^==[0-9]+== (Invalid|Conditional|Syscall param|Use of uninitialised|Mismatched)' "$vglogs"/*.log | awk '{s += $1} END {print s + 0}')
echo "valgrind: $ours error reports through encrypted_field, $all error reports in all ($(ls "$vglogs" | wc -l) processes)"
if [ "$ours" -ne 0 ]; then
	grep -l encrypted_field "$vglogs"/*.log | head -3 | xargs cat | head -80
	status=1
fi
exit $status

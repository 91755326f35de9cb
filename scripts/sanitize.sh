#!/usr/bin/env bash
# Build the extension with AddressSanitizer and UndefinedBehaviorSanitizer,
# run the pg_regress and pgTAP suites against a server that loads it (the
# sanitizer runtime preloaded into PostgreSQL), and fail on any report.
# Reinstalls the normal build at the end.
# Usage, from the project root, as root on Debian 12: bash scripts/sanitize.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"
ef_deps

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
make -s clean >/dev/null
make -s PG_CONFIG=$PG_BIN/pg_config with_llvm=no PG_CFLAGS="$san -Wall -Wextra -Werror -Wno-unused-parameter" \
	PG_LDFLAGS="-fsanitize=address,undefined" >/dev/null
make -s PG_CONFIG=$PG_BIN/pg_config with_llvm=no install >/dev/null
trap 'ef_build' EXIT

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# The server, not initdb, runs with the sanitizer runtime preloaded; leak
# detection is off, as PostgreSQL frees most memory by exiting
EF_PORT=54390 ef_cluster_start
ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -m fast -w stop >/dev/null
ef_as_owner env LD_PRELOAD="$asan $ubsan" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:print_summary=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$PG_BIN/pg_ctl -D "$EF_PGDATA" -l "$EF_PGDATA/server.log" -w \
	-o "-k $PGHOST -p $PGPORT -c listen_addresses='' -c fsync=off" start >/dev/null

status=0
make -s PG_CONFIG=$PG_BIN/pg_config installcheck || { status=1; cat regression.diffs || true; }
psql -q -X -c "CREATE DATABASE ef_tap"
psql -q -X -d ef_tap -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink"
pg_prove -d ef_tap -f test/*.sql || status=1

reports=$(grep -c -E "AddressSanitizer|runtime error:|LeakSanitizer" "$EF_PGDATA/server.log" || true)
crashes=$(grep -c -E "terminated by signal" "$EF_PGDATA/server.log" || true)
echo "sanitizers: $reports sanitizer reports, $crashes backends terminated by a signal"
[ "$reports" -eq 0 ] && [ "$crashes" -eq 0 ] || { grep -A30 -E "AddressSanitizer|runtime error:" "$EF_PGDATA/server.log" | head -60; status=1; }
exit $status

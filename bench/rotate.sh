#!/usr/bin/env bash
# Time the rotation of N rows (default 1,000,000) of ~100-byte text from one
# master key to another: re-wrapping (ef_rewrap) against decrypting and
# encrypting again, and the batched procedure ef_rewrap_column.  Starts its
# own throwaway cluster; one backend, parallelism off.  Each figure is the
# median of RUNS runs (default 3), each on a fresh copy of the table.
# Usage, from the project root: bash bench/rotate.sh [N] [RUNS]
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$EF_ROOT"
n=${1:-1000000}
runs=${2:-3}

ef_deps
ef_build
# the library is preloaded, as the README recommends and as taking keys at
# connection start needs
EF_PORT=${EF_PORT:-54331} ef_cluster_start -c shared_preload_libraries=encrypted_field \
	-c shared_buffers=1GB -c max_parallel_workers_per_gather=0 \
	-c checkpoint_timeout=30min -c max_wal_size=20GB

k1=$(openssl rand -hex 32)
k2=$(openssl rand -hex 32)
# the sessions get the keys in their startup options, never in SQL text
export PGOPTIONS="-c encrypted_field.keys=1:$k1,2:$k2"
unlock="SELECT ef_unlock(1); SELECT ef_unlock(2);"
psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
CREATE TABLE source AS
	SELECT g AS id, ef_encrypt(substr(repeat(md5(g::text), 4), 1, 100)) AS c
	FROM generate_series(1, $n) g;
SQL

# Time one statement on a fresh copy of the table; print milliseconds
timed() {
	psql -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS t" \
		-c "CREATE TABLE t AS SELECT * FROM source" -c "VACUUM ANALYZE t" -c "CHECKPOINT" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -At <<SQL | tail -1
$unlock
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$1;
SELECT round((extract(epoch FROM clock_timestamp()) - :t0) * 1000);
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { for _ in $(seq "$runs"); do timed "$1"; done | median; }

rewrap=$(measure "UPDATE t SET c = ef_rewrap(c, 2)")
reenc=$(measure "UPDATE t SET c = ef_encrypt(ef_decrypt(c), key_id => 2)")
proc=$(measure "CALL ef_rewrap_column('t', 'c', 2, 100000)")
# the functions alone, without writing the table
f_rewrap=$(measure "SELECT count(ef_rewrap(c, 2)) FROM t")
f_reenc=$(measure "SELECT count(ef_encrypt(ef_decrypt(c), key_id => 2)) FROM t")

echo "rows: $n, runs: $runs (median), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-45s %10s ms\n' "UPDATE ... SET c = ef_rewrap(c, 2)" "$rewrap"
printf '%-45s %10s ms\n' "UPDATE ... SET c = ef_encrypt(ef_decrypt(c))" "$reenc"
printf '%-45s %10s ms\n' "CALL ef_rewrap_column(..., batch 100000)" "$proc"
printf '%-45s %10s ms\n' "SELECT count(ef_rewrap(c, 2))" "$f_rewrap"
printf '%-45s %10s ms\n' "SELECT count(ef_encrypt(ef_decrypt(c)))" "$f_reenc"
awk -v a="$reenc" -v b="$rewrap" 'BEGIN { printf "rotating the table: re-wrap is %.2fx faster than decrypt-then-encrypt\n", a / b }'
awk -v a="$f_reenc" -v b="$f_rewrap" 'BEGIN { printf "the functions alone: re-wrap is %.2fx faster than decrypt-then-encrypt\n", a / b }'

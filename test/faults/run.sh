#!/usr/bin/env bash
# Faults: a backend killed in the middle of ef_encrypt_column, the server
# crashed (immediate stop) in the middle of ef_rewrap_column, and values at
# the 1 GB limit.  After each, every committed value must decrypt to its
# plaintext, no half-written value may exist, and a second run must finish
# the work.  Starts its own cluster.
# Usage, from the project root, after the extension is installed:
#   bash test/faults/run.sh [ROWS]
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$EF_ROOT"
. test/check.sh
rows=${1:-200000}
EF_PORT=${EF_PORT:-54360} ef_cluster_start -c max_wal_size=4GB
export PGDATABASE=postgres
k1=$(openssl rand -hex 32)
k2=$(openssl rand -hex 32)
# the keys travel in the startup options of the sessions that use them, as
# psql users give them (no key in SQL text); the library must then be loaded
# as the session starts
keys="-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:$k1,2:$k2"
unlock="SELECT ef_unlock(1); SELECT ef_unlock(2);"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# a session given both keys at connection start
qs() { PGOPTIONS=$keys q "$@"; }
# run SQL with both keys held; print the last line
qk() { qs -c "SELECT ef_unlock(1)" -c "SELECT ef_unlock(2)" "$@" | tail -1; }

qs >/dev/null <<SQL
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
CREATE TABLE docs (id int PRIMARY KEY, body text);
INSERT INTO docs SELECT g, 'document ' || g || ' ' || md5(g::text) FROM generate_series(1, $rows) g;
SQL
# every encrypted value decrypts to its plaintext: counts of (encrypted, wrong)
verify="SELECT count(secret) || ' ' || count(*) FILTER (WHERE secret IS NOT NULL AND
	ef_decrypt(secret, 'docs.' || id) IS DISTINCT FROM body) FROM docs"

# 1. kill the backend of a batch encryption in the middle
qs -c "SELECT ef_unlock(1)" -c "SET application_name = 'ef_fault_encrypt'" \
	-c "CALL ef_encrypt_column('docs', 'body', 'secret', \$\$'docs.' || id\$\$, batch_size => 5000)" >/dev/null 2>&1 &
job=$!
for _ in $(seq 200); do
	n=$(q -c "SELECT count(secret) FROM docs" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 20000 ] && break
	sleep 0.05
done
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ef_fault_encrypt'" >/dev/null
wait $job
read -r enc wrong <<<"$(qk -c "$verify")"
echo "after the kill: $enc of $rows rows encrypted, $wrong wrong"
check "killed mid-run: some batches committed, not all" test "$enc" -gt 0 -a "$enc" -lt "$rows"
check "killed mid-run: every committed value decrypts to its plaintext" test "$wrong" = 0
qs -c "SELECT ef_unlock(1)" \
	-c "CALL ef_encrypt_column('docs', 'body', 'secret', \$\$'docs.' || id\$\$, batch_size => 50000)" >/dev/null 2>&1
read -r enc wrong <<<"$(qk -c "$verify")"
check "resumed: every row encrypted and correct" test "$enc" = "$rows" -a "$wrong" = 0

# 2. crash the server in the middle of a rotation
qs -c "$unlock" -c "SET application_name = 'ef_fault_rotate'" \
	-c "CALL ef_rewrap_column('docs', 'secret', 2, 5000)" >/dev/null 2>&1 &
job=$!
for _ in $(seq 200); do
	n=$(q -c "SELECT count(*) FROM docs WHERE ef_key_id(secret) = 2" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 20000 ] && break
	sleep 0.05
done
ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -m immediate -w stop >/dev/null
wait $job
ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -l "$EF_PGDATA/server.log" -w \
	-o "-k $PGHOST -p $PGPORT -c listen_addresses='' -c max_wal_size=4GB" start >/dev/null
moved=$(q -c "SELECT count(*) FROM docs WHERE ef_key_id(secret) = 2")
read -r enc wrong <<<"$(qk -c "$verify")"
echo "after the crash: $moved of $rows rows under key 2, $wrong wrong"
check "crashed mid-rotation: some batches committed, not all" test "$moved" -gt 0 -a "$moved" -lt "$rows"
check "crashed mid-rotation: every row decrypts to its plaintext" test "$enc" = "$rows" -a "$wrong" = 0
qs -c "$unlock" -c "CALL ef_rewrap_column('docs', 'secret', 2, 50000)" >/dev/null 2>&1
check "resumed: every row under key 2" test "$(q -c "SELECT count(*) FROM docs WHERE ef_key_id(secret) = 2")" = "$rows"
read -r enc wrong <<<"$(qk -c "$verify")"
check "resumed: every row decrypts to its plaintext" test "$enc" = "$rows" -a "$wrong" = 0

# 3. the 1 GB limit: the largest text encrypts; a larger value fails cleanly
big=$(qk -c "SET encrypted_field.compression = 'off'" -c "SELECT octet_length(ef_send(ef_encrypt(repeat('x', 1073741823 - 4 - 92))))" 2>&1)
check "a value just under the limit encrypts (with room for the envelope)" test "$big" = "$((1073741823 - 4 - 92 + 76))"
over=$(qk -c "SET encrypted_field.compression = 'off'" -c "SELECT ef_encrypt(repeat('x', 1073741823 - 4 - 60))" 2>&1)
check "a value too large for an envelope fails with a clear error" grep -q "value is too large to encrypt" <<<"$over"
check "the server is still up" test "$(q -c "SELECT 1")" = 1
check "no backend crashed, apart from the deliberate immediate stop" \
	bash -c "[ -s '$EF_PGDATA/server.log' ] && ! grep -E 'terminated by signal [^9]|PANIC' '$EF_PGDATA/server.log'"

report faults

#!/usr/bin/env bash
# Concurrency stress: CLIENTS pgbench clients (default 16) for SECONDS
# (default 60) on loopback, each transaction unlocking its keys (given at
# connection start) with transaction scope, then encrypting, decrypting,
# re-wrapping, and inserting searchable values into a unique index, where
# conflicts are expected and counted.  Afterwards every row must decrypt to
# the checksum written with it, the only errors must be the counted unique
# conflicts, and no backend may have crashed.  Needs a running cluster (PGHOST, PGPORT, EF_PGDATA).
# Usage: test/stress/run.sh [CLIENTS] [SECONDS]
# Copyright (c) 2026, The encrypted_field Authors
set -uo pipefail
clients=${1:-16}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
k1=$(openssl rand -hex 32)
k2=$(openssl rand -hex 32)
export PGDATABASE=ef_stress
# the keys travel in the startup options of the sessions that use them, the
# pgbench clients' included (no key in SQL text); the library must then be
# loaded as each session starts
startup="-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:$k1,2:$k2"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ef_stress" -c "CREATE DATABASE ef_stress"
PGOPTIONS=$startup q >/dev/null <<SQL
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
CREATE TABLE items (id bigserial PRIMARY KEY, body encrypted_field NOT NULL, checksum text NOT NULL,
	handle encrypted_field);
CREATE UNIQUE INDEX items_handle ON items (handle);
CREATE TABLE conflicts (n int);
-- one unit of work: encrypt and insert, decrypt and verify a random row,
-- re-wrap another; a handle from a small space makes unique conflicts
CREATE FUNCTION stress_step() RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	plain text := md5(random()::text) || repeat('x', (random() * 300)::int);
	h int := (random() * 100000)::int;
	r record;
BEGIN
	BEGIN
		INSERT INTO items (body, checksum, handle)
		VALUES (ef_encrypt(plain, searchable => random() < 0.5), md5(plain),
			ef_encrypt('handle-' || h, searchable => true));
	EXCEPTION WHEN unique_violation THEN
		INSERT INTO conflicts VALUES (1);
	END;
	SELECT * INTO r FROM items WHERE id = (SELECT (random() * max(id))::bigint FROM items);
	IF FOUND AND md5(ef_decrypt(r.body)) IS DISTINCT FROM r.checksum THEN
		RAISE EXCEPTION 'row % decrypted to something else', r.id;
	END IF;
	UPDATE items SET body = ef_rewrap(body, (1 + (random() < 0.5)::int))
	WHERE id = (SELECT (random() * max(id))::bigint FROM items);
END \$\$;
SQL
cat >"$work/step.sql" <<SQL
BEGIN;
SELECT ef_unlock(1, scope => 'transaction');
SELECT ef_unlock(2, scope => 'transaction');
SELECT stress_step();
COMMIT;
SQL

log_before=$(stat -c %s "$EF_PGDATA/server.log")
PGOPTIONS=$startup pgbench -n -c "$clients" -j 2 -T "$seconds" -f "$work/step.sql" >"$work/pgbench.out" 2>&1
tail -c +"$((log_before + 1))" "$EF_PGDATA/server.log" >"$work/server.log"

tx=$(sed -n 's/^number of transactions actually processed: //p' "$work/pgbench.out")
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
rows=$(q -c "SELECT count(*) FROM items")
conflicts=$(q -c "SELECT count(*) FROM conflicts")
bad=$(PGOPTIONS=$startup q -c "SELECT ef_unlock(1)" -c "SELECT ef_unlock(2)" \
	-c "SELECT count(*) FROM items WHERE md5(ef_decrypt(body)) IS DISTINCT FROM checksum" | tail -1)
keys=$(q -c "SELECT string_agg(k || ':' || n, ' ') FROM (SELECT ef_key_id(body) k, count(*) n FROM items GROUP BY 1 ORDER BY 1) s")
errors=$(grep -c ' ERROR: ' "$work/server.log" || true)
crashes=$(grep -c -E 'terminated by signal|PANIC|server process .* was terminated' "$work/server.log" || true)

echo "stress: $clients clients, $seconds s, $tx transactions, ${failed_tx:-0} failed; $rows rows, $conflicts unique conflicts (caught and counted)"
echo "stress: rows per key: $keys"
echo "stress: $bad rows not decrypting to their checksum, $errors ERROR lines in the server log, $crashes crashed backends"
pass=0
fail=0
for ok in "[ \"$bad\" = 0 ]" "[ \"$crashes\" = 0 ]" "[ \"$errors\" = 0 ]" "[ \"${failed_tx:-0}\" = 0 ]" "[ \"${tx:-0}\" -gt 0 ]"; do
	if eval "$ok"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "stress: failed: $ok"; fi
done
[ "$errors" = 0 ] || grep ' ERROR: ' "$work/server.log" | sort | uniq -c | head
echo "stress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

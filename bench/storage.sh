#!/usr/bin/env bash
# On-disk size of N rows (default 100,000) of typical content, stored as
# plaintext, as encrypted_field without and with compression, and as
# pgcrypto's pgp_sym_encrypt output.  Sizes are pg_total_relation_size of
# each table after VACUUM (heap, TOAST and their indexes-free overhead).
# Usage, from the project root: bash bench/storage.sh [N]
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$EF_ROOT"
n=${1:-100000}

ef_deps
ef_build
# the library is preloaded, as the README recommends and as taking keys at
# connection start needs
EF_PORT=${EF_PORT:-54332} ef_cluster_start -c shared_preload_libraries=encrypted_field

# the sessions get the master key in their startup options, never in SQL
# text; pgcrypto's password is another random string
export PGOPTIONS="-c encrypted_field.keys=1:$(openssl rand -hex 32)"
password=$(openssl rand -hex 32)
psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION encrypted_field;
CREATE EXTENSION pgcrypto;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
-- short strings: emails; 2 kB text: prose-like; JSON documents of ~1 kB
CREATE TABLE content AS SELECT g AS id,
	'user' || g || '@example.com' AS short,
	(SELECT string_agg(w, ' ') FROM (SELECT (ARRAY['the','customer','asked','about','an','order',
		'delivery','invoice','refund','address','please','call','back','tomorrow','morning'])[1 + (g * 7 + i * 13) % 15] AS w
		FROM generate_series(1, 340) i) s) AS prose,
	jsonb_build_object('id', g, 'name', 'Customer ' || g, 'email', 'user' || g || '@example.com',
		'tags', jsonb_build_array('vip', 'newsletter', 'region-' || g % 20),
		'orders', (SELECT jsonb_agg(jsonb_build_object('sku', 'SKU-' || (g + i) % 997, 'qty', i, 'price', (g % 50) + i * 1.25))
			FROM generate_series(1, 8) i)) AS doc
	FROM generate_series(1, $n) g;
SQL

size() { psql -X -q -At -c "VACUUM $1" -c "SELECT pg_total_relation_size('$1')"; }
make_table() { # name, column, expression
	psql -X -q -v ON_ERROR_STOP=1 -c "SELECT ef_unlock(1)" \
		-c "SET encrypted_field.compression = '$4'" \
		-c "CREATE TABLE $1 AS SELECT id, $3 AS v FROM content" >/dev/null
	size "$1"
}

printf '%-22s %14s %14s %14s %14s %14s\n' "content ($n rows)" plaintext "ef, no compr." "ef, pglz" "ef, lz4" pgp_sym_encrypt
for col in short prose doc; do
	plain=$(make_table "p_$col" "$col" "$col" off)
	ef_off=$(make_table "e0_$col" "$col" "ef_encrypt($col)" off)
	ef_pglz=$(make_table "e1_$col" "$col" "ef_encrypt($col)" pglz)
	ef_lz4=$(make_table "e2_$col" "$col" "ef_encrypt($col)" lz4)
	pgp=$(make_table "g_$col" "$col" "pgp_sym_encrypt($col::text, '$password')" off)
	mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
	printf '%-22s %14s %14s %14s %14s %14s\n' "$col" "$(mb "$plain")" "$(mb "$ef_off")" "$(mb "$ef_pglz")" "$(mb "$ef_lz4")" "$(mb "$pgp")"
done
psql -X -At -c "SELECT 'average plaintext bytes: short ' || avg(octet_length(short))::int || ', prose ' || avg(octet_length(prose))::int || ', doc (jsonb text) ' || avg(octet_length(doc::text))::int FROM content"

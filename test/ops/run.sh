#!/usr/bin/env bash
# Operations: pg_dump and restore into a fresh cluster, a physical streaming
# replica, and logical replication to a subscriber (text and binary), each
# a cluster of its own on this machine.  Every copy must hold the same bytes,
# decrypt to the same plaintext with the same key, and no dump may hold
# plaintext or key material.  Only the registry's check values and wrapped
# index keys travel; no server stores a master key.  psql 15 sends no bind
# parameters, so sessions that need the key give it at connection start
# (encrypted_field.keys, with the library loaded as the session starts); a
# key written into SQL text is refused.
# Usage, from the project root, after the extension is installed:
#   bash test/ops/run.sh
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$EF_ROOT"
. test/check.sh

base=$(mktemp -d)
chmod 755 "$base"
[ "$(id -u)" -eq 0 ] && chown postgres: "$base"
export PGHOST=$base PGUSER=postgres
[ "$(id -u)" -eq 0 ] || PGUSER=$(id -un)
ports=(55501 55502 55503 55504)

cleanup() {
	for d in primary restored standby subscriber; do
		[ -d "$base/$d" ] && ef_as_owner $PG_BIN/pg_ctl -D "$base/$d" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$base"
}
trap cleanup EXIT

# start a cluster: name, port, extra postgres options
start() {
	ef_as_owner $PG_BIN/initdb -D "$base/$1" -U "$PGUSER" -A trust --no-sync >/dev/null
	ef_as_owner $PG_BIN/pg_ctl -D "$base/$1" -l "$base/$1.log" -w \
		-o "-k $base -p $2 -c listen_addresses='' -c fsync=off $3" start >/dev/null
}
q() { local port=$1 db=$2; shift 2; psql -X -q -At -v ON_ERROR_STOP=1 -p "$port" -d "$db" "$@"; }

key=$(openssl rand -hex 32)
# the startup options that give a master key, as key 1, at connection start
key_options() { echo "-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:$1"; }
# q in a session given $key at connection start; ef_unlock(1) takes it from there
qk() { PGOPTIONS=$(key_options "$key") q "$@"; }
unlock="SELECT ef_unlock(1);"
# the plaintext of every row, and the stored bytes of every row
plain_sum="SELECT md5(string_agg(id || ':' || ef_decrypt(email, 'customers.email.' || id) || ':' ||
	ef_decrypt_as(amount, NULL::numeric) || ':' || (ef_decrypt_as(doc, NULL::jsonb) ->> 'city') || ':' || note,
	',' ORDER BY id)) FROM customers"
bytes_sum="SELECT md5(string_agg(id || ':' || ef_send(email)::text || ef_send(amount)::text || ef_send(doc)::text,
	',' ORDER BY id)) FROM customers"
schema="CREATE TABLE customers (id int PRIMARY KEY, email encrypted_field, amount encrypted_field,
	doc encrypted_field, note text);
CREATE UNIQUE INDEX customers_email ON customers (email);"
insert_rows() { # port, first id, last id
	qk "$1" app -c "$unlock" -c "INSERT INTO customers SELECT g,
		ef_encrypt('person' || g || '@example.org', 'customers.email.' || g, searchable => true, search_domain => 'email'),
		ef_encrypt((g * 1.25)::numeric), ef_encrypt(jsonb_build_object('city', 'city-' || g)), 'plain note ' || g
		FROM generate_series($2, $3) g" >/dev/null
}

# The primary: wal for both kinds of replication
start primary "${ports[0]}" "-c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10"
P=${ports[0]}
q $P postgres -c "CREATE DATABASE app" >/dev/null
qk $P app -c "CREATE EXTENSION encrypted_field" -c "SELECT ef_register_key(1, comment => 'ops key')" \
	-c "$schema" -c "CREATE PUBLICATION pub FOR TABLE customers, ef_keys, ef_index_keys" >/dev/null
insert_rows $P 1 500
p_plain=$(qk $P app -c "$unlock" -c "$plain_sum" | tail -1)
p_bytes=$(q $P app -c "$bytes_sum")
# the key written into SQL text, as with 0.1.0, is refused (and must not
# reach the server log, checked at the end)
lit=$(psql -X -q -At -v VERBOSITY=verbose -p $P -d app -c "SELECT ef_unlock(1, decode('$key', 'hex'))" \
	-c "SELECT count(*) FROM ef_held_keys()" 2>&1)
check "a key written into SQL text is refused (28EF1), and not held" \
	bash -c 'grep -q "ERROR:  28EF1:" <<<"$1" && [ "$(tail -1 <<<"$1")" = 0 ]' _ "$lit"

# Dumps: plain and custom format
pg_dump -p $P -d app -Fp -f "$base/app.sql"
pg_dump -p $P -d app -Fc -f "$base/app.dump"
pg_restore -f "$base/app_from_custom.sql" "$base/app.dump"
# the file must exist and hold something, or grep's failure would pass
no_secret() { [ -s "$1" ] && ! grep -q -e 'person1@example.org' -e 'city-1"' -e "$key" -e "${key^^}" "$1"; }
check "the plain dump holds no plaintext or key" no_secret "$base/app.sql"
check "the custom dump holds no plaintext or key" no_secret "$base/app_from_custom.sql"
check "the plain dump holds the encrypted values and the registry" \
	bash -c "grep -q 'ef1:' '$base/app.sql' && grep -q 'ops key' '$base/app.sql'"

# Restore both dumps into a fresh cluster, then decrypt with the same key
start restored "${ports[1]}" ""
R=${ports[1]}
q $R postgres -c "CREATE DATABASE from_plain" -c "CREATE DATABASE from_custom" >/dev/null
psql -X -q -p $R -d from_plain -v ON_ERROR_STOP=1 -f "$base/app.sql" >/dev/null 2>&1
pg_restore -p $R -d from_custom "$base/app.dump" >/dev/null 2>&1
for db in from_plain from_custom; do
	check "$db: the stored bytes are unchanged" same "$(q $R $db -c "$bytes_sum")" "$p_bytes"
	check "$db: every value decrypts as on the primary" same "$(qk $R $db -c "$unlock" -c "$plain_sum" | tail -1)" "$p_plain"
	dup=$(PGOPTIONS=$(key_options "$key") psql -X -q -p $R -d $db -c "$unlock" -c "INSERT INTO customers VALUES (9999, ef_encrypt('person7@example.org', searchable => true, search_domain => 'email'))" 2>&1)
	check "$db: the unique index on terms holds" grep -q "duplicate key value violates unique constraint" <<<"$dup"
	check "$db: a lookup by term finds its row" \
		same "$(qk $R $db -c "$unlock" -c "SELECT id FROM customers WHERE email = ef_term('person7@example.org', 'email')" | tail -1)" 7
done

# A physical streaming replica
ef_as_owner $PG_BIN/pg_basebackup -h "$base" -p $P -U "$PGUSER" -D "$base/standby" -R -X stream -c fast >/dev/null 2>&1
ef_as_owner $PG_BIN/pg_ctl -D "$base/standby" -l "$base/standby.log" -w \
	-o "-k $base -p ${ports[2]} -c listen_addresses='' -c fsync=off" start >/dev/null
S=${ports[2]}
insert_rows $P 501 600
p_plain=$(qk $P app -c "$unlock" -c "$plain_sum" | tail -1)
p_bytes=$(q $P app -c "$bytes_sum")
lsn=$(q $P app -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 100); do
	[ "$(q $S app -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.1
done
check "standby: the stored bytes equal the primary's" same "$(q $S app -c "$bytes_sum")" "$p_bytes"
check "standby: a session holding the key decrypts rows written on the primary" \
	same "$(qk $S app -c "$unlock" -c "$plain_sum" | tail -1)" "$p_plain"

# Logical replication to a subscriber, in text and in binary form
start subscriber "${ports[3]}" ""
L=${ports[3]}
for mode in text binary; do
	db=sub_$mode
	q $L postgres -c "CREATE DATABASE $db" >/dev/null
	q $L $db -c "CREATE EXTENSION encrypted_field" -c "$schema" \
		-c "CREATE SUBSCRIPTION sub_$mode CONNECTION 'host=$base port=$P dbname=app user=$PGUSER' PUBLICATION pub WITH (binary = $([ $mode = binary ] && echo true || echo false))" >/dev/null 2>&1
done
insert_rows $P 601 650
p_plain=$(qk $P app -c "$unlock" -c "$plain_sum" | tail -1)
p_bytes=$(q $P app -c "$bytes_sum")
for mode in text binary; do
	for _ in $(seq 150); do
		[ "$(q $L sub_$mode -c "SELECT count(*) FROM customers")" = 650 ] && break
		sleep 0.2
	done
	check "subscriber ($mode): values arrive byte-identical" same "$(q $L sub_$mode -c "$bytes_sum")" "$p_bytes"
	check "subscriber ($mode): the registry arrived, and the key decrypts every row" \
		same "$(qk $L sub_$mode -c "$unlock" -c "$plain_sum" | tail -1)" "$p_plain"
done

# A value taken to another database, whose key id 1 is another master key:
# the wrap does not open there, and the value cannot be read
other=$(openssl rand -hex 32)
q $R postgres -c "CREATE DATABASE other" >/dev/null
PGOPTIONS=$(key_options "$other") q $R other -c "CREATE EXTENSION encrypted_field" -c "SELECT ef_register_key(1)" \
	-c "CREATE TABLE stolen (v encrypted_field)" >/dev/null
q $P app -c "COPY (SELECT amount FROM customers WHERE id = 1) TO STDOUT" | q $R other -c "COPY stolen FROM STDIN"
moved=$(PGOPTIONS=$(key_options "$other") psql -X -q -At -p $R -d other -c "SELECT ef_unlock(1)" -c "SELECT ef_decrypt(v) FROM stolen" 2>&1)
check "a value moved to another database's registry does not decrypt there" grep -q "could not decrypt value" <<<"$moved"

for log in "$base"/*.log; do
	check "$(basename "$log"): no key material in the server log" bash -c "[ -s '$log' ] && ! grep -q -i '$key' '$log'"
done
report ops

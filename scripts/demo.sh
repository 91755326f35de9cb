#!/usr/bin/env bash
# Set up and show encrypted_field at work on a fresh Debian 12 machine:
# install the packages, build and install the extension, start a throwaway
# PostgreSQL 15 cluster, and run a short demo.  Run from the project root:
#   bash scripts/demo.sh
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"

ef_deps
ef_build
EF_PORT=${EF_PORT:-54330} ef_cluster_start

say() { printf '\n== %s\n' "$*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

say "Setup, once per database (as a superuser): load the library as every session starts"
q -e -c "CREATE DATABASE shop" -c "ALTER DATABASE shop SET session_preload_libraries = 'encrypted_field'"
export PGDATABASE=shop

# The master key is made outside the database and never stored in it.  An
# application passes it as a bind parameter; psql (15 has no bind
# parameters) gives it at connection start, in the startup options, which no
# statement, log line or pg_stat_activity shows (see README, "Keys").
key=$(openssl rand -hex 32)
app="-c encrypted_field.keys=1:$key"	# PGOPTIONS of the sessions that hold the key

say "The key administrator registers the key (only its check value is stored)"
echo "\$ PGOPTIONS='-c encrypted_field.keys=1:<64 hex digits>' psql -c \"SELECT ef_register_key(1, comment => 'demo key')\""
PGOPTIONS=$app q -c "CREATE EXTENSION encrypted_field" \
  -c "SELECT ef_register_key(1, comment => 'demo key')" \
  -c "SELECT key_id, fingerprint, created_at, comment FROM ef_keys"

say "The application, given the key the same way, unlocks it and writes customer data"
PGOPTIONS=$app q <<SQL
CREATE TABLE customers (
    id         int PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    email      encrypted_field,
    notes      encrypted_field
);
SELECT ef_unlock(1);
INSERT INTO customers (id, email, notes) VALUES
    (1, ef_encrypt('alice@example.com', 'customers.email.1'), ef_encrypt('prefers email contact', 'customers.notes.1')),
    (2, ef_encrypt('bob@example.com',   'customers.email.2'), ef_encrypt('VIP since 2019',        'customers.notes.2')),
    (3, ef_encrypt('carol@example.com', 'customers.email.3'), NULL);
SQL

say "An operator's session holds no key: metadata is there, content is not"
q <<'SQL'
SELECT id, created_at::date, ef_key_id(email) AS key_id, pg_column_size(email) AS bytes,
       left(email::text, 40) || '...' AS email_as_stored, notes IS NULL AS no_notes
FROM customers ORDER BY id;
SELECT ef_key_id(email) AS key_id, count(*) FROM customers GROUP BY 1;
\set ON_ERROR_STOP 0
SELECT ef_decrypt(email, 'customers.email.' || id) FROM customers WHERE id = 1;
SQL

say "pg_dump of the table holds no plaintext"
if pg_dump -t customers | grep -q -e 'alice@example.com' -e 'VIP since'; then
	echo "plaintext found in the dump" >&2
	exit 1
fi
echo "no plaintext in $(pg_dump -t customers | wc -c) bytes of dump"

say "The application's session, with the key, reads the content"
PGOPTIONS=$app q <<SQL
SELECT ef_unlock(1);
SELECT id, ef_decrypt(email, 'customers.email.' || id) AS email,
       ef_decrypt(notes, 'customers.notes.' || id) AS notes
FROM customers ORDER BY id;
SQL

say "A searchable login: a UNIQUE index, and a lookup by plaintext through it"
PGOPTIONS=$app q <<SQL
SELECT ef_unlock(1);
ALTER TABLE customers ADD COLUMN login encrypted_field;
UPDATE customers SET login = ef_encrypt(ef_decrypt(email, 'customers.email.' || id),
    searchable => true, search_domain => 'customers.login', search_normalize => 'lower');
CREATE UNIQUE INDEX ON customers (login);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM customers WHERE login = ef_term('BOB@example.com', 'customers.login', 'lower');
SELECT id FROM customers WHERE login = ef_term('BOB@example.com', 'customers.login', 'lower');
SQL

say "A value copied to another row does not decrypt there (context binding)"
PGOPTIONS=$app q <<SQL
SELECT ef_unlock(1);
UPDATE customers SET email = (SELECT email FROM customers WHERE id = 1) WHERE id = 2;
\set ON_ERROR_STOP 0
SELECT ef_decrypt(email, 'customers.email.' || id) FROM customers WHERE id = 2;
SQL

say "A key written into SQL text is refused, before it is even checked: other sessions see that text in pg_stat_activity, and logs may keep it"
stray=$(openssl rand -hex 32)	# a throwaway key: one written into SQL text counts as exposed
q -e <<SQL
\\set ON_ERROR_STOP 0
SELECT ef_unlock(1, decode('$stray', 'hex'));
\\echo SQLSTATE :LAST_ERROR_SQLSTATE
SQL

say "Audit lines the server wrote (no key material)"
grep 'encrypted_field:' "$EF_PGDATA/server.log" | sed 's/^.*LOG:  //'
echo
echo "demo finished; the throwaway cluster is removed on exit"

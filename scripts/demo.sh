#!/usr/bin/env bash
# Set up and show encrypted_field at work on a fresh Debian 12 machine:
# install the packages, build and install the extension, start a throwaway
# PostgreSQL 15 cluster, and run a short demo.  Run from the project root:
#   bash scripts/demo.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"

ef_deps
ef_build
EF_PORT=${EF_PORT:-54330} ef_cluster_start

say() { printf '\n== %s\n' "$*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# The master key is made outside the database and never stored in it.  A
# real application passes it as a bind parameter (see README, "Keys").
key=$(openssl rand -hex 32)

say "The application's key administrator registers the key (only its check value is stored)"
q -c "CREATE EXTENSION encrypted_field" \
  -c "SELECT ef_register_key(1, decode('$key', 'hex'), 'demo key')" \
  -c "SELECT key_id, fingerprint, created_at, comment FROM ef_keys"

say "The application unlocks the key in its session and writes customer data"
q <<SQL
CREATE TABLE customers (
    id         int PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    email      encrypted_field,
    notes      encrypted_field
);
SELECT ef_unlock(1, decode('$key', 'hex'));
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
q <<SQL
SELECT ef_unlock(1, decode('$key', 'hex'));
SELECT id, ef_decrypt(email, 'customers.email.' || id) AS email,
       ef_decrypt(notes, 'customers.notes.' || id) AS notes
FROM customers ORDER BY id;
SQL

say "A searchable login: a UNIQUE index, and a lookup by plaintext through it"
q <<SQL
SELECT ef_unlock(1, decode('$key', 'hex'));
ALTER TABLE customers ADD COLUMN login encrypted_field;
UPDATE customers SET login = ef_encrypt(ef_decrypt(email, 'customers.email.' || id),
    searchable => true, search_domain => 'customers.login', search_normalize => 'lower');
CREATE UNIQUE INDEX ON customers (login);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM customers WHERE login = ef_term('BOB@example.com', 'customers.login', 'lower');
SELECT id FROM customers WHERE login = ef_term('BOB@example.com', 'customers.login', 'lower');
SQL

say "A value copied to another row does not decrypt there (context binding)"
q <<SQL
SELECT ef_unlock(1, decode('$key', 'hex'));
UPDATE customers SET email = (SELECT email FROM customers WHERE id = 1) WHERE id = 2;
\set ON_ERROR_STOP 0
SELECT ef_decrypt(email, 'customers.email.' || id) FROM customers WHERE id = 2;
SQL

say "Audit lines the server wrote (no key material)"
grep 'encrypted_field:' "$EF_PGDATA/server.log" | sed 's/^.*LOG:  //'
echo
echo "demo finished; the throwaway cluster is removed on exit"

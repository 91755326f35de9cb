-- Rotating the index key: a new key for search terms, lookups that match
-- both while values move, the move itself, and what a rolled-back rotation
-- leaves.  In a database of its own, since it changes the terms of every
-- later searchable value.
\set regression_db :DBNAME
CREATE DATABASE ef_index_rotation;
-- test keys 1 to 7 given at connection start (psql 15 cannot bind a key);
-- \c with no argument connects again with them after ef_lock(), which
-- forgets them
\set rotation_keys 'dbname=ef_index_rotation options=''-c session_preload_libraries=encrypted_field -c encrypted_field.keys=' `sh test/keys.sh regress 1 2 3 4 5 6 7` ''''
\c -reuse-previous=on :rotation_keys
CREATE EXTENSION encrypted_field;
-- the index key id at the head of each term, newest first
CREATE FUNCTION term_ids(terms encrypted_field_term[]) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT string_agg(substring(t::text FROM 1 FOR 4), ',' ORDER BY n)
	      FROM unnest(terms) WITH ORDINALITY AS u(t, n) $$;

-- nothing to rotate before the first key is registered
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE

SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
CREATE TABLE people (id int PRIMARY KEY, email encrypted_field UNIQUE);
INSERT INTO people SELECT g, ef_encrypt('person' || g || '@example.org', 'people.' || g, true,
	search_domain => 'people.email') FROM generate_series(1, 200) g;
INSERT INTO people VALUES (201, NULL);
-- a value left with a term of the first index key, for later
CREATE TABLE first_terms AS SELECT ef_encrypt('kept', NULL, true, search_domain => 'kept') AS v;
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;

-- every master key that may encrypt must receive the new index key
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE
SELECT ef_unlock(2);

-- a rotation takes effect at commit, so one rolled back, whole or to a
-- savepoint, leaves no trace; one per transaction
BEGIN;
SELECT ef_rotate_index_key();
SELECT term_ids(ef_terms('x'::text)) AS held_in_transaction;
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT term_ids(ef_terms('x'::text)) AS held_after_rollback;
BEGIN;
SAVEPOINT before_rotation;
SELECT ef_rotate_index_key();
ROLLBACK TO SAVEPOINT before_rotation;
SELECT term_ids(ef_terms('x'::text)) AS held_after_savepoint_rollback;
COMMIT;
SELECT count(*) AS index_keys_recorded FROM ef_index_keys;

-- the rotation that stays: wrapped under both held master keys
SELECT ef_rotate_index_key();
SELECT index_key_id, key_id FROM ef_index_keys ORDER BY 1, 2;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;
-- rolling back a later rotation keeps both index keys held
BEGIN;
SELECT ef_rotate_index_key();
ROLLBACK;
SELECT term_ids(ef_terms('x'::text)) AS held_after_second_rollback;
-- a prepared transaction could roll back after the session moved on
BEGIN;
SELECT ef_rotate_index_key();
PREPARE TRANSACTION 'ef_rotation';
\echo :LAST_ERROR_SQLSTATE
SELECT term_ids(ef_terms('x'::text)) AS held_after_refused_prepare;
SELECT count(*) AS index_keys_recorded FROM ef_index_keys;
-- forgetting the keys does not get around that
BEGIN;
SELECT ef_rotate_index_key();
SELECT ef_lock();
PREPARE TRANSACTION 'ef_rotation';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS held_keys FROM ef_held_keys();
-- nor does a key unlocked again, which read the rotation's index key
-- (ef_lock() forgot the keys given at connection start: connect again)
\c
BEGIN;
SELECT ef_unlock(1);
SELECT ef_unlock(2);
SELECT ef_rotate_index_key();
SELECT ef_unlock(1);
PREPARE TRANSACTION 'ef_rotation';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS held_keys FROM ef_held_keys();
SELECT ef_unlock(1);
SELECT ef_unlock(2);
-- a key unlocked again inside a rotation that rolls back read the index key
-- that never existed: that unlock is forgotten, not left writing terms under
-- it, and the unlock before it is back, with the index keys it had
BEGIN;
SELECT ef_rotate_index_key();
SELECT ef_unlock(1);
ROLLBACK;
SELECT key_id FROM ef_held_keys() ORDER BY 1;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;
SELECT ef_unlock(1);
-- new terms use the new key; existing values keep theirs
INSERT INTO people VALUES (202, ef_encrypt('new@example.org', 'people.202', true, search_domain => 'people.email'));
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;

-- while values move: ef_term finds only values with the new key's term,
-- ANY(ef_terms) finds both, through the index
SET enable_seqscan = off;
SELECT id FROM people WHERE email = ef_term('person7@example.org', 'people.email');
SELECT id FROM people WHERE email = ANY(ef_terms('person7@example.org', 'people.email'));
SELECT id FROM people WHERE email = ANY(ef_terms('new@example.org', 'people.email'));
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE email = ANY(ef_terms('person7@example.org', 'people.email'));
-- and through a hash index
CREATE TABLE people_hashed AS SELECT id, email FROM people;
CREATE INDEX ON people_hashed USING hash (email);
EXPLAIN (COSTS OFF) SELECT id FROM people_hashed WHERE email = ANY(ef_terms('person7@example.org', 'people.email'));
SELECT id FROM people_hashed WHERE email = ANY(ef_terms('person7@example.org', 'people.email'));
DROP TABLE people_hashed;
-- and UNIQUE compares terms, so it does not see a duplicate across index
-- keys: check with ANY(ef_terms) before writing until the move is done
INSERT INTO people VALUES (203, ef_encrypt('person8@example.org', 'people.203', true, search_domain => 'people.email'));
SELECT count(*) AS copies_of_person8 FROM people WHERE email = ANY(ef_terms('person8@example.org', 'people.email'));
DELETE FROM people WHERE id = 203;
RESET enable_seqscan;

-- the move: re-encrypt the values whose term is older, content unchanged
CREATE TABLE before_move AS SELECT id, ef_decrypt(email, 'people.' || id) AS email FROM people;
UPDATE people SET email = ef_encrypt(ef_decrypt(email, 'people.' || id), 'people.' || id, true,
	search_domain => 'people.email')
	WHERE ef_index_key_id(email) < 2;
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;
SELECT count(*) AS changed FROM people p JOIN before_move b USING (id)
	WHERE ef_decrypt(p.email, 'people.' || p.id) IS DISTINCT FROM b.email;
SELECT id FROM people WHERE email = ef_term('person7@example.org', 'people.email');

-- a session that unlocks again holds the new index key and the one before
SELECT ef_lock();
\c
SELECT ef_unlock(1);
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;
-- a key registered now receives both, so it alone can match either; several
-- in one statement see each other's rows
SELECT ef_register_key(3);
SELECT ef_register_key(k) FROM generate_series(4, 5) k;
SELECT key_id, string_agg(index_key_id::text, ',' ORDER BY index_key_id) AS index_keys
	FROM ef_index_keys WHERE key_id >= 3 GROUP BY key_id ORDER BY key_id;
SELECT ef_retire_key(4);
SELECT ef_retire_key(5);
-- nor can a registration be prepared
BEGIN;
SELECT ef_register_key(6);
PREPARE TRANSACTION 'ef_registration';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS key_6_registered FROM ef_keys WHERE key_id = 6;
SELECT ef_lock();
\c
SELECT ef_unlock(3);
SELECT index_key_id FROM ef_index_keys WHERE key_id = 3 ORDER BY 1;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;

-- retired keys need not be held to rotate; the metadata needs no key
SELECT ef_retire_key(2);
SELECT ef_unlock(1);
SELECT ef_rotate_index_key();
SELECT index_key_id, key_id FROM ef_index_keys WHERE index_key_id = 3 ORDER BY 2;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;
-- ef_reterm_column moves a column in committed batches, with progress;
-- ef_reterm keeps each value's plaintext, type and context
CREATE TABLE moved_before AS SELECT id, ef_decrypt(email, 'people.' || id) AS email FROM people;
-- interrupted in its second batch (a sequence counts rows across the
-- rollback): the first batch stays committed
CREATE SEQUENCE rows_updated;
CREATE FUNCTION fail_after_80() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('rows_updated') > 80 THEN RAISE EXCEPTION 'interrupted after 80 rows'; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER interrupt BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION fail_after_80();
\set VERBOSITY terse
CALL ef_reterm_column('people', 'email', 'people.email', context_expr => $$'people.' || id$$, batch_size => 80);
\set VERBOSITY default
DROP TRIGGER interrupt ON people;
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;
-- run again, it moves what is left
CALL ef_reterm_column('people', 'email', 'people.email', context_expr => $$'people.' || id$$, batch_size => 80);
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;
SELECT count(*) AS changed FROM people p JOIN moved_before b USING (id)
	WHERE ef_decrypt(p.email, 'people.' || p.id) IS DISTINCT FROM b.email;
SELECT id FROM people WHERE email = ef_term('person7@example.org', 'people.email');
CALL ef_reterm_column('people', 'email', 'people.email', context_expr => $$'people.' || id$$);
-- a typed value keeps its type, context and master key; one under a retired
-- key moves to the current key
SELECT ef_index_key_id(r) AS index_key_id, ef_key_id(r) AS key_id,
	ef_decrypt_as(r, NULL::bigint, 'orders.9') AS same_value,
	r = ef_term(9000000000::bigint, 'orders.ref') AS found
	FROM (SELECT ef_reterm(ef_encrypt(9000000000::bigint, 'orders.9', true, 3, 'orders.ref'),
		'orders.9', 'orders.ref') AS r) s;
SELECT ef_register_key(7);
SELECT ef_unlock(7);
CREATE TABLE under_7 AS SELECT ef_encrypt('seven', NULL, true, 7, 'seven') AS v;
SELECT ef_retire_key(7);
SELECT ef_unlock(7);
SELECT ef_unlock(1);
SELECT ef_key_id(v) AS retired_key, ef_key_id(ef_reterm(v, NULL, 'seven')) AS moved_to FROM under_7;
-- what it refuses: a wrong context, domain or normalisation, a value
-- without a term, a term of an index key no longer held
SELECT ef_reterm(ef_encrypt('x', 'ctx', true), 'other ctx');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(email, 'people.' || id, 'people.other') FROM people WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(email, 'people.' || id, 'people.email', 'lower') FROM people WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(ef_encrypt(42, NULL, true), NULL, NULL, 'lower');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(ef_encrypt('not searchable'));
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(v, NULL, 'kept') FROM first_terms;
\echo :LAST_ERROR_SQLSTATE
SELECT ef_reterm(NULL) IS NULL AS null_in_null_out;
CALL ef_reterm_column('people', 'id');
\echo :LAST_ERROR_SQLSTATE
CALL ef_reterm_column('people', 'email', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_index_key_id(ef_encrypt('not searchable')) AS of_a_value_without_term;

-- a rotation released into a savepoint that is then rolled back is gone
BEGIN;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT ef_rotate_index_key();
RELEASE SAVEPOINT inner_sp;
ROLLBACK TO SAVEPOINT outer_sp;
COMMIT;
SELECT max(index_key_id) AS newest_index_key, term_ids(ef_terms('x'::text)) AS held_index_keys FROM ef_index_keys;
-- keys unlocked again after a rotation, in its transaction, read it
-- themselves, and replace the unlocks before them at commit; a key unlocked
-- again with transaction scope ends with the transaction
\c
SELECT ef_unlock(1);
SELECT ef_unlock(3);
BEGIN;
SELECT ef_rotate_index_key();
SELECT ef_unlock(1, scope => 'transaction');
SELECT ef_unlock(3);
COMMIT;
SELECT key_id, scope FROM ef_held_keys() ORDER BY 1;
SELECT term_ids(ef_terms('x'::text)) AS held_index_keys;
SELECT ef_unlock(1);
-- a rotation needs a master key to wrap the new index key under
SELECT ef_lock();
SELECT ef_retire_key(1);
SELECT ef_retire_key(3);
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE
-- the program limits: a session holds at most 64 keys, so no more may be
-- left unretired to rotate; and a term has 2 bytes for the index key id.
-- A connection gives at most 32 keys at its start: keys 100 to 164 are
-- registered over three connections, each with key 1 to wrap the index key.
\set preload 'options=''-c session_preload_libraries=encrypted_field -c encrypted_field.keys='
\set keys_100_130 :preload `sh test/keys.sh regress 1 $(seq 100 130)` ''''
\set keys_131_161 :preload `sh test/keys.sh regress 1 $(seq 131 161)` ''''
\set keys_162_164 :preload `sh test/keys.sh regress 1 $(seq 162 164)` ''''
\c -reuse-previous=on :keys_100_130
SELECT ef_unlock(1);
SELECT count(ef_register_key(k)) AS registered FROM generate_series(100, 130) k;
\c -reuse-previous=on :keys_131_161
SELECT ef_unlock(1);
SELECT count(ef_register_key(k)) AS registered FROM generate_series(131, 161) k;
\c -reuse-previous=on :keys_162_164
SELECT ef_unlock(1);
SELECT count(ef_register_key(k)) AS registered FROM generate_series(162, 164) k;
SELECT count(*) AS registered FROM ef_keys WHERE key_id BETWEEN 100 AND 164;
-- Only keys passed as bind parameters reach the session limit: pgbench
-- (extended protocol) unlocks keys 100 to 164 in one session, with each key
-- a bind parameter; the 65th unlock (command 64, from 0) fails
\! for k in $(seq 100 164); do echo "SELECT ef_unlock($k, :k$k);"; done > test/results/unlock_65.sql
\! pgbench -n -M extended -t 1 -f test/results/unlock_65.sql $(for k in $(seq 100 164); do printf ' -D k%s=\\x%s' $k $(sh test/keys.sh hex regress $k); done) ef_index_rotation 2>&1 | sed -n 's/^.*aborted in \(command [0-9]*\).*: \(ERROR: .*\)$/\1: \2/p'
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key)
	VALUES (65535, 1, decode(repeat('00', 40), 'hex'));
SELECT ef_rotate_index_key();
\echo :LAST_ERROR_SQLSTATE
SELECT ef_lock();
SELECT ef_index_key_id(email) AS index_key_id, count(*) FROM people GROUP BY 1 ORDER BY 1;
-- terms need a key
SELECT ef_reterm(email) FROM people WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
CALL ef_reterm_column('people', 'email');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_terms('x'::text);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_terms(NULL::text) IS NULL AS null_in_null_out;

\c :regression_db
DROP DATABASE ef_index_rotation;

-- Searchable values: equality through an index, uniqueness, grouping and
-- joins with no key held, normalisation, domains, and master key rotation.
SELECT ef_unlock(1);

CREATE TABLE users (id int PRIMARY KEY, email encrypted_field, name encrypted_field);
INSERT INTO users SELECT g, ef_encrypt('user' || g || '@example.com', searchable => true, search_domain => 'users.email'),
	ef_encrypt('Name ' || (g % 10), searchable => true, search_domain => 'users.name')
FROM generate_series(1, 1000) g;
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_name_hash ON users USING hash (name);
ANALYZE users;
-- ANALYZE counts distinct terms (and stores no values), so the planner
-- knows that a lookup by e-mail finds one row
SELECT attname, null_frac, n_distinct, most_common_vals IS NULL AS no_values, histogram_bounds IS NULL AS no_histogram
FROM pg_stats WHERE tablename = 'users' AND attname IN ('email', 'name') ORDER BY 1;
EXPLAIN (COSTS OFF) SELECT id FROM users WHERE email = ef_term('user42@example.com', 'users.email');

-- a lookup goes through the btree index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM users WHERE email = ef_term('user42@example.com', 'users.email');
EXPLAIN (COSTS OFF) SELECT id FROM users WHERE ef_term('user42@example.com', 'users.email') = email;
EXPLAIN (COSTS OFF) SELECT count(*) FROM users WHERE name = ef_term('Name 3', 'users.name');
RESET enable_seqscan;
SELECT id FROM users WHERE email = ef_term('user42@example.com', 'users.email');
SELECT count(*) FROM users WHERE name = ef_term('Name 3', 'users.name');
SELECT count(*) FROM users WHERE email <> ef_term('user42@example.com', 'users.email');
-- no match: another value, another domain, another case
SELECT count(*) AS other_value FROM users WHERE email = ef_term('nobody@example.com', 'users.email');
SELECT count(*) AS other_domain FROM users WHERE email = ef_term('user42@example.com', 'users.name');
SELECT count(*) AS no_domain FROM users WHERE email = ef_term('user42@example.com');
SELECT count(*) AS other_case FROM users WHERE email = ef_term('USER42@example.com', 'users.email');
-- the found row decrypts to what was searched
SELECT ef_decrypt(email) FROM users WHERE email = ef_term('user7@example.com', 'users.email');

-- UNIQUE rejects a duplicate plaintext, although the ciphertexts differ
-- (terse: the error's detail shows the random ciphertext)
\set VERBOSITY terse
INSERT INTO users VALUES (1001, ef_encrypt('user42@example.com', searchable => true, search_domain => 'users.email'), NULL);
\set VERBOSITY default
INSERT INTO users VALUES (1001, ef_encrypt('new@example.com', searchable => true, search_domain => 'users.email'), NULL);

-- with no key held: grouping, DISTINCT, joins and lookups by stored values
SELECT ef_lock();
SELECT count(DISTINCT name) AS names, count(DISTINCT email) AS emails FROM users;
SELECT count(*) AS groups FROM (SELECT name FROM users GROUP BY name) g;
SET enable_hashagg = off;
SELECT count(*) AS groups_by_sort FROM (SELECT name FROM users GROUP BY name) g;
RESET enable_hashagg;
CREATE TABLE logins (user_email encrypted_field, at timestamptz);
INSERT INTO logins SELECT email, '2024-01-01'::timestamptz + id * interval '1 hour' FROM users WHERE id <= 20;
INSERT INTO logins SELECT email, '2024-02-01' FROM users WHERE id <= 5;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT u.id, count(*) FROM users u JOIN logins l ON l.user_email = u.email GROUP BY u.id;
SELECT count(*) AS hash_joined FROM users u JOIN logins l ON l.user_email = u.email;
RESET enable_mergejoin;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM users u JOIN logins l ON l.user_email = u.email;
SELECT count(*) AS merge_joined FROM users u JOIN logins l ON l.user_email = u.email;
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT u.id, count(*) FROM users u JOIN logins l ON l.user_email = u.email GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 3;
-- Negative tests: a probe needs the index key
SELECT ef_term('user42@example.com', 'users.email');

-- case-insensitive and normalised matching, applied the same on both sides
-- (ef_lock() forgot the keys given at connection start: connect again)
\c
SELECT ef_unlock(1);
CREATE TABLE contacts (id int, email encrypted_field);
INSERT INTO contacts VALUES
	(1, ef_encrypt('Alice@Example.COM', searchable => true, search_domain => 'c', search_normalize => 'lower')),
	(2, ef_encrypt('  Bob@example.com ', searchable => true, search_domain => 'c', search_normalize => 'lower_trim')),
	(3, ef_encrypt('ｃａｒｏｌ@example.com', searchable => true, search_domain => 'c', search_normalize => 'nfkc_lower_trim'));
SELECT id FROM contacts WHERE email = ef_term('alice@example.com', 'c', 'lower');
SELECT id FROM contacts WHERE email = ef_term('ALICE@EXAMPLE.COM', 'c', 'lower');
SELECT id FROM contacts WHERE email = ef_term('bob@EXAMPLE.com', 'c', 'lower_trim');
SELECT id FROM contacts WHERE email = ef_term(' CAROL@example.com', 'c', 'nfkc_lower_trim');
-- the normalisation is part of the term: another one does not match
SELECT count(*) AS mixed_modes FROM contacts WHERE email = ef_term('alice@example.com', 'c', 'lower_trim');
SELECT count(*) AS exact_mode FROM contacts WHERE email = ef_term('alice@example.com', 'c');
-- the plaintext is stored as given, not normalised
SELECT id, ef_decrypt(email) FROM contacts ORDER BY id;

-- typed values are searchable; the type is part of the term
CREATE TABLE accounts (id int, number encrypted_field);
INSERT INTO accounts VALUES (1, ef_encrypt(4242, searchable => true)), (2, ef_encrypt('4242'::text, searchable => true));
SELECT id FROM accounts WHERE number = ef_term(4242);
SELECT id FROM accounts WHERE number = ef_term('4242');
SELECT id FROM accounts WHERE number = ef_term(4242::bigint);

-- rotating the master key leaves terms and the unique index as they were
SELECT ef_unlock(2);
SELECT index_key_id, key_id FROM ef_index_keys ORDER BY key_id;
CREATE TABLE terms_before AS SELECT id, (ef_envelope(email)).search_term FROM users;
CALL ef_rewrap_column('users', 'email', 2, 500);
SELECT ef_key_id(email) AS key_id, count(*) FROM users GROUP BY 1;
SELECT count(*) AS same_terms FROM users u JOIN terms_before b USING (id) WHERE (ef_envelope(u.email)).search_term = b.search_term;
SELECT ef_lock();
\c
SELECT ef_unlock(2);
SELECT id, ef_decrypt(email) FROM users WHERE email = ef_term('user42@example.com', 'users.email');
\set VERBOSITY terse
INSERT INTO users VALUES (1002, ef_encrypt('user43@example.com', searchable => true, search_domain => 'users.email'), NULL);
\set VERBOSITY default
-- a term starts with the id of the index key that made it
SELECT DISTINCT substring(search_term FROM 1 FOR 2) AS index_key_id FROM terms_before;

-- Negative tests
CREATE TABLE plain_values (v encrypted_field);
INSERT INTO plain_values VALUES (ef_encrypt('a')), (ef_encrypt('a'));
SELECT count(DISTINCT v) FROM plain_values;
SELECT count(*) FROM plain_values WHERE v = ef_term('a');
CREATE INDEX ON plain_values (v);
SELECT ef_encrypt(42, searchable => true, search_normalize => 'lower');
SELECT ef_term('x', NULL, 'upper');
SELECT 'zz'::encrypted_field_term;
-- ANALYZE works on a column that holds values without terms
ANALYZE plain_values;
SELECT null_frac, n_distinct FROM pg_stats WHERE tablename = 'plain_values';
-- a probe's text form is its bytes in hexadecimal, of the same length always
SELECT length(ef_term('a')::text) AS hex_digits,
	ef_term('a')::text::encrypted_field_term::text = ef_term('a')::text AS round_trip;

-- ef_is_searchable reads the header only: no key needed; a CHECK on it keeps
-- values without a term, which = cannot compare, out of a UNIQUE column
CREATE TABLE handles (h encrypted_field UNIQUE CHECK (ef_is_searchable(h)));
INSERT INTO handles VALUES (ef_encrypt('ann', searchable => true, search_domain => 'handles.h'));
\set VERBOSITY terse
INSERT INTO handles VALUES (ef_encrypt('bob'));
INSERT INTO handles VALUES (ef_encrypt('ann', searchable => true, search_domain => 'handles.h'));
\set VERBOSITY default
SELECT ef_lock();
SELECT ef_is_searchable(h) AS in_handles, ef_is_searchable(v) AS in_plain_values,
	ef_is_searchable(NULL) AS of_null
	FROM handles, plain_values LIMIT 1;

DROP TABLE users, logins, contacts, accounts, terms_before, plain_values, handles;
SELECT ef_lock();

-- nfkc_lower_trim needs a UTF8 database, and is refused before the value is
-- copied, not by normalize() after
\set regression_db :DBNAME
CREATE DATABASE ef_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
-- its own key 1, sha256('latin1 test key'), given at connection start
\set latin1_key `printf 'latin1 test key' | sha256sum | cut -c1-64`
\set latin1 'dbname=ef_latin1 options=''-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:' :latin1_key ''''
\c -reuse-previous=on :latin1
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_term('Café', NULL, 'nfkc_lower_trim');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_encrypt('Café', NULL, true, NULL, NULL, 'nfkc_lower_trim');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_term('Café', NULL, 'lower_trim')::text = ef_term('  café ', NULL, 'lower_trim')::text AS lower_trim_works;
-- text sealed in LATIN1 is not text in a UTF8 database: decrypting it there
-- is refused, naming the type and not the bytes (key 3, the regress suite's
-- key 3, given here too)
\set regress_key3 `sh test/keys.sh hex regress 3`
\set latin1_key3 'dbname=ef_latin1 options=''-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:' :latin1_key ',3:' :regress_key3 ''''
\c -reuse-previous=on :latin1_key3
SELECT ef_unlock(1);
SELECT ef_register_key(3);
SELECT ef_unlock(3);
-- (the client's encoding is this file's, so é is spelled in LATIN1's byte)
SELECT ef_encrypt('Caf' || convert_from('\xe9', 'LATIN1'), key_id => 3)::text AS latin1_cafe, ef_encrypt('Cafe', key_id => 3)::text AS latin1_cafe_ascii \gset
\c :regression_db
DROP DATABASE ef_latin1;
SELECT ef_unlock(3);
SELECT ef_decrypt(:'latin1_cafe_ascii'::encrypted_field) AS ascii_from_latin1;
SELECT ef_decrypt(:'latin1_cafe'::encrypted_field);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_decrypt_as(:'latin1_cafe'::encrypted_field, NULL::text);
\echo :LAST_ERROR_SQLSTATE

-- a citus.* placeholder is not Citus: in a new session whose first
-- statements set one, the hint is the usual one, not the one for a Citus
-- worker's internal connection
\c :regression_db
SET citus.propagate_set_commands = 'none';
SET application_name = 'citus_internal gpid=10000000001';
SELECT ef_term('user42@example.com', 'users.email');

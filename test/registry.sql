-- Registry invariants and the object inventory: the ef_keys and ef_index_keys
-- tables, their constraints and pg_dump marking, what a fingerprint or a
-- wrapped index key may never be, who may touch the registry and the key
-- functions, and every function's signature, volatility and parallel marking,
-- every operator and operator class, as the install script declares them.
--
-- This session was given the tap keys at connection start (scripts/test.sh),
-- which ef_unlock(id) and ef_register_key(id) take.  ef_lock() would wipe
-- them, so the session lets go of the keys it unlocked by rolling back to a
-- savepoint taken before.  What needs other keys (the same key under two
-- ids) or another login (a role with keys of its own) happens in sessions
-- opened with dblink on a scratch database, created and dropped here: this
-- file's own transaction never commits, so they could not see its registry.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(305);

CREATE EXTENSION encrypted_field;

-- the fixed test keys this session was given, tap key N for id N, to look
-- for them where they must not be: a real key comes from a CSPRNG and never
-- appears in SQL
\ir lib/dblink.psql

CREATE ROLE ef_tap_fresh;

-- ---------------------------------------------------------------------------
-- The table
-- ---------------------------------------------------------------------------
SELECT has_table('ef_keys', 'the key registry table exists');
SELECT columns_are('ef_keys', ARRAY['key_id', 'fingerprint', 'created_at', 'retired_at', 'comment', 'index_group'],
	'ef_keys has exactly the documented columns');
SELECT col_type_is('ef_keys', 'key_id', 'integer', 'ef_keys.key_id is integer');
SELECT col_type_is('ef_keys', 'fingerprint', 'bytea', 'ef_keys.fingerprint is bytea');
SELECT col_type_is('ef_keys', 'created_at', 'timestamp with time zone', 'ef_keys.created_at is timestamptz');
SELECT col_type_is('ef_keys', 'retired_at', 'timestamp with time zone', 'ef_keys.retired_at is timestamptz');
SELECT col_type_is('ef_keys', 'comment', 'text', 'ef_keys.comment is text');
SELECT col_not_null('ef_keys', 'key_id', 'ef_keys.key_id is NOT NULL');
SELECT col_not_null('ef_keys', 'fingerprint', 'ef_keys.fingerprint is NOT NULL');
SELECT col_not_null('ef_keys', 'created_at', 'ef_keys.created_at is NOT NULL');
SELECT col_is_null('ef_keys', 'retired_at', 'ef_keys.retired_at may be NULL (not retired)');
SELECT col_is_null('ef_keys', 'comment', 'ef_keys.comment may be NULL');
SELECT col_has_default('ef_keys', 'created_at', 'ef_keys.created_at has a default');
SELECT has_pk('ef_keys', 'ef_keys has a primary key');
SELECT col_is_pk('ef_keys', 'key_id', 'the primary key is key_id');
SELECT col_has_check('ef_keys', 'key_id', 'ef_keys.key_id has a check constraint');
SELECT col_has_check('ef_keys', 'fingerprint', 'ef_keys.fingerprint has a check constraint');

-- the constraints hold against rows written directly, bypassing ef_register_key
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (0, '\x000102030405060708090a0b0c0d0e0f')$$,
	'23514', NULL, 'a key id of 0 violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (-5, '\x000102030405060708090a0b0c0d0e0f')$$,
	'23514', NULL, 'a negative key id violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, '\x000102030405060708090a0b0c0d0e')$$,
	'23514', NULL, 'a 15-byte fingerprint violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, '\x000102030405060708090a0b0c0d0e0f10')$$,
	'23514', NULL, 'a 17-byte fingerprint violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, ''::bytea)$$,
	'23514', NULL, 'an empty fingerprint violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, NULL)$$,
	'23502', NULL, 'a NULL fingerprint is rejected');
-- the control: the same insert with a 16-byte fingerprint and a positive id is accepted
SELECT lives_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, '\x000102030405060708090a0b0c0d0e0f')$$,
	'a row with a positive id and a 16-byte fingerprint is accepted');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (100, '\x0f0e0d0c0b0a09080706050403020100')$$,
	'23505', NULL, 'a second row with the same key id violates the primary key');

-- ---------------------------------------------------------------------------
-- The index key table: the database's index keys, wrapped under master keys
-- ---------------------------------------------------------------------------
SELECT has_table('ef_index_keys', 'the index key table exists');
SELECT columns_are('ef_index_keys', ARRAY['index_key_id', 'key_id', 'wrapped_key', 'created_at'],
	'ef_index_keys has exactly the documented columns');
SELECT col_type_is('ef_index_keys', 'index_key_id', 'integer', 'ef_index_keys.index_key_id is integer');
SELECT col_type_is('ef_index_keys', 'key_id', 'integer', 'ef_index_keys.key_id is integer');
SELECT col_type_is('ef_index_keys', 'wrapped_key', 'bytea', 'ef_index_keys.wrapped_key is bytea');
SELECT col_type_is('ef_index_keys', 'created_at', 'timestamp with time zone', 'ef_index_keys.created_at is timestamptz');
SELECT col_not_null('ef_index_keys', 'index_key_id', 'ef_index_keys.index_key_id is NOT NULL');
SELECT col_not_null('ef_index_keys', 'key_id', 'ef_index_keys.key_id is NOT NULL');
SELECT col_not_null('ef_index_keys', 'wrapped_key', 'ef_index_keys.wrapped_key is NOT NULL');
SELECT col_not_null('ef_index_keys', 'created_at', 'ef_index_keys.created_at is NOT NULL');
SELECT col_has_default('ef_index_keys', 'created_at', 'ef_index_keys.created_at has a default');
SELECT has_pk('ef_index_keys', 'ef_index_keys has a primary key');
SELECT col_is_pk('ef_index_keys', ARRAY['index_key_id', 'key_id'], 'the primary key is (index_key_id, key_id)');
SELECT fk_ok('ef_index_keys', 'key_id', 'ef_keys', 'key_id', 'ef_index_keys.key_id references ef_keys.key_id');
SELECT col_has_check('ef_index_keys', 'index_key_id', 'ef_index_keys.index_key_id has a check constraint');
SELECT col_has_check('ef_index_keys', 'wrapped_key', 'ef_index_keys.wrapped_key has a check constraint');

-- the constraints hold against rows written directly, bypassing ef_register_key
-- (key 100 is the row of ef_keys inserted above)
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (0, 100, decode(repeat('ab', 40), 'hex'))$$,
	'23514', NULL, 'an index key id of 0 violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (-1, 100, decode(repeat('ab', 40), 'hex'))$$,
	'23514', NULL, 'a negative index key id violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (65536, 100, decode(repeat('ab', 40), 'hex'))$$,
	'23514', NULL, 'an index key id of 65536, which a term''s 2 bytes cannot carry, violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, decode(repeat('ab', 39), 'hex'))$$,
	'23514', NULL, 'a 39-byte wrapped key violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, decode(repeat('ab', 41), 'hex'))$$,
	'23514', NULL, 'a 41-byte wrapped key violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, ''::bytea)$$,
	'23514', NULL, 'an empty wrapped key violates the check constraint');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, NULL)$$,
	'23502', NULL, 'a NULL wrapped key is rejected');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, NULL, decode(repeat('ab', 40), 'hex'))$$,
	'23502', NULL, 'a NULL master key id is rejected');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 101, decode(repeat('ab', 40), 'hex'))$$,
	'23503', NULL, 'an index key wrapped under an unregistered master key violates the foreign key');
-- the controls: ids 1 and 65535 with a 40-byte wrapped key under a registered key are accepted
SELECT lives_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, decode(repeat('ab', 40), 'hex'))$$,
	'a row with index key id 1 and a 40-byte wrapped key under a registered key is accepted');
SELECT lives_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (65535, 100, decode(repeat('cd', 40), 'hex'))$$,
	'a row with index key id 65535 is accepted');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (1, 100, decode(repeat('ef', 40), 'hex'))$$,
	'23505', NULL, 'a second row for the same index key and master key violates the primary key');
SELECT throws_ok($$DELETE FROM ef_keys WHERE key_id = 100$$, '23503', NULL,
	'a master key''s row cannot be deleted while an index key is wrapped under it');
DELETE FROM ef_index_keys WHERE key_id = 100;
DELETE FROM ef_keys WHERE key_id = 100;

-- ---------------------------------------------------------------------------
-- Fingerprints: a check value, never the key nor a plain hash of it
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT ef_register_key(1, comment => 'first tap key')$$, 'register key 1');
SELECT results_eq(
	$$SELECT index_key_id, key_id, octet_length(wrapped_key), created_at = now() FROM ef_index_keys$$,
	$$VALUES (1, 1, 40, true)$$,
	'the first registration creates index key 1, stored only wrapped under key 1 (40 bytes)');
-- every later key must wrap the index key, which only a session holding it has
SELECT throws_ok($$SELECT ef_register_key(2, comment => 'second tap key')$$,
	'55000', 'cannot register a master key in index-key group "default" without its index key',
	'a second key cannot be registered by a session that holds no key');
SELECT is((SELECT count(*)::int FROM ef_keys) || ' ' || (SELECT count(*)::int FROM ef_index_keys), '1 1',
	'the refused registration added no row to either table');
-- registered in a savepoint, whose rollback forgets the key unlocked for it;
-- the rows it wrote are copied into psql variables and put back
SAVEPOINT keys;
SELECT ef_unlock(1);
SELECT lives_ok($$SELECT ef_register_key(2, comment => 'second tap key')$$,
	'a second key may be registered, by a session holding the index key');
SELECT lives_ok($$SELECT ef_register_key(3)$$, 'register key 3 without a comment');
SELECT (SELECT json_agg(r) FROM ef_keys r) AS registered_keys,
	(SELECT json_agg(r) FROM ef_index_keys r) AS registered_index_keys \gset
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
DELETE FROM ef_index_keys;
DELETE FROM ef_keys;
INSERT INTO ef_keys SELECT * FROM json_populate_recordset(NULL::ef_keys, :'registered_keys');
INSERT INTO ef_index_keys SELECT * FROM json_populate_recordset(NULL::ef_index_keys, :'registered_index_keys');

-- the same key under a second id: a session given tap key 1 for ids 1 and 2
-- at connection start, on the scratch database
DO $$ BEGIN
	PERFORM dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_registry_ctl'));
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_registry WITH (FORCE)');
	PERFORM dblink_exec('ef_ctl', $c$DO $d$ BEGIN
		IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ef_tap_login_fresh') THEN
			REVOKE SET ON PARAMETER session_preload_libraries FROM ef_tap_login_fresh;
			DROP ROLE ef_tap_login_fresh;
		END IF;
		IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ef_tap_login_admin') THEN
			REVOKE SET ON PARAMETER session_preload_libraries FROM ef_tap_login_admin;
			DROP ROLE ef_tap_login_admin;
		END IF;
	END $d$ $c$);
	PERFORM dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_registry');
	PERFORM dblink_connect('ef_same', tap_conninfo('ef_tap_registry', 'ef_tap_registry_same')
		|| format(' options=%L', format('-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:%1$s,2:%1$s',
			encode(tap_key(1), 'hex'))));
	PERFORM dblink_exec('ef_same', 'CREATE EXTENSION encrypted_field');
END $$;
SELECT is(remote('ef_same', 'SELECT ef_register_key(1); SELECT ef_unlock(1)::text'), '',
	'the other session registers and unlocks key 1');
SELECT lives_ok($$SELECT remote('ef_same', $r$SELECT ef_register_key(2, comment => 'the same key under a second id')::text$r$)$$,
	'the same key may be registered under a second id, by a session holding the index key');
CREATE TEMP TABLE same_key AS SELECT * FROM dblink('ef_same',
	'SELECT key_id, fingerprint, wrapped_key FROM ef_keys JOIN ef_index_keys USING (key_id)')
	AS t(key_id int, fingerprint bytea, wrapped_key bytea);

SELECT results_eq(
	$$SELECT key_id, octet_length(fingerprint), comment, created_at = now(), retired_at IS NULL
	  FROM ef_keys ORDER BY key_id$$,
	$$VALUES (1, 16, 'first tap key'::text, true, true),
	         (2, 16, 'second tap key', true, true),
	         (3, 16, NULL, true, true)$$,
	'each registered key has one row: 16-byte fingerprint, comment, creation time, not retired');

-- the fingerprints here, and those of the same key under two ids, with the
-- number of the tap key each is of
CREATE TEMP TABLE fingerprints AS
SELECT key_id AS key_n, fingerprint FROM ef_keys UNION ALL SELECT 1, fingerprint FROM same_key;
SELECT is((SELECT count(*)::int FROM fingerprints k, generate_series(1, 17) i
	WHERE substring(tap_key(k.key_n) FROM i FOR 16) = k.fingerprint),
	0, 'no fingerprint equals any 16-byte window of its key');
SELECT is((SELECT count(*)::int FROM fingerprints k, generate_series(1, 25) i
	WHERE position(substring(tap_key(k.key_n) FROM i FOR 8) IN k.fingerprint) > 0),
	0, 'no fingerprint contains any 8-byte window of its key');
SELECT is((SELECT count(*)::int FROM fingerprints k, LATERAL (SELECT tap_key(k.key_n) AS key) x
	WHERE k.fingerprint IN (substring(sha256(x.key) FROM 1 FOR 16), substring(sha256(x.key) FROM 17 FOR 16),
		substring(sha224(x.key) FROM 1 FOR 16), substring(sha512(x.key) FROM 1 FOR 16),
		decode(md5(x.key), 'hex'), substring(x.key FROM 1 FOR 16), substring(x.key FROM 17 FOR 16))),
	0, 'no fingerprint is a plain hash of its key (sha256/sha224/sha512 prefix, sha256 suffix, md5) or a half of it');
SELECT isnt((SELECT fingerprint FROM same_key WHERE key_id = 1), (SELECT fingerprint FROM same_key WHERE key_id = 2),
	'the same key registered under two ids has two different fingerprints');
SELECT isnt((SELECT fingerprint FROM ef_keys WHERE key_id = 1), (SELECT fingerprint FROM ef_keys WHERE key_id = 3),
	'two different keys have different fingerprints');
SELECT is((SELECT count(*)::int FROM ef_keys k, generate_series(1, 3) n
	WHERE position(encode(tap_key(n), 'hex') IN k::text) > 0
	   OR position(upper(encode(tap_key(n), 'hex')) IN upper(k::text)) > 0
	   OR position(encode(tap_key(n), 'base64') IN k::text) > 0
	   OR position(tap_key(n) IN convert_to(k::text, 'UTF8')) > 0),
	0, 'no registry row holds a key in hex, base64 or raw form');

-- the index key: one id, wrapped under every registered key, never a key
SELECT results_eq(
	$$SELECT index_key_id, key_id, octet_length(wrapped_key), created_at = now() FROM ef_index_keys ORDER BY key_id$$,
	$$VALUES (1, 1, 40, true), (1, 2, 40, true), (1, 3, 40, true)$$,
	'index key 1 is wrapped under each registered key, 40 bytes each');
SELECT isnt((SELECT wrapped_key FROM ef_index_keys WHERE key_id = 1), (SELECT wrapped_key FROM ef_index_keys WHERE key_id = 3),
	'the index key wrapped under two different keys gives two different wrapped keys');
SELECT isnt((SELECT wrapped_key FROM same_key WHERE key_id = 1), (SELECT wrapped_key FROM same_key WHERE key_id = 2),
	'the same key registered under two ids wraps the index key to two different values (like its two fingerprints)');
SELECT is((SELECT count(*)::int FROM ef_index_keys w, generate_series(1, 3) n, generate_series(1, 25) i
	WHERE position(substring(tap_key(n) FROM i FOR 8) IN w.wrapped_key) > 0
	   OR position(encode(tap_key(n), 'hex') IN w::text) > 0
	   OR position(upper(encode(tap_key(n), 'hex')) IN upper(w::text)) > 0
	   OR position(encode(tap_key(n), 'base64') IN w::text) > 0),
	0, 'no ef_index_keys row holds a master key in hex or base64, nor any 8-byte window of one');

-- the index key comes with the key unlocked: keys 1 and 3 give the same terms
SAVEPOINT keys;
SELECT ef_unlock(1);
SELECT ef_term('registry probe')::text AS term_by_key_1 \gset
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
SAVEPOINT keys;
SELECT ef_unlock(3);
SELECT ef_term('registry probe')::text AS term_by_key_3 \gset
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
CREATE TEMP TABLE term_by_key (key_id int, term text);
INSERT INTO term_by_key VALUES (1, :'term_by_key_1'), (3, :'term_by_key_3');
SELECT is((SELECT count(DISTINCT term)::int || ' ' || count(*)::int FROM term_by_key), '1 2',
	'key 1 and key 3 each unwrap the same index key: the same term');
-- a wrapped index key that does not unwrap under its key is reported as damaged
CREATE TEMP TABLE before_damage AS SELECT * FROM ef_index_keys WHERE key_id = 3;
UPDATE ef_index_keys SET wrapped_key = (SELECT wrapped_key FROM ef_index_keys WHERE key_id = 1) WHERE key_id = 3;
SELECT throws_ok($$SELECT ef_unlock(3)$$, 'XX001', 'index key 1 wrapped under master key 3 is damaged',
	'an index key that does not unwrap under its master key: XX001');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the unlock that found a damaged index key holds nothing');
UPDATE ef_index_keys SET wrapped_key = (SELECT wrapped_key FROM before_damage) WHERE key_id = 3;
SAVEPOINT keys;
SELECT lives_ok($$SELECT ef_unlock(3)$$, 'restoring the wrapped index key restores the unlock');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- a registered id is never replaced: not by another key (the row of id 1
-- holds, for a moment, the fingerprint of another key than this session's
-- key 1), nor by the same key
CREATE TEMP TABLE before_dup AS SELECT * FROM ef_keys WHERE key_id = 1;
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM ef_keys WHERE key_id = 3) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_register_key(1, comment => 'replacement attempt')$$,
	'42710', 'master key 1 is already registered', 'registering an id twice fails with 42710');
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM before_dup) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_register_key(1)$$,
	'42710', 'master key 1 is already registered', 'registering the same key under the same id again fails too');
SELECT results_eq($$SELECT * FROM ef_keys WHERE key_id = 1$$, $$SELECT * FROM before_dup$$,
	'the row of key 1 is unchanged by the refused registrations');
SELECT is((SELECT count(*)::int FROM ef_index_keys), 3, 'the refused registrations wrapped the index key under nothing');

-- retiring stamps the row and keeps the first date
SELECT lives_ok($$SELECT ef_retire_key(3)$$, 'retire key 3');
SELECT ok((SELECT retired_at IS NOT NULL FROM ef_keys WHERE key_id = 3), 'ef_retire_key sets retired_at');
SELECT is((SELECT count(*)::int FROM ef_keys WHERE retired_at IS NOT NULL), 1, 'only the retired key is marked');

-- ef_unlock checks the key against the fingerprint stored in this table
SAVEPOINT keys;
SELECT lives_ok($$SELECT ef_unlock(1)$$, 'the registered key unlocks');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
-- (the fingerprint of that key under id 2 is the other session's)
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM same_key WHERE key_id = 2) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_unlock(1)$$, '28P01', NULL,
	'the right key no longer unlocks id 1 once its row holds the fingerprint of that key under id 2');
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM before_dup) WHERE key_id = 1;
SAVEPOINT keys;
SELECT lives_ok($$SELECT ef_unlock(1)$$, 'restoring the fingerprint restores the unlock');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
SELECT throws_ok($$DELETE FROM ef_keys WHERE key_id = 2$$, '23503', NULL,
	'a registered key''s row cannot be deleted while the index key is wrapped under it');
DELETE FROM ef_index_keys WHERE key_id = 2;
DELETE FROM ef_keys WHERE key_id = 2;
SELECT throws_ok($$SELECT ef_unlock(2)$$, '42704', 'master key 2 is not registered',
	'a key whose row was deleted is no longer registered');

-- pg_dump: the registry is extension configuration, dumped in full
SELECT ok((SELECT 'ef_keys'::regclass::oid = ANY (extconfig) FROM pg_extension WHERE extname = 'encrypted_field'),
	'ef_keys is marked with pg_extension_config_dump');
SELECT is((SELECT extcondition[array_position(extconfig, 'ef_keys'::regclass::oid)]
	FROM pg_extension WHERE extname = 'encrypted_field'), '',
	'every row of ef_keys is dumped (empty filter condition)');
SELECT ok((SELECT 'ef_index_keys'::regclass::oid = ANY (extconfig) FROM pg_extension WHERE extname = 'encrypted_field'),
	'ef_index_keys is marked with pg_extension_config_dump');
SELECT is((SELECT extcondition[array_position(extconfig, 'ef_index_keys'::regclass::oid)]
	FROM pg_extension WHERE extname = 'encrypted_field'), '',
	'every row of ef_index_keys is dumped (empty filter condition)');
SELECT is((SELECT array_agg(c::regclass::text ORDER BY c::regclass::text COLLATE "C")
	FROM pg_extension, unnest(extconfig) c WHERE extname = 'encrypted_field'),
	ARRAY['ef_index_keys', 'ef_keys'], 'the extension''s configuration is exactly the two registry tables');

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
SELECT table_privs_are('ef_keys', 'public', ARRAY['SELECT'], 'PUBLIC may only SELECT from ef_keys');
SELECT table_privs_are('ef_keys', 'ef_tap_fresh', ARRAY['SELECT'], 'a fresh role may only SELECT from ef_keys');
SELECT table_privs_are('ef_index_keys', 'public', ARRAY['SELECT'], 'PUBLIC may only SELECT from ef_index_keys');
SELECT table_privs_are('ef_index_keys', 'ef_tap_fresh', ARRAY['SELECT'], 'a fresh role may only SELECT from ef_index_keys');
SELECT function_privs_are('ef_register_key', ARRAY['integer', 'bytea', 'text', 'text'], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_register_key');
SELECT function_privs_are('ef_register_key', ARRAY['integer', 'bytea', 'text', 'text'], 'ef_tap_fresh', ARRAY[]::name[],
	'a fresh role may not execute ef_register_key');
SELECT function_privs_are('ef_rotate_index_key', ARRAY['text'], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_rotate_index_key');
SELECT function_privs_are('ef_rotate_index_key', ARRAY['text'], 'ef_tap_fresh', ARRAY[]::name[],
	'a fresh role may not execute ef_rotate_index_key');
SELECT function_privs_are('ef_retire_key', ARRAY['integer'], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_retire_key');
SELECT function_privs_are('ef_retire_key', ARRAY['integer'], 'ef_tap_fresh', ARRAY[]::name[],
	'a fresh role may not execute ef_retire_key');
SELECT function_privs_are('ef_citus_share_registry', ARRAY[]::name[], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_citus_share_registry');
SELECT throws_ok('SELECT ef_citus_share_registry()', '55000', 'Citus is not installed in this database',
	'ef_citus_share_registry() without Citus says so');
SELECT function_privs_are(f, a, r, ARRAY['EXECUTE'], format('%s may execute %s(%s)', r, f, array_to_string(a, ', ')))
FROM (VALUES ('ef_unlock'::name, ARRAY['integer', 'bytea', 'text', 'text']::name[]),
	('ef_lock', ARRAY[]::name[]),
	('ef_encrypt', ARRAY['anyelement', 'text', 'boolean', 'integer', 'text', 'text']),
	('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer', 'text', 'text']),
	('ef_term', ARRAY['anyelement', 'text', 'text']),
	('ef_term', ARRAY['text', 'text', 'text']),
	('ef_terms', ARRAY['anyelement', 'text', 'text']),
	('ef_terms', ARRAY['text', 'text', 'text']),
	('ef_decrypt', ARRAY['encrypted_field', 'text'])) fns(f, a),
	(VALUES ('public'::name), ('ef_tap_fresh')) roles(r)
ORDER BY r, f, a;
SELECT function_privs_are(f, a, 'public', ARRAY['EXECUTE'], format('public may execute %s(%s)', f, array_to_string(a, ', ')))
FROM (VALUES ('ef_held_keys'::name, ARRAY[]::name[]),
	('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text']),
	('ef_rewrap', ARRAY['encrypted_field', 'integer']),
	('ef_key_id', ARRAY['encrypted_field']),
	('ef_is_searchable', ARRAY['encrypted_field']),
	('ef_index_key_id', ARRAY['encrypted_field']),
	('ef_envelope', ARRAY['encrypted_field']),
	('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer']),
	('ef_reterm', ARRAY['encrypted_field', 'text', 'text', 'text']),
	('ef_reterm_column', ARRAY['regclass', 'name', 'text', 'text', 'text', 'integer']),
	('ef_encrypt_column', ARRAY['regclass', 'name', 'name', 'text', 'boolean', 'text', 'integer'])) fns(f, a)
ORDER BY f;

-- what the privileges mean in practice, for a role granted nothing
SET ROLE ef_tap_fresh;
SELECT throws_ok($$SELECT ef_register_key(50)$$, '42501', NULL,
	'a fresh role cannot register a key');
SELECT throws_ok($$SELECT ef_retire_key(1)$$, '42501', NULL, 'a fresh role cannot retire a key');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (51, '\x000102030405060708090a0b0c0d0e0f')$$,
	'42501', NULL, 'a fresh role cannot insert into ef_keys');
SELECT throws_ok($$UPDATE ef_keys SET retired_at = now()$$, '42501', NULL, 'a fresh role cannot update ef_keys');
SELECT throws_ok($$DELETE FROM ef_keys$$, '42501', NULL, 'a fresh role cannot delete from ef_keys');
SELECT throws_ok($$INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) SELECT 2, 1, wrapped_key FROM ef_index_keys LIMIT 1$$,
	'42501', NULL, 'a fresh role cannot insert into ef_index_keys');
SELECT throws_ok($$UPDATE ef_index_keys SET wrapped_key = wrapped_key$$, '42501', NULL,
	'a fresh role cannot update ef_index_keys');
SELECT throws_ok($$DELETE FROM ef_index_keys$$, '42501', NULL, 'a fresh role cannot delete from ef_index_keys');
SELECT is((SELECT count(*)::int FROM ef_keys), 2, 'a fresh role can read the registry');
SELECT is((SELECT count(*)::int FROM ef_index_keys), 2, 'a fresh role can read the wrapped index keys');
-- the keys this session was given at connection start serve its login role
-- and the roles with its privileges: not a fresh role
SELECT throws_ok($$SELECT ef_unlock(1)$$, '42501', 'permission denied to use the master key given at connection start',
	'a fresh role cannot use the keys this session was given at connection start: 42501');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM ef_keys WHERE retired_at IS NOT NULL), 1,
	'the registry is unchanged by the refused writes');
SELECT is((SELECT array_agg(key_id ORDER BY key_id) FROM ef_index_keys), ARRAY[1, 3],
	'the index keys are unchanged by the refused writes');

-- a fresh role with keys of its own: it logs in, given the tap keys at
-- connection start, to the scratch database (where key 1 is registered)
DO $$ BEGIN
	PERFORM dblink_exec('ef_ctl', 'CREATE ROLE ef_tap_login_fresh LOGIN');
	PERFORM dblink_exec('ef_ctl', 'CREATE ROLE ef_tap_login_admin LOGIN');
	PERFORM dblink_exec('ef_ctl', 'GRANT SET ON PARAMETER session_preload_libraries TO ef_tap_login_fresh, ef_tap_login_admin');
	PERFORM dblink_connect('ef_fresh', tap_conninfo('ef_tap_registry', 'ef_tap_registry_fresh', 'ef_tap_login_fresh'));
END $$;
SELECT is(remote('ef_fresh', 'SELECT current_user'), 'ef_tap_login_fresh', 'a fresh role logs in to the scratch database');
SELECT lives_ok($$SELECT remote('ef_fresh', 'SELECT ef_unlock(1)::text')$$, 'a fresh role can unlock a registered key');
SELECT is(remote('ef_fresh', $r$SELECT ef_decrypt(ef_encrypt('fresh role data'))$r$), 'fresh role data',
	'a fresh role can encrypt and decrypt');
SELECT is(remote('ef_fresh', $r$SELECT ef_encrypt('fresh role data', searchable => true) = ef_term('fresh role data')$r$), 't',
	'a fresh role can encrypt searchable values and compute terms');

-- a key administrator needs INSERT on ef_index_keys as well as on ef_keys:
-- a role that logs in, given its keys at connection start, as above
SELECT dblink_exec('ef_same', $r$
	GRANT EXECUTE ON FUNCTION ef_register_key(integer, bytea, text, text) TO ef_tap_login_admin;
	GRANT INSERT, UPDATE (retired_at) ON ef_keys TO ef_tap_login_admin$r$);
SELECT dblink_connect('ef_admin', tap_conninfo('ef_tap_registry', 'ef_tap_registry_admin', 'ef_tap_login_admin'));
SELECT remote('ef_admin', 'SELECT ef_unlock(1)::text');
SELECT throws_ok($$SELECT remote('ef_admin', 'SELECT ef_register_key(20)::text')$$, '42501',
	'permission denied for table ef_index_keys',
	'a key administrator without INSERT on ef_index_keys cannot register a key');
SELECT is(remote('ef_same', 'SELECT count(*) FROM ef_keys WHERE key_id = 20'), '0',
	'the refused registration left no row in ef_keys');
SELECT dblink_exec('ef_same', 'GRANT INSERT ON ef_index_keys TO ef_tap_login_admin');
SELECT lives_ok($$SELECT remote('ef_admin', 'SELECT ef_register_key(20)::text')$$,
	'with INSERT on ef_index_keys too, the key administrator registers a key');
SELECT is(array(SELECT remote('ef_same', $r$SELECT index_key_id || ':' || key_id FROM ef_index_keys WHERE key_id = 20$r$)),
	ARRAY['1:20'], 'the key registered by the key administrator wraps index key 1');

DO $$ BEGIN
	PERFORM dblink_disconnect('ef_fresh');
	PERFORM dblink_disconnect('ef_admin');
	PERFORM dblink_disconnect('ef_same');
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_registry');
	PERFORM dblink_exec('ef_ctl', 'REVOKE SET ON PARAMETER session_preload_libraries FROM ef_tap_login_fresh, ef_tap_login_admin');
	PERFORM dblink_exec('ef_ctl', 'DROP ROLE ef_tap_login_fresh, ef_tap_login_admin');
	PERFORM dblink_disconnect('ef_ctl');
END $$;

-- ---------------------------------------------------------------------------
-- The inventory: types, composite, functions, operators, operator classes,
-- their markings
-- ---------------------------------------------------------------------------
SELECT has_type('encrypted_field', 'the encrypted_field type exists');
SELECT has_type('encrypted_field_term', 'the encrypted_field_term type exists');
SELECT has_composite('encrypted_field_envelope', 'the encrypted_field_envelope composite type exists');
SELECT is(
	(SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute
	  WHERE attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'encrypted_field_envelope'::regtype)
	    AND attnum > 0 AND NOT attisdropped),
	ARRAY['version integer', 'flags integer', 'key_id integer', 'plaintext_type regtype',
	      'wrapped_key bytea', 'nonce bytea', 'ciphertext bytea', 'tag bytea', 'search_term bytea'],
	'encrypted_field_envelope has the documented parts in order, the search term last');
SELECT results_eq(
	$$SELECT typlen::int, typstorage::text, typinput::text, typoutput::text, typreceive::text, typsend::text,
	         typanalyze::text
	  FROM pg_type WHERE oid = 'encrypted_field'::regtype$$,
	$$VALUES (-1, 'e', 'ef_in', 'ef_out', 'ef_recv', 'ef_send', 'ef_typanalyze')$$,
	'encrypted_field is a varlena with external storage, text and binary I/O, and its own ANALYZE function');
SELECT results_eq(
	$$SELECT typlen::int, typbyval, typalign::text, typstorage::text, typinput::text, typoutput::text,
	         typreceive::text, typsend::text, typanalyze::text
	  FROM pg_type WHERE oid = 'encrypted_field_term'::regtype$$,
	$$VALUES (16, false, 'c', 'p', 'ef_term_in', 'ef_term_out', 'ef_term_recv', 'ef_term_send', '-')$$,
	'encrypted_field_term is 16 bytes, plain storage, with text and binary I/O');
SELECT is((SELECT count(*)::int FROM pg_cast
	WHERE casttarget IN ('encrypted_field'::regtype, 'encrypted_field_term'::regtype)
	   OR castsource IN ('encrypted_field'::regtype, 'encrypted_field_term'::regtype)),
	0, 'no cast into or out of encrypted_field or encrypted_field_term bypasses input validation');

SELECT has_function('ef_in', ARRAY['cstring'], 'ef_in(cstring) exists');
SELECT has_function('ef_out', ARRAY['encrypted_field'], 'ef_out(encrypted_field) exists');
SELECT has_function('ef_recv', ARRAY['internal'], 'ef_recv(internal) exists');
SELECT has_function('ef_send', ARRAY['encrypted_field'], 'ef_send(encrypted_field) exists');
SELECT has_function('ef_typanalyze', ARRAY['internal'], 'ef_typanalyze(internal) exists');
SELECT has_function('ef_term_in', ARRAY['cstring'], 'ef_term_in(cstring) exists');
SELECT has_function('ef_term_out', ARRAY['encrypted_field_term'], 'ef_term_out(encrypted_field_term) exists');
SELECT has_function('ef_term_recv', ARRAY['internal'], 'ef_term_recv(internal) exists');
SELECT has_function('ef_term_send', ARRAY['encrypted_field_term'], 'ef_term_send(encrypted_field_term) exists');
SELECT has_function('ef_register_key', ARRAY['integer', 'bytea', 'text', 'text'], 'ef_register_key(integer, bytea, text, text) exists');
SELECT has_function('ef_retire_key', ARRAY['integer'], 'ef_retire_key(integer) exists');
SELECT has_function('ef_unlock', ARRAY['integer', 'bytea', 'text', 'text'], 'ef_unlock(integer, bytea, text, text) exists');
SELECT has_function('ef_lock', ARRAY[]::name[], 'ef_lock() exists');
SELECT has_function('ef_held_keys', ARRAY[]::name[], 'ef_held_keys() exists');
-- the key argument may be left out: the key given at connection start
SELECT is(pg_get_function_arguments('ef_unlock(integer,bytea,text,text)'::regprocedure),
	'key_id integer, master_key bytea DEFAULT NULL::bytea, scope text DEFAULT ''session''::text, reason text DEFAULT NULL::text',
	'ef_unlock''s key argument defaults to NULL (the key given at connection start), its scope to session, its reason to none');
SELECT is(pg_get_function_arguments('ef_register_key(integer,bytea,text,text)'::regprocedure),
	'key_id integer, master_key bytea DEFAULT NULL::bytea, comment text DEFAULT NULL::text, index_group text DEFAULT ''default''::text',
	'ef_register_key''s key argument defaults to NULL (the key given at connection start), its comment too, its index-key group to "default"');
SELECT is(pg_get_function_arguments('ef_rotate_index_key(text)'::regprocedure),
	'index_group text DEFAULT ''default''::text', 'ef_rotate_index_key rotates the group "default" unless told');
SELECT has_function('ef_encrypt', ARRAY['anyelement', 'text', 'boolean', 'integer', 'text', 'text'],
	'ef_encrypt(anyelement, text, boolean, integer, text, text) exists');
SELECT has_function('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer', 'text', 'text'],
	'ef_encrypt(text, text, boolean, integer, text, text) exists, for untyped literals');
SELECT has_function('ef_encrypt', ARRAY['character varying', 'text', 'boolean', 'integer', 'text', 'text'],
	'ef_encrypt(varchar, text, boolean, integer, text, text) exists, so varchar is recorded as varchar');
SELECT has_function('ef_encrypt', ARRAY['character', 'text', 'boolean', 'integer', 'text', 'text'],
	'ef_encrypt(character, text, boolean, integer, text, text) exists, so char(n) is recorded as char');
SELECT has_function('ef_term', ARRAY['anyelement', 'text', 'text'], 'ef_term(anyelement, text, text) exists');
SELECT has_function('ef_term', ARRAY['text', 'text', 'text'], 'ef_term(text, text, text) exists, for untyped literals');
SELECT has_function('ef_term', ARRAY['character varying', 'text', 'text'],
	'ef_term(varchar, text, text) exists, so a varchar probe matches varchar values');
SELECT has_function('ef_term', ARRAY['character', 'text', 'text'],
	'ef_term(character, text, text) exists, so a char(n) probe matches char values');
SELECT has_function('ef_decrypt', ARRAY['encrypted_field', 'text'], 'ef_decrypt(encrypted_field, text) exists');
SELECT has_function('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text'],
	'ef_decrypt_as(encrypted_field, anyelement, text) exists');
SELECT has_function('ef_rewrap', ARRAY['encrypted_field', 'integer'], 'ef_rewrap(encrypted_field, integer) exists');
SELECT has_function('ef_key_id', ARRAY['encrypted_field'], 'ef_key_id(encrypted_field) exists');
SELECT has_function('ef_envelope', ARRAY['encrypted_field'], 'ef_envelope(encrypted_field) exists');
SELECT has_function('ef_is_searchable', ARRAY['encrypted_field'], 'ef_is_searchable(encrypted_field) exists');
SELECT has_function('ef_index_key_id', ARRAY['encrypted_field'], 'ef_index_key_id(encrypted_field) exists');
SELECT has_function('ef_rotate_index_key', ARRAY['text'], 'ef_rotate_index_key(text) exists');
SELECT function_returns('ef_reterm', ARRAY['encrypted_field', 'text', 'text', 'text'], 'encrypted_field',
	'ef_reterm(encrypted_field, text, text, text) exists and returns encrypted_field');
SELECT is_procedure('ef_reterm_column', ARRAY['regclass', 'name', 'text', 'text', 'text', 'integer'],
	'ef_reterm_column is a procedure, so that it can commit each batch');
SELECT has_function('ef_terms', ARRAY['anyelement', 'text', 'text'], 'ef_terms(anyelement, text, text) exists');
SELECT has_function('ef_terms', ARRAY['text', 'text', 'text'], 'ef_terms(text, text, text) exists');
SELECT has_function('ef_terms', ARRAY['character varying', 'text', 'text'],
	'ef_terms(varchar, text, text) exists, so a varchar probe matches varchar values');
SELECT has_function('ef_terms', ARRAY['character', 'text', 'text'],
	'ef_terms(character, text, text) exists, so a char(n) probe matches char values');
SELECT has_function('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer'],
	'ef_rewrap_column(regclass, name, integer, integer) exists');
SELECT is_procedure('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer'],
	'ef_rewrap_column is a procedure, so that it can commit each batch');
SELECT has_function('ef_encrypt_column', ARRAY['regclass', 'name', 'name', 'text', 'boolean', 'text', 'integer'],
	'ef_encrypt_column(regclass, name, name, text, boolean, text, integer) exists');
SELECT is_procedure('ef_encrypt_column', ARRAY['regclass', 'name', 'name', 'text', 'boolean', 'text', 'integer'],
	'ef_encrypt_column is a procedure, so that it can commit each batch');
SELECT function_returns('ef_create_view', ARRAY['regclass', 'text', 'name', 'name[]', 'boolean'], 'regclass',
	'ef_create_view(regclass, text, name, name[], boolean) exists and returns the view it made');
SELECT has_function(f, a, format('%s(%s) exists', f, array_to_string(a, ', ')))
FROM (VALUES ('ef_eq'::name, ARRAY['encrypted_field', 'encrypted_field']::name[]),
	('ef_ne', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_lt', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_le', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_gt', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_ge', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_cmp', ARRAY['encrypted_field', 'encrypted_field']),
	('ef_hash', ARRAY['encrypted_field']),
	('ef_eq_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_ne_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_cmp_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_term_eq', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_ne', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_hash', ARRAY['encrypted_field_term']),
	('ef_hash_extended', ARRAY['encrypted_field', 'bigint']),
	('ef_lt_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_le_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_gt_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_ge_term', ARRAY['encrypted_field', 'encrypted_field_term']),
	('ef_term_lt', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_le', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_gt', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_ge', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_cmp', ARRAY['encrypted_field_term', 'encrypted_field']),
	('ef_term_eq_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_ne_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_lt_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_le_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_gt_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_ge_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_cmp_term', ARRAY['encrypted_field_term', 'encrypted_field_term']),
	('ef_term_hash_extended', ARRAY['encrypted_field_term', 'bigint'])) fns(f, a)
ORDER BY f;

-- nothing else: an extra function would need its own markings and privileges
SELECT set_eq(
	$$SELECT p.oid::regprocedure::text FROM pg_proc p
	  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'$$,
	ARRAY['ef_in(cstring)', 'ef_out(encrypted_field)', 'ef_recv(internal)', 'ef_send(encrypted_field)',
	      'ef_typanalyze(internal)', 'ef_term_in(cstring)', 'ef_term_out(encrypted_field_term)',
	      'ef_term_recv(internal)', 'ef_term_send(encrypted_field_term)',
	      'ef_register_key(integer,bytea,text,text)', 'ef_retire_key(integer)', 'ef_unlock(integer,bytea,text,text)',
	      'ef_lock()', 'ef_held_keys()',
	      'ef_encrypt(anyelement,text,boolean,integer,text,text)',
	      'ef_encrypt(text,text,boolean,integer,text,text)',
	      'ef_encrypt(character varying,text,boolean,integer,text,text)',
	      'ef_encrypt(character,text,boolean,integer,text,text)',
	      'ef_term(anyelement,text,text)', 'ef_term(text,text,text)',
	      'ef_term(character varying,text,text)', 'ef_term(character,text,text)',
	      'ef_terms(anyelement,text,text)', 'ef_terms(text,text,text)',
	      'ef_terms(character varying,text,text)', 'ef_terms(character,text,text)',
	      'ef_rotate_index_key(text)', 'ef_index_key_id(encrypted_field)', 'ef_term_index_key_id()',
	      'ef_reterm(encrypted_field,text,text,text)', 'ef_reterm_column(regclass,name,text,text,text,integer)',
	      'ef_update_in_batches(text,text,integer,text,text,bigint)', 'ef_column_batch_check(regclass,name,integer,boolean,boolean)', 'ef_term_cmp_term(encrypted_field_term,encrypted_field_term)',
	      'ef_decrypt(encrypted_field,text)',
	      'ef_decrypt_as(encrypted_field,anyelement,text)', 'ef_rewrap(encrypted_field,integer)',
	      'ef_key_id(encrypted_field)', 'ef_envelope(encrypted_field)', 'ef_is_searchable(encrypted_field)',
	      'ef_rewrap_column(regclass,name,integer,integer)',
	      'ef_encrypt_column(regclass,name,name,text,boolean,text,integer)',
	      'ef_create_view(regclass,text,name,name[],boolean)',
	      'ef_eq(encrypted_field,encrypted_field)', 'ef_ne(encrypted_field,encrypted_field)',
	      'ef_lt(encrypted_field,encrypted_field)', 'ef_le(encrypted_field,encrypted_field)',
	      'ef_gt(encrypted_field,encrypted_field)', 'ef_ge(encrypted_field,encrypted_field)',
	      'ef_cmp(encrypted_field,encrypted_field)', 'ef_hash(encrypted_field)',
	      'ef_eq_term(encrypted_field,encrypted_field_term)', 'ef_ne_term(encrypted_field,encrypted_field_term)',
	      'ef_cmp_term(encrypted_field,encrypted_field_term)',
	      'ef_term_eq(encrypted_field_term,encrypted_field)', 'ef_term_ne(encrypted_field_term,encrypted_field)',
	      'ef_term_hash(encrypted_field_term)',
	      'ef_hash_extended(encrypted_field,bigint)', 'ef_term_hash_extended(encrypted_field_term,bigint)',
	      'ef_lt_term(encrypted_field,encrypted_field_term)', 'ef_le_term(encrypted_field,encrypted_field_term)',
	      'ef_gt_term(encrypted_field,encrypted_field_term)', 'ef_ge_term(encrypted_field,encrypted_field_term)',
	      'ef_term_lt(encrypted_field_term,encrypted_field)', 'ef_term_le(encrypted_field_term,encrypted_field)',
	      'ef_term_gt(encrypted_field_term,encrypted_field)', 'ef_term_ge(encrypted_field_term,encrypted_field)',
	      'ef_term_cmp(encrypted_field_term,encrypted_field)',
	      'ef_term_eq_term(encrypted_field_term,encrypted_field_term)',
	      'ef_term_ne_term(encrypted_field_term,encrypted_field_term)',
	      'ef_term_lt_term(encrypted_field_term,encrypted_field_term)',
	      'ef_term_le_term(encrypted_field_term,encrypted_field_term)',
	      'ef_term_gt_term(encrypted_field_term,encrypted_field_term)',
	      'ef_term_ge_term(encrypted_field_term,encrypted_field_term)',
	      'ef_node_public_key()',
	      'ef_encrypt_on_coordinator(anyelement,text,boolean,integer,text,text)',
	      'ef_encrypt_on_shard(anyelement,text,boolean,integer,text,text)',
	      'ef_rewrap_on_shard(encrypted_field,integer)',
	      'ef_reterm_on_shard(encrypted_field,text,text,text)',
	      'ef_citus_share_registry()'],
	'the extension holds exactly the documented functions and procedures');

SELECT function_returns('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer', 'text', 'text'], 'encrypted_field',
	'ef_encrypt returns encrypted_field');
SELECT function_returns('ef_term', ARRAY['text', 'text', 'text'], 'encrypted_field_term',
	'ef_term returns encrypted_field_term');
SELECT function_returns('ef_decrypt', ARRAY['encrypted_field', 'text'], 'text', 'ef_decrypt returns text');
SELECT function_returns('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text'], 'anyelement',
	'ef_decrypt_as returns its second argument''s type');
SELECT function_returns('ef_rewrap', ARRAY['encrypted_field', 'integer'], 'encrypted_field',
	'ef_rewrap returns encrypted_field');
SELECT function_returns('ef_key_id', ARRAY['encrypted_field'], 'integer', 'ef_key_id returns integer');
SELECT function_returns('ef_is_searchable', ARRAY['encrypted_field'], 'boolean', 'ef_is_searchable returns boolean');
SELECT function_returns('ef_index_key_id', ARRAY['encrypted_field'], 'integer', 'ef_index_key_id returns integer');
SELECT function_returns('ef_rotate_index_key', ARRAY['text'], 'integer', 'ef_rotate_index_key returns the new index key id');
SELECT function_returns('ef_terms', ARRAY['text', 'text', 'text'], 'encrypted_field_term[]',
	'ef_terms returns an array of terms');
SELECT function_returns('ef_envelope', ARRAY['encrypted_field'], 'encrypted_field_envelope',
	'ef_envelope returns encrypted_field_envelope');
SELECT function_returns('ef_lock', ARRAY[]::name[], 'integer', 'ef_lock returns the number of keys forgotten');
SELECT function_returns('ef_held_keys', ARRAY[]::name[], 'setof record', 'ef_held_keys returns a set of rows');
SELECT function_returns('ef_unlock', ARRAY['integer', 'bytea', 'text', 'text'], 'void', 'ef_unlock returns void');
SELECT function_returns('ef_cmp', ARRAY['encrypted_field', 'encrypted_field'], 'integer', 'ef_cmp returns integer');
SELECT function_returns('ef_cmp_term', ARRAY['encrypted_field', 'encrypted_field_term'], 'integer',
	'ef_cmp_term returns integer');
SELECT function_returns('ef_hash', ARRAY['encrypted_field'], 'integer', 'ef_hash returns integer');
SELECT function_returns('ef_term_hash', ARRAY['encrypted_field_term'], 'integer', 'ef_term_hash returns integer');
SELECT function_returns('ef_hash_extended', ARRAY['encrypted_field', 'bigint'], 'bigint',
	'ef_hash_extended returns bigint');
SELECT function_returns('ef_term_hash_extended', ARRAY['encrypted_field_term', 'bigint'], 'bigint',
	'ef_term_hash_extended returns bigint');
SELECT function_returns('ef_term_cmp', ARRAY['encrypted_field_term', 'encrypted_field'], 'integer',
	'ef_term_cmp returns integer');
SELECT function_returns('ef_term_cmp_term', ARRAY['encrypted_field_term', 'encrypted_field_term'], 'integer',
	'ef_term_cmp_term returns integer');
SELECT function_returns('ef_typanalyze', ARRAY['internal'], 'boolean', 'ef_typanalyze returns boolean');

-- volatility, parallel safety and strictness, exactly as the install script declares
SELECT results_eq(
	$$SELECT p.oid::regprocedure::text, p.provolatile::text, p.proparallel::text, p.proisstrict FROM pg_proc p
	  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
	  ORDER BY p.oid::regprocedure::text COLLATE "C"$$,
	$$VALUES ('ef_citus_share_registry()', 'v', 'u', false),
	         ('ef_cmp(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_cmp_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_column_batch_check(regclass,name,integer,boolean,boolean)', 's', 's', false),
	         ('ef_create_view(regclass,text,name,name[],boolean)', 'v', 'u', false),
	         ('ef_decrypt(encrypted_field,text)', 's', 's', false),
	         ('ef_decrypt_as(encrypted_field,anyelement,text)', 's', 's', false),
	         ('ef_encrypt(anyelement,text,boolean,integer,text,text)', 'v', 's', false),
	         ('ef_encrypt(character varying,text,boolean,integer,text,text)', 'v', 's', false),
	         ('ef_encrypt(character,text,boolean,integer,text,text)', 'v', 's', false),
	         ('ef_encrypt(text,text,boolean,integer,text,text)', 'v', 's', false),
	         ('ef_encrypt_column(regclass,name,name,text,boolean,text,integer)', 'v', 'u', false),
	         ('ef_encrypt_on_coordinator(anyelement,text,boolean,integer,text,text)', 's', 's', false),
	         ('ef_encrypt_on_shard(anyelement,text,boolean,integer,text,text)', 'i', 's', false),
	         ('ef_envelope(encrypted_field)', 'i', 's', true),
	         ('ef_eq(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_eq_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_ge(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_ge_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_gt(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_gt_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_hash(encrypted_field)', 'i', 's', true),
	         ('ef_hash_extended(encrypted_field,bigint)', 'i', 's', true),
	         ('ef_held_keys()', 'v', 'r', false),
	         ('ef_in(cstring)', 'i', 's', true),
	         ('ef_index_key_id(encrypted_field)', 'i', 's', true),
	         ('ef_is_searchable(encrypted_field)', 'i', 's', true),
	         ('ef_key_id(encrypted_field)', 'i', 's', true),
	         ('ef_le(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_le_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_lock()', 'v', 'u', false),
	         ('ef_lt(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_lt_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_ne(encrypted_field,encrypted_field)', 'i', 's', true),
	         ('ef_ne_term(encrypted_field,encrypted_field_term)', 'i', 's', true),
	         ('ef_node_public_key()', 'v', 's', true),
	         ('ef_out(encrypted_field)', 'i', 's', true),
	         ('ef_recv(internal)', 'i', 's', true),
	         ('ef_register_key(integer,bytea,text,text)', 'v', 'u', false),
	         ('ef_reterm(encrypted_field,text,text,text)', 'v', 's', false),
	         ('ef_reterm_column(regclass,name,text,text,text,integer)', 'v', 'u', false),
	         ('ef_reterm_on_shard(encrypted_field,text,text,text)', 'i', 's', false),
	         ('ef_retire_key(integer)', 'v', 'u', true),
	         ('ef_rewrap(encrypted_field,integer)', 's', 's', false),
	         ('ef_rewrap_column(regclass,name,integer,integer)', 'v', 'u', false),
	         ('ef_rewrap_on_shard(encrypted_field,integer)', 'i', 's', false),
	         ('ef_rotate_index_key(text)', 'v', 'u', false),
	         ('ef_send(encrypted_field)', 'i', 's', true),
	         ('ef_term(anyelement,text,text)', 's', 's', false),
	         ('ef_term(character varying,text,text)', 's', 's', false),
	         ('ef_term(character,text,text)', 's', 's', false),
	         ('ef_term(text,text,text)', 's', 's', false),
	         ('ef_term_cmp(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_cmp_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_eq(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_eq_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_ge(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_ge_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_gt(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_gt_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_hash(encrypted_field_term)', 'i', 's', true),
	         ('ef_term_hash_extended(encrypted_field_term,bigint)', 'i', 's', true),
	         ('ef_term_in(cstring)', 'i', 's', true),
	         ('ef_term_index_key_id()', 's', 's', false),
	         ('ef_term_le(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_le_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_lt(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_lt_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_ne(encrypted_field_term,encrypted_field)', 'i', 's', true),
	         ('ef_term_ne_term(encrypted_field_term,encrypted_field_term)', 'i', 's', true),
	         ('ef_term_out(encrypted_field_term)', 'i', 's', true),
	         ('ef_term_recv(internal)', 'i', 's', true),
	         ('ef_term_send(encrypted_field_term)', 'i', 's', true),
	         ('ef_terms(anyelement,text,text)', 's', 's', false),
	         ('ef_terms(character varying,text,text)', 's', 's', false),
	         ('ef_terms(character,text,text)', 's', 's', false),
	         ('ef_terms(text,text,text)', 's', 's', false),
	         ('ef_typanalyze(internal)', 's', 's', true),
	         ('ef_unlock(integer,bytea,text,text)', 'v', 'u', false),
	         ('ef_update_in_batches(text,text,integer,text,text,bigint)', 'v', 'u', false)$$,
	'every function and procedure has the volatility, parallel marking and strictness of the install script');
-- the invariant behind the parallel markings: every function that reads the
-- backend's keys (a master key or the index key) may run in a parallel
-- worker, which the leader hands its keys to for the query; listing the
-- keys held stays in the leader
SELECT is((SELECT count(*)::int FROM pg_proc
	WHERE oid IN ('ef_encrypt(anyelement,text,boolean,integer,text,text)'::regprocedure,
	              'ef_encrypt(text,text,boolean,integer,text,text)'::regprocedure,
	              'ef_encrypt(character varying,text,boolean,integer,text,text)'::regprocedure,
	              'ef_encrypt(character,text,boolean,integer,text,text)'::regprocedure,
	              'ef_term(anyelement,text,text)'::regprocedure,
	              'ef_term(text,text,text)'::regprocedure,
	              'ef_term(character varying,text,text)'::regprocedure,
	              'ef_term(character,text,text)'::regprocedure,
	              'ef_terms(anyelement,text,text)'::regprocedure,
	              'ef_terms(text,text,text)'::regprocedure,
	              'ef_terms(character varying,text,text)'::regprocedure,
	              'ef_terms(character,text,text)'::regprocedure,
	              'ef_decrypt(encrypted_field,text)'::regprocedure,
	              'ef_decrypt_as(encrypted_field,anyelement,text)'::regprocedure,
	              'ef_rewrap(encrypted_field,integer)'::regprocedure,
	              'ef_reterm(encrypted_field,text,text,text)'::regprocedure,
	              'ef_term_index_key_id()'::regprocedure,
	              'ef_encrypt_on_coordinator(anyelement,text,boolean,integer,text,text)'::regprocedure,
	              'ef_encrypt_on_shard(anyelement,text,boolean,integer,text,text)'::regprocedure,
	              'ef_rewrap_on_shard(encrypted_field,integer)'::regprocedure,
	              'ef_reterm_on_shard(encrypted_field,text,text,text)'::regprocedure)
	  AND proparallel = 's'), 21, 'every function that reads held keys is PARALLEL SAFE');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE oid = 'ef_held_keys()'::regprocedure), 'r',
	'ef_held_keys() lists the leader''s keys: PARALLEL RESTRICTED');
SELECT is((SELECT count(*)::int FROM pg_proc
	WHERE oid IN ('ef_unlock(integer,bytea,text,text)'::regprocedure, 'ef_lock()'::regprocedure,
	              'ef_register_key(integer,bytea,text,text)'::regprocedure, 'ef_retire_key(integer)'::regprocedure,
	              'ef_rotate_index_key(text)'::regprocedure)
	  AND proparallel = 'u' AND provolatile = 'v'), 5,
	'every function that changes the key store or the registry is VOLATILE PARALLEL UNSAFE');
-- and the one behind the operators: they read only a value's term, never a
-- key, so comparing, sorting and hashing work anywhere and with no key held
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text COLLATE "C") FROM pg_proc p
	WHERE p.oid IN (SELECT oprcode FROM pg_operator WHERE oprleft IN ('encrypted_field'::regtype, 'encrypted_field_term'::regtype)
	                UNION SELECT amproc FROM pg_amproc
	                WHERE amprocfamily IN (SELECT oid FROM pg_opfamily WHERE opfname = 'encrypted_field_ops'))
	  AND NOT (p.provolatile = 'i' AND p.proparallel = 's' AND p.proisstrict)), NULL,
	'every operator and operator class support function is IMMUTABLE, STRICT and PARALLEL SAFE');
SELECT volatility_is('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer', 'text', 'text'], 'volatile',
	'ef_encrypt is VOLATILE: each call draws a new data key');
SELECT volatility_is('ef_term', ARRAY['text', 'text', 'text'], 'stable',
	'ef_term is STABLE: the same value gives the same term while the index key is held');
SELECT volatility_is('ef_key_id', ARRAY['encrypted_field'], 'immutable', 'ef_key_id is IMMUTABLE');
SELECT volatility_is('ef_envelope', ARRAY['encrypted_field'], 'immutable', 'ef_envelope is IMMUTABLE');
-- and, behaviourally, ef_encrypt is not folded: two calls in one statement differ
SAVEPOINT keys;
SELECT ef_unlock(1);
SELECT isnt(ef_send(ef_encrypt('same')), ef_send(ef_encrypt('same')),
	'two encryptions of the same plaintext in one statement differ');
SELECT is(ef_term('same')::text, ef_term('same')::text, 'two terms of the same plaintext in one statement are equal');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- operators: searchable values compare with each other and with terms,
-- and terms with each other
SELECT has_operator('encrypted_field', '=', 'encrypted_field', 'boolean', '= (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '<>', 'encrypted_field', 'boolean', '<> (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '<', 'encrypted_field', 'boolean', '< (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '<=', 'encrypted_field', 'boolean', '<= (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '>', 'encrypted_field', 'boolean', '> (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '>=', 'encrypted_field', 'boolean', '>= (encrypted_field, encrypted_field) exists');
SELECT has_operator('encrypted_field', '=', 'encrypted_field_term', 'boolean',
	'= (encrypted_field, encrypted_field_term) exists');
SELECT has_operator('encrypted_field', '<>', 'encrypted_field_term', 'boolean',
	'<> (encrypted_field, encrypted_field_term) exists');
SELECT has_operator('encrypted_field_term', '=', 'encrypted_field', 'boolean',
	'= (encrypted_field_term, encrypted_field) exists');
SELECT has_operator('encrypted_field_term', '<>', 'encrypted_field', 'boolean',
	'<> (encrypted_field_term, encrypted_field) exists');
-- values order against terms, and terms among themselves, as by their terms
SELECT has_operator(l, o, r, 'boolean', format('%s (%s, %s) exists', o, l, r))
FROM (VALUES ('encrypted_field'::name, 'encrypted_field_term'::name), ('encrypted_field_term', 'encrypted_field'),
	('encrypted_field_term', 'encrypted_field_term')) t(l, r),
	unnest(ARRAY['<', '<=', '>', '>=']::name[]) o
ORDER BY 1;
SELECT has_operator('encrypted_field_term', '=', 'encrypted_field_term', 'boolean',
	'= (encrypted_field_term, encrypted_field_term) exists');
SELECT has_operator('encrypted_field_term', '<>', 'encrypted_field_term', 'boolean',
	'<> (encrypted_field_term, encrypted_field_term) exists');
-- nothing else, and each with the implementation, commutator, negator,
-- estimators and HASHES/MERGES of the install script
SELECT results_eq(
	$$SELECT o.oid::regoperator::text, o.oprresult::regtype::text, o.oprcode::text, o.oprcom::regoperator::text,
	         o.oprnegate::regoperator::text, o.oprcanhash, o.oprcanmerge, o.oprrest::text, o.oprjoin::text
	  FROM pg_operator o
	  JOIN pg_depend d ON d.classid = 'pg_operator'::regclass AND d.objid = o.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
	  ORDER BY o.oid::regoperator::text COLLATE "C"$$,
	$$VALUES
	('<(encrypted_field,encrypted_field)', 'boolean', 'ef_lt', '>(encrypted_field,encrypted_field)',
	 '>=(encrypted_field,encrypted_field)', false, false, 'scalarltsel', 'scalarltjoinsel'),
	('<(encrypted_field,encrypted_field_term)', 'boolean', 'ef_lt_term', '>(encrypted_field_term,encrypted_field)',
	 '>=(encrypted_field,encrypted_field_term)', false, false, 'scalarltsel', 'scalarltjoinsel'),
	('<(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_lt', '>(encrypted_field,encrypted_field_term)',
	 '>=(encrypted_field_term,encrypted_field)', false, false, 'scalarltsel', 'scalarltjoinsel'),
	('<(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_lt_term', '>(encrypted_field_term,encrypted_field_term)',
	 '>=(encrypted_field_term,encrypted_field_term)', false, false, 'scalarltsel', 'scalarltjoinsel'),
	('<=(encrypted_field,encrypted_field)', 'boolean', 'ef_le', '>=(encrypted_field,encrypted_field)',
	 '>(encrypted_field,encrypted_field)', false, false, 'scalarlesel', 'scalarlejoinsel'),
	('<=(encrypted_field,encrypted_field_term)', 'boolean', 'ef_le_term', '>=(encrypted_field_term,encrypted_field)',
	 '>(encrypted_field,encrypted_field_term)', false, false, 'scalarlesel', 'scalarlejoinsel'),
	('<=(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_le', '>=(encrypted_field,encrypted_field_term)',
	 '>(encrypted_field_term,encrypted_field)', false, false, 'scalarlesel', 'scalarlejoinsel'),
	('<=(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_le_term', '>=(encrypted_field_term,encrypted_field_term)',
	 '>(encrypted_field_term,encrypted_field_term)', false, false, 'scalarlesel', 'scalarlejoinsel'),
	('<>(encrypted_field,encrypted_field)', 'boolean', 'ef_ne', '<>(encrypted_field,encrypted_field)',
	 '=(encrypted_field,encrypted_field)', false, false, 'neqsel', 'neqjoinsel'),
	('<>(encrypted_field,encrypted_field_term)', 'boolean', 'ef_ne_term', '<>(encrypted_field_term,encrypted_field)',
	 '=(encrypted_field,encrypted_field_term)', false, false, 'neqsel', 'neqjoinsel'),
	('<>(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_ne', '<>(encrypted_field,encrypted_field_term)',
	 '=(encrypted_field_term,encrypted_field)', false, false, 'neqsel', 'neqjoinsel'),
	('<>(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_ne_term', '<>(encrypted_field_term,encrypted_field_term)',
	 '=(encrypted_field_term,encrypted_field_term)', false, false, 'neqsel', 'neqjoinsel'),
	('=(encrypted_field,encrypted_field)', 'boolean', 'ef_eq', '=(encrypted_field,encrypted_field)',
	 '<>(encrypted_field,encrypted_field)', true, true, 'eqsel', 'eqjoinsel'),
	('=(encrypted_field,encrypted_field_term)', 'boolean', 'ef_eq_term', '=(encrypted_field_term,encrypted_field)',
	 '<>(encrypted_field,encrypted_field_term)', true, true, 'eqsel', 'eqjoinsel'),
	('=(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_eq', '=(encrypted_field,encrypted_field_term)',
	 '<>(encrypted_field_term,encrypted_field)', true, true, 'eqsel', 'eqjoinsel'),
	('=(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_eq_term', '=(encrypted_field_term,encrypted_field_term)',
	 '<>(encrypted_field_term,encrypted_field_term)', true, true, 'eqsel', 'eqjoinsel'),
	('>(encrypted_field,encrypted_field)', 'boolean', 'ef_gt', '<(encrypted_field,encrypted_field)',
	 '<=(encrypted_field,encrypted_field)', false, false, 'scalargtsel', 'scalargtjoinsel'),
	('>(encrypted_field,encrypted_field_term)', 'boolean', 'ef_gt_term', '<(encrypted_field_term,encrypted_field)',
	 '<=(encrypted_field,encrypted_field_term)', false, false, 'scalargtsel', 'scalargtjoinsel'),
	('>(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_gt', '<(encrypted_field,encrypted_field_term)',
	 '<=(encrypted_field_term,encrypted_field)', false, false, 'scalargtsel', 'scalargtjoinsel'),
	('>(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_gt_term', '<(encrypted_field_term,encrypted_field_term)',
	 '<=(encrypted_field_term,encrypted_field_term)', false, false, 'scalargtsel', 'scalargtjoinsel'),
	('>=(encrypted_field,encrypted_field)', 'boolean', 'ef_ge', '<=(encrypted_field,encrypted_field)',
	 '<(encrypted_field,encrypted_field)', false, false, 'scalargesel', 'scalargejoinsel'),
	('>=(encrypted_field,encrypted_field_term)', 'boolean', 'ef_ge_term', '<=(encrypted_field_term,encrypted_field)',
	 '<(encrypted_field,encrypted_field_term)', false, false, 'scalargesel', 'scalargejoinsel'),
	('>=(encrypted_field_term,encrypted_field)', 'boolean', 'ef_term_ge', '<=(encrypted_field,encrypted_field_term)',
	 '<(encrypted_field_term,encrypted_field)', false, false, 'scalargesel', 'scalargejoinsel'),
	('>=(encrypted_field_term,encrypted_field_term)', 'boolean', 'ef_term_ge_term', '<=(encrypted_field_term,encrypted_field_term)',
	 '<(encrypted_field_term,encrypted_field_term)', false, false, 'scalargesel', 'scalargejoinsel')$$,
	'the extension holds exactly the documented operators, each marked as the install script declares');

-- operator classes: btree (ordering, UNIQUE, merge joins) and hash (hash
-- indexes, joins, aggregation and partitioning), the defaults for
-- encrypted_field and for encrypted_field_term
SELECT has_opclass('encrypted_field_ops', 'the operator class encrypted_field_ops exists');
SELECT has_opclass('encrypted_field_term_ops', 'the operator class encrypted_field_term_ops exists');
SELECT results_eq(
	$$SELECT a.amname::text COLLATE "default", c.opcname::text COLLATE "default", c.opcintype::regtype::text, c.opcdefault, f.opfname::text COLLATE "default",
	         c.opckeytype::regtype::text
	  FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
	  JOIN pg_depend d ON d.classid = 'pg_opclass'::regclass AND d.objid = c.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
	  ORDER BY 1, 2$$,
	$$VALUES ('btree', 'encrypted_field_ops', 'encrypted_field', true, 'encrypted_field_ops', '-'),
	         ('btree', 'encrypted_field_term_ops', 'encrypted_field_term', true, 'encrypted_field_ops', '-'),
	         ('hash', 'encrypted_field_ops', 'encrypted_field', true, 'encrypted_field_ops', '-'),
	         ('hash', 'encrypted_field_term_ops', 'encrypted_field_term', true, 'encrypted_field_ops', '-')$$,
	'encrypted_field_ops and encrypted_field_term_ops are the default btree and hash operator classes of values and terms, in one family per method');
SELECT results_eq(
	$$SELECT a.amname::text COLLATE "default", f.opfname::text COLLATE "default" FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod
	  JOIN pg_depend d ON d.classid = 'pg_opfamily'::regclass AND d.objid = f.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
	  ORDER BY 1$$,
	$$VALUES ('btree', 'encrypted_field_ops'), ('hash', 'encrypted_field_ops')$$,
	'the extension holds exactly two operator families: btree and hash encrypted_field_ops');
SELECT results_eq(
	$$SELECT a.amname::text COLLATE "default", o.amopstrategy::int, o.amopopr::regoperator::text, o.amoppurpose::text
	  FROM pg_amop o JOIN pg_opfamily f ON f.oid = o.amopfamily JOIN pg_am a ON a.oid = f.opfmethod
	  WHERE f.opfname = 'encrypted_field_ops'
	  ORDER BY 1, 2, o.amopopr::regoperator::text COLLATE "C"$$,
	$$VALUES ('btree', 1, '<(encrypted_field,encrypted_field)', 's'),
	         ('btree', 1, '<(encrypted_field,encrypted_field_term)', 's'),
	         ('btree', 1, '<(encrypted_field_term,encrypted_field)', 's'),
	         ('btree', 1, '<(encrypted_field_term,encrypted_field_term)', 's'),
	         ('btree', 2, '<=(encrypted_field,encrypted_field)', 's'),
	         ('btree', 2, '<=(encrypted_field,encrypted_field_term)', 's'),
	         ('btree', 2, '<=(encrypted_field_term,encrypted_field)', 's'),
	         ('btree', 2, '<=(encrypted_field_term,encrypted_field_term)', 's'),
	         ('btree', 3, '=(encrypted_field,encrypted_field)', 's'),
	         ('btree', 3, '=(encrypted_field,encrypted_field_term)', 's'),
	         ('btree', 3, '=(encrypted_field_term,encrypted_field)', 's'),
	         ('btree', 3, '=(encrypted_field_term,encrypted_field_term)', 's'),
	         ('btree', 4, '>=(encrypted_field,encrypted_field)', 's'),
	         ('btree', 4, '>=(encrypted_field,encrypted_field_term)', 's'),
	         ('btree', 4, '>=(encrypted_field_term,encrypted_field)', 's'),
	         ('btree', 4, '>=(encrypted_field_term,encrypted_field_term)', 's'),
	         ('btree', 5, '>(encrypted_field,encrypted_field)', 's'),
	         ('btree', 5, '>(encrypted_field,encrypted_field_term)', 's'),
	         ('btree', 5, '>(encrypted_field_term,encrypted_field)', 's'),
	         ('btree', 5, '>(encrypted_field_term,encrypted_field_term)', 's'),
	         ('hash', 1, '=(encrypted_field,encrypted_field)', 's'),
	         ('hash', 1, '=(encrypted_field,encrypted_field_term)', 's'),
	         ('hash', 1, '=(encrypted_field_term,encrypted_field)', 's'),
	         ('hash', 1, '=(encrypted_field_term,encrypted_field_term)', 's')$$,
	'each family has every operator between values and terms, both ways, and between two of each');
SELECT results_eq(
	$$SELECT a.amname::text COLLATE "default", p.amproclefttype::regtype::text, p.amprocrighttype::regtype::text, p.amprocnum::int,
	         p.amproc::regprocedure::text
	  FROM pg_amproc p JOIN pg_opfamily f ON f.oid = p.amprocfamily JOIN pg_am a ON a.oid = f.opfmethod
	  WHERE f.opfname = 'encrypted_field_ops'
	  ORDER BY 1, 2, 3, 4$$,
	$$VALUES ('btree', 'encrypted_field', 'encrypted_field', 1, 'ef_cmp(encrypted_field,encrypted_field)'),
	         ('btree', 'encrypted_field', 'encrypted_field_term', 1, 'ef_cmp_term(encrypted_field,encrypted_field_term)'),
	         ('btree', 'encrypted_field_term', 'encrypted_field', 1, 'ef_term_cmp(encrypted_field_term,encrypted_field)'),
	         ('btree', 'encrypted_field_term', 'encrypted_field_term', 1, 'ef_term_cmp_term(encrypted_field_term,encrypted_field_term)'),
	         ('btree', 'encrypted_field_term', 'encrypted_field_term', 4, 'btequalimage(oid)'),
	         ('hash', 'encrypted_field', 'encrypted_field', 1, 'ef_hash(encrypted_field)'),
	         ('hash', 'encrypted_field', 'encrypted_field', 2, 'ef_hash_extended(encrypted_field,bigint)'),
	         ('hash', 'encrypted_field_term', 'encrypted_field_term', 1, 'ef_term_hash(encrypted_field_term)'),
	         ('hash', 'encrypted_field_term', 'encrypted_field_term', 2, 'ef_term_hash_extended(encrypted_field_term,bigint)')$$,
	'the support functions: a comparison for each pair of types (ef_term_cmp_term also sorts = ANY arrays) and deduplication of terms for btree, standard and seeded hashes of each type for hash');

SELECT * FROM finish();
ROLLBACK;

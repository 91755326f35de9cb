-- Registry invariants and the object inventory: the ef_keys table, its
-- constraints and pg_dump marking, what a fingerprint may never be, who may
-- touch the registry and the key functions, and every function's signature,
-- volatility and parallel marking as the install script declares them.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(120);

CREATE EXTENSION encrypted_field;

-- fixed test keys: a real key comes from a CSPRNG and never appears in SQL
CREATE FUNCTION tap_key(n integer) RETURNS bytea LANGUAGE sql IMMUTABLE
	AS $$ SELECT sha256(convert_to('tap key ' || n, 'UTF8')) $$;

CREATE ROLE ef_tap_fresh;

-- ---------------------------------------------------------------------------
-- The table
-- ---------------------------------------------------------------------------
SELECT has_table('ef_keys', 'the key registry table exists');
SELECT columns_are('ef_keys', ARRAY['key_id', 'fingerprint', 'created_at', 'retired_at', 'comment'],
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
DELETE FROM ef_keys WHERE key_id = 100;

-- ---------------------------------------------------------------------------
-- Fingerprints: a check value, never the key nor a plain hash of it
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT ef_register_key(1, tap_key(1), 'first tap key')$$, 'register key 1');
SELECT lives_ok($$SELECT ef_register_key(2, tap_key(1), 'the same key under a second id')$$,
	'the same key may be registered under a second id');
SELECT lives_ok($$SELECT ef_register_key(3, tap_key(3))$$, 'register key 3 without a comment');

SELECT results_eq(
	$$SELECT key_id, octet_length(fingerprint), comment, created_at = now(), retired_at IS NULL
	  FROM ef_keys ORDER BY key_id$$,
	$$VALUES (1, 16, 'first tap key'::text, true, true),
	         (2, 16, 'the same key under a second id', true, true),
	         (3, 16, NULL, true, true)$$,
	'each registered key has one row: 16-byte fingerprint, comment, creation time, not retired');

SELECT is((SELECT count(*)::int FROM ef_keys k, generate_series(1, 17) i
	WHERE substring(tap_key(CASE k.key_id WHEN 2 THEN 1 ELSE k.key_id END) FROM i FOR 16) = k.fingerprint),
	0, 'no fingerprint equals any 16-byte window of its key');
SELECT is((SELECT count(*)::int FROM ef_keys k, generate_series(1, 25) i
	WHERE position(substring(tap_key(CASE k.key_id WHEN 2 THEN 1 ELSE k.key_id END) FROM i FOR 8) IN k.fingerprint) > 0),
	0, 'no fingerprint contains any 8-byte window of its key');
SELECT is((SELECT count(*)::int FROM ef_keys k, LATERAL (SELECT tap_key(CASE k.key_id WHEN 2 THEN 1 ELSE k.key_id END) AS key) x
	WHERE k.fingerprint IN (substring(sha256(x.key) FROM 1 FOR 16), substring(sha256(x.key) FROM 17 FOR 16),
		substring(sha224(x.key) FROM 1 FOR 16), substring(sha512(x.key) FROM 1 FOR 16),
		decode(md5(x.key), 'hex'), substring(x.key FROM 1 FOR 16), substring(x.key FROM 17 FOR 16))),
	0, 'no fingerprint is a plain hash of its key (sha256/sha224/sha512 prefix, sha256 suffix, md5) or a half of it');
SELECT isnt((SELECT fingerprint FROM ef_keys WHERE key_id = 1), (SELECT fingerprint FROM ef_keys WHERE key_id = 2),
	'the same key registered under two ids has two different fingerprints');
SELECT isnt((SELECT fingerprint FROM ef_keys WHERE key_id = 1), (SELECT fingerprint FROM ef_keys WHERE key_id = 3),
	'two different keys have different fingerprints');
SELECT is((SELECT count(*)::int FROM ef_keys k, generate_series(1, 3) n
	WHERE position(encode(tap_key(n), 'hex') IN k::text) > 0
	   OR position(upper(encode(tap_key(n), 'hex')) IN upper(k::text)) > 0
	   OR position(encode(tap_key(n), 'base64') IN k::text) > 0
	   OR position(tap_key(n) IN convert_to(k::text, 'UTF8')) > 0),
	0, 'no registry row holds a key in hex, base64 or raw form');

-- a registered id is never replaced
CREATE TEMP TABLE before_dup AS SELECT * FROM ef_keys WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_register_key(1, tap_key(9), 'replacement attempt')$$,
	'42710', 'master key 1 is already registered', 'registering an id twice fails with 42710');
SELECT throws_ok($$SELECT ef_register_key(1, tap_key(1))$$,
	'42710', 'master key 1 is already registered', 'registering the same key under the same id again fails too');
SELECT results_eq($$SELECT * FROM ef_keys WHERE key_id = 1$$, $$SELECT * FROM before_dup$$,
	'the row of key 1 is unchanged by the refused registrations');

-- retiring stamps the row and keeps the first date
SELECT lives_ok($$SELECT ef_retire_key(3)$$, 'retire key 3');
SELECT ok((SELECT retired_at IS NOT NULL FROM ef_keys WHERE key_id = 3), 'ef_retire_key sets retired_at');
SELECT is((SELECT count(*)::int FROM ef_keys WHERE retired_at IS NOT NULL), 1, 'only the retired key is marked');

-- ef_unlock checks the key against the fingerprint stored in this table
SELECT lives_ok($$SELECT ef_unlock(1, tap_key(1))$$, 'the registered key unlocks');
SELECT ef_lock();
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM ef_keys WHERE key_id = 2) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_unlock(1, tap_key(1))$$, '28P01', NULL,
	'the right key no longer unlocks id 1 once its row holds the fingerprint of that key under id 2');
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM before_dup) WHERE key_id = 1;
SELECT lives_ok($$SELECT ef_unlock(1, tap_key(1))$$, 'restoring the fingerprint restores the unlock');
SELECT ef_lock();
DELETE FROM ef_keys WHERE key_id = 2;
SELECT throws_ok($$SELECT ef_unlock(2, tap_key(1))$$, '42704', 'master key 2 is not registered',
	'a key whose row was deleted is no longer registered');

-- pg_dump: the registry is extension configuration, dumped in full
SELECT ok((SELECT 'ef_keys'::regclass::oid = ANY (extconfig) FROM pg_extension WHERE extname = 'encrypted_field'),
	'ef_keys is marked with pg_extension_config_dump');
SELECT is((SELECT extcondition[array_position(extconfig, 'ef_keys'::regclass::oid)]
	FROM pg_extension WHERE extname = 'encrypted_field'), '',
	'every row of ef_keys is dumped (empty filter condition)');

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
SELECT table_privs_are('ef_keys', 'public', ARRAY['SELECT'], 'PUBLIC may only SELECT from ef_keys');
SELECT table_privs_are('ef_keys', 'ef_tap_fresh', ARRAY['SELECT'], 'a fresh role may only SELECT from ef_keys');
SELECT function_privs_are('ef_register_key', ARRAY['integer', 'bytea', 'text'], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_register_key');
SELECT function_privs_are('ef_register_key', ARRAY['integer', 'bytea', 'text'], 'ef_tap_fresh', ARRAY[]::name[],
	'a fresh role may not execute ef_register_key');
SELECT function_privs_are('ef_retire_key', ARRAY['integer'], 'public', ARRAY[]::name[],
	'PUBLIC may not execute ef_retire_key');
SELECT function_privs_are('ef_retire_key', ARRAY['integer'], 'ef_tap_fresh', ARRAY[]::name[],
	'a fresh role may not execute ef_retire_key');
SELECT function_privs_are(f, a, r, ARRAY['EXECUTE'], format('%s may execute %s(%s)', r, f, array_to_string(a, ', ')))
FROM (VALUES ('ef_unlock'::name, ARRAY['integer', 'bytea', 'text']::name[]),
	('ef_lock', ARRAY[]::name[]),
	('ef_encrypt', ARRAY['anyelement', 'text', 'boolean', 'integer']),
	('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer']),
	('ef_decrypt', ARRAY['encrypted_field', 'text'])) fns(f, a),
	(VALUES ('public'::name), ('ef_tap_fresh')) roles(r)
ORDER BY r, f, a;
SELECT function_privs_are(f, a, 'public', ARRAY['EXECUTE'], format('public may execute %s(%s)', f, array_to_string(a, ', ')))
FROM (VALUES ('ef_held_keys'::name, ARRAY[]::name[]),
	('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text']),
	('ef_rewrap', ARRAY['encrypted_field', 'integer']),
	('ef_key_id', ARRAY['encrypted_field']),
	('ef_envelope', ARRAY['encrypted_field']),
	('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer'])) fns(f, a)
ORDER BY f;

-- what the privileges mean in practice, for a role granted nothing
SET ROLE ef_tap_fresh;
SELECT throws_ok($$SELECT ef_register_key(50, tap_key(50))$$, '42501', NULL,
	'a fresh role cannot register a key');
SELECT throws_ok($$SELECT ef_retire_key(1)$$, '42501', NULL, 'a fresh role cannot retire a key');
SELECT throws_ok($$INSERT INTO ef_keys (key_id, fingerprint) VALUES (51, '\x000102030405060708090a0b0c0d0e0f')$$,
	'42501', NULL, 'a fresh role cannot insert into ef_keys');
SELECT throws_ok($$UPDATE ef_keys SET retired_at = now()$$, '42501', NULL, 'a fresh role cannot update ef_keys');
SELECT throws_ok($$DELETE FROM ef_keys$$, '42501', NULL, 'a fresh role cannot delete from ef_keys');
SELECT is((SELECT count(*)::int FROM ef_keys), 2, 'a fresh role can read the registry');
SELECT lives_ok($$SELECT ef_unlock(1, tap_key(1))$$, 'a fresh role can unlock a registered key');
SELECT is(ef_decrypt(ef_encrypt('fresh role data')), 'fresh role data', 'a fresh role can encrypt and decrypt');
SELECT ef_lock();
RESET ROLE;
SELECT is((SELECT count(*)::int FROM ef_keys WHERE retired_at IS NOT NULL), 1,
	'the registry is unchanged by the refused writes');

-- ---------------------------------------------------------------------------
-- The inventory: type, composite, functions, their markings
-- ---------------------------------------------------------------------------
SELECT has_type('encrypted_field', 'the encrypted_field type exists');
SELECT has_composite('encrypted_field_envelope', 'the encrypted_field_envelope composite type exists');
SELECT is(
	(SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute
	  WHERE attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'encrypted_field_envelope'::regtype)
	    AND attnum > 0 AND NOT attisdropped),
	ARRAY['version integer', 'flags integer', 'key_id integer', 'plaintext_type regtype',
	      'wrapped_key bytea', 'nonce bytea', 'ciphertext bytea', 'tag bytea'],
	'encrypted_field_envelope has the documented parts in order');
SELECT results_eq(
	$$SELECT typlen::int, typstorage::text, typinput::text, typoutput::text, typreceive::text, typsend::text
	  FROM pg_type WHERE oid = 'encrypted_field'::regtype$$,
	$$VALUES (-1, 'e', 'ef_in', 'ef_out', 'ef_recv', 'ef_send')$$,
	'encrypted_field is a varlena with external storage and text and binary I/O');
SELECT is((SELECT count(*)::int FROM pg_cast
	WHERE casttarget = 'encrypted_field'::regtype OR castsource = 'encrypted_field'::regtype),
	0, 'no cast into or out of encrypted_field bypasses input validation');

SELECT has_function('ef_in', ARRAY['cstring'], 'ef_in(cstring) exists');
SELECT has_function('ef_out', ARRAY['encrypted_field'], 'ef_out(encrypted_field) exists');
SELECT has_function('ef_recv', ARRAY['internal'], 'ef_recv(internal) exists');
SELECT has_function('ef_send', ARRAY['encrypted_field'], 'ef_send(encrypted_field) exists');
SELECT has_function('ef_register_key', ARRAY['integer', 'bytea', 'text'], 'ef_register_key(integer, bytea, text) exists');
SELECT has_function('ef_retire_key', ARRAY['integer'], 'ef_retire_key(integer) exists');
SELECT has_function('ef_unlock', ARRAY['integer', 'bytea', 'text'], 'ef_unlock(integer, bytea, text) exists');
SELECT has_function('ef_lock', ARRAY[]::name[], 'ef_lock() exists');
SELECT has_function('ef_held_keys', ARRAY[]::name[], 'ef_held_keys() exists');
SELECT has_function('ef_encrypt', ARRAY['anyelement', 'text', 'boolean', 'integer'],
	'ef_encrypt(anyelement, text, boolean, integer) exists');
SELECT has_function('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer'],
	'ef_encrypt(text, text, boolean, integer) exists, for untyped literals');
SELECT has_function('ef_encrypt', ARRAY['character varying', 'text', 'boolean', 'integer'],
	'ef_encrypt(varchar, text, boolean, integer) exists, so varchar is recorded as varchar');
SELECT has_function('ef_encrypt', ARRAY['character', 'text', 'boolean', 'integer'],
	'ef_encrypt(character, text, boolean, integer) exists, so char(n) is recorded as char');
SELECT has_function('ef_decrypt', ARRAY['encrypted_field', 'text'], 'ef_decrypt(encrypted_field, text) exists');
SELECT has_function('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text'],
	'ef_decrypt_as(encrypted_field, anyelement, text) exists');
SELECT has_function('ef_rewrap', ARRAY['encrypted_field', 'integer'], 'ef_rewrap(encrypted_field, integer) exists');
SELECT has_function('ef_key_id', ARRAY['encrypted_field'], 'ef_key_id(encrypted_field) exists');
SELECT has_function('ef_envelope', ARRAY['encrypted_field'], 'ef_envelope(encrypted_field) exists');
SELECT has_function('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer'],
	'ef_rewrap_column(regclass, name, integer, integer) exists');
SELECT is_procedure('ef_rewrap_column', ARRAY['regclass', 'name', 'integer', 'integer'],
	'ef_rewrap_column is a procedure, so that it can commit each batch');

-- nothing else: an extra function would need its own markings and privileges
SELECT set_eq(
	$$SELECT p.oid::regprocedure::text FROM pg_proc p
	  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'$$,
	ARRAY['ef_in(cstring)', 'ef_out(encrypted_field)', 'ef_recv(internal)', 'ef_send(encrypted_field)',
	      'ef_register_key(integer,bytea,text)', 'ef_retire_key(integer)', 'ef_unlock(integer,bytea,text)',
	      'ef_lock()', 'ef_held_keys()', 'ef_encrypt(anyelement,text,boolean,integer)',
	      'ef_encrypt(text,text,boolean,integer)', 'ef_encrypt(character varying,text,boolean,integer)',
	      'ef_encrypt(character,text,boolean,integer)', 'ef_decrypt(encrypted_field,text)',
	      'ef_decrypt_as(encrypted_field,anyelement,text)', 'ef_rewrap(encrypted_field,integer)',
	      'ef_key_id(encrypted_field)', 'ef_envelope(encrypted_field)',
	      'ef_rewrap_column(regclass,name,integer,integer)'],
	'the extension holds exactly the documented functions and procedures');

SELECT function_returns('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer'], 'encrypted_field',
	'ef_encrypt returns encrypted_field');
SELECT function_returns('ef_decrypt', ARRAY['encrypted_field', 'text'], 'text', 'ef_decrypt returns text');
SELECT function_returns('ef_decrypt_as', ARRAY['encrypted_field', 'anyelement', 'text'], 'anyelement',
	'ef_decrypt_as returns its second argument''s type');
SELECT function_returns('ef_rewrap', ARRAY['encrypted_field', 'integer'], 'encrypted_field',
	'ef_rewrap returns encrypted_field');
SELECT function_returns('ef_key_id', ARRAY['encrypted_field'], 'integer', 'ef_key_id returns integer');
SELECT function_returns('ef_envelope', ARRAY['encrypted_field'], 'encrypted_field_envelope',
	'ef_envelope returns encrypted_field_envelope');
SELECT function_returns('ef_lock', ARRAY[]::name[], 'integer', 'ef_lock returns the number of keys forgotten');
SELECT function_returns('ef_held_keys', ARRAY[]::name[], 'setof record', 'ef_held_keys returns a set of rows');
SELECT function_returns('ef_unlock', ARRAY['integer', 'bytea', 'text'], 'void', 'ef_unlock returns void');

-- volatility, parallel safety and strictness, exactly as the install script declares
SELECT results_eq(
	$$SELECT p.oid::regprocedure::text, p.provolatile::text, p.proparallel::text, p.proisstrict FROM pg_proc p
	  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
	  ORDER BY 1$$,
	$$VALUES ('ef_decrypt(encrypted_field,text)', 's', 'r', false),
	         ('ef_decrypt_as(encrypted_field,anyelement,text)', 's', 'r', false),
	         ('ef_encrypt(anyelement,text,boolean,integer)', 'v', 'r', false),
	         ('ef_encrypt(character varying,text,boolean,integer)', 'v', 'r', false),
	         ('ef_encrypt(character,text,boolean,integer)', 'v', 'r', false),
	         ('ef_encrypt(text,text,boolean,integer)', 'v', 'r', false),
	         ('ef_envelope(encrypted_field)', 'i', 's', true),
	         ('ef_held_keys()', 'v', 'r', false),
	         ('ef_in(cstring)', 'i', 's', true),
	         ('ef_key_id(encrypted_field)', 'i', 's', true),
	         ('ef_lock()', 'v', 'u', false),
	         ('ef_out(encrypted_field)', 'i', 's', true),
	         ('ef_recv(internal)', 'i', 's', true),
	         ('ef_register_key(integer,bytea,text)', 'v', 'u', false),
	         ('ef_retire_key(integer)', 'v', 'u', true),
	         ('ef_rewrap(encrypted_field,integer)', 's', 'r', false),
	         ('ef_rewrap_column(regclass,name,integer,integer)', 'v', 'u', false),
	         ('ef_send(encrypted_field)', 'i', 's', true),
	         ('ef_unlock(integer,bytea,text)', 'v', 'u', false)$$,
	'every function and procedure has the volatility, parallel marking and strictness of the install script');
-- the invariant behind the parallel markings: no function that reads the
-- backend's keys may run in a parallel worker, which never holds them
SELECT is((SELECT count(*)::int FROM pg_proc
	WHERE oid IN ('ef_encrypt(anyelement,text,boolean,integer)'::regprocedure,
	              'ef_encrypt(text,text,boolean,integer)'::regprocedure,
	              'ef_encrypt(character varying,text,boolean,integer)'::regprocedure,
	              'ef_encrypt(character,text,boolean,integer)'::regprocedure,
	              'ef_decrypt(encrypted_field,text)'::regprocedure,
	              'ef_decrypt_as(encrypted_field,anyelement,text)'::regprocedure,
	              'ef_rewrap(encrypted_field,integer)'::regprocedure,
	              'ef_held_keys()'::regprocedure)
	  AND proparallel = 'r'), 8, 'every function that reads held keys is PARALLEL RESTRICTED');
SELECT is((SELECT count(*)::int FROM pg_proc
	WHERE oid IN ('ef_unlock(integer,bytea,text)'::regprocedure, 'ef_lock()'::regprocedure,
	              'ef_register_key(integer,bytea,text)'::regprocedure, 'ef_retire_key(integer)'::regprocedure)
	  AND proparallel = 'u' AND provolatile = 'v'), 4,
	'every function that changes the key store or the registry is VOLATILE PARALLEL UNSAFE');
SELECT volatility_is('ef_encrypt', ARRAY['text', 'text', 'boolean', 'integer'], 'volatile',
	'ef_encrypt is VOLATILE: each call draws a new data key');
SELECT volatility_is('ef_key_id', ARRAY['encrypted_field'], 'immutable', 'ef_key_id is IMMUTABLE');
SELECT volatility_is('ef_envelope', ARRAY['encrypted_field'], 'immutable', 'ef_envelope is IMMUTABLE');
-- and, behaviourally, ef_encrypt is not folded: two calls in one statement differ
SELECT ef_unlock(1, tap_key(1));
SELECT isnt(ef_send(ef_encrypt('same')), ef_send(ef_encrypt('same')),
	'two encryptions of the same plaintext in one statement differ');
SELECT ef_lock();

SELECT * FROM finish();
ROLLBACK;

-- The error contract: every failure has its own SQLSTATE and message
-- (sql/errors.sql and sql/type_io.sql show the full text), each next to the
-- call that succeeds.  Then: no error message, detail or hint ever holds the
-- master key or the plaintext involved.
--
-- The keys: this session was given tap keys 1, 2, 3, 9, 10, 20 and 50 at
-- connection start (encrypted_field.keys, test/t/001_pgtap.pl), and
-- ef_unlock(id) and ef_register_key(id) take them from there.  A key written
-- into a statement is refused (28EF1), as the refusals below check.
-- ef_lock() wipes the keys given at connection start as well, so this file
-- calls it once, at its end; before that the session lets go of the keys it
-- unlocked by rolling back to a savepoint taken before it unlocked them
-- (pgTAP numbers tests from a sequence, so the tests inside keep their
-- numbers, and a failure inside is still reported as "not ok").
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(189);

CREATE EXTENSION encrypted_field;

-- the keys this session was given (tap key N = sha256('tap key N')): to
-- write them into statements that must be refused, and to look for them
-- in error texts; never passed to a key function for it to use
CREATE FUNCTION tap_key(n integer) RETURNS bytea LANGUAGE sql IMMUTABLE
	AS $$ SELECT sha256(convert_to('tap key ' || n, 'UTF8')) $$;
-- the text form of raw envelope bytes, to feed crafted envelopes to input
CREATE FUNCTION tap_text(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'ef1:' || translate(encode(b, 'base64'), E'\n', '') $$;

SELECT ef_register_key(1, comment => 'tap key 1');
CREATE TABLE e (id int PRIMARY KEY, v encrypted_field);
CREATE TABLE s (id int PRIMARY KEY, v encrypted_field);
CREATE TABLE probe (t encrypted_field_term);
-- a secret, for the check that no error text holds it (at the end)
CREATE TEMP TABLE secret (v encrypted_field);

-- What needs keys is made in a savepoint, copied into psql variables, and
-- put back once the savepoint has rolled back, with the keys it unlocked
SAVEPOINT setup;
-- later keys wrap the database's index key, which a session holds once it
-- has unlocked a registered key
SELECT ef_unlock(1);
SELECT ef_register_key(2, comment => 'tap key 2');
SELECT ef_register_key(3, comment => 'tap key 3, to be retired');

-- values under key 1 (with and without a context), key 2, and key 3
SELECT ef_unlock(1);
INSERT INTO e VALUES (1, ef_encrypt('one')), (2, ef_encrypt('two', 'e.v.2')),
	(3, ef_encrypt('\x0001ff'::bytea));
-- searchable values under key 1 ('one' twice), and a stored probe for 'one'
INSERT INTO s VALUES (1, ef_encrypt('one', searchable => true)), (2, ef_encrypt('two', searchable => true)),
	(3, ef_encrypt('one', searchable => true));
INSERT INTO probe SELECT ef_term('one');
INSERT INTO secret SELECT ef_encrypt('Tap secret: the launch code is 0000-7391', 'secret.1');
SELECT ef_unlock(2);
INSERT INTO e VALUES (4, ef_encrypt('four'));
SELECT ef_unlock(3);
INSERT INTO e VALUES (5, ef_encrypt('five'));
SELECT (SELECT json_agg(r) FROM ef_keys r) AS setup_keys, (SELECT json_agg(r) FROM ef_index_keys r) AS setup_index_keys,
	(SELECT json_agg(r) FROM e r) AS setup_e, (SELECT json_agg(r) FROM s r) AS setup_s,
	(SELECT json_agg(r) FROM probe r) AS setup_probe, (SELECT json_agg(r) FROM secret r) AS setup_secret \gset
ROLLBACK TO SAVEPOINT setup;
RELEASE SAVEPOINT setup;
DELETE FROM ef_index_keys;
DELETE FROM ef_keys;
INSERT INTO ef_keys SELECT * FROM json_populate_recordset(NULL::ef_keys, :'setup_keys');
INSERT INTO ef_index_keys SELECT * FROM json_populate_recordset(NULL::ef_index_keys, :'setup_index_keys');
INSERT INTO e SELECT * FROM json_populate_recordset(NULL::e, :'setup_e');
INSERT INTO s SELECT * FROM json_populate_recordset(NULL::s, :'setup_s');
INSERT INTO probe SELECT * FROM json_populate_recordset(NULL::probe, :'setup_probe');
INSERT INTO secret SELECT * FROM json_populate_recordset(NULL::secret, :'setup_secret');
-- the registry as registered, to put back after tampering with it
CREATE TEMP TABLE registered AS SELECT key_id, fingerprint FROM ef_keys;

-- ---------------------------------------------------------------------------
-- No key held
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT ef_encrypt('x')$$, '55000', 'no master key is unlocked in this session',
	'ef_encrypt with no key held: 55000');
SELECT throws_ok($$SELECT ef_encrypt('\x01'::bytea)$$, '55000', 'no master key is unlocked in this session',
	'ef_encrypt of bytea with no key held: 55000');
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '55000', 'no master key is unlocked in this session',
	'ef_decrypt with no key held: 55000');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::text) FROM e WHERE id = 1$$, '55000',
	'no master key is unlocked in this session', 'ef_decrypt_as with no key held: 55000');
SELECT throws_ok($$SELECT ef_rewrap(v) FROM e WHERE id = 1$$, '55000', 'no master key is unlocked in this session',
	'ef_rewrap with no key held: 55000');
SELECT lives_ok($$SELECT ef_key_id(v), ef_envelope(v), v IS NULL FROM e$$,
	'ef_key_id and ef_envelope need no key');
SELECT lives_ok($$SELECT ef_encrypt(NULL::text), ef_decrypt(NULL)$$, 'NULL in, NULL out, with no key held');
SELECT throws_ok($$SELECT ef_term('x')$$, '55000', 'no index key is held in this session',
	'ef_term with no key held: 55000');
SELECT throws_ok($$SELECT ef_term(42, 'accounts.number')$$, '55000', 'no index key is held in this session',
	'ef_term of an integer, in a domain, with no key held: 55000');
SELECT throws_ok($$SELECT ef_terms('x')$$, '55000', 'no index key is held in this session',
	'ef_terms with no key held fails: the index keys come with a master key');
SELECT throws_ok($$SELECT ef_rotate_index_key()$$, '55000',
	'cannot rotate the index key without a master key held',
	'rotating the index key with no key held fails');
SAVEPOINT keys;
SELECT ef_unlock(1);
SELECT throws_ok($$SELECT ef_rotate_index_key()$$, '55000',
	'cannot rotate the index key without every master key of its group that is not retired',
	'rotating the index key without every active key fails');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
SELECT throws_ok($$SELECT ef_encrypt('x', searchable => true)$$, '55000', 'no master key is unlocked in this session',
	'a searchable ef_encrypt with no key held: 55000');
SELECT is(ef_term(NULL::text)::text, NULL, 'ef_term of NULL is NULL, with no key held');
SELECT is((SELECT count(DISTINCT v) || ' ' || count(*) FILTER (WHERE v = (SELECT t FROM probe)) FROM s), '2 2',
	'searchable values group and match a stored term with no key held');

-- ---------------------------------------------------------------------------
-- A key id the session does not hold
-- ---------------------------------------------------------------------------
SAVEPOINT keys;
SELECT ef_unlock(2);
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '55000', 'master key 1 is not unlocked in this session',
	'ef_decrypt of a value under a key not held: 55000');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::text) FROM e WHERE id = 1$$, '55000',
	'master key 1 is not unlocked in this session', 'ef_decrypt_as of a value under a key not held: 55000');
SELECT throws_ok($$SELECT ef_rewrap(v, 2) FROM e WHERE id = 1$$, '55000', 'master key 1 is not unlocked in this session',
	'ef_rewrap from a key not held: 55000');
SELECT throws_ok($$SELECT ef_rewrap(v, 1) FROM e WHERE id = 4$$, '55000', 'master key 1 is not unlocked in this session',
	'ef_rewrap to a key not held: 55000');
SELECT throws_ok($$SELECT ef_encrypt('x', key_id => 1)$$, '55000', 'master key 1 is not unlocked in this session',
	'ef_encrypt under a key not held: 55000');
SELECT lives_ok($$SELECT ef_encrypt('x', key_id => 2)$$, 'ef_encrypt under a held key succeeds');
SELECT is((SELECT ef_decrypt(v) FROM e WHERE id = 4), 'four', 'ef_decrypt of a value under a held key succeeds');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- ---------------------------------------------------------------------------
-- Unlocking
-- ---------------------------------------------------------------------------
-- (key 50 was given at connection start, and is never registered here)
SELECT throws_ok($$SELECT ef_unlock(50)$$, '42704', 'master key 50 is not registered',
	'unlocking an unregistered key id: 42704');
-- a wrong key: the session's key for id 1 is not the one the registry's row
-- names, since the row holds the fingerprint of another key (key 2's)
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM registered WHERE key_id = 2) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_unlock(1)$$, '28P01',
	'master key does not match the fingerprint registered for key 1', 'unlocking with the wrong key: 28P01');
UPDATE ef_keys k SET fingerprint = r.fingerprint FROM registered r WHERE r.key_id = k.key_id;
-- and the row of key 2 holding key 1's fingerprint, as registered under id 1
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM registered WHERE key_id = 1) WHERE key_id = 2;
SELECT throws_ok($$SELECT ef_unlock(2)$$, '28P01',
	'master key does not match the fingerprint registered for key 2', 'a registered key under another id: 28P01');
UPDATE ef_keys k SET fingerprint = r.fingerprint FROM registered r WHERE r.key_id = k.key_id;
-- a key of the wrong length is refused for its length, before anything else
SELECT throws_ok($$SELECT ef_unlock(1, '\x0102'::bytea)$$, '22023', 'master key must be 32 bytes long',
	'a 2-byte key: 22023');
SELECT throws_ok($$SELECT ef_unlock(1, substring(tap_key(1) FROM 1 FOR 31))$$, '22023',
	'master key must be 32 bytes long', 'a 31-byte key: 22023');
SELECT throws_ok($$SELECT ef_unlock(1, tap_key(1) || '\x00'::bytea)$$, '22023', 'master key must be 32 bytes long',
	'a 33-byte key: 22023');
SELECT throws_ok($$SELECT ef_unlock(1, tap_key(1) || tap_key(1))$$, '22023', 'master key must be 32 bytes long',
	'a 64-byte key: 22023');
SELECT throws_ok($$SELECT ef_unlock(1, ''::bytea)$$, '22023', 'master key must be 32 bytes long',
	'an empty key: 22023');
SELECT throws_ok($$SELECT ef_unlock(0)$$, '22023', 'key id must be positive', 'key id 0: 22023');
SELECT throws_ok($$SELECT ef_unlock(-1)$$, '22023', 'key id must be positive', 'key id -1: 22023');
SELECT throws_ok($$SELECT ef_unlock(NULL)$$, '22004', 'key id must not be null', 'a NULL key id: 22004');
-- a NULL key takes the key given at connection start: none was, for id 99
SELECT throws_ok($$SELECT ef_unlock(99, NULL)$$, '22004', 'no master key given for key 99',
	'a NULL key, and no key given at connection start for the id: 22004');
SELECT throws_ok($$SELECT ef_unlock(1, scope => 'forever')$$, '22023', 'invalid scope "forever"',
	'an unknown scope: 22023');
SELECT throws_ok($$SELECT ef_unlock(1, NULL, NULL)$$, '22004', 'scope must not be null', 'a NULL scope: 22004');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'no failed unlock holds a key');

-- a key written into a statement is refused, however it reaches the key
-- function: the statement's text was shown in pg_stat_activity, and may
-- have been logged.  Each refusal leaves the session holding no key.
PREPARE tap_prepared_unlock(bytea) AS SELECT ef_unlock(1, $1);
CREATE PROCEDURE tap_unlock_procedure(k bytea) LANGUAGE plpgsql AS $$ BEGIN PERFORM ef_unlock(1, k); END $$;
CREATE FUNCTION tap_unlock_function(k bytea) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM ef_unlock(1, k); END $$;
SELECT throws_ok(format($f$SELECT ef_unlock(1, %L::bytea)$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key as a bytea literal: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused bytea literal holds no key');
SELECT throws_ok(format($f$SELECT ef_unlock(1, %L::bytea, 'session', repeat('x', 201))$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter',
	'the right key as a literal with a reason too long and a scope: the exposed key is the error (28EF1)');
SELECT throws_ok(format($f$SELECT ef_unlock(1, %L::bytea, 'forever')$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter',
	'the right key as a literal with an unknown scope: the exposed key is the error (28EF1)');
SELECT throws_ok(format($f$SELECT ef_unlock(1, decode(%L, 'hex'))$f$, encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key through decode(''...'', ''hex''): 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused decode() holds no key');
SELECT throws_ok($$SELECT ef_unlock(1, tap_key(1))$$,
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key computed by a function, tap_key(1): 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused tap_key(1) holds no key');
SELECT throws_ok(format($f$DO $d$ BEGIN PERFORM ef_unlock(1, %L::bytea); END $d$$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key as a literal in a DO block: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused DO block holds no key');
SELECT throws_ok(format($f$EXECUTE tap_prepared_unlock(%L)$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter',
	'the right key as a literal argument of EXECUTE of a prepared statement: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused PREPARE/EXECUTE holds no key');
SELECT throws_ok(format($f$EXPLAIN ANALYZE SELECT ef_unlock(1, %L::bytea)$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key as a literal under EXPLAIN ANALYZE: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused EXPLAIN ANALYZE holds no key');
SELECT throws_ok(format($f$CALL tap_unlock_procedure(%L::bytea)$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter', 'the right key as a literal passed to a procedure (CALL): 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused CALL holds no key');
SELECT throws_ok(format($f$SELECT tap_unlock_function(%L::bytea)$f$, '\x' || encode(tap_key(1), 'hex')),
	'28EF1', 'master key 1 was not given as a bind parameter',
	'the right key as a literal passed to a plpgsql wrapper function: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused wrapper function holds no key');
SELECT throws_ok(format($f$SELECT ef_register_key(20, %L::bytea)$f$, '\x' || encode(tap_key(20), 'hex')),
	'28EF1', 'master key 20 was not given as a bind parameter', 'ef_register_key with a key literal: 28EF1');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'the refused registration holds no key');
SELECT is((SELECT count(*)::int FROM ef_keys WHERE key_id = 20), 0, 'and registers nothing');
DEALLOCATE tap_prepared_unlock;

SAVEPOINT keys;
SELECT lives_ok($$SELECT ef_unlock(1)$$, 'the key given at connection start unlocks (scope session by default)');
SELECT lives_ok($$SELECT ef_unlock(1, scope => 'transaction')$$, 'the key given at connection start unlocks with scope transaction');
SELECT lives_ok($$SELECT ef_unlock(1, NULL, 'session')$$, 'and with scope session, given a NULL key');
SELECT is((SELECT array_agg(key_id || ' ' || scope) FROM ef_held_keys()), ARRAY['1 session'],
	'unlocking again replaces the slot');
-- an unlock again in a savepoint that rolls back: the unlock before is back
SAVEPOINT again;
SELECT ef_unlock(1, scope => 'transaction');
SELECT is((SELECT array_agg(key_id || ' ' || scope) FROM ef_held_keys()), ARRAY['1 transaction'],
	'unlocking again in a savepoint, with scope transaction, holds the key with scope transaction');
ROLLBACK TO SAVEPOINT again;
RELEASE SAVEPOINT again;
SELECT is((SELECT array_agg(key_id || ' ' || scope) FROM ef_held_keys()), ARRAY['1 session'],
	'ROLLBACK TO the savepoint leaves the key as unlocked before it, scope session');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- ---------------------------------------------------------------------------
-- Roles: a held key serves the role that unlocked it and the roles with its
-- privileges; a key given at connection start, the login role and the roles
-- with its privileges.  Code running as any other role gets 42501.
-- ---------------------------------------------------------------------------
SELECT session_user AS login_role \gset
CREATE ROLE ef_tap_other;
CREATE ROLE ef_tap_member IN ROLE :"login_role";
CREATE ROLE ef_tap_member2 IN ROLE :"login_role";
CREATE ROLE ef_tap_noinherit NOINHERIT IN ROLE :"login_role";
GRANT SELECT ON e TO ef_tap_other, ef_tap_noinherit;
GRANT SELECT ON secret TO ef_tap_other;
-- a SECURITY DEFINER function owned by another role, and one owned by the
-- role that unlocks
CREATE FUNCTION decrypt_as_other(n int) RETURNS text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT ef_decrypt(v) FROM e WHERE id = n $$;
ALTER FUNCTION decrypt_as_other(int) OWNER TO ef_tap_other;
CREATE FUNCTION decrypt_as_unlocker(n int) RETURNS text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT ef_decrypt(v) FROM e WHERE id = n $$;

SAVEPOINT keys;
SELECT ef_unlock(1);
SET ROLE ef_tap_other;
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '42501', 'permission denied to use master key 1',
	'after SET ROLE to a role without the unlocking role''s privileges, ef_decrypt: 42501');
SELECT throws_ok($$SELECT ef_encrypt('x', key_id => 1)$$, '42501', 'permission denied to use master key 1',
	'after SET ROLE, ef_encrypt under the held key: 42501');
SELECT throws_ok($$SELECT ef_encrypt('x')$$, '42501', 'permission denied to use the master keys this session holds',
	'after SET ROLE, ef_encrypt under the current key: 42501');
SELECT throws_ok($$SELECT ef_unlock(1)$$, '42501', 'permission denied to use the master key given at connection start',
	'after SET ROLE, the key given at connection start does not unlock: 42501');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'after SET ROLE, ef_held_keys() shows no key');
RESET ROLE;
SET SESSION AUTHORIZATION ef_tap_other;
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '42501', 'permission denied to use master key 1',
	'after SET SESSION AUTHORIZATION, ef_decrypt: 42501');
SELECT throws_ok($$SELECT ef_encrypt('x', key_id => 1)$$, '42501', 'permission denied to use master key 1',
	'after SET SESSION AUTHORIZATION, ef_encrypt under the held key: 42501');
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$SELECT decrypt_as_other(1)$$, '42501', 'permission denied to use master key 1',
	'a SECURITY DEFINER function owned by another role cannot decrypt: 42501');
SET ROLE ef_tap_other;
SELECT is(decrypt_as_unlocker(1), 'one',
	'a SECURITY DEFINER function owned by the role that unlocked decrypts, even called by a role that cannot');
RESET ROLE;
SET ROLE ef_tap_member;
SELECT is((SELECT ef_decrypt(v) FROM e WHERE id = 1), 'one', 'a member (INHERIT) of the role that unlocked decrypts');
SELECT is(ef_decrypt(ef_encrypt('member')), 'member', 'and encrypts');
RESET ROLE;
SET ROLE ef_tap_noinherit;
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '42501', 'permission denied to use master key 1',
	'a member with NOINHERIT, so without the privileges of the role that unlocked: 42501');
RESET ROLE;
-- unlocked again by a member, in a savepoint: the key serves that member
-- only (and the roles with its privileges), until the savepoint rolls back
SAVEPOINT again;
SET ROLE ef_tap_member;
SELECT ef_unlock(1);
SET ROLE ef_tap_member2;
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 1$$, '42501', 'permission denied to use master key 1',
	'unlocked again by a member, the key no longer serves another member: 42501');
ROLLBACK TO SAVEPOINT again;
RELEASE SAVEPOINT again;
SET ROLE ef_tap_member2;
SELECT is((SELECT ef_decrypt(v) FROM e WHERE id = 1), 'one',
	'ROLLBACK TO the savepoint gives the key back to the role that first unlocked it, and so to the other member');
RESET ROLE;
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- ---------------------------------------------------------------------------
-- Registering and retiring
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT ef_register_key(1)$$, '42710', 'master key 1 is already registered',
	'registering a registered id: 42710');
-- another key under a registered id: the row of id 1 holds another key's
-- fingerprint than the session's key 1
UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM registered WHERE key_id = 2) WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_register_key(1)$$, '42710', 'master key 1 is already registered',
	'registering another key under a registered id: 42710');
UPDATE ef_keys k SET fingerprint = r.fingerprint FROM registered r WHERE r.key_id = k.key_id;
SELECT throws_ok($$SELECT ef_register_key(10, '\x00'::bytea)$$, '22023', 'master key must be 32 bytes long',
	'registering a 1-byte key: 22023');
SELECT throws_ok($$SELECT ef_register_key(0)$$, '22023', 'key id must be positive',
	'registering key id 0: 22023');
SELECT throws_ok($$SELECT ef_register_key(NULL)$$, '22004', 'key id must not be null',
	'registering a NULL key id: 22004');
SELECT throws_ok($$SELECT ef_register_key(99, NULL)$$, '22004', 'no master key given for key 99',
	'registering a NULL key, with no key given at connection start for the id: 22004');
SELECT throws_ok($$SELECT ef_retire_key(99)$$, '42704', 'master key 99 is not registered',
	'retiring an unregistered key id: 42704');
SELECT throws_ok($$SELECT ef_register_key(10, comment => 'registered by the error test')$$, '55000',
	'cannot register a master key in index-key group "default" without its index key',
	'registering a new key in a session that holds no key, so not the index key: 55000');
SAVEPOINT keys;
SELECT ef_unlock(2);
SELECT lives_ok($$SELECT ef_register_key(10, comment => 'registered by the error test')$$,
	'registering a new id succeeds in a session that has unlocked a registered key');
SELECT is((SELECT count(*)::int FROM ef_keys), 4, 'only the successful registration added a row');
SELECT is((SELECT array_agg(index_key_id || ':' || key_id ORDER BY key_id) FROM ef_index_keys),
	ARRAY['1:1', '1:2', '1:3', '1:10'], 'only the successful registration wrapped the index key');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- ---------------------------------------------------------------------------
-- Text input
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT 'hello'::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'text without the ef1: prefix: 22P02');
SELECT throws_ok($$SELECT ''::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'empty text: 22P02');
SELECT throws_ok($$SELECT 'ef2:AQAB'::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'another prefix: 22P02');
SELECT throws_ok($$SELECT 'ef1:'::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'the prefix alone: 22P02');
SELECT throws_ok($$SELECT 'ef1:!!!!'::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'not base64: 22P02');
SELECT throws_ok($$SELECT 'ef1:AR=='::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'non-canonical base64: 22P02');
SELECT throws_ok($$SELECT 'ef1:AAAA'::encrypted_field$$, '22P02', 'invalid input syntax for type encrypted_field',
	'version byte zero: 22P02');
SELECT throws_ok($$SELECT tap_text(substring(ef_send(v) FROM 1 FOR 75))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an envelope shorter than 76 bytes: 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 1, 8))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an unknown flag bit (0x08): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 1, 128))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an unknown flag bit (0x80): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 1, 3))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'both compression flags at once: 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 1, 4))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field',
	'the term flag on an envelope too short to hold a term (79 bytes): 22P02');
SELECT throws_ok($$SELECT tap_text(substring(ef_send(v) FROM 1 FOR 91))::encrypted_field FROM s WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'a searchable envelope shorter than 92 bytes: 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 2, 0))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'plaintext type code 0: 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 2, 25))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an unknown plaintext type code (25): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 2, 255))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an unknown plaintext type code (255): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 2, 128 + 25))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an array of an unknown type code (0x80 | 25): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 2, 128))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'an array of type code 0 (0x80): 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 3, 1))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'a nonzero reserved byte: 22P02');
SELECT throws_ok($$SELECT tap_text(overlay(ef_send(v) PLACING '\x00000000'::bytea FROM 5))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'key id 0 in the envelope: 22P02');
SELECT throws_ok($$SELECT tap_text(overlay(ef_send(v) PLACING '\x80000001'::bytea FROM 5))::encrypted_field FROM e WHERE id = 1$$,
	'22P02', 'invalid input syntax for type encrypted_field', 'a negative key id in the envelope: 22P02');
SELECT throws_ok($$SELECT tap_text(set_byte(ef_send(v), 0, 2))::encrypted_field FROM e WHERE id = 1$$,
	'0A000', 'unsupported encrypted_field format version 2', 'a newer format version: 0A000');
SELECT throws_ok($$SELECT tap_text(set_byte(substring(ef_send(v) FROM 1 FOR 10), 0, 255))::encrypted_field FROM e WHERE id = 1$$,
	'0A000', 'unsupported encrypted_field format version 255',
	'a newer format version is reported as such even when short: 0A000');
SELECT lives_ok($$SELECT tap_text(ef_send(v))::encrypted_field FROM e$$, 'every stored value''s text form is accepted');
SELECT lives_ok($$SELECT tap_text(ef_send(v))::encrypted_field FROM s$$,
	'every stored searchable value''s text form (flag 0x04) is accepted');

-- ---------------------------------------------------------------------------
-- Text input of a search term: 32 hexadecimal digits
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT 'zz'::encrypted_field_term$$, '22P02', 'invalid input syntax for type encrypted_field_term',
	'a term of 2 characters: 22P02');
SELECT throws_ok($$SELECT ''::encrypted_field_term$$, '22P02', 'invalid input syntax for type encrypted_field_term',
	'an empty term: 22P02');
SELECT throws_ok($$SELECT repeat('a', 31)::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '31 hexadecimal digits: 22P02');
SELECT throws_ok($$SELECT repeat('a', 33)::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '33 hexadecimal digits: 22P02');
SELECT throws_ok($$SELECT repeat('a', 64)::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '64 hexadecimal digits: 22P02');
SELECT throws_ok($$SELECT (repeat('a', 30) || '  ')::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '30 hexadecimal digits and 2 spaces: 22P02');
SELECT throws_ok($$SELECT ('\x' || repeat('a', 30))::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', 'a bytea-style \x prefix and 30 digits: 22P02');
SELECT throws_ok($$SELECT repeat('z', 32)::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '32 characters that are not hexadecimal digits: 22P02');
SELECT throws_ok($$SELECT (repeat('a', 31) || ' ')::encrypted_field_term$$, '22P02',
	'invalid input syntax for type encrypted_field_term', '31 hexadecimal digits and a space: 22P02');
SELECT is(repeat('0a', 16)::encrypted_field_term::text, repeat('0a', 16), '32 hexadecimal digits are a term');
SELECT is(upper(repeat('0a', 16))::encrypted_field_term::text, repeat('0a', 16),
	'upper-case digits are accepted, and the output is lower-case');

-- ---------------------------------------------------------------------------
-- Binary input, through COPY FROM a file in the data directory (ef_recv)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE recv_raw (b bytea);
CREATE TEMP TABLE recv_into (v encrypted_field);
CREATE FUNCTION recv_via_copy(b bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	path text := current_setting('data_directory') || '/ef_tap_recv.bin';
BEGIN
	TRUNCATE recv_raw;
	INSERT INTO recv_raw VALUES (b);
	-- a bytea's binary form is its raw bytes: ef_recv reads them as an envelope
	EXECUTE format('COPY recv_raw TO %L WITH (FORMAT binary)', path);
	EXECUTE format('COPY recv_into FROM %L WITH (FORMAT binary)', path);
END $$;
SELECT throws_ok($$SELECT recv_via_copy(substring(ef_send(v) FROM 1 FOR 40)) FROM e WHERE id = 1$$,
	'22P03', 'invalid binary representation for type encrypted_field', 'binary: a truncated envelope: 22P03');
SELECT throws_ok($$SELECT recv_via_copy(set_byte(ef_send(v), 3, 1)) FROM e WHERE id = 1$$,
	'22P03', 'invalid binary representation for type encrypted_field', 'binary: a nonzero reserved byte: 22P03');
SELECT throws_ok($$SELECT recv_via_copy(set_byte(ef_send(v), 1, 8)) FROM e WHERE id = 1$$,
	'22P03', 'invalid binary representation for type encrypted_field', 'binary: an unknown flag (0x08): 22P03');
SELECT throws_ok($$SELECT recv_via_copy(''::bytea)$$,
	'22P03', 'invalid binary representation for type encrypted_field', 'binary: an empty value: 22P03');
SELECT throws_ok($$SELECT recv_via_copy(set_byte(ef_send(v), 0, 9)) FROM e WHERE id = 1$$,
	'0A000', 'unsupported encrypted_field format version 9', 'binary: a newer format version: 0A000');
SELECT lives_ok($$SELECT recv_via_copy(ef_send(v)) FROM e WHERE id = 1$$, 'binary: a well-formed envelope is accepted');
SELECT is((SELECT array_agg(ef_send(r.v) = ef_send(e.v)) FROM recv_into r, e WHERE e.id = 1), ARRAY[true],
	'binary: exactly the accepted envelope arrived, byte for byte');
-- and a search term's binary form: its 16 bytes (ef_term_recv)
CREATE TEMP TABLE recv_term_into (t encrypted_field_term);
CREATE FUNCTION recv_term_via_copy(b bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	path text := current_setting('data_directory') || '/ef_tap_recv.bin';
BEGIN
	TRUNCATE recv_raw;
	INSERT INTO recv_raw VALUES (b);
	EXECUTE format('COPY recv_raw TO %L WITH (FORMAT binary)', path);
	EXECUTE format('COPY recv_term_into FROM %L WITH (FORMAT binary)', path);
END $$;
SELECT throws_ok($$SELECT recv_term_via_copy(decode(repeat('ab', 15), 'hex'))$$,
	'08P01', 'insufficient data left in message', 'binary: a 15-byte term: 08P01, as for other fixed-size types');
SELECT throws_ok($$SELECT recv_term_via_copy(decode(repeat('ab', 17), 'hex'))$$,
	'22P03', 'incorrect binary data format', 'binary: a 17-byte term: 22P03');
SELECT lives_ok($$SELECT recv_term_via_copy(decode(repeat('ab', 16), 'hex'))$$, 'binary: a 16-byte term is accepted');
SELECT is((SELECT array_agg(t::text) FROM recv_term_into), ARRAY[repeat('ab', 16)],
	'binary: exactly the accepted term arrived');

-- leave an empty COPY file behind, not an envelope
DO $$ BEGIN
	EXECUTE format('COPY (SELECT 1 WHERE false) TO %L WITH (FORMAT binary)',
		current_setting('data_directory') || '/ef_tap_recv.bin');
END $$;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------
SAVEPOINT keys;
SELECT ef_unlock(1);
SELECT throws_ok($$SELECT ef_encrypt(point(1, 2))$$, '0A000', 'cannot encrypt a value of type point',
	'encrypting a type without a type code: 0A000');
SELECT throws_ok($$SELECT ef_encrypt(ROW(1, 'x'))$$, '0A000', 'cannot encrypt a value of type record',
	'encrypting a record: 0A000');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::bytea) FROM e WHERE id = 1$$, '42804',
	'encrypted value is of type text, not bytea', 'decrypting text as bytea: 42804');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::text) FROM e WHERE id = 3$$, '42804',
	'encrypted value is of type bytea, not text', 'decrypting bytea as text: 42804');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::point) FROM e WHERE id = 1$$, '0A000',
	'cannot decrypt to type point', 'decrypting to an unsupported type: 0A000');
SELECT throws_ok($$SELECT ef_decrypt_as(v, NULL::integer) FROM e WHERE id = 1$$, '42804',
	'encrypted value is of type text, not integer', 'decrypting text as integer: 42804');
SELECT is((SELECT ef_decrypt_as(v, NULL::text) FROM e WHERE id = 1), 'one', 'decrypting text as text succeeds');
SELECT is((SELECT ef_decrypt_as(v, NULL::bytea) FROM e WHERE id = 3), '\x0001ff'::bytea,
	'decrypting bytea as bytea succeeds');
SELECT is(ef_decrypt(ef_encrypt('y', searchable => false)), 'y', 'searchable => false encrypts');
-- searchable values are supported now: the former 0A000 is gone
SELECT is(ef_decrypt(ef_encrypt('x', searchable => true)), 'x', 'a searchable value encrypts and decrypts');
SELECT is(ef_decrypt_as(ef_encrypt(42, searchable => true), NULL::int), 42, 'a searchable integer decrypts as integer');

-- ---------------------------------------------------------------------------
-- Search: normalisations, and comparing values that carry no term
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT ef_term('x', NULL, 'upper')$$, '22023', 'invalid search normalization "upper"',
	'ef_term with an unknown normalization: 22023');
SELECT throws_ok($$SELECT ef_encrypt('x', searchable => true, search_normalize => 'upper')$$, '22023',
	'invalid search normalization "upper"', 'a searchable ef_encrypt with an unknown normalization: 22023');
SELECT throws_ok($$SELECT ef_term('x', NULL, 'LOWER')$$, '22023', 'invalid search normalization "LOWER"',
	'normalization names are case-sensitive: 22023');
SELECT throws_ok($$SELECT ef_term('x', NULL, '')$$, '22023', 'invalid search normalization ""',
	'an empty normalization name: 22023');
SELECT lives_ok($$SELECT ef_term('x', NULL, 'exact'), ef_term('x', NULL, 'lower'), ef_term('x', NULL, 'lower_trim'),
	ef_term('x', NULL, 'nfkc_lower_trim')$$, 'each of the four normalizations is accepted');
SELECT is(ef_term('x', NULL, NULL)::text, ef_term('x')::text, 'a NULL normalization is exact');
SELECT throws_ok($$SELECT ef_encrypt(42, searchable => true, search_normalize => 'lower')$$, '22023',
	'search normalization applies to text values only', 'normalizing a searchable integer: 22023');
SELECT throws_ok($$SELECT ef_term(42, NULL, 'lower')$$, '22023', 'search normalization applies to text values only',
	'the term of an integer, normalized: 22023');
SELECT throws_ok($$SELECT ef_term('\x01'::bytea, NULL, 'lower_trim')$$, '22023',
	'search normalization applies to text values only', 'the term of a bytea, normalized: 22023');
SELECT lives_ok($$SELECT ef_encrypt('X'::text, searchable => true, search_normalize => 'lower'),
	ef_encrypt('X'::varchar, searchable => true, search_normalize => 'lower_trim'),
	ef_encrypt('X'::char(3), searchable => true, search_normalize => 'nfkc_lower_trim')$$,
	'normalizing searchable text, varchar and char(n) succeeds');
SELECT lives_ok($$SELECT ef_encrypt(42, searchable => true), ef_term(42)$$,
	'an integer is searchable without normalization');

SELECT throws_ok($$SELECT v = v FROM e WHERE id = 1$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'comparing a value without a term: 0A000');
SELECT throws_ok($$SELECT e.v <> s.v FROM e, s WHERE e.id = 1 AND s.id = 1$$, '0A000',
	'cannot compare encrypted_field values that are not searchable',
	'comparing a value without a term with a searchable one: 0A000');
SELECT throws_ok($$SELECT count(*) FROM e WHERE v = ef_term('one')$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'a value without a term against a term: 0A000');
SELECT throws_ok($$SELECT count(DISTINCT v) FROM e$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'DISTINCT on values without terms: 0A000');
SELECT throws_ok($$SELECT v FROM e ORDER BY v$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'ORDER BY values without terms: 0A000');
SELECT throws_ok($$CREATE INDEX ON e (v)$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'a btree index on values without terms: 0A000');
SELECT throws_ok($$CREATE INDEX ON e USING hash (v)$$, '0A000',
	'cannot compare encrypted_field values that are not searchable', 'a hash index on values without terms: 0A000');
SELECT is((SELECT count(DISTINCT v) || ' ' || count(*) FILTER (WHERE v = ef_term('one')) FROM s), '2 2',
	'searchable values compare: DISTINCT and = a term succeed');
SELECT lives_ok($$SELECT v FROM s ORDER BY v$$, 'ORDER BY searchable values succeeds');
SELECT lives_ok($$CREATE INDEX ON s (v)$$, 'a btree index on searchable values succeeds');
SELECT lives_ok($$CREATE INDEX ON s USING hash (v)$$, 'a hash index on searchable values succeeds');
SELECT throws_ok($$CREATE UNIQUE INDEX ON s (v)$$, '23505', NULL,
	'a unique index on searchable values that repeat a plaintext: 23505');

-- ---------------------------------------------------------------------------
-- Authentication: one error for every cause a cipher cannot tell apart
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT ef_decrypt(v, 'e.v.3') FROM e WHERE id = 2$$, 'XX001', 'could not decrypt value',
	'a wrong context: XX001');
SELECT throws_ok($$SELECT ef_decrypt(v) FROM e WHERE id = 2$$, 'XX001', 'could not decrypt value',
	'no context for a value encrypted with one: XX001');
SELECT throws_ok($$SELECT ef_decrypt(v, 'e.v.1') FROM e WHERE id = 1$$, 'XX001', 'could not decrypt value',
	'a context for a value encrypted without one: XX001');
SELECT throws_ok($$SELECT ef_decrypt(tap_text(set_byte(ef_send(v), octet_length(ef_send(v)) - 1,
		get_byte(ef_send(v), octet_length(ef_send(v)) - 1) # 1))::encrypted_field) FROM e WHERE id = 1$$,
	'XX001', 'could not decrypt value', 'a flipped tag bit: XX001');
SELECT throws_ok($$SELECT ef_decrypt_as(tap_text(set_byte(ef_send(v), 60, get_byte(ef_send(v), 60) # 1))::encrypted_field,
		NULL::text) FROM e WHERE id = 1$$,
	'XX001', 'could not decrypt value', 'ef_decrypt_as of a flipped ciphertext bit: XX001');
SELECT throws_ok($$SELECT ef_rewrap(tap_text(set_byte(ef_send(v), 20, get_byte(ef_send(v), 20) # 1))::encrypted_field)
		FROM e WHERE id = 1$$,
	'XX001', 'could not decrypt value', 'ef_rewrap of a flipped wrapped-key bit: XX001');
SELECT is((SELECT ef_decrypt(v, 'e.v.2') FROM e WHERE id = 2), 'two', 'the right context decrypts');

-- ---------------------------------------------------------------------------
-- Retired keys
-- ---------------------------------------------------------------------------
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;
SAVEPOINT keys;
SELECT ef_unlock(3);
SELECT ef_retire_key(3);
SELECT ef_unlock(3);
SAVEPOINT key1;
SELECT ef_unlock(1);
SELECT throws_ok($$SELECT ef_encrypt('x', key_id => 3)$$, '55000', 'master key 3 is retired',
	'encrypting under a retired key: 55000');
SELECT throws_ok($$SELECT ef_rewrap(v, 3) FROM e WHERE id = 1$$, '55000', 'master key 3 is retired',
	're-wrapping to a retired key: 55000');
ROLLBACK TO SAVEPOINT key1;
RELEASE SAVEPOINT key1;
SELECT throws_ok($$SELECT ef_encrypt('x')$$, '55000', 'no master key that may encrypt is unlocked in this session',
	'encrypting when only retired keys are held: 55000');
SELECT is((SELECT ef_decrypt(v) FROM e WHERE id = 5), 'five', 'a retired key still decrypts');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- ---------------------------------------------------------------------------
-- No error text holds the key or the plaintext
-- ---------------------------------------------------------------------------
-- Run a statement that must fail; return its SQLSTATE and all of its text
CREATE FUNCTION error_of(sql text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- Every form a secret could take in a message: the plaintext, its hex and
-- base64, and each key in hex (both cases), base64, and any 8-byte window
CREATE FUNCTION secret_forms() RETURNS TABLE (what text, needle text) LANGUAGE sql AS $$
	SELECT 'plaintext', 'Tap secret: the launch code is 0000-7391'
	UNION ALL SELECT 'plaintext hex', encode(convert_to('Tap secret: the launch code is 0000-7391', 'UTF8'), 'hex')
	UNION ALL SELECT 'plaintext base64', encode(convert_to('Tap secret: the launch code is 0000-7391', 'UTF8'), 'base64')
	UNION ALL SELECT 'key ' || n || ' hex', encode(tap_key(n), 'hex') FROM generate_series(1, 2) n
	UNION ALL SELECT 'key ' || n || ' HEX', upper(encode(tap_key(n), 'hex')) FROM generate_series(1, 2) n
	UNION ALL SELECT 'key ' || n || ' base64', encode(tap_key(n), 'base64') FROM generate_series(1, 2) n
	UNION ALL SELECT 'key ' || n || ' window ' || i, encode(substring(tap_key(n) FROM i FOR 8), 'hex')
		FROM generate_series(1, 2) n, generate_series(1, 25) i
$$;

-- (the secret was written at the start, under key 1)

-- each statement runs in a subtransaction that its failure rolls back, with
-- the keys it unlocked and the registry rows it changed
CREATE TEMP TABLE caught AS
SELECT c.name, (error_of(c.sql)).* FROM (VALUES
	('wrong key', $$UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM registered WHERE key_id = 2) WHERE key_id = 1;
		SELECT ef_unlock(1)$$),
	('the right key written into the statement', $$SELECT ef_unlock(1, tap_key(1))$$),
	('a key written into a registration', $$SELECT ef_register_key(2, tap_key(2))$$),
	('no key given for the id', $$SELECT ef_unlock(99)$$),
	('31 bytes of the right key', $$SELECT ef_unlock(1, substring(tap_key(1) FROM 1 FOR 31))$$),
	('the right key and a byte', $$SELECT ef_unlock(1, tap_key(1) || '\x00'::bytea)$$),
	('unregistered id', $$SELECT ef_unlock(50)$$),
	('register twice', $$SELECT ef_register_key(1)$$),
	('register wrong length', $$SELECT ef_register_key(11, substring(tap_key(1) FROM 2))$$),
	('decrypt, no key held', $$SELECT ef_decrypt(v, 'secret.1') FROM secret$$),
	('decrypt, key not held', $$SELECT ef_unlock(2); SELECT ef_decrypt(v, 'secret.1') FROM secret$$),
	('decrypt, key held for another role', $$SELECT ef_unlock(1); SET ROLE ef_tap_other; SELECT ef_decrypt(v, 'secret.1') FROM secret$$),
	('unlock, key given at connection start to another role', $$SET ROLE ef_tap_other; SELECT ef_unlock(1)$$),
	('decrypt, wrong context', $$SELECT ef_unlock(1); SELECT ef_decrypt(v, 'secret.2') FROM secret$$),
	('decrypt, no context', $$SELECT ef_unlock(1); SELECT ef_decrypt(v) FROM secret$$),
	('decrypt as the wrong type', $$SELECT ef_unlock(1); SELECT ef_decrypt_as(v, NULL::bytea, 'secret.1') FROM secret$$),
	('decrypt as an unsupported type', $$SELECT ef_unlock(1); SELECT ef_decrypt_as(v, NULL::integer, 'secret.1') FROM secret$$),
	('decrypt, tampered', $$SELECT ef_unlock(1); SELECT ef_decrypt(tap_text(set_byte(ef_send(v), 70, get_byte(ef_send(v), 70) # 4))::encrypted_field, 'secret.1') FROM secret$$),
	('search term, no key held', $$SELECT ef_term('Tap secret: the launch code is 0000-7391')$$),
	('search term, unknown normalization', $$SELECT ef_unlock(1); SELECT ef_term('Tap secret: the launch code is 0000-7391', 'secret', 'upper')$$),
	('searchable bytes, normalized', $$SELECT ef_unlock(1); SELECT ef_encrypt(convert_to('Tap secret: the launch code is 0000-7391', 'UTF8'), searchable => true, search_normalize => 'lower')$$),
	('compare a value without a term', $$SELECT ef_unlock(1); SELECT count(*) FROM secret WHERE v = ef_term('Tap secret: the launch code is 0000-7391')$$),
	('plaintext posing as a term', $$SELECT 'Tap secret: the launch code is 0000-7391'::encrypted_field_term$$),
	('register without the index key', $$SELECT ef_register_key(20)$$),
	('encrypt, key not held', $$SELECT ef_encrypt('Tap secret: the launch code is 0000-7391', key_id => 3)$$),
	('encrypt, no key held', $$SELECT ef_encrypt('Tap secret: the launch code is 0000-7391')$$),
	('plaintext posing as an envelope', $$SELECT tap_text(convert_to('Tap secret: the launch code is 0000-7391', 'UTF8'))::encrypted_field$$),
	('plaintext inside a version-1 envelope', $$SELECT ef_unlock(1); SELECT ef_decrypt(tap_text('\x0100010000000001'::bytea
		|| decode(repeat('00', 52), 'hex') || convert_to('Tap secret: the launch code is 0000-7391', 'UTF8')
		|| decode(repeat('00', 16), 'hex'))::encrypted_field)$$)
) c(name, sql);

SELECT is((SELECT array_agg(name ORDER BY name) FROM caught WHERE state IS NULL OR state = '00000'), NULL,
	'every statement of the leak check failed, so its error text is checked');
SELECT is((SELECT array_agg(DISTINCT state ORDER BY state) FROM caught),
	ARRAY['0A000', '22004', '22023', '22P02', '28EF1', '28P01', '42501', '42704', '42710', '42804', '55000', 'XX001'],
	'the leak check covers errors of every class that involves a key or a plaintext');
SELECT is(
	(SELECT array_agg(DISTINCT c.name || ': ' || f.what ORDER BY c.name || ': ' || f.what)
	 FROM caught c, secret_forms() f
	 WHERE position(f.needle IN coalesce(c.message, '') || ' ' || coalesce(c.detail, '') || ' ' || coalesce(c.hint, '')) > 0),
	NULL, 'no error message, detail or hint contains the plaintext or a key, in any form');
-- the check itself finds a secret where there is one
SELECT is(
	(SELECT array_agg(f.what ORDER BY f.what) FROM (SELECT (error_of(format(
		$f$DO $x$ BEGIN RAISE EXCEPTION 'control %s' USING DETAIL = %L, HINT = %L; END $x$$f$,
		'Tap secret: the launch code is 0000-7391', encode(substring(tap_key(1) FROM 3 FOR 9), 'hex'),
		encode(tap_key(2), 'base64')))).*) c, secret_forms() f
	 WHERE position(f.needle IN coalesce(c.message, '') || ' ' || coalesce(c.detail, '') || ' ' || coalesce(c.hint, '')) > 0),
	ARRAY['key 1 window 3', 'key 1 window 4', 'key 2 base64', 'plaintext'],
	'control: a message, detail and hint carrying secrets are caught');

-- ---------------------------------------------------------------------------
-- ef_lock() forgets the keys held, and the keys given at connection start
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'no statement of the leak check left a key held');
SELECT ef_unlock(1);
SELECT is(ef_lock(), 1, 'ef_lock() forgets the one key held');
SELECT throws_ok($$SELECT ef_unlock(1)$$, '22004', 'no master key given for key 1',
	'after ef_lock() the key given at connection start is gone too: 22004');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'and nothing is held');

SELECT * FROM finish();
ROLLBACK;

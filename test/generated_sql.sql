-- SQL that ef_create_view generates is safe from hostile names and a
-- hostile search_path: names are quoted and the trigger body is a quoted
-- literal (a column named to close a dollar quote injects nothing), the
-- generated trigger function pins its search_path and names the key
-- column's equality by schema, so an operator planted in a schema earlier in
-- search_path never runs inside writes through the view; the view is
-- security_invoker, so row-level security of the table applies through it.
-- The key registry's own queries qualify their operators too (registering
-- here runs them, though not the REPEATABLE READ check, which needs a
-- transaction of its own).
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(17);

CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1, comment => 'generated SQL test key');
SELECT ef_unlock(1);

-- a column whose name would close the old fixed $b$ quote and run DDL
SET check_function_bodies = off;
CREATE ROLE ef_tap_attacker;
CREATE TABLE hostile (id int PRIMARY KEY, "a$b$;ALTER ROLE ef_tap_attacker SUPERUSER;SELECT $b$c" encrypted_field,
	"50% off" encrypted_field, "quote""d name" encrypted_field);
SELECT lives_ok($$SELECT ef_create_view('hostile', key_column => 'id')$$,
	'a view over columns named with $, %, quotes and semicolons');
RESET check_function_bodies;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'ef_tap_attacker'), false,
	'the name closing a dollar quote ran nothing');
SELECT lives_ok($$INSERT INTO hostile_decrypted VALUES (1, 'x', 'y', 'z')$$, 'insert through the view');
SELECT is((SELECT "a$b$;ALTER ROLE ef_tap_attacker SUPERUSER;SELECT $b$c" || "50% off" || "quote""d name"
	FROM hostile_decrypted), 'xyz', 'and read back');
SELECT is(ef_decrypt("50% off", 'hostile.50% off.1'), 'y', 'the context holds the name as it is')
	FROM hostile;
SELECT is((SELECT proconfig FROM pg_proc WHERE proname = 'hostile_decrypted_write'),
	ARRAY['search_path=pg_catalog, pg_temp'], 'the generated trigger function pins its search_path');
SELECT is((SELECT reloptions FROM pg_class WHERE relname = 'hostile_decrypted'),
	ARRAY['security_invoker=true'], 'the view is security_invoker');

-- a schema earlier in search_path with operators that record being called
CREATE SCHEMA evil;
CREATE TABLE evil.calls (op text);
CREATE FUNCTION evil.cat(text, integer) RETURNS text LANGUAGE sql AS
	$$ INSERT INTO evil.calls VALUES ('||'); SELECT $1 OPERATOR(pg_catalog.||) $2::text $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = evil.cat);
CREATE FUNCTION evil.eq(integer, integer) RETURNS boolean LANGUAGE sql AS
	$$ INSERT INTO evil.calls VALUES ('='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.eq);
-- (pgTAP's own functions resolve operators by search_path: the statements
-- run bare, and the checks after RESET)
SET search_path = evil, public, pg_catalog;
UPDATE hostile_decrypted SET "50% off" = 'w' WHERE id OPERATOR(pg_catalog.=) 1;
CREATE TEMP TABLE seen_after_update AS SELECT "50% off" AS v FROM hostile_decrypted;
DELETE FROM hostile_decrypted WHERE id OPERATOR(pg_catalog.=) 1;
SELECT ef_register_key(2, comment => 'under a hostile search_path');
RESET search_path;
SELECT is((SELECT v FROM seen_after_update), 'w', 'an update through the view ran with the hostile schema first');
SELECT is((SELECT count(*) FROM hostile), 0::bigint, 'and a delete');
SELECT is((SELECT count(*) FROM ef_keys WHERE key_id = 2), 1::bigint, 'and a registration');
SELECT is((SELECT string_agg(op, ',') FROM evil.calls), NULL, 'no planted operator ran');

-- changing the key column through the view encrypts every value again under
-- the new row's context, so all stay readable
CREATE TABLE moving (id int PRIMARY KEY, a encrypted_field, b encrypted_field);
SELECT ef_create_view('moving', key_column => 'id');
INSERT INTO moving_decrypted VALUES (1, 'first', 'second');
UPDATE moving_decrypted SET id = 2;
SELECT is((SELECT a || '/' || b FROM moving_decrypted WHERE id = 2), 'first/second',
	'after the key column changed, every column reads back');
SELECT is((SELECT ef_decrypt(b, 'moving.b.2') FROM moving), 'second', 'under the new context');
UPDATE moving_decrypted SET id = 3, a = 'changed';
SELECT is((SELECT a || '/' || b FROM moving_decrypted WHERE id = 3), 'changed/second',
	'with another column changed at the same time');

-- row-level security of the table applies through the view
CREATE TABLE private (id int PRIMARY KEY, owner name, note encrypted_field);
SELECT ef_create_view('private', key_column => 'id');
INSERT INTO private VALUES (1, 'ef_tap_reader', ef_encrypt('mine', 'private.note.1')),
	(2, 'someone_else', ef_encrypt('theirs', 'private.note.2'));
ALTER TABLE private ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON private USING (owner OPERATOR(pg_catalog.=) current_user);
CREATE ROLE ef_tap_reader;
GRANT SELECT ON private, private_decrypted TO ef_tap_reader;
GRANT USAGE ON SCHEMA public TO ef_tap_reader;
SET ROLE ef_tap_reader;
SELECT is((SELECT count(*) FROM private_decrypted), 1::bigint, 'the view shows only the rows the policy lets through');
SELECT is((SELECT string_agg(id::text, ',') FROM private_decrypted), '1', 'the reader''s own row');
RESET ROLE;
-- the view owner's privileges do not stand in for the caller's
REVOKE SELECT ON private FROM ef_tap_reader;
SET ROLE ef_tap_reader;
SELECT throws_ok($$SELECT count(*) FROM private_decrypted$$, '42501', NULL,
	'without SELECT on the table, the view gives nothing');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

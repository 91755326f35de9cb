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
SELECT plan(29);

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
SELECT is(ef_decrypt("50% off", 'public.hostile."50% off".1'), 'y',
	'the context holds schema, table and column, quoted as identifiers')
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
SELECT is((SELECT ef_decrypt(b, 'public.moving.b.2') FROM moving), 'second', 'under the new context');
UPDATE moving_decrypted SET id = 3, a = 'changed';
SELECT is((SELECT a || '/' || b FROM moving_decrypted WHERE id = 3), 'changed/second',
	'with another column changed at the same time');

-- row-level security of the table applies through the view
CREATE TABLE private (id int PRIMARY KEY, owner name, note encrypted_field);
SELECT ef_create_view('private', key_column => 'id');
INSERT INTO private VALUES (1, 'ef_tap_reader', ef_encrypt('mine', 'public.private.note.1')),
	(2, 'someone_else', ef_encrypt('theirs', 'public.private.note.2'));
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

-- the schema is in the context: a value copied from one tenant's schema to
-- another's table of the same name does not decrypt there
CREATE SCHEMA tenant_a;
CREATE SCHEMA tenant_b;
CREATE TABLE tenant_a.patients (id int PRIMARY KEY, note encrypted_field);
CREATE TABLE tenant_b.patients (id int PRIMARY KEY, note encrypted_field);
SELECT ef_create_view('tenant_a.patients', key_column => 'id');
SELECT ef_create_view('tenant_b.patients', key_column => 'id');
INSERT INTO tenant_a.patients_decrypted VALUES (1, 'a''s secret');
INSERT INTO tenant_b.patients SELECT * FROM tenant_a.patients;
SELECT throws_ok($$SELECT note FROM tenant_b.patients_decrypted$$, 'XX001', 'could not decrypt value',
	'a value copied to the same table in another schema does not decrypt');
SELECT is((SELECT note FROM tenant_a.patients_decrypted), 'a''s secret', 'while it does where it was written');

-- context_schema => false: the context of views made before 0.3.0
CREATE TABLE legacy (id int PRIMARY KEY, note encrypted_field);
INSERT INTO legacy VALUES (7, ef_encrypt('old', 'legacy.note.7'));
SELECT ef_create_view('legacy', key_column => 'id', context_schema => false);
SELECT is((SELECT note FROM legacy_decrypted), 'old', 'a view with context_schema => false reads values of the old context');
SELECT throws_ok($$SELECT ef_create_view('legacy', 'legacy_v2', context_schema => NULL)$$, '22004',
	'argument "context_schema" must not be null', 'a null context_schema is refused');

-- names are never truncated
CREATE TABLE t23456789012345678901234567890123456789012345678901234567890123 (id int PRIMARY KEY, v encrypted_field);
SELECT throws_ok($$SELECT ef_create_view('t23456789012345678901234567890123456789012345678901234567890123')$$,
	'42622', 'the view''s name "t23456789012345678901234567890123456789012345678901234567890123_decrypted" would be longer than 63 bytes',
	'a default view name longer than 63 bytes is refused, not truncated');
SELECT throws_ok(format('SELECT ef_create_view(%L, %L)',
	't23456789012345678901234567890123456789012345678901234567890123', repeat('x', 64)), '42622',
	format('the view''s name "%s" would be longer than 63 bytes', repeat('x', 64)),
	'so is a view_name longer than 63 bytes');
SELECT is(ef_create_view('t23456789012345678901234567890123456789012345678901234567890123',
	'v23456789012345678901234567890123456789012345678901234567890123', 'id')::text,
	'v23456789012345678901234567890123456789012345678901234567890123', 'a view name of 63 bytes is taken whole');
SELECT is((SELECT tgfoid::regproc::text FROM pg_trigger
	WHERE tgrelid = 'v23456789012345678901234567890123456789012345678901234567890123'::regclass),
	'v23456789012345678901234567890123456789012345678901234567_write',
	'its trigger function is the name shortened to fit, with _write');
INSERT INTO v23456789012345678901234567890123456789012345678901234567890123 VALUES (1, 'long');
SELECT is((SELECT v FROM v23456789012345678901234567890123456789012345678901234567890123), 'long',
	'and the view works');

-- the registry's REPEATABLE READ check (registering, rotating) runs no
-- operator planted earlier in search_path either: in a transaction of its
-- own, in a session on a scratch database
\ir lib/dblink.psql
DO $$ BEGIN
	PERFORM dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_generated_ctl'));
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_generated WITH (FORCE)');
	PERFORM dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_generated');
	PERFORM dblink_connect('ef_rr', tap_conninfo('ef_tap_generated', 'ef_tap_generated_rr')
		|| tap_key_options(ARRAY[1, 2]));
	PERFORM dblink_exec('ef_rr', $r$CREATE EXTENSION encrypted_field;
		CREATE SCHEMA evil;
		CREATE TABLE evil.calls (op text);
		CREATE FUNCTION evil.cat(text, text) RETURNS text LANGUAGE sql AS
			$f$ INSERT INTO evil.calls VALUES ('||'); SELECT $1 OPERATOR(pg_catalog.||) $2 $f$;
		CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.cat);
		CREATE FUNCTION evil.md5(text) RETURNS text LANGUAGE sql AS
			$f$ INSERT INTO evil.calls VALUES ('md5'); SELECT pg_catalog.md5($1) $f$;
		CREATE FUNCTION evil.format(text, integer, integer) RETURNS text LANGUAGE sql AS
			$f$ INSERT INTO evil.calls VALUES ('format'); SELECT $1 $f$
		$r$);
	PERFORM remote('ef_rr', 'SELECT ef_register_key(1)::text');
	PERFORM dblink_exec('ef_rr', 'SET search_path = evil, public, pg_catalog');
	PERFORM dblink_exec('ef_rr', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
	PERFORM remote('ef_rr', 'SELECT ef_unlock(1)::text');
	PERFORM remote('ef_rr', 'SELECT ef_register_key(2)::text');
	PERFORM dblink_exec('ef_rr', 'COMMIT');
	PERFORM dblink_exec('ef_rr', 'BEGIN ISOLATION LEVEL SERIALIZABLE');
	PERFORM remote('ef_rr', 'SELECT ef_unlock(2)::text');
	PERFORM remote('ef_rr', 'SELECT ef_rotate_index_key()::text');
	PERFORM dblink_exec('ef_rr', 'COMMIT');
	PERFORM dblink_exec('ef_rr', 'RESET search_path');
END $$;
SELECT is(remote('ef_rr', 'SELECT count(*)::text FROM public.ef_keys'), '2',
	'registering under REPEATABLE READ with a hostile search_path works');
SELECT is(remote('ef_rr', 'SELECT max(index_key_id)::text FROM public.ef_index_keys'), '2',
	'and so does rotating under SERIALIZABLE');
SELECT is(remote('ef_rr', $r$SELECT coalesce(string_agg(op, ','), 'none') FROM evil.calls$r$), 'none',
	'no planted operator or function ran in the registry''s checks');
DO $$ BEGIN
	PERFORM dblink_disconnect('ef_rr');
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_generated WITH (FORCE)');
	PERFORM dblink_disconnect('ef_ctl');
END $$;

SELECT * FROM finish();
ROLLBACK;

-- The routines that name the extension's own objects work with the
-- extension in a schema whose name must be quoted and holds what format()
-- reads as a specifier (%s), a semicolon and a statement:
-- ef_create_view and the view and trigger it makes, ef_encrypt_column,
-- ef_rewrap_column and ef_reterm_column with the checks they share, and
-- ef_citus_share_registry.  The script names the schema as PostgreSQL
-- quotes it; SQL the routines generate takes it as a format() argument,
-- never in the format string.  (No newline or "--" in the name: newer
-- releases, Debian's 15.20 among them, refuse those in a schema an
-- extension script names.)
--
-- Installed fresh, and at 0.2.0 then updated, each in a scratch database
-- reached with dblink: the column procedures commit between batches, and
-- this file's own transaction never commits.  The scratch sessions keep the
-- schema off their search_path, so that every name a routine generates must
-- carry it.  They are given the tap keys at connection start
-- (test/t/001_pgtap.pl).  Citus is not installed there: its routine refuses
-- to run, then runs against stand-ins for the Citus functions it calls,
-- which run the command it sends the workers in the scratch database.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(27);

\ir lib/dblink.psql

-- the schema's name
CREATE FUNCTION ext_schema() RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'Enc Field %s; SELECT 1/0' $$;
-- the result of sql, a format() string whose %1$I is the schema, in a
-- scratch session, or its SQLSTATE and error; NULL if no row
CREATE FUNCTION in_scratch(conn text, sql text) RETURNS text LANGUAGE sql
	AS $$ SELECT remote_try(conn, format(sql, ext_schema())) $$;

-- every routine, in the scratch database a session is connected to, after
-- install installs the extension
CREATE FUNCTION routines_in_schema(conn text, install text, how text) RETURNS SETOF text
	LANGUAGE plpgsql AS $f$
BEGIN
	RETURN NEXT is(in_scratch(conn, install
		|| $$; SELECT extversion FROM pg_extension WHERE extname = 'encrypted_field'$$), '0.3.0',
		how || ': installed in the schema');
	RETURN NEXT is(in_scratch(conn, $$SET client_min_messages = warning;
		SELECT %1$I.ef_register_key(1);
		SELECT %1$I.ef_unlock(1);
		SELECT %1$I.ef_register_key(2);
		SELECT %1$I.ef_unlock(2);
		CREATE TABLE people (id int PRIMARY KEY, name %1$I.encrypted_field, email %1$I.encrypted_field);
		CREATE TABLE c (id int PRIMARY KEY, note text, secret %1$I.encrypted_field, tag %1$I.encrypted_field);
		INSERT INTO c SELECT g, 'note ' || g, %1$I.ef_encrypt('secret ' || g, key_id => 1),
			%1$I.ef_encrypt('tag ' || g, searchable => true) FROM generate_series(1, 25) g;
		SELECT count(*) FROM c$$),
		'25', how || ': keys and tables');

	RETURN NEXT is(in_scratch(conn, $$SELECT %1$I.ef_create_view('people', key_column => 'id',
			searchable_columns => '{email}')::text$$),
		'people_decrypted', how || ': ef_create_view');
	RETURN NEXT is(in_scratch(conn, $$INSERT INTO people_decrypted VALUES (1, 'Ann', 'ann@example.org'),
			(2, 'Bob', 'bob@example.org');
		UPDATE people_decrypted SET name = 'Bo' WHERE id = 2;
		DELETE FROM people_decrypted WHERE id = 1;
		SELECT concat_ws(' ', id, name, email) FROM people_decrypted$$),
		'2 Bo bob@example.org', how || ': insert, update, delete and select through the view');
	RETURN NEXT is(in_scratch(conn, $$SELECT %1$I.ef_decrypt(name, 'public.people.name.2') FROM people
		WHERE email OPERATOR(%1$I.=) %1$I.ef_term('bob@example.org'::text, 'people.email')$$),
		'Bo', how || ': the trigger wrote each value with its context, and the searchable one with its domain');

	-- the column procedures commit: each is a statement of its own
	RETURN NEXT is(concat_ws('; ',
		in_scratch(conn, $$CALL %1$I.ef_encrypt_column('c', 'note', context_expr => '''c.'' || id',
			searchable => true, search_domain => 'c.note', batch_size => 10)$$),
		in_scratch(conn, $$SELECT concat_ws(' ',
			count(*) FILTER (WHERE %1$I.ef_decrypt(note_encrypted, 'c.' || id) = note),
			(SELECT id FROM c WHERE note_encrypted OPERATOR(%1$I.=) %1$I.ef_term('note 7'::text, 'c.note')))
			FROM c$$)),
		'CALL; 25 7', how || ': ef_encrypt_column adds the column, encrypts every value with its context and domain');
	RETURN NEXT is(concat_ws('; ',
		in_scratch(conn, $$CALL %1$I.ef_rewrap_column('c', 'secret', 2, batch_size => 10)$$),
		in_scratch(conn, $$SELECT concat_ws(' ', string_agg(DISTINCT %1$I.ef_key_id(secret)::text, ','),
			count(*) FILTER (WHERE %1$I.ef_decrypt(secret) = 'secret ' || id)) FROM c$$)),
		'CALL; 2 25', how || ': ef_rewrap_column moves every value to key 2');
	RETURN NEXT is(concat_ws('; ',
		in_scratch(conn, $$SELECT %1$I.ef_rotate_index_key()::text$$),
		in_scratch(conn, $$CALL %1$I.ef_reterm_column('c', 'tag', batch_size => 10)$$),
		in_scratch(conn, $$SELECT concat_ws(' ', string_agg(DISTINCT %1$I.ef_index_key_id(tag)::text, ','),
			(SELECT id FROM c WHERE tag OPERATOR(%1$I.=) %1$I.ef_term('tag 5'::text))) FROM c$$)),
		'2; CALL; 2 5', how || ': ef_reterm_column moves every term to the new index key');
	RETURN NEXT is(in_scratch(conn, $$CALL %1$I.ef_rewrap_column('c', 'note', 2)$$),
		'42804: column "note" of c is not of type encrypted_field',
		how || ': the checks the column procedures share know the extension''s type');

	RETURN NEXT is(in_scratch(conn, $$SELECT %1$I.ef_citus_share_registry()::text$$),
		'55000: Citus is not installed in this database', how || ': ef_citus_share_registry refuses without Citus');
	-- stand-ins, named where ef_citus_share_registry looks for Citus's
	-- catalog and functions; the workers' command runs here
	RETURN NEXT is(in_scratch(conn, $$SET allow_system_table_mods = on;
		INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
			VALUES (pg_nextoid('pg_extension', 'oid', 'pg_extension_oid_index'), 'citus', 10,
				'public'::regnamespace, false, 'stand-in');
		CREATE TABLE pg_catalog.pg_dist_local_group (groupid int);
		INSERT INTO pg_catalog.pg_dist_local_group VALUES (0);
		CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass);
		CREATE TABLE worker_commands (command text);
		CREATE FUNCTION pg_catalog.run_command_on_workers(command text) RETURNS void LANGUAGE plpgsql AS
			'BEGIN INSERT INTO public.worker_commands VALUES (command); EXECUTE command; END';
		CREATE FUNCTION pg_catalog.create_reference_table(t regclass) RETURNS void LANGUAGE sql AS
			'INSERT INTO pg_catalog.pg_dist_partition VALUES (t)';
		CREATE FUNCTION pg_catalog.replicate_reference_tables(mode text) RETURNS void LANGUAGE sql AS '';
		RESET allow_system_table_mods;
		SELECT 'stand-ins'$$),
		'stand-ins', how || ': stand-ins for Citus');
	RETURN NEXT is(in_scratch(conn, $$SELECT %1$I.ef_citus_share_registry();
		SELECT concat_ws(' ', string_agg(command, '; '), (SELECT count(*) FROM pg_catalog.pg_dist_partition),
			(SELECT count(*) FROM pg_constraint WHERE conrelid = '%1$I.ef_index_keys'::regclass
				AND conname = 'ef_index_keys_key_id_fkey'))
			FROM worker_commands$$),
		format('ALTER TABLE %I.ef_index_keys DROP CONSTRAINT IF EXISTS ef_index_keys_key_id_fkey 2 1', ext_schema()),
		how || ': ef_citus_share_registry sends the workers a command naming the schema, and restores the foreign key');
END
$f$;

-- a scratch database of this name, made afresh (a run interrupted may have
-- left it), and a session on it of the same name; and the end of both
CREATE FUNCTION open_scratch(db text) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws('; ', dblink_exec('ef_ctl', format('DROP DATABASE IF EXISTS %I WITH (FORCE)', db)),
		dblink_exec('ef_ctl', format('CREATE DATABASE %I', db)), dblink_connect(db, tap_conninfo(db, db)))
$$;
CREATE FUNCTION close_scratch(db text) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws('; ', dblink_disconnect(db), dblink_exec('ef_ctl', format('DROP DATABASE %I WITH (FORCE)', db)))
$$;

SELECT is(dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_schema_ctl')), 'OK',
	'open a control connection');
SELECT is(open_scratch('ef_tap_schema_fresh'), 'DROP DATABASE; CREATE DATABASE; OK',
	'a scratch database for a fresh install, and a session on it');
SELECT is(open_scratch('ef_tap_schema_updated'), 'DROP DATABASE; CREATE DATABASE; OK',
	'one for an install updated from 0.2.0');

SELECT * FROM routines_in_schema('ef_tap_schema_fresh',
	'CREATE SCHEMA %1$I; CREATE EXTENSION encrypted_field SCHEMA %1$I', 'fresh');
SELECT * FROM routines_in_schema('ef_tap_schema_updated',
	$$CREATE SCHEMA %1$I; CREATE EXTENSION encrypted_field VERSION '0.2.0' SCHEMA %1$I;
	ALTER EXTENSION encrypted_field UPDATE$$, 'updated from 0.2.0');

SELECT close_scratch('ef_tap_schema_fresh');
SELECT close_scratch('ef_tap_schema_updated');
SELECT dblink_disconnect('ef_ctl');

SELECT * FROM finish();
ROLLBACK;

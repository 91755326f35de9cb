-- Autovacuum analyses columns of encrypted values, searchable or not:
-- arrays, a domain, an array of the domain and a composite type, in a table
-- whose rows mix values with and without search terms.  Before 0.2.0 the
-- array's statistics compared values without a term and failed, once a
-- minute, for ever.
--
-- Autovacuum sees only committed tables, so the table lives in a scratch
-- database written through dblink (this file's own transaction is never
-- committed), and the file waits for autovacuum to analyse it, with
-- autovacuum_naptime set to 1 second for the while (ALTER SYSTEM, through
-- the control connection) and reset at the end; the wait gives up after 60
-- seconds.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(16);

CREATE EXTENSION encrypted_field;
\ir lib/dblink.psql

SELECT is(dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_autovacuum_ctl')), 'OK',
	'open a control connection');
SELECT is(dblink_exec('ef_ctl', 'ALTER SYSTEM SET autovacuum_naptime = 1'), 'ALTER SYSTEM',
	'autovacuum wakes every second for this test');
SELECT is(remote('ef_ctl', 'SELECT pg_reload_conf()::text'), 'true', 'the server reads the setting');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_autovacuum WITH (FORCE)'), 'DROP DATABASE',
	'drop any scratch database an interrupted run left behind');
SELECT is(dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_autovacuum'), 'CREATE DATABASE',
	'create the scratch database');
SELECT is(dblink_connect('ef_w', tap_conninfo('ef_tap_autovacuum', 'ef_tap_autovacuum_writer')), 'OK',
	'open a session on it');

SELECT lives_ok($$SELECT dblink_exec('ef_w', $r$
	CREATE EXTENSION encrypted_field;
	SELECT ef_register_key(1, comment => 'autovacuum test key');
	SELECT ef_unlock(1);
	CREATE DOMAIN ef_dom AS encrypted_field;
	CREATE TYPE ef_pair AS (label text, v encrypted_field);
	CREATE TABLE mixed (id int, a encrypted_field[], d ef_dom, da ef_dom[], c ef_pair)
		WITH (autovacuum_analyze_threshold = 1, autovacuum_analyze_scale_factor = 0);
	INSERT INTO mixed
	SELECT g,
		ARRAY[ef_encrypt('a' || g % 5), ef_encrypt('b' || g % 3, searchable => true)],
		ef_encrypt('d' || g % 7, searchable => g % 2 = 0),
		ARRAY[ef_encrypt('x' || g % 4)::ef_dom],
		ROW('pair ' || g % 3, ef_encrypt('p' || g))::ef_pair
	FROM generate_series(1, 500) g;
$r$)$$, 'a table of arrays, a domain, an array of the domain and a composite, searchable or not');

-- the writer goes idle with its statistics sent (a backend sends them when
-- idle); another session waits for autovacuum to analyse the table
SELECT is(remote('ef_w', 'SELECT pg_stat_force_next_flush()::text'), '', 'the writer sends its statistics');
SELECT is(dblink_connect('ef_wait', tap_conninfo('ef_tap_autovacuum', 'ef_tap_autovacuum_wait')), 'OK',
	'open a session to wait in');
SELECT lives_ok($$SELECT dblink_exec('ef_wait', $r$
	DO $w$
	BEGIN
		FOR i IN 1 .. 600 LOOP
			PERFORM pg_stat_clear_snapshot();
			EXIT WHEN (SELECT last_autoanalyze IS NOT NULL FROM pg_stat_user_tables
				WHERE relname = 'mixed');
			PERFORM pg_sleep(0.1);
		END LOOP;
	END $w$
$r$)$$, 'wait for autovacuum');
SELECT is(remote('ef_w', $r$SELECT (last_autoanalyze IS NOT NULL)::text FROM pg_stat_user_tables
	WHERE relname = 'mixed'$r$)::text, 'true', 'autovacuum analysed the table');
SELECT is(remote('ef_w', $r$SELECT string_agg(attname || '=' || (null_frac = 0)::text, ',' ORDER BY attname)
	FROM pg_stats WHERE tablename = 'mixed' AND attname IN ('a', 'd', 'da', 'c')$r$)::text,
	'a=true,c=true,d=true,da=true', 'every column of encrypted values has statistics');
SELECT is(remote('ef_w', $r$SELECT count(*)::text FROM pg_stats WHERE tablename = 'mixed'$r$)::text, '5',
	'and so has the plain column');

SELECT dblink_disconnect('ef_w');
SELECT dblink_disconnect('ef_wait');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_autovacuum WITH (FORCE)'), 'DROP DATABASE',
	'drop the scratch database');
SELECT is(dblink_exec('ef_ctl', 'ALTER SYSTEM RESET autovacuum_naptime'), 'ALTER SYSTEM',
	'reset the setting');
SELECT is(remote('ef_ctl', 'SELECT pg_reload_conf()::text'), 'true', 'the server reads it again');
SELECT dblink_disconnect('ef_ctl');

SELECT * FROM finish();
ROLLBACK;

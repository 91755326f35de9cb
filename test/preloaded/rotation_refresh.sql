-- With the library in shared_preload_libraries, a rotation that commits is
-- counted in shared memory, and every other session reads its index keys
-- again before it next computes a term: it writes terms under the new index
-- key, matches moved values, rotates and registers, all without unlocking
-- again.  Two sessions through dblink, on a scratch database; run by
-- test/t/002_pgtap_preloaded.pl against a preloaded cluster (test/rotation_concurrency.sql
-- shows the behaviour without preloading).  The sessions are given the tap
-- keys at connection start (libpq in the server reads PGOPTIONS from the
-- server's environment), and ef_unlock(id) and ef_register_key(id) take
-- them from there.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(22);

\ir ../lib/dblink.psql

SELECT is(current_setting('shared_preload_libraries') ~ 'encrypted_field', true,
	'the library is in shared_preload_libraries');
SELECT is(dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_refresh_ctl')), 'OK',
	'open a control connection');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_refresh WITH (FORCE)'), 'DROP DATABASE',
	'drop any scratch database an interrupted run left behind');
SELECT is(dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_refresh'), 'CREATE DATABASE', 'create the scratch database');
SELECT is(dblink_connect('ef_a', tap_conninfo('ef_tap_refresh', 'ef_tap_refresh_a')), 'OK', 'open session A');
SELECT is(dblink_connect('ef_b', tap_conninfo('ef_tap_refresh', 'ef_tap_refresh_b')), 'OK', 'open session B');
SELECT is(dblink_connect('ef_c', tap_conninfo('ef_tap_refresh', 'ef_tap_refresh_c')), 'OK', 'open session C');

SELECT is(remote_try('ef_a', $$CREATE EXTENSION encrypted_field;
	CREATE FUNCTION term_ids(terms encrypted_field_term[]) RETURNS text LANGUAGE sql IMMUTABLE
		AS 'SELECT string_agg(substring(t::text FROM 1 FOR 4), '','' ORDER BY n)
		    FROM unnest(terms) WITH ORDINALITY AS u(t, n)';
	SELECT ef_register_key(1)::text;
	SELECT ef_unlock(1)::text;
	CREATE TABLE v AS SELECT ef_encrypt('kept', NULL, true, search_domain => 'v') AS c;
	SELECT term_ids(ef_terms('x'::text))$$), '0001', 'A registers key 1, writes a value and holds index key 1');
SELECT is(remote_try('ef_b', 'SELECT ef_unlock(1)::text || term_ids(ef_terms(''x''::text))'), '0001',
	'B unlocks key 1 and holds index key 1');
SELECT is(remote_try('ef_a', 'SELECT ef_rotate_index_key()::text'), '2', 'A rotates to index key 2, committed');

SELECT is(remote_try('ef_b', 'SELECT term_ids(ef_terms(''x''::text))'), '0002,0001',
	'B, without unlocking again, now holds index keys 2 and 1');
SELECT is(remote_try('ef_b', $$SELECT ef_index_key_id(ef_encrypt('new', NULL, true, search_domain => 'v'))::text$$), '2',
	'B writes new terms under index key 2');
SELECT is(remote_try('ef_b', $$SELECT count(*)::text FROM v WHERE c = ANY(ef_terms('kept'::text, 'v'))$$), '1',
	'and still finds the value A wrote under index key 1');
SELECT is(remote_try('ef_b', 'SELECT ef_rotate_index_key()::text'), '3', 'B rotates to index key 3 without unlocking again');
SELECT is(remote_try('ef_a', $$SELECT ef_register_key(2)::text;
	SELECT string_agg(index_key_id::text, ',' ORDER BY index_key_id) FROM ef_index_keys WHERE key_id = 2$$), '2,3',
	'A registers key 2 without unlocking again: it gets index keys 3 and 2');

-- unlocking reads the index keys committed by now, even in a transaction
-- whose snapshot is older than the rotation
SELECT is(remote_try('ef_b', 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*)::text FROM ef_keys'), '2',
	'B takes a REPEATABLE READ snapshot');
SELECT is(remote_try('ef_c', 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*)::text FROM ef_keys'), '2',
	'C, which holds no key, takes one too');
SELECT is(remote_try('ef_a', 'SELECT ef_unlock(2)::text; SELECT ef_rotate_index_key()::text'), '4',
	'A rotates to index key 4, committed');
SELECT is(remote_try('ef_b', 'SELECT term_ids(ef_terms(''x''::text))'), '0004,0003',
	'B takes the rotation inside that transaction');
-- (C rather than B unlocks there: B's ef_lock() would forget the keys it
-- was given at connection start too)
SELECT is(remote_try('ef_c', $$SELECT ef_unlock(1)::text || term_ids(ef_terms('x'::text))$$),
	'0004,0003', 'and C, unlocking in its transaction, holds index keys 4 and 3, not what its snapshot shows');
SELECT is(remote_try('ef_b', 'COMMIT; SELECT term_ids(ef_terms(''x''::text))'), '0004,0003', 'and B still after it commits');
SELECT is(remote_try('ef_c', 'COMMIT; SELECT term_ids(ef_terms(''x''::text))'), '0004,0003', 'and C too');

SELECT dblink_disconnect('ef_a');
SELECT dblink_disconnect('ef_b');
SELECT dblink_disconnect('ef_c');
SELECT dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_refresh WITH (FORCE)');
SELECT dblink_disconnect('ef_ctl');

SELECT * FROM finish();
ROLLBACK;

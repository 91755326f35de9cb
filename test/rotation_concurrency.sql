-- Index key changes from two sessions at once.  Rotating the index key and
-- registering a master key take a lock on the registry's index keys until
-- their transaction ends.  The one that waited then reads what the other
-- committed: in READ COMMITTED it is refused because it no longer holds the
-- newest index key (it must unlock again), in REPEATABLE READ it fails with
-- a serialization error; never does it wrap a stale index key or make a
-- second index key with the same id.  In a scratch database, through
-- dblink, since this file's own transaction never commits.  The sessions are
-- given the tap keys at connection start (libpq in the server reads
-- PGOPTIONS from the server's environment, test/t/001_pgtap.pl), and
-- ef_unlock(id) and ef_register_key(id) take them from there.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(33);

\ir lib/dblink.psql
-- wait until a session's statement waits for a lock; false after 10 s
CREATE FUNCTION waits_for_lock(app text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..100 LOOP
		IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = app AND wait_event_type = 'Lock') THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END $$;
-- the result of a statement sent with dblink_send_query, once it is done
CREATE FUNCTION result_of(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	SELECT x INTO r FROM dblink_get_result(conn) AS t(x text);
	PERFORM * FROM dblink_get_result(conn) AS t(x text);
	RETURN r;
END $$;

-- preloaded, sessions read a rotation without unlocking again, and the
-- refusals below do not happen: test/preloaded/rotation_refresh.sql
SELECT current_setting('shared_preload_libraries') ~ 'encrypted_field' AS ef_preloaded \gset
\if :ef_preloaded
SELECT skip('the library is preloaded: test/preloaded/rotation_refresh.sql covers this case', 33);
\else
SELECT is(dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_rot_ctl')), 'OK',
	'open a control connection');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_rotation WITH (FORCE)'), 'DROP DATABASE',
	'drop any scratch database an interrupted run left behind');
SELECT is(dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_rotation'), 'CREATE DATABASE', 'create the scratch database');
SELECT is(dblink_connect('ef_a', tap_conninfo('ef_tap_rotation', 'ef_tap_rot_a')), 'OK', 'open session A');
SELECT is(dblink_connect('ef_b', tap_conninfo('ef_tap_rotation', 'ef_tap_rot_b')), 'OK', 'open session B');

-- both sessions catch errors of their statements as text
SELECT is(dblink_exec('ef_a', $$
	CREATE EXTENSION encrypted_field;
	CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS 'DECLARE r text; BEGIN
		EXECUTE sql INTO r; RETURN r; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || '': '' || SQLERRM; END';
	CREATE TABLE t (c encrypted_field)$$),
	'CREATE TABLE', 'the extension, helpers and a table in the scratch database');

-- two first registrations: without the lock each would make an index key 1
SELECT is(remote_try('ef_a', 'BEGIN; SELECT ef_register_key(1)::text'), '',
	'A registers the first key, not committed');
SELECT is(dblink_send_query('ef_b', 'SELECT try(''SELECT ef_register_key(9)::text'')'), 1,
	'B registers another first key');
SELECT ok(waits_for_lock('ef_tap_rot_b'), 'B waits for A''s lock on the index keys');
SELECT is(remote_try('ef_a', 'COMMIT; SELECT ''committed'''), 'committed', 'A commits');
SELECT is(result_of('ef_b'), '55000: cannot register a master key in index-key group "default" without its index key',
	'B sees A''s index key, which it does not hold, and is refused');
SELECT is(remote_try('ef_a', 'SELECT count(*)::text FROM ef_index_keys'), '1', 'one index key, wrapped under key 1');

SELECT is(remote_try('ef_a', 'SELECT ef_unlock(1)::text || ef_register_key(2)::text;
	SELECT ef_unlock(2)::text'), '', 'A registers key 2 and holds both');
SELECT is(remote_try('ef_b', 'SELECT ef_unlock(1)::text || ef_unlock(2)::text'), '',
	'B holds both keys too');

-- rotation against rotation: B waits for A, then must start again
SELECT is(remote_try('ef_a', 'BEGIN; SELECT ef_rotate_index_key()::text'), '2', 'A rotates to index key 2, not committed');
SELECT is(dblink_send_query('ef_b', 'SELECT try(''SELECT ef_rotate_index_key()::text'')'), 1,
	'B starts a rotation');
SELECT ok(waits_for_lock('ef_tap_rot_b'), 'B waits for A''s lock on the index keys');
SELECT is(remote_try('ef_a', 'COMMIT; SELECT ''committed'''), 'committed', 'A commits');
SELECT is(result_of('ef_b'), '55000: this session does not hold the newest index key of group "default"',
	'B''s rotation reads index key 2 and is refused: it unlocked before it existed');
SELECT is(remote_try('ef_b', 'CALL ef_reterm_column(''t'', ''c'')'),
	'55000: this session does not hold the newest index key of its index-key group',
	'B''s ef_reterm_column is refused too: it would move values back to index key 1');
SELECT is(remote_try('ef_b', 'SELECT ef_unlock(1)::text || ef_unlock(2)::text || ef_rotate_index_key()'),
	'3', 'after unlocking again, B rotates to index key 3');

-- registration against rotation: the new key must get the newest index key
SELECT is(remote_try('ef_a', 'SELECT ef_unlock(1)::text || ef_unlock(2)::text'), '',
	'A unlocks again and holds index keys 3 and 2');
SELECT is(remote_try('ef_b', 'BEGIN; SELECT ef_rotate_index_key()::text'), '4', 'B rotates to index key 4, not committed');
SELECT is(dblink_send_query('ef_a', 'SELECT try(''SELECT ef_register_key(3)::text'')'), 1,
	'A starts registering key 3');
SELECT ok(waits_for_lock('ef_tap_rot_a'), 'A waits for B''s lock on the index keys');
SELECT is(remote_try('ef_b', 'COMMIT; SELECT ''committed'''), 'committed', 'B commits');
SELECT is(result_of('ef_a'), '55000: cannot register a master key in index-key group "default" without its index key',
	'A''s registration is refused: it would have wrapped index key 3, no longer the newest');
SELECT is(remote_try('ef_a', $$SELECT ef_unlock(1)::text || ef_register_key(3)::text;
	SELECT string_agg(index_key_id::text, ',' ORDER BY index_key_id) FROM ef_index_keys WHERE key_id = 3$$),
	'3,4', 'after unlocking again, A registers key 3 with index keys 4 and 3');


-- in REPEATABLE READ the snapshot cannot see the other's commit: 40001
SELECT is(remote_try('ef_b', 'SELECT ef_unlock(1)::text || ef_unlock(2)::text ||
	ef_unlock(3)::text'), '', 'B unlocks keys 1 to 3 again');
SELECT is(remote_try('ef_b', 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*)::text FROM ef_keys'),
	'3', 'B takes a REPEATABLE READ snapshot');
SELECT is(remote_try('ef_a', 'SELECT ef_unlock(1)::text || ef_unlock(2)::text ||
	ef_unlock(3)::text; SELECT ef_rotate_index_key()::text'), '5',
	'A unlocks its keys again, rotates to index key 5 and commits');
SELECT is(remote_try('ef_b', 'SELECT try(''SELECT ef_rotate_index_key()::text'')'),
	'40001: could not serialize access due to a concurrent change of the index keys',
	'B''s rotation fails with a serialization error, not a second index key 5');
SELECT is(remote_try('ef_b', 'ROLLBACK; SELECT string_agg(DISTINCT index_key_id::text, '','') FROM ef_index_keys'),
	'1,2,3,4,5', 'index keys 1 to 5, each made once');

SELECT dblink_disconnect('ef_a');
SELECT dblink_disconnect('ef_b');
SELECT dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_rotation WITH (FORCE)');
SELECT dblink_disconnect('ef_ctl');
\endif

SELECT * FROM finish();
ROLLBACK;

-- The audit trail in the server log: one LOG line per unlock, failed unlock,
-- lock and forgotten key, naming user, database, client and application; never
-- sent to the client; never holding key material, not even when a statement
-- with a key written literally in it fails inside a key function, nor when
-- a statement passes a key through a wrapper function and then fails.
--
-- The sessions are given the tap keys at connection start (this one by
-- pg_prove's PGOPTIONS, the dblink session by the server's environment, see
-- test/t/001_pgtap.pl), and ef_unlock(id) and ef_register_key(id) take them
-- from there; the file writes keys into statements only to see them refused.
--
-- The log is read from SQL: test/t/001_pgtap.pl makes the server's log readable as
-- $PGDATA/server.log.  Each check reads only what was written after a mark.
-- Lines that are written at COMMIT, and statements whose failure the server
-- logs, need another session: as in sessions.sql, that is a dblink session
-- on a scratch database created and dropped here.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(61);

CREATE EXTENSION encrypted_field;

-- the keys the sessions were given, tap_key(n) of lib/dblink.psql: to write
-- into statements that must be refused, and to look for in the log
\ir lib/dblink.psql
-- run a command or a one-column query in another session, for its effect
CREATE FUNCTION remote_exec(conn text, sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF sql ~* '^\s*SELECT' THEN
		PERFORM count(*) FROM dblink(conn, sql) AS t(x text);
	ELSE
		PERFORM dblink_exec(conn, sql);
	END IF;
END $$;

-- Marks in the log, and the text written since one
CREATE TEMP TABLE log_marks (name text PRIMARY KEY, off bigint NOT NULL);
CREATE FUNCTION log_mark(mark text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO log_marks VALUES (mark, (pg_stat_file('server.log')).size)
	ON CONFLICT (name) DO UPDATE SET off = excluded.off
$$;
CREATE FUNCTION log_since(mark text) RETURNS text LANGUAGE sql AS $$
	SELECT pg_read_file('server.log', off, (pg_stat_file('server.log')).size - off) FROM log_marks WHERE name = mark
$$;
-- how many lines written since a mark end with this exact LOG message
CREATE FUNCTION log_count(mark text, message text) RETURNS integer LANGUAGE sql AS $$
	SELECT count(*)::int FROM regexp_split_to_table(log_since(mark), E'\n') l
	WHERE right(l, length('LOG:  ' || message)) = 'LOG:  ' || message
$$;
-- the lines written since a mark that contain a string
CREATE FUNCTION log_grep(mark text, needle text) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT l FROM regexp_split_to_table(log_since(mark), E'\n') l WHERE position(needle IN l) > 0
$$;

-- every form of the test keys a log line could carry: hex in either case,
-- base64, and any 8-byte window of the hex
CREATE FUNCTION key_leaks(logtext text) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(f.what ORDER BY f.what) FROM (
		SELECT 'key ' || n || ' hex' AS what, encode(tap_key(n), 'hex') AS needle FROM generate_series(1, 2) n
		UNION ALL SELECT 'key ' || n || ' HEX', upper(encode(tap_key(n), 'hex')) FROM generate_series(1, 2) n
		UNION ALL SELECT 'key ' || n || ' base64', encode(tap_key(n), 'base64') FROM generate_series(1, 2) n
		UNION ALL SELECT 'key ' || n || ' window ' || i, encode(substring(tap_key(n) FROM i FOR 8), 'hex')
			FROM generate_series(1, 2) n, generate_series(1, 25) i
		UNION ALL SELECT 'key ' || n || ' WINDOW ' || i, upper(encode(substring(tap_key(n) FROM i FOR 8), 'hex'))
			FROM generate_series(1, 2) n, generate_series(1, 25) i) f
	WHERE position(f.needle IN logtext) > 0
$$;

SET application_name = 'ef_tap_audit_local';
-- who this session is, as an audit line names it
CREATE FUNCTION who(role text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
	SELECT format('user=%s%s database=%s client=%s application=%s', session_user,
		CASE WHEN role IS NULL THEN '' ELSE ' role=' || role END,
		current_database(), coalesce(host(inet_client_addr()), '[local]'), current_setting('application_name'))
$$;

-- ---------------------------------------------------------------------------
-- The log is live: a line written now can be read back
-- ---------------------------------------------------------------------------
SELECT log_mark('live');
DO $$ BEGIN RAISE LOG 'ef_tap audit log marker %', pg_backend_pid(); END $$;
SELECT count(*) = 1 AS log_live FROM log_grep('live', 'ef_tap audit log marker ' || pg_backend_pid()) \gset
SELECT ok(:'log_live'::boolean,
	'$PGDATA/server.log is this server''s live log (start the server with -l $PGDATA/server.log, or link it there, as test/t/001_pgtap.pl does)');

\if :log_live

SELECT log_mark('all');

-- ---------------------------------------------------------------------------
-- In this session: register, unlock, failed unlocks, lock
-- ---------------------------------------------------------------------------
SELECT log_mark('step');
SELECT ef_register_key(1);
SELECT is(log_count('step', format('encrypted_field: master key 1 registered (%s)', who())), 1,
	'ef_register_key writes one line naming the key id and who');

-- a second key must wrap the database's index key, which this session does
-- not hold until it unlocks a registered key: refused, and not logged as
-- registered
SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_register_key(2)$$, '55000',
	'cannot register a master key in index-key group "default" without its index key',
	'registering key 2 in a session that holds no key fails');
SELECT is((SELECT count(*)::int FROM log_grep('step', 'encrypted_field: master key 2 registered')), 0,
	'the refused registration writes no registered line');

-- the keys unlocked from here are let go of by rolling back to a savepoint
-- (ef_lock() would wipe the keys given at connection start too)
SAVEPOINT keys;
SELECT log_mark('step');
SELECT ef_unlock(1);
SELECT is(log_count('step', format('encrypted_field: master key 1 unlocked, scope session (%s)', who())), 1,
	'ef_unlock writes one line: key id, scope session, user, database, client, application');
SELECT is((SELECT count(*)::int FROM log_grep('step', 'encrypted_field:')), 1,
	'and no other encrypted_field line');
SELECT ok(who() LIKE '%application=ef_tap_audit_local', 'the line names this session''s application_name');

SELECT log_mark('step');
SELECT ef_register_key(2);
SELECT is(log_count('step', format('encrypted_field: master key 2 registered (%s)', who())), 1,
	'registering key 2, holding the index key through key 1, writes one line');
SELECT is((SELECT count(*)::int FROM log_grep('step', 'encrypted_field:')), 1,
	'and no other encrypted_field line');

-- rotating the index key, holding both keys that may encrypt
SELECT ef_unlock(2);
SELECT log_mark('step');
SELECT ef_rotate_index_key();
SELECT is(log_count('step', format('encrypted_field: index key 2 created, wrapped under 2 master key(s) (%s)', who())), 1,
	'ef_rotate_index_key writes one line: the new index key id, how many keys wrap it, and who');
SELECT is((SELECT count(*)::int FROM log_grep('step', 'encrypted_field:')), 1,
	'and no other encrypted_field line');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

SAVEPOINT keys;
SELECT log_mark('step');
SELECT ef_unlock(1, scope => 'transaction');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlocked, scope transaction (%s)', who())), 1,
	'an unlock with scope transaction says so');

-- a wrong key: the registry's row of key 1 holds another fingerprint than
-- that of the key this session was given
SELECT log_mark('step');
UPDATE ef_keys SET fingerprint = '\x000102030405060708090a0b0c0d0e0f' WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_unlock(1)$$, '28P01', NULL, 'an unlock with the wrong key fails');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: key does not match its fingerprint (%s)', who())), 1,
	'the failed unlock is logged, though its error was caught');
ROLLBACK TO SAVEPOINT keys;
RELEASE SAVEPOINT keys;

-- a key written into the statement is refused, and the refusal audited
SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_unlock(1, tap_key(1))$$, '28EF1', NULL, 'an unlock with a key written into the statement fails');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: key not given as a bind parameter (%s)', who())), 1,
	'the refused unlock is logged');

SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_unlock(50)$$, '42704', NULL, 'an unlock of an unregistered id fails');
SELECT is(log_count('step', format('encrypted_field: master key 50 unlock failed: not registered (%s)', who())), 1,
	'the unlock of an unregistered id is logged');

-- unlocks refused for their arguments are audited too
SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_unlock(1, '\x0102'::bytea)$$, '22023', NULL, 'an unlock with a short key fails');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: key is not 32 bytes long (%s)', who())), 1,
	'the unlock with a short key is logged');
-- a null key takes the key given at connection start: none was for id 99
SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_unlock(99, NULL)$$, '22004', NULL, 'an unlock with a null key, and no key given at connection start, fails');
SELECT is(log_count('step', format('encrypted_field: master key 99 unlock failed: no key given (%s)', who())), 1,
	'the unlock with no key given is logged');
SELECT log_mark('step');
SELECT throws_ok($$SELECT ef_unlock(1, scope => 'forever')$$, '22023', NULL, 'an unlock with a bad scope fails');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: invalid scope (%s)', who())), 1,
	'the unlock with a bad scope is logged');

-- a key unlocked in a subtransaction that fails is forgotten, and logged
SELECT log_mark('step');
SELECT throws_ok($t$DO $d$ BEGIN PERFORM ef_unlock(1); RAISE EXCEPTION 'undo'; END $d$$t$, 'P0001', 'undo',
	'a block that unlocks a key, then fails');
SELECT is(log_count('step', format('encrypted_field: master key 1 forgotten, scope session: subtransaction aborted (%s)', who())), 1,
	'the key forgotten with the failed subtransaction is logged');
SELECT is((SELECT count(*)::int FROM ef_held_keys()), 0, 'and it is not held');

-- the current role is named when it is not the login role: a role with the
-- login role's privileges, which the key given at connection start serves,
-- and one without, which it does not
SELECT session_user AS login_role \gset
CREATE ROLE ef_tap_audit_role IN ROLE :"login_role";
CREATE ROLE ef_tap_audit_other;
SELECT log_mark('step');
SET ROLE ef_tap_audit_role;
SELECT ef_unlock(1);
RESET ROLE;
SELECT is(log_count('step', format('encrypted_field: master key 1 unlocked, scope session (%s)', who('ef_tap_audit_role'))), 1,
	'an unlock after SET ROLE names the login user and the current role');
SELECT log_mark('step');
SET ROLE ef_tap_audit_other;
SELECT throws_ok($$SELECT ef_unlock(1)$$, '42501', NULL,
	'an unlock after SET ROLE to a role without the login role''s privileges fails');
RESET ROLE;
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: key given at connection start serves another role (%s)',
	who('ef_tap_audit_other'))), 1, 'the refused unlock is logged, naming the current role');

SELECT log_mark('step');
SELECT is(ef_lock(), 1, 'ef_lock forgets the one key held');
SELECT is(log_count('step', format('encrypted_field: locked by ef_lock(); master keys forgotten: 1 (%s)', who())), 1,
	'ef_lock writes one line with the number of keys forgotten');

-- ---------------------------------------------------------------------------
-- In another session: commit and rollback, DISCARD ALL, nothing to the
-- client, and failed statements with keys written in them
-- ---------------------------------------------------------------------------
DO $$ BEGIN
	PERFORM dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_audit_ctl'));
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_audit WITH (FORCE)');
	PERFORM dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_audit');
	-- the other session preloads the library, as the README advises, and
	-- is given the keys at connection start: PGOPTIONS in the server's
	-- environment does both
	PERFORM dblink_connect('ef_r', tap_conninfo('ef_tap_audit', 'ef_tap_audit_remote'));
END $$;
SELECT remote_exec('ef_r', $r$
	CREATE EXTENSION encrypted_field;
	SELECT ef_register_key(1);
	-- an application's own wrappers: their statements do not name ef_unlock;
	-- the second carries on when the unlock fails
	CREATE FUNCTION app_unlock(k bytea) RETURNS void LANGUAGE plpgsql
		AS $b$ BEGIN PERFORM ef_unlock(1, k); END $b$;
	CREATE FUNCTION app_try_unlock(k bytea) RETURNS integer LANGUAGE plpgsql
		AS $b$ BEGIN PERFORM ef_unlock(1, k); RETURN 1; EXCEPTION WHEN OTHERS THEN RETURN 1; END $b$;
	-- LOG messages, were they sent to this client, would reach it
	SET client_min_messages = log;
	$r$);
CREATE TEMP TABLE remote_who AS
SELECT remote('ef_r', $r$SELECT format('user=%s database=%s client=%s application=%s', session_user,
	current_database(), coalesce(host(inet_client_addr()), '[local]'), current_setting('application_name'))$r$) AS who;

SELECT is(remote('ef_r', 'SHOW session_preload_libraries'), 'encrypted_field',
	'the other session preloads the library');

-- a message the other session sends to its client is printed by libpq in
-- this backend, to this same log: the way to see what a client receives
SELECT log_mark('step');
SELECT remote_exec('ef_r', $r$DO $d$ BEGIN RAISE LOG 'ef_tap client channel marker'; END $d$$r$);
SELECT is(log_count('step', 'ef_tap client channel marker'), 2,
	'control: a RAISE LOG in the other session appears twice, written by its server and received by its client');

SELECT log_mark('step');
SELECT remote_exec('ef_r', 'SELECT ef_unlock(1)');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlocked, scope session (%s)', who)), 1,
	'the unlock line appears once: written to the server log, never sent to the client (client_min_messages = log)')
FROM remote_who;
SELECT ok(who LIKE 'user=% database=ef_tap_audit client=% application=ef_tap_audit_remote', 'the other session''s line names its own database and application')
FROM remote_who;

SELECT log_mark('step');
SELECT remote_exec('ef_r', 'SELECT ef_lock()');
SELECT is(log_count('step', format('encrypted_field: locked by ef_lock(); master keys forgotten: 1 (%s)', who)), 1,
	'the lock line appears once, not sent to the client')
FROM remote_who;
-- ef_lock() forgot the keys given at connection start too
SELECT log_mark('step');
SELECT throws_ok($$SELECT remote('ef_r', 'SELECT ef_unlock(1)')$$, '22004', NULL,
	'after ef_lock(), the other session has no key to unlock with');
SELECT is(log_count('step', format('encrypted_field: master key 1 unlock failed: no key given (%s)', who)), 1,
	'the unlock with no key given is logged once, not sent to the client')
FROM remote_who;
-- so it connects again, given its keys
DO $$ BEGIN
	PERFORM dblink_disconnect('ef_r');
	PERFORM dblink_connect('ef_r', tap_conninfo('ef_tap_audit', 'ef_tap_audit_remote'));
	PERFORM dblink_exec('ef_r', 'SET client_min_messages = log');
END $$;

-- transaction scope: forgotten, and logged, at commit and at rollback
SELECT log_mark('step');
SELECT remote_exec('ef_r', 'BEGIN');
SELECT remote_exec('ef_r', $r$SELECT ef_unlock(1, scope => 'transaction')$r$);
SELECT is(log_count('step', 'encrypted_field: master key 1 forgotten, scope transaction: transaction ended'
	|| format(' (%s)', who)), 0, 'nothing is forgotten before the commit')
FROM remote_who;
SELECT remote_exec('ef_r', 'COMMIT');
SELECT is(log_count('step', format('encrypted_field: master key 1 forgotten, scope transaction: transaction ended (%s)', who)), 1,
	'a transaction-scoped key is forgotten at COMMIT, with one line')
FROM remote_who;
SELECT is(remote('ef_r', 'SELECT count(*) FROM ef_held_keys()'), '0', 'and is no longer held');

SELECT log_mark('step');
SELECT remote_exec('ef_r', 'BEGIN');
SELECT remote_exec('ef_r', 'SELECT ef_unlock(1)');
SELECT remote_exec('ef_r', 'ROLLBACK');
SELECT is(log_count('step', format('encrypted_field: master key 1 forgotten, scope session: transaction aborted (%s)', who)), 1,
	'a key unlocked in a transaction that rolls back is forgotten, with one line')
FROM remote_who;

SELECT log_mark('step');
SELECT remote_exec('ef_r', 'SELECT ef_unlock(1)');
SELECT remote_exec('ef_r', 'DISCARD ALL');
SELECT is(log_count('step', format('encrypted_field: locked by DISCARD ALL; master keys forgotten: 1 (%s)', who)), 1,
	'DISCARD ALL forgets the keys, with one line')
FROM remote_who;
-- and the keys given at connection start: a pooler's next client gets none
SELECT throws_ok($$SELECT remote('ef_r', 'SELECT ef_unlock(1)')$$, '22004', 'no master key given for key 1',
	'after DISCARD ALL, the keys given at connection start are gone too');
-- DISCARD ALL reset client_min_messages too
SELECT remote_exec('ef_r', 'SET client_min_messages = log');

-- failed statements that carry a key literally: the server logs the error,
-- but not the statement.  A key written into a statement is refused (28EF1)
-- unless the key argument itself is refused first (its length, the key id);
-- a bad scope or reason comes after the key's source is checked.
SELECT log_mark('statements');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_unlock(1, %L::bytea)', '\x' || encode(tap_key(2), 'hex'))),
	'28EF1', NULL, 'a literal wrong key is refused');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_unlock(1, %L::bytea)', '\x' || encode(substring(tap_key(1) FROM 1 FOR 31), 'hex'))),
	'22023', NULL, 'a literal key of the wrong length, 31 bytes of the right one, fails');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_register_key(1, %L::bytea)', '\x' || upper(encode(tap_key(1), 'hex')))),
	'28EF1', NULL, 'registering the right key again, in upper-case hex, is refused');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_unlock(99, %L::bytea)', '\x' || encode(tap_key(1), 'hex'))),
	'28EF1', NULL, 'the right key literal for an unregistered id is refused');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_unlock(1, decode(%L, %L), %L)', encode(tap_key(1), 'base64'), 'base64', 'forever')),
	'28EF1', NULL, 'the right key in base64 with a bad scope: the key written into the statement is the error');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_unlock(NULL, %L::bytea)', '\x' || encode(tap_key(1), 'hex'))),
	'22004', NULL, 'the right key literal with a NULL key id fails');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT app_unlock(%L::bytea)', '\x' || encode(tap_key(2), 'hex'))),
	'28EF1', NULL, 'a literal wrong key passed through a wrapper function is refused');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$, format('SELECT ef_register_key(2, %L::bytea)', '\x' || encode(tap_key(2), 'hex'))),
	'28EF1', NULL, 'a new key literal, registered in a session without the index key, is refused');
SELECT throws_ok($$SELECT remote('ef_r', 'SELECT 1/0 AS ef_tap_statement_control')$$, '22012', NULL,
	'control: a failing statement that is not ours');
SELECT is((SELECT count(*)::int FROM log_grep('statements', 'ERROR:  ')), 9,
	'the server logged all nine errors');
SELECT is((SELECT count(*)::int FROM log_grep('statements', 'STATEMENT:  ') l WHERE l LIKE '%ef_tap_statement_control%'), 1,
	'control: the failing statement that is not ours is logged with its STATEMENT line');
SELECT is((SELECT array_agg(l) FROM log_grep('statements', 'STATEMENT:  ') l WHERE l NOT LIKE '%ef_tap_statement_control%'), NULL,
	'no STATEMENT line is logged for the eight failures inside the key functions, even through a wrapper');

-- ---------------------------------------------------------------------------
-- No key material anywhere in what this file made the server log
-- ---------------------------------------------------------------------------
SELECT ok(octet_length(log_since('all')) > 0 AND position('encrypted_field: master key 1 unlocked' IN log_since('all')) > 0,
	'the log text checked below holds this file''s audit lines');
SELECT is(key_leaks(log_since('all')), NULL,
	'the log holds no key in hex (either case), base64, or any 8-byte window of hex');

-- A statement that passes a key through an application's wrapper, whose text
-- does not name a key function, and which carries on when the key is
-- refused, then fails for another reason: the failure is logged
-- (log_min_error_statement = error, the default), and must not carry the
-- statement, which holds the key.
SELECT log_mark('wrapper');
SELECT throws_ok(format($f$SELECT remote('ef_r', %L)$f$,
	format('SELECT 1/(x-1) FROM (SELECT app_try_unlock(%L::bytea) AS x OFFSET 0) s', '\x' || encode(tap_key(1), 'hex'))),
	'22012', NULL, 'a statement that passes a key through a wrapper, which catches the refusal, then fails, fails');
SELECT is(key_leaks(log_since('wrapper')), NULL,
	'a failed statement that passed a key through a wrapper function leaves no key in the log');

DO $$ BEGIN
	PERFORM dblink_disconnect('ef_r');
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_audit');
	PERFORM dblink_disconnect('ef_ctl');
END $$;

\else
SELECT skip('the server log is not readable as $PGDATA/server.log', 60);
\endif

SELECT * FROM finish();
ROLLBACK;

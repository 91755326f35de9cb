-- Keys belong to one backend.  Two other sessions, A and B, opened with
-- dblink on a scratch database: A registers and unlocks a key and writes
-- encrypted rows; B, which holds no key, sees every piece of metadata but no
-- content, until it unlocks the key itself.  Locking and transaction scope
-- in A do not reach B.  On a searchable column B, with no key, groups, joins
-- and finds rows by terms A computed and stored, but computes none itself;
-- the index key behind the terms is the database's, under every master key.
--
-- This file's own transaction is never committed, so another session could
-- not see an extension or rows created in it.  Everything therefore happens
-- in a database created here through dblink (CREATE DATABASE runs in the
-- other session, outside any transaction block) and dropped at the end.
--
-- A and B are given the tap keys at connection start, as this session is
-- (libpq in the server reads PGOPTIONS from the server's environment, which
-- test/t/001_pgtap.pl sets); ef_unlock(id) takes them from there.  ef_lock()
-- forgets those too, so a session that locked connects again to unlock.
-- Unlocks made in a transaction end at PREPARE TRANSACTION, which needs
-- max_prepared_transactions > 0 on the server.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(98);

CREATE EXTENSION encrypted_field;

\ir lib/dblink.psql
-- the plaintext the rows below are written from, to check what B sees
CREATE FUNCTION note_plain(g integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT 'secret note ' || g || ' for team ' || (1 + g % 2)
$$;
-- the searchable label of each note: labels 0 to 3 on 5, 6, 6 and 3 notes
CREATE FUNCTION note_label(g integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT 'label ' || (g % 7 % 4)
$$;

-- ---------------------------------------------------------------------------
-- A scratch database and two sessions on it
-- ---------------------------------------------------------------------------
SELECT is(dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_sessions_ctl')), 'OK',
	'open a control connection');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_sessions WITH (FORCE)'), 'DROP DATABASE',
	'drop any scratch database an interrupted run left behind');
SELECT is(dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_sessions'), 'CREATE DATABASE',
	'create the scratch database');
SELECT is(dblink_connect('ef_a', tap_conninfo('ef_tap_sessions', 'ef_tap_session_a')), 'OK', 'open session A');
SELECT is(dblink_connect('ef_b', tap_conninfo('ef_tap_sessions', 'ef_tap_session_b')), 'OK', 'open session B');
SELECT isnt(remote('ef_a', 'SELECT pg_backend_pid()'), remote('ef_b', 'SELECT pg_backend_pid()'),
	'A and B are two backends');

-- A: the extension, a key, and rows with plain metadata and a context per row
SELECT lives_ok($$SELECT dblink_exec('ef_a', $r$
	CREATE EXTENSION encrypted_field;
	SELECT ef_register_key(1, comment => 'sessions test key');
	SELECT ef_unlock(1);
	-- a second key wraps the index key, which A holds since it unlocked key 1
	SELECT ef_register_key(2, comment => 'second sessions test key');
	CREATE TABLE teams (team_id int PRIMARY KEY, name text);
	INSERT INTO teams VALUES (1, 'red'), (2, 'blue');
	CREATE TABLE notes (id int PRIMARY KEY, team_id int REFERENCES teams, author text, body encrypted_field);
	INSERT INTO notes SELECT g, 1 + g % 2, 'author' || g % 3,
		CASE WHEN g % 5 = 0 THEN NULL
		     ELSE ef_encrypt('secret note ' || g || ' for team ' || (1 + g % 2), 'notes.body.' || g) END
	FROM generate_series(1, 20) g;
	-- a searchable label per note, and a second table of labels to join with
	CREATE TABLE labels (note_id int REFERENCES notes, label encrypted_field);
	INSERT INTO labels SELECT g, ef_encrypt('label ' || (g % 7 % 4), searchable => true, search_domain => 'notes.label')
	FROM generate_series(1, 20) g;
	CREATE TABLE watched (label encrypted_field, reason text);
	INSERT INTO watched VALUES
		(ef_encrypt('label 1', searchable => true, search_domain => 'notes.label'), 'audit'),
		(ef_encrypt('label 3', searchable => true, search_domain => 'notes.label'), 'review');
	-- the terms of labels 0 to 4, computed here and stored for sessions with no key
	CREATE TABLE probes AS SELECT n, ef_term('label ' || n, 'notes.label') AS t FROM generate_series(0, 4) n;
	$r$)$$, 'A creates the extension, registers and unlocks key 1, registers key 2, writes 20 rows (16 encrypted), 20 searchable labels, and stores the terms of 5 labels');

SELECT is(array(SELECT remote('ef_a', 'SELECT key_id || '' '' || scope FROM ef_held_keys()')), ARRAY['1 session'],
	'A holds key 1 for its session');
SELECT is(remote('ef_a', $r$SELECT count(*) FROM notes
	WHERE ef_decrypt(body, 'notes.body.' || id) = 'secret note ' || id || ' for team ' || (1 + id % 2)$r$), '16',
	'A decrypts every row it wrote');

-- ---------------------------------------------------------------------------
-- B holds no key: the metadata is all there
-- ---------------------------------------------------------------------------
SELECT is(remote('ef_b', 'SELECT count(*) FROM ef_held_keys()'), '0', 'B holds no key');
SELECT is(remote('ef_b', 'SELECT count(*) || '' '' || count(body) FROM notes'), '20 16',
	'B counts the rows and the non-NULL values');
SELECT is(array(SELECT remote('ef_b', 'SELECT id FROM notes WHERE body IS NULL ORDER BY id')),
	(SELECT array_agg(g::text ORDER BY g) FROM generate_series(1, 20) g WHERE g % 5 = 0),
	'B finds the NULL values with IS NULL');
SELECT is(array(SELECT remote('ef_b', 'SELECT ef_key_id(body) || '':'' || count(*) FROM notes WHERE body IS NOT NULL GROUP BY ef_key_id(body)')),
	ARRAY['1:16'], 'B groups the values by ef_key_id');
SELECT is(remote('ef_b', $r$SELECT count(*) FROM notes
	WHERE (ef_envelope(body)).version = 1 AND (ef_envelope(body)).key_id = 1
	  AND (ef_envelope(body)).plaintext_type = 'text'::regtype
	  AND octet_length((ef_envelope(body)).wrapped_key) = 40 AND octet_length((ef_envelope(body)).nonce) = 12
	  AND octet_length((ef_envelope(body)).tag) = 16
	  AND octet_length((ef_envelope(body)).ciphertext) = octet_length('secret note ' || id || ' for team ' || (1 + id % 2))$r$),
	'16', 'B reads every envelope''s parts: version, key id, type, and sizes that match the plaintext');
SELECT is(array(SELECT remote('ef_b', $r$SELECT t.name || ':' || count(*) || ':' || count(n.body)
	FROM notes n JOIN teams t USING (team_id) GROUP BY t.name ORDER BY t.name$r$)),
	array(SELECT CASE 1 + g % 2 WHEN 1 THEN 'red' ELSE 'blue' END || ':' || count(*) || ':'
		|| count(*) FILTER (WHERE g % 5 <> 0)
		FROM generate_series(1, 20) g GROUP BY 1 + g % 2 ORDER BY 1),
	'B joins and groups on the plain columns');
SELECT is(remote('ef_b', $r$SELECT count(*) FROM notes WHERE author = 'author1' AND body IS NOT NULL$r$),
	(SELECT count(*)::text FROM generate_series(1, 20) g WHERE g % 3 = 1 AND g % 5 <> 0),
	'B filters on a plain column');

-- ... and compares the searchable values, by their terms
SELECT is(remote('ef_b', 'SELECT count(DISTINCT label) FROM labels'),
	(SELECT count(DISTINCT note_label(g))::text FROM generate_series(1, 20) g),
	'B counts the distinct values of a searchable column (count(DISTINCT))');
SELECT is(remote('ef_b', 'SELECT string_agg(n::text, '','' ORDER BY n) FROM (SELECT count(*) n FROM labels GROUP BY label) g'),
	(SELECT string_agg(n::text, ',' ORDER BY n) FROM (SELECT count(*) n FROM generate_series(1, 20) g GROUP BY note_label(g)) x),
	'B groups by a searchable column (GROUP BY)');
SELECT is(dblink_exec('ef_b', 'SET enable_hashagg = off'), 'SET', 'B turns hash aggregation off');
SELECT is(remote('ef_b', 'SELECT string_agg(n::text, '','' ORDER BY n) FROM (SELECT count(*) n FROM labels GROUP BY label) g'),
	(SELECT string_agg(n::text, ',' ORDER BY n) FROM (SELECT count(*) n FROM generate_series(1, 20) g GROUP BY note_label(g)) x),
	'B groups by a searchable column by sorting it');
SELECT is(dblink_exec('ef_b', 'RESET enable_hashagg'), 'RESET', 'B turns hash aggregation back on');
SELECT is(array(SELECT remote('ef_b', $r$SELECT w.reason || ':' || string_agg(l.note_id::text, ',' ORDER BY l.note_id)
	FROM labels l JOIN watched w ON w.label = l.label GROUP BY w.reason ORDER BY w.reason$r$)),
	ARRAY['audit:' || (SELECT string_agg(g::text, ',' ORDER BY g) FROM generate_series(1, 20) g WHERE note_label(g) = 'label 1'),
	      'review:' || (SELECT string_agg(g::text, ',' ORDER BY g) FROM generate_series(1, 20) g WHERE note_label(g) = 'label 3')],
	'B joins two tables on their searchable columns');
SELECT is(remote('ef_b', 'SELECT string_agg(note_id::text, '','' ORDER BY note_id) FROM labels WHERE label = (SELECT t FROM probes WHERE n = 3)'),
	(SELECT string_agg(g::text, ',' ORDER BY g) FROM generate_series(1, 20) g WHERE note_label(g) = 'label 3'),
	'B finds the rows of a label with WHERE c = a term A stored');
SELECT is(remote('ef_b', 'SELECT string_agg(note_id::text, '','' ORDER BY note_id) FROM labels WHERE (SELECT t FROM probes WHERE n = 3) = label'),
	(SELECT string_agg(g::text, ',' ORDER BY g) FROM generate_series(1, 20) g WHERE note_label(g) = 'label 3'),
	'B finds them with the stored term on the left too');
SELECT is(remote('ef_b', 'SELECT count(*) FROM labels WHERE label = ANY (ARRAY(SELECT t FROM probes WHERE n IN (0, 3)))'),
	(SELECT count(*)::text FROM generate_series(1, 20) g WHERE note_label(g) IN ('label 0', 'label 3')),
	'B finds the rows of two labels with = ANY of stored terms');
SELECT is(remote('ef_b', 'SELECT count(*) FROM labels WHERE label = (SELECT t FROM probes WHERE n = 4)'), '0',
	'the stored term of a label no note has finds nothing');
SELECT is(remote('ef_b', $r$SELECT string_agg(l.note_id || ':' || p.n, ',' ORDER BY l.note_id) FROM labels l
	JOIN probes p ON (ef_envelope(l.label)).search_term = decode(p.t::text, 'hex')$r$),
	(SELECT string_agg(g || ':' || substring(note_label(g) FROM 7), ',' ORDER BY g) FROM generate_series(1, 20) g),
	'B reads the term in each searchable envelope: the stored term of its label, and no other');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_term('label 3', 'notes.label')$r$)$$,
	'55000', 'no index key is held in this session', 'ef_term in B fails: 55000');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_encrypt('label 3', searchable => true, search_domain => 'notes.label')$r$)$$,
	'55000', 'no master key is unlocked in this session', 'a searchable ef_encrypt in B fails: 55000');
SELECT throws_ok($$SELECT remote('ef_b', 'SELECT count(DISTINCT body) FROM notes')$$,
	'0A000', 'cannot compare encrypted_field values that are not searchable',
	'B cannot group a column that is not searchable: 0A000');

-- joins of a searchable column with a table of stored terms, as the planner
-- plans them (no statistics: ANALYZE collects none on encrypted_field, and
-- these tables are too small for autovacuum to analyze)
SELECT is(remote_try('ef_b', 'SELECT count(*) FROM labels l JOIN probes p ON l.label = p.t'), '20',
	'B joins a searchable column with the table of stored terms');
SELECT is(remote_try('ef_b', 'SELECT count(*) FROM labels WHERE label IN (SELECT t FROM probes)'), '20',
	'B finds the rows whose label is IN the stored terms');
SELECT is(remote_try('ef_b', 'SELECT count(*) FROM labels l WHERE EXISTS (SELECT FROM probes p WHERE p.t = l.label)'), '20',
	'B finds the rows whose label EXISTS among the stored terms');
SELECT is(remote_try('ef_b', $r$SET enable_mergejoin = off; SET enable_nestloop = off;
	SELECT count(*) FROM labels l JOIN probes p ON l.label = p.t$r$), '20',
	'B joins a searchable column with the stored terms with hash and merge joins disabled');
SELECT is(dblink_exec('ef_b', 'RESET enable_mergejoin; RESET enable_nestloop'), 'RESET', 'B resets its join settings');

-- ... but no content
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'ef_decrypt in B fails: 55000');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_decrypt_as(body, NULL::text, 'notes.body.1') FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'ef_decrypt_as in B fails: 55000');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_rewrap(body) FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'ef_rewrap in B fails: 55000');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_encrypt('x')$r$)$$,
	'55000', 'no master key is unlocked in this session', 'ef_encrypt in B fails: 55000');

-- what B reads is ciphertext: the text form, and the bytes under its base64
CREATE TEMP TABLE b_read AS
SELECT id::int, v, decode(substring(v FROM 5), 'base64') AS bytes
FROM dblink('ef_b', 'SELECT id, body::text FROM notes WHERE body IS NOT NULL') AS t(id text, v text);
SELECT is((SELECT count(*)::int FROM b_read
	WHERE v LIKE 'ef1:%' AND octet_length(bytes) = 76 + octet_length(convert_to(note_plain(id), 'UTF8'))), 16,
	'B reads 16 values in the ef1: text form, each 76 bytes longer than its plaintext');
SELECT is((SELECT count(*)::int FROM b_read
	WHERE position('secret' IN v) > 0 OR position('note' IN v) > 0 OR position(note_plain(id) IN v) > 0
	   OR position(encode(convert_to(note_plain(id), 'UTF8'), 'base64') IN v) > 0), 0,
	'no text form B reads contains the plaintext or its base64');
SELECT is((SELECT count(*)::int FROM b_read
	WHERE position(convert_to('secret', 'UTF8') IN bytes) > 0 OR position(convert_to('team', 'UTF8') IN bytes) > 0
	   OR position(convert_to(note_plain(id), 'UTF8') IN bytes) > 0), 0,
	'no envelope B reads contains the plaintext bytes');

-- ---------------------------------------------------------------------------
-- B unlocks for itself
-- ---------------------------------------------------------------------------
-- a wrong key: in a transaction of B's, the registry's row of key 1 holds
-- the fingerprint of another key (key 2's) than the one B was given
SELECT is(dblink_exec('ef_b', 'BEGIN; UPDATE ef_keys SET fingerprint = (SELECT fingerprint FROM ef_keys WHERE key_id = 2) WHERE key_id = 1'),
	'UPDATE 1', 'B, in a transaction, makes the row of key 1 name another key');
SELECT throws_ok($$SELECT remote('ef_b', 'SELECT ef_unlock(1)')$$,
	'28P01', 'master key does not match the fingerprint registered for key 1', 'B unlocking with the wrong key: 28P01');
SELECT is(dblink_exec('ef_b', 'ROLLBACK'), 'ROLLBACK', 'B rolls the change of the registry back');
SELECT is(remote('ef_b', 'SELECT count(*) FROM ef_held_keys()'), '0', 'the failed unlock left B holding nothing');
SELECT throws_ok($$SELECT remote('ef_b', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'B still cannot decrypt');
SELECT lives_ok($$SELECT remote('ef_b', 'SELECT ef_unlock(1)')$$, 'B unlocks with the right key');
SELECT is(array(SELECT remote('ef_b', 'SELECT key_id || '' '' || scope FROM ef_held_keys()')), ARRAY['1 session'],
	'B now holds key 1');
SELECT is(remote('ef_b', $r$SELECT count(*) FROM notes
	WHERE ef_decrypt(body, 'notes.body.' || id) = 'secret note ' || id || ' for team ' || (1 + id % 2)$r$), '16',
	'B decrypts every row A wrote');

-- ---------------------------------------------------------------------------
-- A's ef_lock() does not reach B
-- ---------------------------------------------------------------------------
SELECT is(remote('ef_a', 'SELECT ef_lock()'), '1', 'A''s ef_lock() forgets its one key');
SELECT is(remote('ef_a', 'SELECT count(*) FROM ef_held_keys()'), '0', 'A holds no key');
SELECT throws_ok($$SELECT remote('ef_a', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'A can no longer decrypt');
SELECT throws_ok($$SELECT remote('ef_a', 'SELECT ef_unlock(1)')$$, '22004', 'no master key given for key 1',
	'A''s ef_lock() forgot the keys A was given at connection start too: 22004');
SELECT is(array(SELECT remote('ef_b', 'SELECT key_id || '' '' || scope FROM ef_held_keys()')), ARRAY['1 session'],
	'B still holds key 1 after A''s ef_lock()');
SELECT is(remote('ef_b', $r$SELECT count(*) FROM notes
	WHERE ef_decrypt(body, 'notes.body.' || id) = 'secret note ' || id || ' for team ' || (1 + id % 2)$r$), '16',
	'B still decrypts every row');

-- ---------------------------------------------------------------------------
-- A transaction-scoped key in A is gone when A's transaction commits
-- ---------------------------------------------------------------------------
SELECT dblink_disconnect('ef_a');
SELECT is(dblink_connect('ef_a', tap_conninfo('ef_tap_sessions', 'ef_tap_session_a')), 'OK',
	'A connects again, given its keys at connection start');
SELECT is(dblink_exec('ef_a', 'BEGIN'), 'BEGIN', 'A begins a transaction');
SELECT lives_ok($$SELECT remote('ef_a', $r$SELECT ef_unlock(1, scope => 'transaction')$r$)$$,
	'A unlocks key 1 for the transaction');
SELECT is(array(SELECT remote('ef_a', 'SELECT key_id || '' '' || scope FROM ef_held_keys()')), ARRAY['1 transaction'],
	'A holds key 1 with scope transaction');
SELECT is(remote('ef_a', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$), note_plain(1),
	'A decrypts inside the transaction');
SELECT is(dblink_exec('ef_a', 'COMMIT'), 'COMMIT', 'A commits');
SELECT is(remote('ef_a', 'SELECT count(*) FROM ef_held_keys()'), '0', 'A holds no key after the commit');
SELECT throws_ok($$SELECT remote('ef_a', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$)$$,
	'55000', 'no master key is unlocked in this session', 'A cannot decrypt after the commit');
SELECT is(remote('ef_b', $r$SELECT ef_decrypt(body, 'notes.body.1') FROM notes WHERE id = 1$r$), note_plain(1),
	'B, with its session key, still decrypts');
SELECT is(remote('ef_b', 'SELECT ef_lock()'), '1', 'B''s ef_lock() forgets its one key');

-- ---------------------------------------------------------------------------
-- Unlocks made in a transaction end at PREPARE TRANSACTION: the prepared
-- transaction may yet commit or roll back after the session has moved on
-- ---------------------------------------------------------------------------
SELECT cmp_ok(current_setting('max_prepared_transactions')::int, '>', 0,
	'the server allows prepared transactions (max_prepared_transactions, test/t/001_pgtap.pl)');
SELECT current_setting('max_prepared_transactions')::int > 0 AS ef_prepared_ok \gset
\if :ef_prepared_ok
SELECT is(dblink_exec('ef_a', 'BEGIN'), 'BEGIN', 'A begins a transaction');
SELECT lives_ok($$SELECT remote('ef_a', 'SELECT ef_unlock(1)')$$, 'A unlocks key 1, scope session, in it');
SELECT is(dblink_exec('ef_a', $r$PREPARE TRANSACTION 'ef_tap_sessions_1'$r$), 'PREPARE TRANSACTION', 'A prepares the transaction');
SELECT is(remote('ef_a', 'SELECT count(*) FROM ef_held_keys()'), '0', 'A holds no key after PREPARE TRANSACTION');
SELECT is(dblink_exec('ef_a', $r$COMMIT PREPARED 'ef_tap_sessions_1'$r$), 'COMMIT PREPARED', 'A commits the prepared transaction');
SELECT is(remote('ef_a', 'SELECT count(*) FROM ef_held_keys()'), '0', 'A holds no key after COMMIT PREPARED either');
SELECT is(dblink_exec('ef_a', 'BEGIN'), 'BEGIN', 'A begins another transaction');
SELECT lives_ok($$SELECT remote('ef_a', 'SELECT ef_unlock(1)')$$, 'A unlocks key 1 in it');
SELECT is(dblink_exec('ef_a', $r$PREPARE TRANSACTION 'ef_tap_sessions_2'$r$), 'PREPARE TRANSACTION', 'A prepares it');
SELECT is(dblink_exec('ef_a', $r$ROLLBACK PREPARED 'ef_tap_sessions_2'$r$), 'ROLLBACK PREPARED', 'A rolls the prepared transaction back');
SELECT is(remote('ef_a', 'SELECT count(*) FROM ef_held_keys()'), '0', 'A holds no key after ROLLBACK PREPARED');
-- a key held before the transaction, unlocked again in it: as it was before
SELECT lives_ok($$SELECT remote('ef_a', 'SELECT ef_unlock(1)')$$, 'A unlocks key 1 for its session');
SELECT is(remote('ef_a', $r$BEGIN; SELECT ef_unlock(1, scope => 'transaction')::text;
	SELECT string_agg(key_id || ' ' || scope, ',') FROM ef_held_keys()$r$), '1 transaction',
	'A unlocks it again with scope transaction, in a transaction');
SELECT is(dblink_exec('ef_a', $r$PREPARE TRANSACTION 'ef_tap_sessions_3'$r$), 'PREPARE TRANSACTION', 'A prepares it');
SELECT is(remote('ef_a', $r$SELECT string_agg(key_id || ' ' || scope, ',') FROM ef_held_keys()$r$), '1 session',
	'after PREPARE TRANSACTION, A holds key 1 as before the transaction, scope session');
SELECT is(dblink_exec('ef_a', $r$COMMIT PREPARED 'ef_tap_sessions_3'$r$), 'COMMIT PREPARED', 'A commits the prepared transaction');
SELECT is(remote('ef_a', $r$SELECT string_agg(key_id || ' ' || scope, ',') FROM ef_held_keys()$r$), '1 session',
	'and still after COMMIT PREPARED');
\else
SELECT skip('prepared transactions are disabled (max_prepared_transactions = 0)', 17);
\endif

-- ---------------------------------------------------------------------------
-- The index key is the database's: B, through key 2, which A registered
-- while holding key 1, computes the terms A computed through key 1
-- ---------------------------------------------------------------------------
SELECT dblink_disconnect('ef_b');
SELECT is(dblink_connect('ef_b', tap_conninfo('ef_tap_sessions', 'ef_tap_session_b')), 'OK',
	'B connects again, given its keys at connection start: its ef_lock() forgot them');
SELECT is(remote('ef_b', 'SELECT count(*) FROM ef_held_keys()'), '0', 'B holds no key again');
SELECT throws_ok($$SELECT remote('ef_b', 'SELECT ef_register_key(3)')$$,
	'55000', 'cannot register a master key in index-key group "default" without its index key',
	'B, holding no key, cannot register a key: 55000');
SELECT lives_ok($$SELECT remote('ef_b', 'SELECT ef_unlock(2)')$$, 'B unlocks key 2');
SELECT is(remote('ef_b', $r$SELECT ef_term('label 3', 'notes.label')::text = (SELECT t::text FROM probes WHERE n = 3)$r$),
	't', 'B''s term of label 3 through key 2 is the one A stored through key 1');
SELECT is(remote('ef_b', $r$SELECT string_agg(note_id::text, ',' ORDER BY note_id) FROM labels
	WHERE label = ef_term('label 3', 'notes.label')$r$),
	(SELECT string_agg(g::text, ',' ORDER BY g) FROM generate_series(1, 20) g WHERE note_label(g) = 'label 3'),
	'B finds the rows of label 3 with its own term');
SELECT is(remote('ef_b', $r$SELECT count(*) FROM labels
	WHERE label = ef_encrypt('label 3', searchable => true, search_domain => 'notes.label')$r$),
	(SELECT count(*)::text FROM generate_series(1, 20) g WHERE note_label(g) = 'label 3'),
	'a value B encrypts under key 2 equals the values A encrypted under key 1');
SELECT lives_ok($$SELECT remote('ef_b', 'SELECT ef_register_key(3)')$$,
	'B, holding the index key through key 2, registers key 3');
SELECT is(remote('ef_b', $r$SELECT string_agg(index_key_id || ':' || key_id, ',' ORDER BY key_id) FROM ef_index_keys$r$),
	'1:1,1:2,1:3', 'one index key, wrapped under keys 1, 2 and 3');
SELECT is(remote('ef_b', 'SELECT ef_lock()'), '1', 'B forgets key 2');

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT is(dblink_disconnect('ef_a'), 'OK', 'close session A');
SELECT is(dblink_disconnect('ef_b'), 'OK', 'close session B');
SELECT is(dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_sessions'), 'DROP DATABASE', 'drop the scratch database');
SELECT is(dblink_disconnect('ef_ctl'), 'OK', 'close the control connection');

SELECT * FROM finish();
ROLLBACK;

-- Index-key groups: the master keys of one group (a tenant) share index keys
-- that only they wrap.  A holder of another group's keys computes other
-- terms, so it cannot find the group's values by their plaintext; it cannot
-- join the group, rotate its index key or re-term its values; destroying a
-- group's master keys leaves no wrapped copy of its index keys under any
-- other key.  Within a group, equality, UNIQUE and rotation work as before.
--
-- This session was given the tap keys at connection start; it lets go of a
-- key it unlocked by rolling back to a savepoint taken before (ef_lock()
-- would wipe the keys given at connection start).  Values sealed while a
-- key is held are kept in psql variables across such a rollback.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(44);

CREATE EXTENSION encrypted_field;
CREATE TABLE accounts (tenant int, email encrypted_field);
CREATE INDEX ON accounts (email);

SELECT col_default_is('ef_keys', 'index_group', 'default', 'a key joins the group "default" unless told');
SELECT lives_ok($$SELECT ef_register_key(1, comment => 'tenant A')$$, 'register key 1 in the group "default"');
SELECT lives_ok($$SELECT ef_register_key(2, comment => 'tenant B', index_group => 'tenant_b')$$,
	'register key 2 in a new group, holding no key: the group gets an index key of its own');
SELECT is((SELECT array_agg(index_group ORDER BY key_id) FROM ef_keys), ARRAY['default', 'tenant_b'],
	'the registry records each key''s group');
SELECT is((SELECT array_agg(index_key_id ORDER BY key_id) FROM ef_index_keys), ARRAY[1, 2],
	'each group has its own index key, ids numbered across the database');
SELECT is((SELECT array_agg(key_id) FROM ef_index_keys WHERE index_key_id = 2), ARRAY[2],
	'the new group''s index key is wrapped under its key alone');

-- a value of each tenant, sealed while only that tenant's key is held
SAVEPOINT a;
SELECT ef_unlock(1);
SELECT ef_encrypt('alice@example.com'::text, NULL, true) AS a_alice,
	ef_encrypt('alice@example.com'::text, NULL, true) AS a_alice_again,
	ef_term('alice@example.com'::text)::text AS a_term \gset
ROLLBACK TO a;
SAVEPOINT b;
SELECT ef_unlock(2);
SELECT ef_encrypt('alice@example.com'::text, NULL, true) AS b_alice,
	ef_term('alice@example.com'::text)::text AS b_term \gset
ROLLBACK TO b;
INSERT INTO accounts VALUES (1, :'a_alice'), (2, :'b_alice');

SELECT is(ef_index_key_id(email), CASE tenant WHEN 1 THEN 1 ELSE 2 END,
	'a value''s term is made with its own key''s group''s index key') FROM accounts ORDER BY tenant;
SELECT isnt(:'a_term'::text, :'b_term'::text, 'the same plaintext has different terms in two groups');

-- tenant B's key holder
SAVEPOINT b;
SELECT ef_unlock(2);
SELECT is((SELECT array_agg(tenant) FROM accounts WHERE email = ef_term('alice@example.com'::text)), ARRAY[2],
	'a holder of tenant B''s key finds only tenant B''s value by its plaintext');
SELECT is((SELECT array_agg(tenant) FROM accounts WHERE email = ANY(ef_terms('alice@example.com'::text))), ARRAY[2],
	'ef_terms gives no term of another group');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT array_agg(tenant) FROM accounts WHERE email = ef_term('alice@example.com'::text)), ARRAY[2],
	'and so does an index scan');
RESET enable_seqscan;
SELECT is((SELECT count(*)::int FROM accounts WHERE email = :'a_term'::encrypted_field_term), 1,
	'tenant A''s term, computed by tenant A, still finds tenant A''s value');
SELECT throws_ok($$SELECT ef_register_key(3)$$, '55000',
	'cannot register a master key in index-key group "default" without its index key',
	'tenant B''s key holder cannot join the group "default"');
SELECT throws_ok($$SELECT ef_rotate_index_key()$$, '55000',
	'cannot rotate the index key without every master key of its group that is not retired',
	'nor rotate its index key');
SELECT throws_ok($$SELECT ef_reterm(email) FROM accounts WHERE tenant = 1$$, '55000',
	'master key 1 is not unlocked in this session', 'nor re-term its values');
SELECT is(ef_rotate_index_key('tenant_b'), 3, 'tenant B rotates its own group''s index key');
SELECT is((SELECT array_agg(key_id) FROM ef_index_keys WHERE index_key_id = 3), ARRAY[2],
	'the new index key is wrapped under the group''s keys only');
ROLLBACK TO b;

-- tenant A's key holder
SAVEPOINT a;
SELECT ef_unlock(1);
SELECT is((SELECT array_agg(tenant) FROM accounts WHERE email = ef_term('alice@example.com'::text)), ARRAY[1],
	'a holder of tenant A''s key finds only tenant A''s value');
SELECT is((SELECT count(*)::int FROM accounts WHERE email = ANY(ef_terms('alice@example.com'::text))), 1,
	'ef_terms of tenant A''s holder matches one value');
SELECT throws_ok($$SELECT ef_rotate_index_key('tenant_b')$$, '55000',
	'cannot rotate the index key without every master key of its group that is not retired',
	'tenant A''s key holder cannot rotate tenant B''s index key');
SELECT throws_ok($$SELECT ef_rotate_index_key('nobody')$$, '55000',
	'index-key group "nobody" has no index key to rotate', 'a group with no key has no index key to rotate');
ROLLBACK TO a;

-- a session holding both: ef_term uses the group of the key that encrypts
-- (the last unlocked), ef_terms every group's
SAVEPOINT ab;
SELECT ef_unlock(1);
SELECT ef_unlock(2);
SELECT is(ef_term('alice@example.com'::text)::text, :'b_term'::text, 'ef_term uses the current key''s group');
SELECT ef_unlock(1);
SELECT is(ef_term('alice@example.com'::text)::text, :'a_term'::text, 'and follows the current key');
SELECT is((SELECT array_agg(tenant ORDER BY tenant) FROM accounts
	WHERE email = ANY(ef_terms('alice@example.com'::text))), ARRAY[1, 2],
	'ef_terms matches the values of every group whose key is held');
ROLLBACK TO ab;

-- re-wrapping keeps a value's term, so a searchable value does not move to
-- another group's key that way: its term would stay matchable by the first
SAVEPOINT ab;
SELECT ef_unlock(1);
SELECT ef_unlock(2);
SELECT throws_ok(format('SELECT ef_rewrap(%L::encrypted_field, 2)', :'a_alice'), '55000',
	'cannot re-wrap a searchable value under a master key of another index-key group',
	'a searchable value is not re-wrapped under another group''s key');
SELECT is(ef_key_id(ef_rewrap(ef_encrypt('no term'::text, key_id => 1), 2)), 2,
	'a value without a term is');
ROLLBACK TO ab;

-- the group is covered by the key's check value: a key administrator who
-- relabels a key's row cannot make it serve another group
SAVEPOINT relabel;
SELECT ef_unlock(1);
UPDATE ef_keys SET index_group = 'tenant_c' WHERE key_id = 1;
SELECT throws_ok($$SELECT ef_register_key(9, index_group => 'tenant_c')$$, '55000',
	'cannot register a master key in index-key group "tenant_c" without its index key',
	'a key held before its row was relabelled does not wrap its index key for the new group');
SELECT throws_ok($$SELECT ef_unlock(1)$$, '28P01',
	'master key does not match the fingerprint registered for key 1',
	'and the relabelled key no longer unlocks');
ROLLBACK TO relabel;

-- an index key belongs to one group: a row planted in ef_index_keys, naming
-- group A's index key id under group B's key (a copy of B's own wrapped
-- index key, which unwraps), makes B's key fail to unlock, rather than
-- take A's next index key at a rotation
SAVEPOINT planted;
INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key)
	SELECT 1, 2, wrapped_key FROM ef_index_keys WHERE key_id = 2 AND index_key_id = 2;
SELECT throws_ok($$SELECT ef_unlock(2)$$, 'XX001',
	'index key 1 is wrapped under master keys of more than one index-key group',
	'a planted row wrapping another group''s index key id refuses the unlock');
ROLLBACK TO planted;

-- a group whose keys are all retired is rotated by none of them held
SAVEPOINT retired;
SELECT ef_retire_key(2);
SELECT ef_unlock(1);
SELECT throws_ok($$SELECT ef_rotate_index_key('tenant_b')$$, '55000',
	'cannot rotate the index key of group "tenant_b" without one of its master keys held',
	'nobody outside a group rotates it, even with its keys retired');
ROLLBACK TO retired;

-- within a group: a successor key, UNIQUE, rotation
SELECT ef_unlock(1);
SELECT lives_ok($$SELECT ef_register_key(3, comment => 'tenant A, next key')$$,
	'a holder of the group''s key registers a successor in the group');
SELECT is((SELECT array_agg(index_key_id) FROM ef_index_keys WHERE key_id = 3), ARRAY[1],
	'the successor wraps the group''s index key, so terms survive the master key''s rotation');
CREATE UNIQUE INDEX accounts_email_unique ON accounts (email);
SELECT throws_ok(format('INSERT INTO accounts VALUES (1, %L)', :'a_alice_again'), '23505', NULL,
	'UNIQUE holds within a group');
SELECT ef_unlock(3);
SELECT is(ef_rotate_index_key(), 3, 'the group "default" rotates with its keys held');
SELECT is((SELECT array_agg(key_id ORDER BY key_id) FROM ef_index_keys WHERE index_key_id = 3), ARRAY[1, 3],
	'its new index key is wrapped under the group''s keys, not tenant B''s');

-- the group argument
SELECT throws_ok($$SELECT ef_register_key(9, decode(repeat('ab', 32), 'hex'), 'c', '')$$, '28EF1',
	'master key 9 was not given as a bind parameter',
	'a key in the statement is refused before the group is read: the statement stays out of the log');
SELECT throws_ok($$SELECT ef_register_key(9, index_group => NULL)$$, '22004',
	'index-key group must not be null', 'a null group is refused');
SELECT throws_ok($$SELECT ef_register_key(9, index_group => '')$$, '22023',
	'index-key group name must be 1 to 63 bytes long', 'an empty group name is refused');
SELECT throws_ok(format('SELECT ef_register_key(9, index_group => %L)', repeat('g', 64)), '22023',
	'index-key group name must be 1 to 63 bytes long', 'a group name of 64 bytes is refused');

-- a session holding the keys of 20 groups (more than 16, where a list of
-- index keys was once cut, the current key's group's with it), on a scratch
-- database: its keys given at connection start, computed here, never written
\ir lib/dblink.psql
DO $$ BEGIN
	PERFORM dblink_connect('ef_ctl', tap_conninfo(current_database(), 'ef_tap_tenants_ctl'));
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE IF EXISTS ef_tap_tenants WITH (FORCE)');
	PERFORM dblink_exec('ef_ctl', 'CREATE DATABASE ef_tap_tenants');
	PERFORM dblink_connect('ef_many', tap_conninfo('ef_tap_tenants', 'ef_tap_tenants_many')
		|| tap_key_options(ARRAY(SELECT generate_series(101, 120))));
	PERFORM dblink_exec('ef_many', $r$CREATE EXTENSION encrypted_field;
		SELECT ef_register_key(n, index_group => 'g' || n) FROM generate_series(101, 120) n;
		SELECT ef_unlock(n) FROM generate_series(120, 101, -1) n;
		CREATE TABLE acc (tenant int, email encrypted_field);
		INSERT INTO acc SELECT n, ef_encrypt('alice@example.com'::text, NULL, true, n) FROM generate_series(101, 120) n$r$);
END $$;
SELECT is(remote('ef_many', $r$SELECT string_agg(tenant::text, ',') FROM acc
	WHERE email = ef_term('alice@example.com'::text)$r$), '101',
	'holding 20 groups'' keys, ef_term uses the current key''s group');
SELECT is(remote('ef_many', $r$SELECT cardinality(ef_terms('alice@example.com'::text))::text$r$), '20',
	'ef_terms gives a term of every group held');
SELECT is(remote('ef_many', $r$SELECT count(*)::text FROM acc WHERE email = ANY(ef_terms('alice@example.com'::text))$r$),
	'20', 'and finds every group''s value');
SELECT is(remote('ef_many', $r$SELECT ef_index_key_id(ef_reterm(email))::text FROM acc WHERE tenant = 120$r$), '20',
	'ef_reterm keeps a value in its own group');
DO $$ BEGIN
	PERFORM dblink_disconnect('ef_many');
	PERFORM dblink_exec('ef_ctl', 'DROP DATABASE ef_tap_tenants WITH (FORCE)');
	PERFORM dblink_disconnect('ef_ctl');
END $$;

SELECT * FROM finish();
ROLLBACK;

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
SELECT plan(33);

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
SELECT throws_ok($$SELECT ef_reterm(email) FROM accounts WHERE tenant = 1$$, '42704',
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
SELECT throws_ok($$SELECT ef_register_key(9, index_group => NULL)$$, '22004',
	'index-key group must not be null', 'a null group is refused');
SELECT throws_ok($$SELECT ef_register_key(9, index_group => '')$$, '22023',
	'index-key group name must be 1 to 63 bytes long', 'an empty group name is refused');
SELECT throws_ok(format('SELECT ef_register_key(9, index_group => %L)', repeat('g', 64)), '22023',
	'index-key group name must be 1 to 63 bytes long', 'a group name of 64 bytes is refused');

SELECT * FROM finish();
ROLLBACK;

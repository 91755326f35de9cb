-- Holding keys: scopes, transactions, ef_lock, DISCARD ALL, retired keys.
-- The keys come at connection start (setup.sql); ef_lock() and DISCARD ALL
-- forget them with the held keys, so the test connects again (\c) to have
-- them back.
SELECT * FROM ef_held_keys();
SELECT ef_lock() AS forgotten;
-- ef_lock() forgot the keys given at connection start too
SELECT ef_unlock(1);
\echo :LAST_ERROR_SQLSTATE
\c

-- session scope survives commits
SELECT ef_unlock(1);
SELECT key_id, scope, is_current, retired, unlocked_at <= now() AS unlocked_in_past FROM ef_held_keys();
SELECT ef_decrypt(ef_encrypt('still here')) AS after_commit;

-- unlocking again replaces the slot, and may change the scope
SELECT ef_unlock(1, scope => 'session');
SELECT count(*) FROM ef_held_keys();

-- transaction scope: forgotten at commit
BEGIN;
SELECT ef_unlock(2, scope => 'transaction');
SELECT key_id, scope, is_current FROM ef_held_keys() ORDER BY key_id;
SELECT ef_key_id(ef_encrypt('inside')) AS encrypts_with;
COMMIT;
SELECT key_id, scope FROM ef_held_keys() ORDER BY key_id;

-- transaction scope: forgotten at rollback
BEGIN;
SELECT ef_unlock(2, scope => 'transaction');
ROLLBACK;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;

-- transaction scope: forgotten when the transaction fails
BEGIN;
SELECT ef_unlock(2, scope => 'transaction');
SELECT 1 / 0;
ROLLBACK;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;

-- a session key unlocked in a transaction that rolls back is forgotten too,
-- as a SET would be undone
BEGIN;
SELECT ef_unlock(2);
ROLLBACK;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;

-- unlocking a key already held, then rolling back, keeps the key
BEGIN;
SELECT ef_unlock(1);
ROLLBACK;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;

-- ... as it was: unlocked again with another scope, in a transaction or a
-- savepoint that rolls back, it keeps its scope and its unlock time
SELECT unlocked_at AS first_unlocked FROM ef_held_keys() WHERE key_id = 1 \gset
BEGIN;
SELECT ef_unlock(1, scope => 'transaction');
SELECT key_id, scope FROM ef_held_keys() ORDER BY key_id;
ROLLBACK;
SELECT key_id, scope, unlocked_at = :'first_unlocked' AS same_unlock FROM ef_held_keys() ORDER BY key_id;
BEGIN;
SAVEPOINT again;
SELECT ef_unlock(1, scope => 'transaction');
SELECT key_id, scope FROM ef_held_keys() ORDER BY key_id;
ROLLBACK TO SAVEPOINT again;
SELECT key_id, scope, unlocked_at = :'first_unlocked' AS same_unlock FROM ef_held_keys() ORDER BY key_id;
COMMIT;
SELECT key_id, scope, unlocked_at = :'first_unlocked' AS same_unlock FROM ef_held_keys() ORDER BY key_id;

-- ... and one unlocked in a rolled-back savepoint
BEGIN;
SAVEPOINT s1;
SELECT ef_unlock(2);
ROLLBACK TO SAVEPOINT s1;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;
SAVEPOINT s2;
SELECT ef_unlock(3);
RELEASE SAVEPOINT s2;
COMMIT;
-- a released savepoint's unlock commits with its transaction
SELECT key_id, scope FROM ef_held_keys() ORDER BY key_id;

-- a transaction-scoped key in a savepoint that is released is still
-- forgotten at the end of the transaction
BEGIN;
SAVEPOINT s3;
SELECT ef_unlock(2, scope => 'transaction');
RELEASE SAVEPOINT s3;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;
COMMIT;
SELECT key_id FROM ef_held_keys() ORDER BY key_id;

-- ef_lock forgets every key, at once, and is not undone by rollback
BEGIN;
SELECT ef_lock() AS forgotten;
ROLLBACK;
SELECT count(*) AS held FROM ef_held_keys();
-- nor are the keys given at connection start
SELECT ef_unlock(1);
\echo :LAST_ERROR_SQLSTATE

-- DISCARD ALL, as connection poolers send, forgets every key, and the keys
-- given at connection start
\c
SELECT ef_unlock(1);
SELECT ef_unlock(2);
DISCARD ALL;
SELECT count(*) AS held FROM ef_held_keys();
SELECT ef_unlock(1);
\echo :LAST_ERROR_SQLSTATE
-- DISCARD ALL that fails inside a transaction block forgets nothing
\c
SELECT ef_unlock(1);
BEGIN;
DISCARD ALL;
ROLLBACK;
SELECT key_id FROM ef_held_keys();
-- the other DISCARD forms leave keys alone
DISCARD PLANS;
DISCARD TEMP;
SELECT key_id FROM ef_held_keys();

-- retired keys decrypt but never encrypt (the keys given at connection
-- start outlived the failed DISCARD ALL)
SELECT ef_unlock(3);
SELECT ef_key_id(ef_encrypt('by three')) AS current_key;
CREATE TABLE old AS SELECT ef_encrypt('written by three') AS v;
SELECT ef_retire_key(3);
SELECT key_id, retired_at IS NOT NULL AS retired FROM ef_keys WHERE key_id = 3;
-- retiring again keeps the first date
SELECT retired_at AS first_retired FROM ef_keys WHERE key_id = 3 \gset
SELECT ef_retire_key(3);
SELECT retired_at = :'first_retired' AS date_kept FROM ef_keys WHERE key_id = 3;
-- the mark is read at unlock
SELECT ef_unlock(3);
SELECT key_id, is_current, retired FROM ef_held_keys() ORDER BY key_id;
SELECT ef_key_id(ef_encrypt('new value')) AS encrypts_with;
SELECT ef_decrypt(v) FROM old;
SELECT ef_key_id(ef_rewrap(v)) AS rewrapped_to FROM old;
-- Negative tests: a retired key cannot encrypt or be a re-wrap target
SELECT ef_encrypt('x', key_id => 3);
SELECT ef_rewrap(v, 3) FROM old;
SELECT ef_lock();
\c
SELECT ef_unlock(3);
SELECT ef_encrypt('only a retired key');
SELECT ef_decrypt(v) FROM old;
DROP TABLE old;
SELECT ef_lock();

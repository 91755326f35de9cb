-- Rotating a table to a new master key in batches, with progress, and what
-- an interruption half way leaves behind.
SELECT ef_unlock(1);
CREATE TABLE accounts (id int PRIMARY KEY, secret encrypted_field);
INSERT INTO accounts SELECT g, ef_encrypt('account ' || g, 'accounts.' || g) FROM generate_series(1, 25) g;
INSERT INTO accounts VALUES (26, NULL);
SELECT ef_unlock(2);

-- an interruption: a trigger fails the second batch
CREATE FUNCTION fail_on_15() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 15 THEN RAISE EXCEPTION 'interrupted at row 15'; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER interrupt BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION fail_on_15();
CALL ef_rewrap_column('accounts', 'secret', 2, batch_size => 10);
DROP TRIGGER interrupt ON accounts;
-- the first batch committed, the second rolled back: progress per key
SELECT ef_key_id(secret) AS key_id, count(*) FROM accounts GROUP BY 1 ORDER BY 1;
-- and every row still decrypts
SELECT count(*) AS readable FROM accounts WHERE ef_decrypt(secret, 'accounts.' || id) = 'account ' || id;

-- resumed, it finishes the rest
CALL ef_rewrap_column('accounts', 'secret', 2, batch_size => 10);
SELECT ef_key_id(secret) AS key_id, count(*) FROM accounts GROUP BY 1 ORDER BY 1;
-- a run with nothing left to do
CALL ef_rewrap_column('accounts', 'secret', 2);
-- key 1 is no longer needed (ef_lock() forgets the keys given at connection
-- start too: connect again with them)
SELECT ef_lock();
\c
SELECT ef_unlock(2);
SELECT count(*) AS readable FROM accounts WHERE ef_decrypt(secret, 'accounts.' || id) = 'account ' || id;

-- the default target is the current key
SELECT ef_unlock(1);
CALL ef_rewrap_column('accounts', 'secret', batch_size => 100);
SELECT ef_key_id(secret) AS key_id, count(*) FROM accounts GROUP BY 1 ORDER BY 1;

-- Negative tests
CALL ef_rewrap_column('accounts', 'id', 2);
CALL ef_rewrap_column('accounts', 'nosuch', 2);
CALL ef_rewrap_column('accounts', 'secret', 2, 0);
CALL ef_rewrap_column('accounts', 'secret', 5);
BEGIN;
CALL ef_rewrap_column('accounts', 'secret', 2, 10);
ROLLBACK;
SELECT ef_lock();
CALL ef_rewrap_column('accounts', 'secret');
DROP TABLE accounts;
DROP FUNCTION fail_on_15();

-- Every failure: its SQLSTATE and message are part of the interface.
-- (test/errors_sqlstate.sql checks the SQLSTATE of each with pgTAP)

CREATE TABLE e (id int, v encrypted_field);

-- Negative tests: no key held
SELECT ef_encrypt('x');
INSERT INTO e VALUES (0, 'ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpryUZqd37k5MNt3h9fYOo4K3tJnWU3SPRtehW5h17KUUJylZVUVTbqOH7oSg==');
SELECT ef_decrypt(v) FROM e;
SELECT ef_rewrap(v) FROM e;
DELETE FROM e;

-- Negative tests: a key id the session does not hold
SELECT ef_unlock(1);
INSERT INTO e VALUES (1, ef_encrypt('one')), (2, ef_encrypt('two'));
SELECT ef_encrypt('x', key_id => 2);
SELECT ef_lock();
-- (ef_lock() forgets the keys given at connection start: connect again)
\c
SELECT ef_unlock(2);
SELECT ef_decrypt(v) FROM e WHERE id = 1;
SELECT ef_rewrap(v, 2) FROM e WHERE id = 1;
SELECT ef_lock();
\c

-- Keys come at connection start (psql 15 cannot bind them): a wrong key, or
-- a key under an id that is not registered, is given there like the right
-- ones.  psql reads the hex from test/keys.sh and puts it only into the
-- connection's options, never into a statement.
\getenv ef_options PGOPTIONS
\set test_keys 'options=''' :ef_options ''''
\set preload '-c session_preload_libraries=encrypted_field -c encrypted_field.keys='
\set key1 `sh test/keys.sh hex regress 1`
\set key2 `sh test/keys.sh hex regress 2`
\set key9 `sh test/keys.sh hex regress 9`

-- Negative tests: unlocking
-- key 2 under id 1, key 1 under id 99
\set wrong_keys 'options=''' :preload '1:' :key2 ',99:' :key1 ''''
\c -reuse-previous=on :wrong_keys
SELECT ef_unlock(1);
SELECT ef_unlock(99);
SELECT count(*) AS held_after_wrong_keys FROM ef_held_keys();
\c -reuse-previous=on :test_keys
SELECT ef_unlock(1, '\x0102'::bytea);
SELECT ef_unlock(1, decode(repeat('ab', 33), 'hex'));
SELECT ef_unlock(1, ''::bytea);
SELECT ef_unlock(0);
SELECT ef_unlock(-1);
SELECT ef_unlock(NULL);
-- no key given at connection start for this id, the key argument NULL or
-- left out
SELECT ef_unlock(4, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_unlock(4);
SELECT ef_unlock(1, scope => 'forever');
SELECT ef_unlock(1, scope => NULL);
SELECT count(*) AS held_after_failures FROM ef_held_keys();

-- Negative tests: registering
SELECT ef_register_key(1);
-- another key under a registered id: key 9 under id 1
\set key9_as_1 'options=''' :preload '1:' :key9 ''''
\c -reuse-previous=on :key9_as_1
SELECT ef_register_key(1);
\c -reuse-previous=on :test_keys
SELECT ef_register_key(10, '\x00'::bytea);
SELECT ef_register_key(0);
SELECT ef_register_key(NULL);
SELECT ef_register_key(11, NULL);
\echo :LAST_ERROR_SQLSTATE
-- a new key must wrap the index key, which only a session holding it has
SELECT ef_register_key(10);
SELECT ef_retire_key(99);
SELECT count(*) AS registered FROM ef_keys;

-- Negative tests: a key written into a statement is refused, in whatever
-- form: PostgreSQL shows the statement's text to other sessions
-- (pg_stat_activity) and may log it before the extension sees the key.  Only
-- a bind parameter of the client's statement, or a key given at connection
-- start, is accepted.  Key 1 is the right key each time.
\set key1_bytea '\\x' :key1
-- a bytea literal
SELECT ef_unlock(1, :'key1_bytea'::bytea);
\echo :LAST_ERROR_SQLSTATE
-- an expression on a literal
SELECT ef_unlock(1, decode(:'key1', 'hex'));
\echo :LAST_ERROR_SQLSTATE
-- a function that computes the key
SELECT ef_unlock(1, test_key(1));
\echo :LAST_ERROR_SQLSTATE
-- a DO block
DO $$ BEGIN PERFORM ef_unlock(1, test_key(1)); END $$;
\echo :LAST_ERROR_SQLSTATE
-- EXECUTE of a prepared statement, whose parameter comes from the text
PREPARE unlock_with(bytea) AS SELECT ef_unlock(1, $1);
EXECUTE unlock_with(:'key1_bytea');
\echo :LAST_ERROR_SQLSTATE
DEALLOCATE unlock_with;
-- the application's own wrapper functions, called with a literal
CREATE FUNCTION app_unlock(key bytea) RETURNS void LANGUAGE sql
	AS $$ SELECT ef_unlock(1, key) $$;
SELECT app_unlock(:'key1_bytea');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION app_unlock_hex(key_hex text) RETURNS void LANGUAGE sql
	AS $$ SELECT ef_unlock(1, decode(key_hex, 'hex')) $$;
SELECT app_unlock_hex(:'key1');
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION app_unlock(bytea), app_unlock_hex(text);
-- a transaction-scoped unlock, and a registration, alike
SELECT ef_unlock(1, test_key(1), 'transaction');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_register_key(11, test_key(11));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS held_after_refusals FROM ef_held_keys();
SELECT count(*) AS key_11_registered FROM ef_keys WHERE key_id = 11;

-- Negative tests: types
SELECT ef_unlock(1);
CREATE TYPE mood AS ENUM ('ok');
CREATE TYPE pair AS (a int, b int);
SELECT ef_encrypt('ok'::mood);
SELECT ef_encrypt(ROW(1, 2)::pair);
SELECT ef_encrypt(point(1, 2));
SELECT ef_encrypt(ARRAY['ok'::mood]);
SELECT ef_decrypt_as(v, NULL::bytea) FROM e WHERE id = 1;
SELECT ef_decrypt_as(v, NULL::integer) FROM e WHERE id = 1;
SELECT ef_decrypt_as(v, NULL::point) FROM e WHERE id = 1;
SELECT ef_decrypt_as(v, NULL::mood) FROM e WHERE id = 1;
DROP TYPE mood, pair;
SELECT ef_decrypt_as(ef_encrypt('\x01'::bytea), NULL::text);
CREATE DOMAIN blob AS bytea;
SELECT ef_decrypt_as(ef_encrypt('\x01'::bytea), NULL::blob);
DROP DOMAIN blob;

-- Negative tests: authentication.  Every cause a cipher cannot tell apart
-- gives the same error: a flipped bit anywhere in the wrapped key, nonce,
-- ciphertext or tag, a truncated ciphertext, the header, a wrong context,
-- and a value whose key id was changed to another held key.
SELECT ef_unlock(2);
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 8, get_byte(ef_send(v), 8) # 1))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 50, get_byte(ef_send(v), 50) # 128))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 60, get_byte(ef_send(v), 60) # 1))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(set_byte(ef_send(v), octet_length(ef_send(v)) - 1, get_byte(ef_send(v), octet_length(ef_send(v)) - 1) # 1))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(substring(ef_send(v) FROM 1 FOR octet_length(ef_send(v)) - 1))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 2, 2))::encrypted_field) FROM e WHERE id = 1;
SELECT ef_decrypt(v, 'some context') FROM e WHERE id = 1;
SELECT ef_decrypt(test_text(overlay(ef_send(v) PLACING '\x00000002'::bytea FROM 5))::encrypted_field) FROM e WHERE id = 1;
-- two envelopes spliced: one's wrapped key, the other's content
SELECT ef_decrypt(test_text(substring(ef_send(a.v) FROM 1 FOR 48) || substring(ef_send(b.v) FROM 49))::encrypted_field)
FROM e a, e b WHERE a.id = 1 AND b.id = 2;
-- the untouched values still decrypt
SELECT id, ef_decrypt(v) FROM e ORDER BY id;

SELECT ef_lock();
DROP TABLE e;

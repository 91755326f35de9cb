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
SELECT ef_unlock(1, test_key(1));
INSERT INTO e VALUES (1, ef_encrypt('one')), (2, ef_encrypt('two'));
SELECT ef_encrypt('x', key_id => 2);
SELECT ef_lock();
SELECT ef_unlock(2, test_key(2));
SELECT ef_decrypt(v) FROM e WHERE id = 1;
SELECT ef_rewrap(v, 2) FROM e WHERE id = 1;
SELECT ef_lock();

-- Negative tests: unlocking
SELECT ef_unlock(1, test_key(2));
SELECT ef_unlock(99, test_key(1));
SELECT ef_unlock(1, '\x0102'::bytea);
SELECT ef_unlock(1, substring(test_key(1) || test_key(1) FROM 1 FOR 33));
SELECT ef_unlock(1, ''::bytea);
SELECT ef_unlock(0, test_key(1));
SELECT ef_unlock(-1, test_key(1));
SELECT ef_unlock(NULL, test_key(1));
SELECT ef_unlock(1, NULL);
SELECT ef_unlock(1, test_key(1), 'forever');
SELECT ef_unlock(1, test_key(1), NULL);
SELECT count(*) AS held_after_failures FROM ef_held_keys();

-- Negative tests: registering
SELECT ef_register_key(1, test_key(1));
SELECT ef_register_key(1, test_key(9));
SELECT ef_register_key(10, '\x00'::bytea);
SELECT ef_register_key(0, test_key(1));
SELECT ef_register_key(NULL, test_key(1));
SELECT ef_register_key(10, NULL);
-- a new key must wrap the index key, which only a session holding it has
SELECT ef_register_key(10, test_key(10));
SELECT ef_retire_key(99);
SELECT count(*) AS registered FROM ef_keys;

-- Negative tests: types
SELECT ef_unlock(1, test_key(1));
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
SELECT ef_unlock(2, test_key(2));
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

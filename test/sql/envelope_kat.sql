-- Known-answer test of the envelope format.
--
-- test/unit/envelope_vector.txt fixes a master key, key id, data key, nonce,
-- plaintext and context; an implementation that shares no code with the
-- extension (test/unit/envelope_vector.py) computes the envelope from them,
-- and test/unit/test_envelope.c checks that the C code seals exactly those
-- bytes.  Here the server must read that envelope: this is the format every
-- stored value depends on, so a change to it fails this test.
--
-- The vector's master key, 000102...1f, comes at connection start under id
-- 7 (psql 15 cannot bind a key), with test key 1 to register it.
\set key1 `sh test/keys.sh hex regress 1`
\set vector_keys 'options=''-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:' :key1 ',7:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'''
\c -reuse-previous=on :vector_keys
SELECT ef_unlock(1);
SELECT ef_register_key(7, comment => 'test vector key');
SELECT ef_lock();

-- the check value the registry stores for the vector's key
SELECT fingerprint FROM ef_keys WHERE key_id = 7;

CREATE TABLE kat (v encrypted_field);
INSERT INTO kat VALUES ('ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpryUZqd37k5MNt3h9fYOo4K3tJnWU3SPRtehW5h17KUUJylZVUVTbqOH7oSg==');

-- the parts, readable with no key held
SELECT (ef_envelope(v)).* FROM kat;
SELECT ef_send(v) FROM kat;

-- (ef_lock() forgot the keys given at connection start: connect again)
\c
SELECT ef_unlock(7);
SELECT ef_decrypt(v, 'users.email.42') FROM kat;

-- Negative tests: the same value without its context, or with another one
SELECT ef_decrypt(v) FROM kat;
SELECT ef_decrypt(v, 'users.email.43') FROM kat;
SELECT ef_decrypt(v, '') FROM kat;

-- a fresh encryption under the same key differs (new data key and nonce)
SELECT ef_send(ef_encrypt('encrypted_field test vector', 'users.email.42')) = ef_send(v) AS same_bytes FROM kat;


-- Values that authenticate under key 7 but whose compressed plaintext does
-- not decompress: the extension never seals one, so the independent
-- reference made them (test/unit/envelope_vector.py --crafted).  Each is
-- refused as corrupt, and no part of the garbage is returned.
-- lz4 stream of garbage
SELECT ef_decrypt('ef1:AQIBAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWprrCgJYS+9uo0lrFcZNbduODsZ2CYvB6s1Mkf1h+uDRbhkqqtZM4KVwuS07mfJI21B2TIscDrMQa0ibfHJ');
\echo :LAST_ERROR_SQLSTATE
-- pglz stream of garbage
SELECT ef_decrypt('ef1:AQEBAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWprrCgJYfhrb1n2fobJ+nmj9PDTEe7owW7x8YU0R1Q9+ATfEBLhhDQgdlcGX9djeOEFBAZ4M8Qtb8xzJZ2e');
\echo :LAST_ERROR_SQLSTATE
-- shorter than the raw length field
SELECT ef_decrypt('ef1:AQIBAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWprrCn5MOrqu/erzrwzJvzzjvAw');
\echo :LAST_ERROR_SQLSTATE
-- raw length over 1 GB
SELECT ef_decrypt('ef1:AQIBAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWprU9f2+geUkKYJgXk2PiJiuwFe51QaBrxgKmb8FQ==');
\echo :LAST_ERROR_SQLSTATE

-- Values whose bytes the type rejects: a clear error that names the type
-- and quotes none of the bytes (array_in and jsonb_in would)
-- int4 with a byte too many
SELECT ef_decrypt('ef1:AQAGAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWprrCgJLwde8Wi2ea4sbkLfaYusVK68');
\echo :LAST_ERROR_SQLSTATE
-- jsonb that is not json
SELECT ef_decrypt_as('ef1:AQATAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr11tsZnXx5Jwp7xZCJewvZGFHugGS5o3Pjb8O8vb7wy3T', NULL::jsonb);
\echo :LAST_ERROR_SQLSTATE
-- text[] that is not an array
SELECT ef_decrypt_as('ef1:AQCBAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr11tsZnXx5Iop9BdVaekvbmu6aMJZpjzHzMW1HrlVtP0F', NULL::text[]);
\echo :LAST_ERROR_SQLSTATE

-- Text forms the database cannot hold, returned as they are by ef_decrypt
-- and so checked first: each is refused, naming the type, quoting nothing
-- text with a NUL byte
SELECT ef_decrypt('ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr301qd2LgkNJo6BVrnbQI7CgqFw0n0brYsBs4');
\echo :LAST_ERROR_SQLSTATE
-- text not in the database encoding (LATIN1 bytes)
SELECT ef_decrypt('ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr301qd2LgsMVo55BMETXH2BaYbvnGD5rDBRvZ');
\echo :LAST_ERROR_SQLSTATE
SELECT ef_decrypt_as('ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr301qd2LgsMVo55BMETXH2BaYbvnGD5rDBRvZ', NULL::text);
\echo :LAST_ERROR_SQLSTATE
-- json that is not json: ef_decrypt gives text, which it is; as json it is
-- refused
SELECT ef_decrypt('ef1:AQASAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr11tsZnXx5Jwp7xZCJewvZGHqn48+NBZxSDaCuvA+fyXV');
SELECT ef_decrypt_as('ef1:AQASAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpr11tsZnXx5Jwp7xZCJewvZGHqn48+NBZxSDaCuvA+fyXV', NULL::json);
\echo :LAST_ERROR_SQLSTATE

SELECT ef_lock();
DROP TABLE kat;
DELETE FROM ef_index_keys WHERE key_id = 7;
DELETE FROM ef_keys WHERE key_id = 7;

-- Text and binary I/O of encrypted_field, and strict validation of input.
SELECT ef_unlock(1);

CREATE TABLE io (id int, v encrypted_field);
INSERT INTO io VALUES (1, ef_encrypt('hello')), (2, ef_encrypt(''::text)),
	(3, ef_encrypt('\x00ff'::bytea)), (4, NULL);

-- the text form: prefix, canonical base64, round trip through text
SELECT id, v::text ~ '^ef1:[A-Za-z0-9+/]+={0,2}$' AS well_formed,
	length(v::text) AS text_len,
	ef_send(v::text::encrypted_field) = ef_send(v) AS text_round_trip,
	ef_send(v)::text IS NOT NULL AS has_binary
FROM io ORDER BY id;

SELECT id, ef_decrypt(v::text::encrypted_field) AS round_trip FROM io ORDER BY id;

-- a value written by hand (the test vector of envelope_kat) is accepted
SELECT ef_key_id('ef1:AQABAAAAAAeBzLQyoE205HvQPq2oobwMWmADTYKNxqXm+TGUHl+/Uc8Xs9++zbrgYGFiY2RlZmdoaWpryUZqd37k5MNt3h9fYOo4K3tJnWU3SPRtehW5h17KUUJylZVUVTbqOH7oSg==');

-- Invalid input: missing or wrong prefix
SELECT ''::encrypted_field;
SELECT 'hello'::encrypted_field;
SELECT 'EF1:AQAB'::encrypted_field;
SELECT 'ef2:AQAB'::encrypted_field;
-- Invalid input: no envelope after the prefix
SELECT 'ef1:'::encrypted_field;
-- Invalid input: not base64
SELECT 'ef1:!!!!'::encrypted_field;
SELECT 'ef1:AQA'::encrypted_field;
SELECT 'ef1:AQAB AAAA'::encrypted_field;
SELECT E'ef1:AQAB\nAAAA'::encrypted_field;
-- Invalid input: non-canonical base64 (unused bits set)
SELECT 'ef1:AR=='::encrypted_field;
-- Invalid input: version byte zero
SELECT 'ef1:AAAA'::encrypted_field;
-- Invalid input: a newer format version
SELECT test_text(set_byte(ef_send(v), 0, 2))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 0, 255))::encrypted_field FROM io WHERE id = 1;
-- Invalid input: truncated envelope
SELECT test_text(substring(ef_send(v) FROM 1 FOR 75))::encrypted_field FROM io WHERE id = 2;
SELECT test_text('\x01'::bytea)::encrypted_field;
-- Invalid input: unknown flag bits, or both compression flags
SELECT test_text(set_byte(ef_send(v), 1, 8))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 1, 128))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 1, 3))::encrypted_field FROM io WHERE id = 1;
-- Invalid input: unknown plaintext type codes
SELECT test_text(set_byte(ef_send(v), 2, 0))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 2, 200))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 2, 25))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(set_byte(ef_send(v), 2, 128))::encrypted_field FROM io WHERE id = 1;
-- Invalid input: nonzero reserved byte
SELECT test_text(set_byte(ef_send(v), 3, 1))::encrypted_field FROM io WHERE id = 1;
-- Invalid input: key id zero or negative
SELECT test_text(overlay(ef_send(v) PLACING '\x00000000'::bytea FROM 5))::encrypted_field FROM io WHERE id = 1;
SELECT test_text(overlay(ef_send(v) PLACING '\xffffffff'::bytea FROM 5))::encrypted_field FROM io WHERE id = 1;

-- the error never echoes the input
SELECT 'ef1:c2VjcmV0IHBsYWludGV4dA=='::encrypted_field;

-- no casts from bytea or text that skip validation
SELECT count(*) AS casts FROM pg_cast
WHERE casttarget = 'encrypted_field'::regtype OR castsource = 'encrypted_field'::regtype;

SELECT ef_lock();

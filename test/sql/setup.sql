-- Set up the extension and the test keys every other test uses.
CREATE EXTENSION encrypted_field;

-- Test keys are fixed, so that the expected files are stable; a real key
-- comes from a CSPRNG and never appears in SQL text.  psql 15 cannot send a
-- key as a bind parameter, so the tests give theirs at connection start:
-- "make installcheck" connects with the option
-- -c encrypted_field.keys=1:HEX,2:HEX,... (test/keys.sh), and ef_unlock(id)
-- and ef_register_key(id) called without a key take it from there.  The
-- setting shows only the key ids.
SHOW encrypted_field.keys;
-- Key N is sha256('encrypted_field test key N'): test_key(N) computes it
-- here only to compare with what the registry stores, and to show that a
-- key computed in SQL is refused (errors.sql).
CREATE FUNCTION test_key(n integer) RETURNS bytea LANGUAGE sql IMMUTABLE
	AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to('encrypted_field test key ' || n, 'UTF8')) $$;

-- The text form of raw envelope bytes, to feed crafted envelopes to input.
CREATE FUNCTION test_text(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'ef1:' || pg_catalog.translate(pg_catalog.encode(b, 'base64'), E'\n', '') $$;

-- the first key creates the database's index key; registering more keys
-- wraps it under them, which needs a session holding it
SELECT ef_register_key(1, comment => 'first test key');
SELECT ef_unlock(1);
SELECT ef_register_key(2, comment => 'second test key');
SELECT ef_register_key(3);
SELECT ef_lock();
SELECT index_key_id, key_id, octet_length(wrapped_key) AS wrapped_len FROM ef_index_keys ORDER BY key_id;

SELECT key_id, octet_length(fingerprint) AS fingerprint_len, retired_at IS NULL AS active, comment
FROM ef_keys ORDER BY key_id;

-- the registry never holds the key, nor a plain hash of it
SELECT count(*) AS leaked FROM ef_keys
WHERE position(substring(test_key(key_id) FROM 1 FOR 8) IN fingerprint) > 0
   OR fingerprint = substring(sha256(test_key(key_id)) FROM 1 FOR 16);

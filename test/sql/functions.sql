-- The SQL functions on ordinary data: round trips, NULLs, sizes, context,
-- typed decryption, re-wrapping, and the metadata readable with no key.
SELECT ef_unlock(1);

-- NULL in, NULL out
SELECT ef_encrypt(NULL::text) IS NULL AS enc_null,
	ef_encrypt(NULL::bytea) IS NULL AS enc_null_bytea,
	ef_decrypt(NULL) IS NULL AS dec_null,
	ef_decrypt_as(NULL, NULL::bytea) IS NULL AS dec_as_null,
	ef_rewrap(NULL) IS NULL AS rewrap_null,
	ef_key_id(NULL) IS NULL AS key_id_null,
	ef_envelope(NULL) IS NULL AS envelope_null;

-- a NULL context is no context
SELECT ef_decrypt(ef_encrypt('abc', NULL), NULL) AS null_context;

-- round trips: an untyped literal is text
SELECT ef_decrypt(ef_encrypt('hello')) AS literal;
SELECT ef_decrypt(ef_encrypt('hello'::varchar)) AS from_varchar;
SELECT ef_decrypt(ef_encrypt(''::text)) = '' AS empty_text;
SELECT ef_decrypt_as(ef_encrypt(''::bytea), NULL::bytea) = ''::bytea AS empty_bytea;
SELECT ef_decrypt(ef_encrypt('Grüße, 世界, 🔐')) AS multibyte;
SELECT ef_decrypt_as(ef_encrypt('\x00010203ff'::bytea), NULL::bytea) AS bytea_value;
-- ef_decrypt renders a bytea plaintext with its text output
SELECT ef_decrypt(ef_encrypt('\x00010203ff'::bytea)) AS bytea_as_text;

-- a domain is encrypted as its base type
CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 10);
CREATE DOMAIN blob AS bytea;
SELECT ef_decrypt(ef_encrypt('abc'::short_text)) AS from_domain,
	ef_decrypt_as(ef_encrypt('\x0a0b'::blob), NULL::bytea) AS from_bytea_domain,
	(ef_envelope(ef_encrypt('\x0a0b'::blob))).plaintext_type;

-- large values: 1 MB of text and of random bytes
CREATE TABLE big (t text, b bytea);
INSERT INTO big SELECT repeat('0123456789abcdef', 65536), decode(repeat(md5(g::text), 32768), 'hex')
	FROM generate_series(1, 1) g;
SELECT octet_length(t) AS text_len, octet_length(b) AS bytea_len,
	ef_decrypt(ef_encrypt(t)) = t AS text_ok,
	ef_decrypt_as(ef_encrypt(b), NULL::bytea) = b AS bytea_ok
FROM big;
-- stored in a table (TOASTed out of line) and read back
CREATE TABLE big_enc AS SELECT ef_encrypt(t) AS v FROM big;
SELECT ef_decrypt(v) = (SELECT t FROM big) AS toasted_ok, ef_key_id(v) FROM big_enc;
DROP TABLE big, big_enc;

-- storage: the envelope adds exactly 76 bytes to the plaintext (compression,
-- tested in compression.sql, is off here so that sizes are the plaintext's)
SET encrypted_field.compression = 'off';
SELECT n, octet_length(ef_send(ef_encrypt(repeat('x', n)))) - n AS overhead
FROM unnest(ARRAY[0, 1, 100, 1000]) n;
-- and the stored datum at most 80 (with its varlena header)
CREATE TABLE sizes AS SELECT n, ef_encrypt(repeat('y', n)) AS v FROM unnest(ARRAY[0, 1, 100, 1000, 10000]) n;
SELECT n, pg_column_size(v) - n <= 80 AS within_80 FROM sizes ORDER BY n;
DROP TABLE sizes;
RESET encrypted_field.compression;

-- each encryption draws a new data key and nonce
SELECT count(DISTINCT ef_send(v)) AS distinct_values,
	count(DISTINCT (ef_envelope(v)).nonce) AS distinct_nonces,
	count(DISTINCT (ef_envelope(v)).wrapped_key) AS distinct_wrapped_keys
FROM (SELECT ef_encrypt('same plaintext') AS v FROM generate_series(1, 100)) s;

-- context binds a value to where it belongs
CREATE TABLE people (id int PRIMARY KEY, email encrypted_field);
INSERT INTO people SELECT g, ef_encrypt('user' || g || '@example.com', 'people.email.' || g)
	FROM generate_series(1, 5) g;
SELECT id, ef_decrypt(email, 'people.email.' || id) FROM people ORDER BY id;
-- a value moved to another row does not decrypt there
UPDATE people SET email = (SELECT email FROM people WHERE id = 1) WHERE id = 2;
SELECT ef_decrypt(email, 'people.email.' || id) FROM people WHERE id = 2;

-- metadata needs no key: after ef_lock, ids, counts and envelope parts remain
SELECT ef_lock();
SELECT count(*), count(email) AS non_null, min(ef_key_id(email)), max(ef_key_id(email)) FROM people;
SELECT ef_key_id(email) AS key_id, count(*) FROM people GROUP BY 1;
SELECT (ef_envelope(email)).version, (ef_envelope(email)).plaintext_type,
	octet_length((ef_envelope(email)).wrapped_key) AS wrapped_len,
	octet_length((ef_envelope(email)).nonce) AS nonce_len,
	octet_length((ef_envelope(email)).ciphertext) AS ciphertext_len,
	octet_length((ef_envelope(email)).tag) AS tag_len
FROM people WHERE id = 1;
SELECT count(*) AS nulls FROM people WHERE email IS NULL;

-- typed decryption and re-wrap (ef_lock() forgot the keys given at
-- connection start: connect again)
\c
SELECT ef_unlock(1);
SELECT ef_unlock(2);
SELECT key_id, scope, is_current FROM ef_held_keys() ORDER BY key_id;
-- the most recently unlocked key encrypts new values; key_id picks another
SELECT ef_key_id(ef_encrypt('x')) AS current, ef_key_id(ef_encrypt('x', key_id => 1)) AS chosen;

CREATE TABLE rot AS SELECT g AS id, ef_encrypt('secret ' || g, key_id => 1) AS v FROM generate_series(1, 10) g;
CREATE TABLE rot_before AS SELECT id, ef_envelope(v) AS e FROM rot;
UPDATE rot SET v = ef_rewrap(v) WHERE ef_key_id(v) <> 2 AND id <= 4;
-- progress is visible as a count per key id
SELECT ef_key_id(v) AS key_id, count(*) FROM rot GROUP BY 1 ORDER BY 1;
UPDATE rot SET v = ef_rewrap(v, 2) WHERE ef_key_id(v) <> 2;
-- the content bytes, nonce and tag are unchanged; only the wrap differs
SELECT count(*) FILTER (WHERE (b.e).ciphertext = (ef_envelope(r.v)).ciphertext
	AND (b.e).nonce = (ef_envelope(r.v)).nonce AND (b.e).tag = (ef_envelope(r.v)).tag) AS content_same,
	count(*) FILTER (WHERE (b.e).wrapped_key <> (ef_envelope(r.v)).wrapped_key) AS wrap_changed
FROM rot r JOIN rot_before b USING (id);
SELECT id, ef_decrypt(v) FROM rot ORDER BY id LIMIT 3;
-- re-wrapping to the key a value already uses changes nothing
SELECT count(*) AS unchanged FROM rot WHERE ef_send(ef_rewrap(v, 2)) = ef_send(v);
-- only key 2 is needed now
SELECT ef_lock();
\c
SELECT ef_unlock(2);
SELECT count(*) AS readable FROM rot WHERE ef_decrypt(v) LIKE 'secret %';
DROP TABLE rot, rot_before;

-- parallel query gives the same answers as serial: the functions that need
-- a key are parallel restricted and run in the leader
CREATE TABLE par AS SELECT g AS id, ef_encrypt('row ' || g) AS v FROM generate_series(1, 2000) g;
ANALYZE par;
SELECT count(*), sum(length(ef_decrypt(v))) FROM par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- (PostgreSQL 16 renamed force_parallel_mode to debug_parallel_query)
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
	THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS parallel_forced;
SELECT count(*), sum(length(ef_decrypt(v))) FROM par;
SELECT count(*) FROM par WHERE ef_decrypt(v) = 'row ' || id;
SELECT ef_key_id(v), count(*) FROM par GROUP BY 1;
RESET ALL;
DROP TABLE par, people;
DROP DOMAIN short_text, blob;

SELECT ef_lock();

-- Compression before encryption: above the threshold, compressible values
-- shrink; incompressible ones are stored as they are; the settings choose.
SELECT ef_unlock(1);
SHOW encrypted_field.compression;
SHOW encrypted_field.compression_threshold;

CREATE FUNCTION stored(v encrypted_field) RETURNS int LANGUAGE sql AS $$ SELECT octet_length(ef_send(v)) $$;
CREATE FUNCTION flags(v encrypted_field) RETURNS int LANGUAGE sql AS $$ SELECT (ef_envelope(v)).flags $$;
CREATE TABLE docs (name text, plain text);
INSERT INTO docs VALUES
	('short', repeat('a', 100)),
	('at threshold', repeat('b', 256)),
	('repetitive 100 kB', repeat('the same sentence again. ', 4096));

-- lz4 (the default where the server has it), then pglz, then off
SET encrypted_field.compression = 'lz4';
SELECT name, octet_length(plain) AS plain_len, flags(ef_encrypt(plain)) AS flags,
	stored(ef_encrypt(plain)) < octet_length(plain) AS smaller,
	ef_decrypt(ef_encrypt(plain)) = plain AS round_trip
FROM docs ORDER BY plain_len;
SET encrypted_field.compression = 'pglz';
SELECT name, flags(ef_encrypt(plain)) AS flags, stored(ef_encrypt(plain)) < octet_length(plain) AS smaller,
	ef_decrypt(ef_encrypt(plain)) = plain AS round_trip
FROM docs ORDER BY octet_length(plain);
SET encrypted_field.compression = 'off';
SELECT name, flags(ef_encrypt(plain)) AS flags, stored(ef_encrypt(plain)) - octet_length(plain) AS overhead
FROM docs ORDER BY octet_length(plain);
RESET encrypted_field.compression;

-- random bytes do not shrink, so they are stored as they are, with either method
CREATE TABLE noise AS SELECT decode(string_agg(md5(g::text || random()::text), ''), 'hex') AS b
	FROM generate_series(1, 256) g;
SET encrypted_field.compression = 'lz4';
SELECT octet_length(b) AS len, flags(ef_encrypt(b)) AS lz4_flags, stored(ef_encrypt(b)) - octet_length(b) AS overhead FROM noise;
SET encrypted_field.compression = 'pglz';
SELECT flags(ef_encrypt(b)) AS pglz_flags, ef_decrypt_as(ef_encrypt(b), NULL::bytea) = b AS round_trip FROM noise;
RESET encrypted_field.compression;
DROP TABLE noise;

-- the threshold: -1 turns compression off, a low one compresses small values
SET encrypted_field.compression_threshold = -1;
SELECT flags(ef_encrypt(plain)) AS flags FROM docs WHERE name = 'repetitive 100 kB';
SET encrypted_field.compression_threshold = 10;
SELECT flags(ef_encrypt(plain)) AS flags, ef_decrypt(ef_encrypt(plain)) = plain AS round_trip FROM docs WHERE name = 'short';
RESET encrypted_field.compression_threshold;

-- values written with each method decrypt whatever the current setting
SET encrypted_field.compression = 'pglz';
CREATE TABLE mixed AS SELECT 'pglz' AS how, ef_encrypt(plain) AS v FROM docs WHERE name = 'repetitive 100 kB';
SET encrypted_field.compression = 'lz4';
INSERT INTO mixed SELECT 'lz4', ef_encrypt(plain) FROM docs WHERE name = 'repetitive 100 kB';
SET encrypted_field.compression = 'off';
INSERT INTO mixed SELECT 'off', ef_encrypt(plain) FROM docs WHERE name = 'repetitive 100 kB';
SELECT how, flags(v) AS flags, ef_decrypt(v) = (SELECT plain FROM docs WHERE name = 'repetitive 100 kB') AS round_trip
FROM mixed ORDER BY how;
RESET encrypted_field.compression;

-- typed values compress too
SET encrypted_field.compression_threshold = 100;
SELECT flags(ef_encrypt(array_fill(7, ARRAY[1000]))) AS int_array_flags,
	ef_decrypt_as(ef_encrypt(array_fill(7, ARRAY[1000])), NULL::int[]) = array_fill(7, ARRAY[1000]) AS int_array_ok,
	ef_decrypt_as(ef_encrypt(repeat('x', 5000)::bytea), NULL::bytea) = repeat('x', 5000)::bytea AS bytea_ok;
RESET encrypted_field.compression_threshold;

-- the compression flags are authenticated: clearing or switching one fails
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 1, 0))::encrypted_field) FROM mixed WHERE how = 'lz4';
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 1, 1))::encrypted_field) FROM mixed WHERE how = 'lz4';
SELECT ef_decrypt(test_text(set_byte(ef_send(v), 1, 2))::encrypted_field) FROM mixed WHERE how = 'off';

-- Negative tests: settings
SET encrypted_field.compression = 'zstd';
-- (only the SQLSTATE: PostgreSQL 18 writes the range in the message with
-- units, 15 without; the range itself is checked below)
\set VERBOSITY sqlstate
SET encrypted_field.compression_threshold = -2;
\set VERBOSITY default
SELECT min_val, max_val, unit FROM pg_settings WHERE name = 'encrypted_field.compression_threshold';

DROP TABLE docs, mixed;
DROP FUNCTION stored(encrypted_field), flags(encrypted_field);
SELECT ef_lock();

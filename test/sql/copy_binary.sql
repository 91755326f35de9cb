-- COPY round trips in text and binary form, and binary input validation.
SELECT ef_unlock(1);
CREATE TABLE src (id int, v encrypted_field);
INSERT INTO src SELECT g, ef_encrypt(repeat('value ' || g, g), 'src.' || g) FROM generate_series(1, 50) g;
INSERT INTO src VALUES (51, NULL), (52, ef_encrypt('\xdeadbeef'::bytea));

\copy src TO 'test/results/ef.bin' WITH (FORMAT binary)
\copy src TO 'test/results/ef.txt'

CREATE TABLE dst_bin (LIKE src);
CREATE TABLE dst_txt (LIKE src);
\copy dst_bin FROM 'test/results/ef.bin' WITH (FORMAT binary)
\copy dst_txt FROM 'test/results/ef.txt'

-- the bytes survive unchanged and every value still decrypts
SELECT count(*) AS rows, count(d.v) AS non_null, count(*) FILTER (WHERE ef_send(s.v) = ef_send(d.v)) AS same_bytes
FROM src s JOIN dst_bin d USING (id);
SELECT count(*) AS rows, count(d.v) AS non_null, count(*) FILTER (WHERE ef_send(s.v) = ef_send(d.v)) AS same_bytes
FROM src s JOIN dst_txt d USING (id);
SELECT count(*) FILTER (WHERE ef_decrypt(v, 'src.' || id) = repeat('value ' || id, id)) AS decrypted
FROM dst_bin WHERE id <= 50;
SELECT count(*) FILTER (WHERE ef_decrypt(v, 'src.' || id) = repeat('value ' || id, id)) AS decrypted
FROM dst_txt WHERE id <= 50;
SELECT id FROM dst_bin WHERE v IS NULL;
SELECT ef_decrypt(v) FROM dst_bin WHERE id = 52;

-- Negative tests: binary input is as strict as text input.  A bytea column
-- copied out in binary form carries raw bytes, which ef_recv then reads.
CREATE TABLE raw (v bytea);
INSERT INTO raw SELECT set_byte(ef_send(v), 3, 1) FROM src WHERE id = 1;
\copy raw TO 'test/results/bad_reserved.bin' WITH (FORMAT binary)
\copy dst_bin (v) FROM 'test/results/bad_reserved.bin' WITH (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw SELECT substring(ef_send(v) FROM 1 FOR 40) FROM src WHERE id = 1;
\copy raw TO 'test/results/bad_short.bin' WITH (FORMAT binary)
\copy dst_bin (v) FROM 'test/results/bad_short.bin' WITH (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw SELECT set_byte(ef_send(v), 0, 9) FROM src WHERE id = 1;
\copy raw TO 'test/results/bad_version.bin' WITH (FORMAT binary)
\copy dst_bin (v) FROM 'test/results/bad_version.bin' WITH (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw VALUES (''::bytea);
\copy raw TO 'test/results/bad_empty.bin' WITH (FORMAT binary)
\copy dst_bin (v) FROM 'test/results/bad_empty.bin' WITH (FORMAT binary)
-- a well-formed envelope copied in as raw bytes is accepted
TRUNCATE raw;
INSERT INTO raw SELECT ef_send(v) FROM src WHERE id = 2;
\copy raw TO 'test/results/good.bin' WITH (FORMAT binary)
CREATE TABLE one (v encrypted_field);
\copy one FROM 'test/results/good.bin' WITH (FORMAT binary)
SELECT ef_decrypt(v, 'src.2') FROM one;
SELECT count(*) AS unchanged FROM dst_bin;

DROP TABLE src, dst_bin, dst_txt, raw, one;
SELECT ef_lock();

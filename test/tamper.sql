-- Tampering: no changed, truncated, extended, re-ordered, swapped or moved
-- ciphertext ever decrypts.  A sweep flips every bit of every byte of a
-- stored value, one without and one with a search term, and classifies each
-- outcome by the region of the envelope the bit is in (layout in
-- src/envelope.h and doc/envelope.md); a search term moved between values,
-- cut out or grafted on never decrypts either.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(62);

CREATE EXTENSION encrypted_field;

-- the text form of raw envelope bytes: how a tampered value re-enters
CREATE FUNCTION tap_text(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'ef1:' || translate(encode(b, 'base64'), E'\n', '') $$;

-- Feed envelope bytes to text input, then decrypt them.  Returns where it
-- failed and the SQLSTATE ('input 22P02', 'decrypt XX001' ...), or the
-- plaintext if it decrypted.
CREATE FUNCTION try_open(b bytea, ctx text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v encrypted_field;
	p text;
BEGIN
	BEGIN
		v := tap_text(b)::encrypted_field;
	EXCEPTION WHEN OTHERS THEN
		RETURN 'input ' || SQLSTATE;
	END;
	BEGIN
		p := ef_decrypt(v, ctx);
	EXCEPTION WHEN OTHERS THEN
		RETURN 'decrypt ' || SQLSTATE;
	END;
	RETURN 'decrypted: ' || coalesce(p, '<null>');
END $$;

-- the keys come from those this session was given at connection start
-- (encrypted_field.keys, test/t/001_pgtap.pl)
SELECT ef_register_key(1);
-- a later key wraps the index key, which only a session holding it has
SELECT ef_unlock(1);
SELECT ef_register_key(3);
-- key 3 is held too, so that a key id flipped from 1 to 3 names a held key;
-- unlocking key 1 again makes it the current key
SELECT ef_unlock(3);
SELECT ef_unlock(1);

CREATE TEMP TABLE target AS
SELECT ef_send(v) AS b, octet_length(ef_send(v)) AS len, ctx, plain, ef_envelope(v) AS e
FROM (SELECT ef_encrypt(plain, ctx) AS v, ctx, plain
	FROM (VALUES ('tamper target: alice@example.com', 'accounts.email.42')) x(plain, ctx)) s;

-- ---------------------------------------------------------------------------
-- Controls: the untouched value opens through the same path, and the
-- envelope's parts sit at the offsets the sweep classifies by
-- ---------------------------------------------------------------------------
SELECT is((SELECT try_open(b, ctx) FROM target), 'decrypted: tamper target: alice@example.com',
	'control: the untouched envelope decrypts through try_open');
SELECT is((SELECT try_open(b, 'accounts.email.43') FROM target), 'decrypt XX001',
	'control: try_open reports a failure with its stage and SQLSTATE');
SELECT ok((SELECT b = substring(b FROM 1 FOR 4) || int4send((e).key_id) || (e).wrapped_key || (e).nonce
		|| (e).ciphertext || (e).tag
	AND get_byte(b, 0) = (e).version AND get_byte(b, 1) = (e).flags AND (e).flags = 0 AND (e).search_term IS NULL
	AND octet_length((e).wrapped_key) = 40 AND octet_length((e).nonce) = 12 AND octet_length((e).tag) = 16
	AND octet_length((e).ciphertext) = octet_length(convert_to(plain, 'UTF8'))
	FROM target),
	'the envelope is header(4) | key id(4) | wrapped key(40) | nonce(12) | ciphertext | tag(16), with no term');

-- ---------------------------------------------------------------------------
-- The sweep: every byte, every bit
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE sweep AS
SELECT pos, bit,
	CASE WHEN pos < 4 THEN 'header'
	     WHEN pos < 8 THEN 'key id'
	     WHEN pos < 8 + octet_length((e).wrapped_key) THEN 'wrapped key'
	     WHEN pos < 8 + octet_length((e).wrapped_key) + octet_length((e).nonce) THEN 'nonce'
	     WHEN pos < len - octet_length((e).tag) THEN 'ciphertext'
	     ELSE 'tag' END AS region,
	t AS tampered,
	try_open(t, ctx) AS outcome
FROM target, generate_series(0, len - 1) pos, generate_series(0, 7) bit,
	LATERAL (SELECT set_byte(b, pos, get_byte(b, pos) # (1 << bit)) AS t) x;

SELECT is((SELECT count(DISTINCT (pos, bit))::int FROM sweep), (SELECT len * 8 FROM target),
	'the sweep flipped each of the 8 bits of every byte of the envelope');
SELECT is((SELECT count(*)::int FROM sweep s, target WHERE s.tampered = target.b), 0,
	'every swept value differs from the original');
SELECT is((SELECT array_agg(pos || '.' || bit || ' ' || outcome ORDER BY pos, bit) FROM sweep
	WHERE outcome NOT LIKE 'input %' AND outcome NOT LIKE 'decrypt %'), NULL,
	'no single flipped bit anywhere yields a plaintext');
SELECT is((SELECT array_agg(DISTINCT outcome ORDER BY outcome) FROM sweep
	WHERE region = 'header' AND outcome NOT IN ('input 22P02', 'input 0A000', 'decrypt XX001')), NULL,
	'header bytes 0-3: rejected at input (22P02 or 0A000) or by authentication (XX001)');
SELECT is((SELECT array_agg(DISTINCT outcome ORDER BY outcome) FROM sweep WHERE region = 'header' AND pos = 0),
	ARRAY['input 0A000', 'input 22P02'],
	'a flipped version byte reads as a newer version (0A000) or as version 0 (22P02)');
SELECT is((SELECT count(*)::int FROM sweep WHERE region = 'header'), 32, 'the header is 4 bytes');

-- key id bytes: the outcome follows from the id the flip produces
CREATE TEMP TABLE key_id_cases AS
SELECT pos, bit, outcome,
	('x' || encode(substring(tampered FROM 5 FOR 4), 'hex'))::bit(32)::int AS new_id
FROM sweep WHERE region = 'key id';
SELECT is((SELECT array_agg(pos || '.' || bit || ' id ' || new_id || ': ' || outcome ORDER BY pos, bit)
	FROM key_id_cases
	WHERE outcome <> CASE WHEN new_id <= 0 THEN 'input 22P02'
	                      WHEN new_id IN (SELECT key_id FROM ef_held_keys()) THEN 'decrypt XX001'
	                      ELSE 'decrypt 55000' END), NULL,
	'key id bytes 4-7: an id <= 0 is rejected at input, an id not held is 55000, another held key is XX001');
SELECT is((SELECT array_agg(new_id) FROM key_id_cases WHERE outcome = 'decrypt XX001'), ARRAY[3],
	'the flip to held key 3 is covered, and its key cannot unwrap the data key');
SELECT is((SELECT count(*)::int FROM key_id_cases WHERE outcome = 'decrypt 55000'), 29,
	'the other 29 flips to a positive id name keys not held');

-- everything after the key id is authenticated: one error for every bit
SELECT results_eq(
	$$SELECT region, array_agg(DISTINCT outcome), count(*)::int FROM sweep
	  WHERE region NOT IN ('header', 'key id') GROUP BY region ORDER BY region$$,
	$$SELECT region, ARRAY['decrypt XX001'], n * 8 FROM target,
	  LATERAL (VALUES ('ciphertext', octet_length((e).ciphertext)), ('nonce', 12), ('tag', 16),
	                  ('wrapped key', 40)) r(region, n) ORDER BY region$$,
	'wrapped key, nonce, ciphertext and tag: every flipped bit fails authentication (XX001)');
SELECT is((SELECT try_open(b, ctx) FROM target), 'decrypted: tamper target: alice@example.com',
	'the original still decrypts after the sweep');

-- ---------------------------------------------------------------------------
-- The same sweep over a searchable value, whose envelope carries its search
-- term at bytes 8-23, authenticated with the header: a changed term must
-- never decrypt, or a value could be made to match another value's lookups
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE starget AS
SELECT ef_send(v) AS b, octet_length(ef_send(v)) AS len, ctx, plain, ef_envelope(v) AS e,
	decode(ef_term(plain, 'accounts.email')::text, 'hex') AS term
FROM (SELECT ef_encrypt(plain, ctx, searchable => true, search_domain => 'accounts.email') AS v, ctx, plain
	FROM (VALUES ('tamper target: alice@example.com', 'accounts.email.42')) x(plain, ctx)) s;

SELECT is((SELECT try_open(b, ctx) FROM starget), 'decrypted: tamper target: alice@example.com',
	'control: the untouched searchable envelope decrypts through try_open');
SELECT ok((SELECT b = substring(b FROM 1 FOR 4) || int4send((e).key_id) || (e).search_term || (e).wrapped_key
		|| (e).nonce || (e).ciphertext || (e).tag
	AND get_byte(b, 1) = (e).flags AND (e).flags = 4 AND (e).search_term = term AND octet_length(term) = 16
	AND octet_length((e).wrapped_key) = 40 AND octet_length((e).nonce) = 12 AND octet_length((e).tag) = 16
	AND octet_length((e).ciphertext) = octet_length(convert_to(plain, 'UTF8'))
	FROM starget),
	'a searchable envelope is header(4) | key id(4) | term(16) | wrapped key(40) | nonce(12) | ciphertext | tag(16), flag 0x04, the term ef_term computes');

CREATE TEMP TABLE ssweep AS
SELECT pos, bit,
	CASE WHEN pos < 4 THEN 'header'
	     WHEN pos < 8 THEN 'key id'
	     WHEN pos < 24 THEN 'search term'
	     WHEN pos < 24 + octet_length((e).wrapped_key) THEN 'wrapped key'
	     WHEN pos < 24 + octet_length((e).wrapped_key) + octet_length((e).nonce) THEN 'nonce'
	     WHEN pos < len - octet_length((e).tag) THEN 'ciphertext'
	     ELSE 'tag' END AS region,
	t AS tampered,
	try_open(t, ctx) AS outcome
FROM starget, generate_series(0, len - 1) pos, generate_series(0, 7) bit,
	LATERAL (SELECT set_byte(b, pos, get_byte(b, pos) # (1 << bit)) AS t) x;

SELECT is((SELECT count(DISTINCT (pos, bit))::int FROM ssweep), (SELECT len * 8 FROM starget),
	'searchable: the sweep flipped each of the 8 bits of every byte of the envelope');
SELECT is((SELECT count(*)::int FROM ssweep s, starget WHERE s.tampered = starget.b), 0,
	'searchable: every swept value differs from the original');
SELECT is((SELECT array_agg(pos || '.' || bit || ' ' || outcome ORDER BY pos, bit) FROM ssweep
	WHERE outcome NOT LIKE 'input %' AND outcome NOT LIKE 'decrypt %'), NULL,
	'searchable: no single flipped bit anywhere yields a plaintext');
SELECT is((SELECT array_agg(DISTINCT outcome ORDER BY outcome) FROM ssweep
	WHERE region = 'header' AND outcome NOT IN ('input 22P02', 'input 0A000', 'decrypt XX001')), NULL,
	'searchable: header bytes 0-3 are rejected at input (22P02 or 0A000) or by authentication (XX001)');
SELECT is((SELECT array_agg(bit || ' ' || outcome ORDER BY bit) FROM ssweep WHERE pos = 1 AND bit < 3),
	ARRAY['0 decrypt XX001', '1 decrypt XX001', '2 decrypt XX001'],
	'searchable: a flag flipped to compressed, or the term flag cleared, fails authentication (XX001)');
SELECT is((SELECT array_agg(DISTINCT outcome) FROM ssweep WHERE pos = 1 AND bit >= 3), ARRAY['input 22P02'],
	'searchable: an unknown flag bit is rejected at input (22P02)');
CREATE TEMP TABLE skey_id_cases AS
SELECT pos, bit, outcome,
	('x' || encode(substring(tampered FROM 5 FOR 4), 'hex'))::bit(32)::int AS new_id
FROM ssweep WHERE region = 'key id';
SELECT is((SELECT array_agg(pos || '.' || bit || ' id ' || new_id || ': ' || outcome ORDER BY pos, bit)
	FROM skey_id_cases
	WHERE outcome <> CASE WHEN new_id <= 0 THEN 'input 22P02'
	                      WHEN new_id IN (SELECT key_id FROM ef_held_keys()) THEN 'decrypt XX001'
	                      ELSE 'decrypt 55000' END), NULL,
	'searchable: key id bytes 4-7 fail as for a value without a term');
SELECT results_eq(
	$$SELECT region, array_agg(DISTINCT outcome), count(*)::int FROM ssweep
	  WHERE region NOT IN ('header', 'key id') GROUP BY region ORDER BY region$$,
	$$SELECT region, ARRAY['decrypt XX001'], n * 8 FROM starget,
	  LATERAL (VALUES ('ciphertext', octet_length((e).ciphertext)), ('nonce', 12), ('search term', 16), ('tag', 16),
	                  ('wrapped key', 40)) r(region, n) ORDER BY region$$,
	'searchable: search term, wrapped key, nonce, ciphertext and tag: every flipped bit fails authentication (XX001)');
SELECT is((SELECT array_agg(DISTINCT outcome) FROM ssweep WHERE region = 'search term'), ARRAY['decrypt XX001'],
	'every one of the 128 flips of the search term (bytes 8-23, the index key id included) fails authentication');
SELECT is((SELECT try_open(b, ctx) FROM starget), 'decrypted: tamper target: alice@example.com',
	'the original searchable value still decrypts after the sweep');

-- a searchable envelope cut short: below 92 bytes it cannot hold its term
CREATE TEMP TABLE scut AS
SELECT n, try_open(substring(b FROM 1 FOR n), ctx) AS outcome
FROM starget, generate_series(0, len - 1) n;
SELECT is((SELECT array_agg(n || ': ' || outcome ORDER BY n) FROM scut
	WHERE outcome <> CASE WHEN n >= 92 THEN 'decrypt XX001' ELSE 'input 22P02' END), NULL,
	'a searchable envelope cut short fails authentication (XX001), or input (22P02) below 92 bytes');
SELECT is((SELECT count(*)::int FROM scut WHERE outcome = 'decrypt XX001'), (SELECT len - 92 FROM starget),
	'every cut of the searchable envelope that still parses was tried');

-- the term is bound to the value: removed, grafted on, or another's
SELECT is((SELECT try_open(set_byte(substring(b FROM 1 FOR 8), 1, 0) || substring(b FROM 25), ctx) FROM starget),
	'decrypt XX001', 'a searchable value with its term cut out and its term flag cleared: XX001');
SELECT is((SELECT try_open(set_byte(substring(t.b FROM 1 FOR 8), 1, 4) || s.term || substring(t.b FROM 9), t.ctx)
	FROM target t, starget s),
	'decrypt XX001', 'a value without a term, given the term of the same plaintext and the term flag: XX001');

-- ---------------------------------------------------------------------------
-- Truncated and extended envelopes
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE cut AS
SELECT n, try_open(substring(b FROM 1 FOR n), ctx) AS outcome
FROM target, generate_series(0, len - 1) n;
SELECT is((SELECT array_agg(n || ': ' || outcome ORDER BY n) FROM cut
	WHERE outcome <> CASE WHEN n >= 76 THEN 'decrypt XX001' ELSE 'input 22P02' END), NULL,
	'an envelope cut short fails authentication (XX001), or input (22P02) below 76 bytes');
SELECT is((SELECT count(*)::int FROM cut WHERE outcome = 'decrypt XX001'), (SELECT len - 76 FROM target),
	'every cut that still parses was tried');
SELECT is((SELECT array_agg(DISTINCT outcome) FROM target, generate_series(1, 20) n,
	LATERAL (SELECT try_open(b || substring(sha256(b) FROM 1 FOR n), ctx) AS outcome) x),
	ARRAY['decrypt XX001'], 'an envelope with 1 to 20 bytes appended fails authentication');
SELECT is((SELECT try_open(b || b, ctx) FROM target), 'decrypt XX001', 'an envelope concatenated with itself: XX001');

-- ---------------------------------------------------------------------------
-- Context: a value belongs to its row and column
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT ef_decrypt(tap_text(b)::encrypted_field, 'accounts.email.43') FROM target$$,
	'XX001', 'could not decrypt value', 'a wrong context: XX001');
SELECT throws_ok($$SELECT ef_decrypt(tap_text(b)::encrypted_field) FROM target$$,
	'XX001', 'could not decrypt value', 'no context for a value encrypted with one: XX001');
SELECT throws_ok($$SELECT ef_decrypt(tap_text(b)::encrypted_field, '') FROM target$$,
	'XX001', 'could not decrypt value', 'an empty context for a value encrypted with one: XX001');
SELECT throws_ok($$SELECT ef_decrypt(ef_encrypt('no context'), '')$$,
	'XX001', 'could not decrypt value', 'an empty context is not the same as no context: XX001');
SELECT throws_ok($$SELECT ef_decrypt(ef_encrypt('prefix', 'accounts.email.4'), 'accounts.email.42')$$,
	'XX001', 'could not decrypt value', 'a context that extends the right one: XX001');

CREATE TEMP TABLE accounts (id int PRIMARY KEY, email encrypted_field, phone encrypted_field);
INSERT INTO accounts SELECT g, ef_encrypt('user' || g || '@example.com', 'accounts.email.' || g),
	ef_encrypt('+1 555 010' || g, 'accounts.phone.' || g) FROM generate_series(1, 3) g;
SELECT is((SELECT count(*)::int FROM accounts
	WHERE ef_decrypt(email, 'accounts.email.' || id) = 'user' || id || '@example.com'
	  AND ef_decrypt(phone, 'accounts.phone.' || id) = '+1 555 010' || id), 3,
	'control: every row decrypts under its own row and column context');
UPDATE accounts SET email = (SELECT email FROM accounts WHERE id = 1) WHERE id = 2;
SELECT throws_ok($$SELECT ef_decrypt(email, 'accounts.email.' || id) FROM accounts WHERE id = 2$$,
	'XX001', 'could not decrypt value', 'a value copied into another row does not decrypt there: XX001');
SELECT is((SELECT ef_decrypt(email, 'accounts.email.1') FROM accounts WHERE id = 2), 'user1@example.com',
	'the copied value is intact: it still decrypts under the row it came from');
UPDATE accounts SET phone = email WHERE id = 3;
SELECT throws_ok($$SELECT ef_decrypt(phone, 'accounts.phone.' || id) FROM accounts WHERE id = 3$$,
	'XX001', 'could not decrypt value', 'a value copied into another column does not decrypt there: XX001');

-- ---------------------------------------------------------------------------
-- Parts swapped between two values of the same key and context
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE pair AS
SELECT (SELECT ef_send(ef_encrypt('pair value A: 0123456789abcdef', 'pair'))) AS a,
	(SELECT ef_send(ef_encrypt('pair value B: fedcba9876543210', 'pair'))) AS b;
SELECT is((SELECT try_open(a, 'pair') || ' / ' || try_open(b, 'pair') FROM pair),
	'decrypted: pair value A: 0123456789abcdef / decrypted: pair value B: fedcba9876543210',
	'control: both values of the pair decrypt');
SELECT is((SELECT try_open(overlay(a PLACING substring(b FROM 9 FOR 40) FROM 9), 'pair') FROM pair),
	'decrypt XX001', 'A with B''s wrapped key: XX001');
SELECT is((SELECT try_open(overlay(b PLACING substring(a FROM 9 FOR 40) FROM 9), 'pair') FROM pair),
	'decrypt XX001', 'B with A''s wrapped key: XX001');
SELECT is((SELECT try_open(overlay(a PLACING substring(b FROM 49 FOR 12) FROM 49), 'pair') FROM pair),
	'decrypt XX001', 'A with B''s nonce: XX001');
SELECT is((SELECT try_open(overlay(a PLACING substring(b FROM octet_length(b) - 15) FROM octet_length(a) - 15), 'pair')
	FROM pair), 'decrypt XX001', 'A with B''s tag: XX001');
SELECT is((SELECT try_open(substring(a FROM 1 FOR 60) || substring(b FROM 61), 'pair') FROM pair),
	'decrypt XX001', 'A''s wrapped key and nonce with B''s ciphertext and tag: XX001');
SELECT is((SELECT try_open(a || b, 'pair') FROM pair), 'decrypt XX001', 'A concatenated with B: XX001');
SELECT is((SELECT try_open(b || a, 'pair') FROM pair), 'decrypt XX001', 'B concatenated with A: XX001');

-- two searchable values of the same key, context and search domain: a term
-- moved from one to the other would make a lookup for one find the other
CREATE TEMP TABLE spair AS
SELECT (SELECT ef_send(ef_encrypt('pair value A: 0123456789abcdef', 'pair', searchable => true, search_domain => 'pair'))) AS a,
	(SELECT ef_send(ef_encrypt('pair value B: fedcba9876543210', 'pair', searchable => true, search_domain => 'pair'))) AS b;
SELECT is((SELECT try_open(a, 'pair') || ' / ' || try_open(b, 'pair') FROM spair),
	'decrypted: pair value A: 0123456789abcdef / decrypted: pair value B: fedcba9876543210',
	'control: both searchable values of the pair decrypt');
SELECT isnt((SELECT substring(a FROM 9 FOR 16) FROM spair), (SELECT substring(b FROM 9 FOR 16) FROM spair),
	'control: the two searchable values have different terms');
SELECT is((SELECT try_open(overlay(a PLACING substring(b FROM 9 FOR 16) FROM 9), 'pair') FROM spair),
	'decrypt XX001', 'searchable A with B''s term: XX001');
SELECT is((SELECT try_open(overlay(b PLACING substring(a FROM 9 FOR 16) FROM 9), 'pair') FROM spair),
	'decrypt XX001', 'searchable B with A''s term: XX001');
SELECT is((SELECT try_open(overlay(a PLACING substring(b FROM 9 FOR 56) FROM 9), 'pair') FROM spair),
	'decrypt XX001', 'searchable A with B''s term and wrapped key: XX001');

-- ---------------------------------------------------------------------------
-- Re-ordered ciphertext, a changed type code, a key id moved to another key
-- ---------------------------------------------------------------------------
SELECT is((SELECT try_open(substring(b FROM 1 FOR 60) || substring(b FROM 77 FOR 16) || substring(b FROM 61 FOR 16)
		|| substring(b FROM 93), ctx) FROM target),
	'decrypt XX001', 'the two 16-byte ciphertext blocks swapped: XX001');
SELECT is((SELECT try_open(set_byte(b, 2, 2), ctx) FROM target), 'decrypt XX001',
	'the plaintext type changed from text to bytea (bound as associated data): XX001');
SELECT throws_ok($$SELECT ef_decrypt_as(tap_text(set_byte(b, 2, 2))::encrypted_field, NULL::bytea, ctx) FROM target$$,
	'XX001', 'could not decrypt value', 'ef_decrypt_as to the forged type: XX001');
SELECT is((SELECT try_open(overlay(b PLACING int4send(3) FROM 5), ctx) FROM target), 'decrypt XX001',
	'the key id changed to another held key: XX001');
-- a value re-wrapped under key 3, relabelled as key 1
SELECT is((SELECT try_open(overlay(ef_send(ef_rewrap(tap_text(b)::encrypted_field, 3)) PLACING int4send(1) FROM 5), ctx)
	FROM target), 'decrypt XX001', 'a wrap under key 3 relabelled as key 1: XX001');
SELECT is((SELECT try_open(ef_send(ef_rewrap(tap_text(b)::encrypted_field, 3)), ctx) FROM target),
	'decrypted: tamper target: alice@example.com', 'control: the honest re-wrap under key 3 decrypts');

SELECT ef_lock();
SELECT * FROM finish();
ROLLBACK;

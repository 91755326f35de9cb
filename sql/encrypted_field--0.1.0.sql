-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION encrypted_field" to load this file. \quit

-- encrypted_field type

CREATE TYPE encrypted_field;

CREATE FUNCTION ef_in(cstring) RETURNS encrypted_field
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_in(cstring) IS 'I/O';

CREATE FUNCTION ef_out(encrypted_field) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_out(encrypted_field) IS 'I/O';

CREATE FUNCTION ef_recv(internal) RETURNS encrypted_field
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_recv(internal) IS 'I/O';

CREATE FUNCTION ef_send(encrypted_field) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_send(encrypted_field) IS 'I/O';

CREATE FUNCTION ef_typanalyze(internal) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_typanalyze(internal) IS 'ANALYZE support: null fraction, width and number of distinct search terms';

-- ciphertext does not compress, so TOAST should not try
CREATE TYPE encrypted_field (
	INPUT = ef_in,
	OUTPUT = ef_out,
	RECEIVE = ef_recv,
	SEND = ef_send,
	ANALYZE = ef_typanalyze,
	STORAGE = external
);
COMMENT ON TYPE encrypted_field IS 'a value encrypted under its own data key, wrapped by a master key';

CREATE TYPE encrypted_field_envelope AS (
	version integer,
	flags integer,
	key_id integer,
	plaintext_type regtype,
	wrapped_key bytea,
	nonce bytea,
	ciphertext bytea,
	tag bytea,
	search_term bytea
);
COMMENT ON TYPE encrypted_field_envelope IS 'the parts of an encrypted_field envelope';

CREATE TYPE encrypted_field_term;

CREATE FUNCTION ef_term_in(cstring) RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_in(cstring) IS 'I/O';

CREATE FUNCTION ef_term_out(encrypted_field_term) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_out(encrypted_field_term) IS 'I/O';

CREATE FUNCTION ef_term_recv(internal) RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_recv(internal) IS 'I/O';

CREATE FUNCTION ef_term_send(encrypted_field_term) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_send(encrypted_field_term) IS 'I/O';

CREATE TYPE encrypted_field_term (
	INPUT = ef_term_in,
	OUTPUT = ef_term_out,
	RECEIVE = ef_term_recv,
	SEND = ef_term_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = char,
	STORAGE = plain
);
COMMENT ON TYPE encrypted_field_term IS 'a blind-index search term, the probe that = compares with searchable values';

-- key registry: check values only, never keys

CREATE TABLE ef_keys (
	key_id integer PRIMARY KEY CHECK (key_id > 0),
	fingerprint bytea NOT NULL CHECK (pg_catalog.octet_length(fingerprint) = 16),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	retired_at timestamptz,
	comment text
);
COMMENT ON TABLE ef_keys IS 'registered master keys: id, check value, dates and comment, never the key';
SELECT pg_catalog.pg_extension_config_dump('ef_keys', '');

-- the database's index keys (for search terms), each wrapped under every
-- master key, so that terms survive a master key's rotation
CREATE TABLE ef_index_keys (
	index_key_id integer NOT NULL CHECK (index_key_id BETWEEN 1 AND 65535),
	key_id integer NOT NULL REFERENCES ef_keys (key_id),
	wrapped_key bytea NOT NULL CHECK (pg_catalog.octet_length(wrapped_key) = 40),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (index_key_id, key_id)
);
COMMENT ON TABLE ef_index_keys IS 'index keys for search terms, each wrapped under a master key';
SELECT pg_catalog.pg_extension_config_dump('ef_index_keys', '');

-- functions

CREATE FUNCTION ef_register_key(key_id integer, master_key bytea, comment text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_register_key' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_register_key(integer, bytea, text) IS 'record a master key''s check value in the registry; the key is not stored';

CREATE FUNCTION ef_retire_key(key_id integer) RETURNS void
	AS 'MODULE_PATHNAME', 'ef_retire_key' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_retire_key(integer) IS 'mark a master key retired: it decrypts but encrypts no new values';

CREATE FUNCTION ef_unlock(key_id integer, master_key bytea, scope text DEFAULT 'session')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_unlock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_unlock(integer, bytea, text) IS 'check a master key against the registry and hold it in this session or transaction';

CREATE FUNCTION ef_lock() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_lock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_lock() IS 'forget and wipe every master key this session holds';

CREATE FUNCTION ef_held_keys(OUT key_id integer, OUT scope text, OUT is_current boolean,
	OUT retired boolean, OUT unlocked_at timestamptz)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ef_held_keys' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_held_keys() IS 'the master key ids this session holds, never the keys';

-- Functions that read the keys held by this backend are PARALLEL RESTRICTED:
-- parallel workers are separate processes that never receive the keys, so
-- these must run in the leader.
CREATE FUNCTION ef_encrypt(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(anyelement, text, boolean, integer, text, text) IS 'encrypt a value under a fresh data key wrapped by a held master key';

-- an untyped literal resolves to this overload, as text
CREATE FUNCTION ef_encrypt(value text, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(text, text, boolean, integer, text, text) IS 'encrypt text under a fresh data key wrapped by a held master key';

-- varchar and char would otherwise resolve to the text overload and be
-- recorded as text
CREATE FUNCTION ef_encrypt(value varchar, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(varchar, text, boolean, integer, text, text) IS 'encrypt varchar under a fresh data key wrapped by a held master key';

CREATE FUNCTION ef_encrypt(value character, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(character, text, boolean, integer, text, text) IS 'encrypt char(n) under a fresh data key wrapped by a held master key';

-- the search term of a value: what = compares with searchable values
CREATE FUNCTION ef_term(value anyelement, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_term(anyelement, text, text) IS 'the blind-index search term of a value, to find searchable values equal to it';

CREATE FUNCTION ef_term(value text, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_term(text, text, text) IS 'the blind-index search term of a text value';

CREATE FUNCTION ef_term(value varchar, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_term(varchar, text, text) IS 'the blind-index search term of a varchar value';

CREATE FUNCTION ef_term(value character, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_term(character, text, text) IS 'the blind-index search term of a char(n) value';

CREATE FUNCTION ef_decrypt(value encrypted_field, context text DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'ef_decrypt' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_decrypt(encrypted_field, text) IS 'decrypt a value to text with a held master key';

CREATE FUNCTION ef_decrypt_as(value encrypted_field, as_type anyelement, context text DEFAULT NULL)
	RETURNS anyelement
	AS 'MODULE_PATHNAME', 'ef_decrypt_as' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_decrypt_as(encrypted_field, anyelement, text) IS 'decrypt a value to the type of as_type, which must be the type it was encrypted from';

CREATE FUNCTION ef_rewrap(value encrypted_field, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_rewrap' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_rewrap(encrypted_field, integer) IS 're-wrap a value''s data key under another held master key; content bytes unchanged';

CREATE FUNCTION ef_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_key_id(encrypted_field) IS 'master key id of a value, readable with no key held';

CREATE FUNCTION ef_envelope(value encrypted_field) RETURNS encrypted_field_envelope
	AS 'MODULE_PATHNAME', 'ef_envelope' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_envelope(encrypted_field) IS 'the parts of a value''s envelope, readable with no key held';

-- Re-wraps a column in batches, each committed on its own, so that a large
-- table rotates without one long transaction and an interruption loses only
-- the batch under way.  Rows are found in one scan and updated by ctid; a row
-- moved by a concurrent update in between keeps its key and is reported in
-- the final count, for a second run to pick up.  It must be CALLed outside a
-- transaction block, with session-scoped keys (a transaction-scoped key is
-- forgotten at the first batch's commit).  A SET search_path clause would
-- forbid its COMMITs, so every name in it is qualified instead.
CREATE PROCEDURE ef_rewrap_column(tbl regclass, col name, key_id integer DEFAULT NULL,
	batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target integer := key_id;
	batch tid[] := '{}';
	done bigint := 0;
	n bigint;
	remaining bigint;
	r record;
	upd text;
BEGIN
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) col
		AND NOT a.attisdropped
		AND a.atttypid OPERATOR(pg_catalog.=) '@extschema@.encrypted_field'::pg_catalog.regtype) THEN
		RAISE EXCEPTION 'column "%" of % is not of type encrypted_field', col, tbl
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF target IS NULL THEN
		SELECT h.key_id INTO target FROM @extschema@.ef_held_keys() h WHERE h.is_current;
		IF target IS NULL THEN
			RAISE EXCEPTION 'no master key is unlocked in this session'
				USING ERRCODE = 'object_not_in_prerequisite_state',
				HINT = 'Call ef_unlock() with the key to rotate to first.';
		END IF;
	ELSIF NOT EXISTS (SELECT FROM @extschema@.ef_held_keys() h
		WHERE h.key_id OPERATOR(pg_catalog.=) target AND NOT h.retired) THEN
		RAISE EXCEPTION 'master key % is not unlocked in this session, or is retired', target
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Call ef_unlock() with the key to rotate to first.';
	END IF;

	upd := pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_rewrap(%I, $1) '
		'WHERE ctid OPERATOR(pg_catalog.=) ANY ($2) '
		'AND @extschema@.ef_key_id(%I) OPERATOR(pg_catalog.<>) $1', tbl, col, col, col);
	FOR r IN EXECUTE pg_catalog.format('SELECT ctid FROM %s WHERE @extschema@.ef_key_id(%I) '
		'OPERATOR(pg_catalog.<>) $1', tbl, col) USING target
	LOOP
		batch := pg_catalog.array_append(batch, r.ctid);
		IF pg_catalog.cardinality(batch) >= batch_size THEN
			EXECUTE upd USING target, batch;
			GET DIAGNOSTICS n = ROW_COUNT;
			done := done + n;
			batch := '{}';
			COMMIT;
			RAISE NOTICE 'ef_rewrap_column: % rows of % re-wrapped to master key %', done, tbl, target;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(batch) > 0 THEN
		EXECUTE upd USING target, batch;
		GET DIAGNOSTICS n = ROW_COUNT;
		done := done + n;
		COMMIT;
		RAISE NOTICE 'ef_rewrap_column: % rows of % re-wrapped to master key %', done, tbl, target;
	END IF;

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE @extschema@.ef_key_id(%I) '
		'OPERATOR(pg_catalog.<>) $1', tbl, col) INTO remaining USING target;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_rewrap_column: % rows of % are still under another key', remaining, tbl
			USING HINT = 'They changed during the run; call ef_rewrap_column again.';
	ELSE
		RAISE NOTICE 'ef_rewrap_column: every value of %.% is under master key %', tbl, col, target;
	END IF;
END
$$;
COMMENT ON PROCEDURE ef_rewrap_column(regclass, name, integer, integer) IS 're-wrap every value of a column under one held key, in committed batches';

-- Encrypts an existing plaintext column into an encrypted_field column, in
-- batches that each commit, so a live table is converted without one long
-- transaction.  Rows whose encrypted column is still NULL are the work left,
-- so an interrupted run resumes where it stopped.  The context of each value
-- can be bound to its row with context_expr, an SQL expression over the
-- table's columns (for example 'users.email.' || id).  Reads are switched and
-- the plaintext column dropped by hand, after the final count agrees.
CREATE PROCEDURE ef_encrypt_column(tbl regclass, col name, encrypted_col name DEFAULT NULL,
	context_expr text DEFAULT NULL, searchable boolean DEFAULT false,
	search_domain text DEFAULT NULL, batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target name := COALESCE(encrypted_col, (col OPERATOR(pg_catalog.||) '_encrypted')::name);
	batch tid[] := '{}';
	done bigint := 0;
	n bigint;
	plain_rows bigint;
	encrypted_rows bigint;
	r record;
	upd text;
BEGIN
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) col
		AND NOT a.attisdropped AND a.attnum > 0) THEN
		RAISE EXCEPTION 'column "%" of % does not exist', col, tbl USING ERRCODE = 'undefined_column';
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.ef_held_keys() h WHERE h.is_current) THEN
		RAISE EXCEPTION 'no master key is unlocked in this session'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Call ef_unlock() with a registered master key first, with session scope.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) target
		AND NOT a.attisdropped) THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I @extschema@.encrypted_field', tbl, target);
		COMMIT;
		RAISE NOTICE 'ef_encrypt_column: added column % to %', target, tbl;
	ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) target
		AND a.atttypid OPERATOR(pg_catalog.=) '@extschema@.encrypted_field'::pg_catalog.regtype) THEN
		RAISE EXCEPTION 'column "%" of % is not of type encrypted_field', target, tbl
			USING ERRCODE = 'datatype_mismatch';
	END IF;

	upd := pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_encrypt(%I, %s, $3, NULL, $4) '
		'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) AND %I IS NULL AND %I IS NOT NULL',
		tbl, target, col, COALESCE(context_expr, 'NULL'), target, col);
	FOR r IN EXECUTE pg_catalog.format('SELECT ctid FROM %s WHERE %I IS NULL AND %I IS NOT NULL',
		tbl, target, col)
	LOOP
		batch := pg_catalog.array_append(batch, r.ctid);
		IF pg_catalog.cardinality(batch) >= batch_size THEN
			EXECUTE upd USING batch, NULL, searchable, search_domain;
			GET DIAGNOSTICS n = ROW_COUNT;
			done := done + n;
			batch := '{}';
			COMMIT;
			RAISE NOTICE 'ef_encrypt_column: % rows of % encrypted into %', done, tbl, target;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(batch) > 0 THEN
		EXECUTE upd USING batch, NULL, searchable, search_domain;
		GET DIAGNOSTICS n = ROW_COUNT;
		done := done + n;
		COMMIT;
		RAISE NOTICE 'ef_encrypt_column: % rows of % encrypted into %', done, tbl, target;
	END IF;

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(%I), pg_catalog.count(%I) FROM %s', col, target, tbl)
		INTO plain_rows, encrypted_rows;
	IF plain_rows OPERATOR(pg_catalog.<>) encrypted_rows THEN
		RAISE WARNING 'ef_encrypt_column: % has % values in % but % in %', tbl, plain_rows, col, encrypted_rows, target
			USING HINT = 'Rows changed during the run; call ef_encrypt_column again, or keep a trigger encrypting new rows.';
	ELSE
		RAISE NOTICE 'ef_encrypt_column: all % values of %.% are encrypted in %', plain_rows, tbl, col, target;
	END IF;
END
$$;
COMMENT ON PROCEDURE ef_encrypt_column(regclass, name, name, text, boolean, text, integer) IS 'encrypt an existing plaintext column into an encrypted_field column, in committed batches';

-- Creates a view that shows a table's encrypted_field columns decrypted (as
-- text) to sessions holding the key, and INSTEAD OF triggers that encrypt
-- what is written through it, so an application reads and writes plaintext
-- while the table holds only ciphertext.  With key_column, each value's
-- context is 'table.column.' || key, binding it to its row, and UPDATE and
-- DELETE work through the view; searchable columns get the search domain
-- 'table.column'.
CREATE FUNCTION ef_create_view(tbl regclass, view_name name DEFAULT NULL,
	key_column name DEFAULT NULL, searchable_columns name[] DEFAULT '{}')
	RETURNS regclass
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $create_view$
DECLARE
	rel_name name;
	rel_schema name;
	target text;
	trigfn text;
	cols text[] := '{}';
	sel text[] := '{}';
	ins_vals text[] := '{}';
	upd_sets text[] := '{}';
	enc text;
	ctx text;
	change text;
	a record;
BEGIN
	SELECT c.relname, n.nspname INTO rel_name, rel_schema
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	target := format('%I.%I', rel_schema, COALESCE(view_name, (rel_name || '_decrypted')::name));
	trigfn := format('%I.%I', rel_schema, COALESCE(view_name, (rel_name || '_decrypted')::name) || '_write');
	IF key_column IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute
		WHERE attrelid = tbl AND attname = key_column AND attnum > 0 AND NOT attisdropped) THEN
		RAISE EXCEPTION 'column "%" of % does not exist', key_column, tbl USING ERRCODE = 'undefined_column';
	END IF;

	FOR a IN SELECT attname, atttypid FROM pg_attribute
		WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped ORDER BY attnum
	LOOP
		cols := cols || format('%I', a.attname);
		IF a.atttypid = '@extschema@.encrypted_field'::regtype THEN
			ctx := CASE WHEN key_column IS NULL THEN 'NULL'
				ELSE format('%L || %s.%I', rel_name || '.' || a.attname || '.', '%s', key_column) END;
			sel := sel || format('@extschema@.ef_decrypt(t.%I, %s) AS %I', a.attname, format(ctx, 't'), a.attname);
			enc := format('@extschema@.ef_encrypt(NEW.%I::text, %s, %L, NULL, %L)', a.attname, format(ctx, 'NEW'),
				a.attname = ANY (searchable_columns), rel_name || '.' || a.attname);
			ins_vals := ins_vals || enc;
			upd_sets := upd_sets || format('%I = CASE WHEN NEW.%I IS NOT DISTINCT FROM OLD.%I THEN t.%I ELSE %s END',
				a.attname, a.attname, a.attname, a.attname, enc);
		ELSE
			sel := sel || format('t.%I', a.attname);
			ins_vals := ins_vals || format('NEW.%I', a.attname);
			upd_sets := upd_sets || format('%I = NEW.%I', a.attname, a.attname);
		END IF;
	END LOOP;
	IF cardinality(searchable_columns) > 0 AND EXISTS (SELECT FROM unnest(searchable_columns) s(c)
		WHERE NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = tbl AND attname = s.c
			AND atttypid = '@extschema@.encrypted_field'::regtype)) THEN
		RAISE EXCEPTION 'every searchable column must be an encrypted_field column of %', tbl
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	EXECUTE format('CREATE VIEW %s AS SELECT %s FROM %s t', target, array_to_string(sel, ', '), tbl);
	IF key_column IS NULL THEN
		change := $c$RAISE EXCEPTION 'the view was created without a key column, so it cannot update or delete rows'
		USING ERRCODE = 'feature_not_supported';$c$;
	ELSE
		change := format($c$IF TG_OP = 'UPDATE' THEN
		UPDATE %s t SET %s WHERE t.%I = OLD.%I;
		RETURN NEW;
	END IF;
	DELETE FROM %s t WHERE t.%I = OLD.%I;
	RETURN OLD;$c$, tbl, array_to_string(upd_sets, ', '), key_column, key_column, tbl, key_column, key_column);
	END IF;
	EXECUTE format($f$CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $b$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO %s (%s) VALUES (%s);
		RETURN NEW;
	END IF;
	%s
END $b$$f$, trigfn, tbl, array_to_string(cols, ', '), array_to_string(ins_vals, ', '), change);
	EXECUTE format('CREATE TRIGGER write INSTEAD OF INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s()',
		target, trigfn);
	RETURN target::regclass;
END
$create_view$;
COMMENT ON FUNCTION ef_create_view(regclass, name, name, name[]) IS 'create a view that decrypts a table''s encrypted columns and encrypts what is written through it';

-- operators

-- Searchable values compare by their search terms only; the order is
-- arbitrary but stable.  A value without a term cannot be compared.
CREATE FUNCTION ef_eq(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_eq(encrypted_field, encrypted_field) IS 'implementation of = operator';
CREATE FUNCTION ef_ne(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ne(encrypted_field, encrypted_field) IS 'implementation of <> operator';
CREATE FUNCTION ef_lt(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_lt(encrypted_field, encrypted_field) IS 'implementation of < operator';
CREATE FUNCTION ef_le(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_le(encrypted_field, encrypted_field) IS 'implementation of <= operator';
CREATE FUNCTION ef_gt(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_gt(encrypted_field, encrypted_field) IS 'implementation of > operator';
CREATE FUNCTION ef_ge(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ge(encrypted_field, encrypted_field) IS 'implementation of >= operator';
CREATE FUNCTION ef_cmp(encrypted_field, encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_cmp(encrypted_field, encrypted_field) IS 'btree support: order searchable values by term';
CREATE FUNCTION ef_hash(encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_hash(encrypted_field) IS 'hash support: hash a searchable value''s term';

CREATE FUNCTION ef_eq_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_eq_term(encrypted_field, encrypted_field_term) IS 'implementation of = operator';
CREATE FUNCTION ef_ne_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ne_term(encrypted_field, encrypted_field_term) IS 'implementation of <> operator';
CREATE FUNCTION ef_term_eq(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_eq(encrypted_field_term, encrypted_field) IS 'implementation of = operator';
CREATE FUNCTION ef_term_ne(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ne(encrypted_field_term, encrypted_field) IS 'implementation of <> operator';
CREATE FUNCTION ef_cmp_term(encrypted_field, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_cmp_term(encrypted_field, encrypted_field_term) IS 'btree support: order a searchable value against a term';
CREATE FUNCTION ef_term_hash(encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_hash(encrypted_field_term) IS 'hash support: hash a term';

CREATE OPERATOR = (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_eq,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field, encrypted_field) IS 'equal search terms';
CREATE OPERATOR <> (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_ne,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field, encrypted_field) IS 'different search terms';
CREATE OPERATOR < (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_lt,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field, encrypted_field) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_le,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field, encrypted_field) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_gt,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field, encrypted_field) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_ge,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field, encrypted_field) IS 'greater than or equal, in the arbitrary order of search terms';

-- The operators between a value and a term serve index lookups; they are
-- not HASHES or MERGES, since the operator families hold no ordering or
-- hashing of terms among themselves, so joins against stored terms run as
-- nested loops (using the index where there is one).
CREATE OPERATOR = (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_eq_term,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel);
COMMENT ON OPERATOR = (encrypted_field, encrypted_field_term) IS 'a searchable value has this search term';
CREATE OPERATOR <> (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_ne_term,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field, encrypted_field_term) IS 'a searchable value has another search term';
CREATE OPERATOR = (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_eq,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel);
COMMENT ON OPERATOR = (encrypted_field_term, encrypted_field) IS 'a search term of this searchable value';
CREATE OPERATOR <> (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_ne,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field_term, encrypted_field) IS 'not a search term of this searchable value';

-- operator classes

CREATE OPERATOR CLASS encrypted_field_ops DEFAULT FOR TYPE encrypted_field USING btree AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
	FUNCTION 1 ef_cmp(encrypted_field, encrypted_field);
ALTER OPERATOR FAMILY encrypted_field_ops USING btree ADD
	OPERATOR 3 = (encrypted_field, encrypted_field_term),
	FUNCTION 1 (encrypted_field, encrypted_field_term) ef_cmp_term(encrypted_field, encrypted_field_term);

CREATE OPERATOR CLASS encrypted_field_ops DEFAULT FOR TYPE encrypted_field USING hash AS
	OPERATOR 1 = , FUNCTION 1 ef_hash(encrypted_field);
ALTER OPERATOR FAMILY encrypted_field_ops USING hash ADD
	OPERATOR 1 = (encrypted_field, encrypted_field_term),
	FUNCTION 1 (encrypted_field_term, encrypted_field_term) ef_term_hash(encrypted_field_term);

-- privileges

-- Registering and retiring keys is for key administrators only.  Grant them
-- EXECUTE on these functions, INSERT, UPDATE on ef_keys and INSERT on
-- ef_index_keys.
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ef_retire_key(integer) FROM PUBLIC;

-- The registry holds no secret: check values, ids, dates.  Every role may read
-- it, which ef_unlock() needs; only its owner may change it.
REVOKE ALL ON TABLE ef_keys FROM PUBLIC;
GRANT SELECT ON TABLE ef_keys TO PUBLIC;
-- index keys are wrapped under master keys: readable, like the check values
REVOKE ALL ON TABLE ef_index_keys FROM PUBLIC;
GRANT SELECT ON TABLE ef_index_keys TO PUBLIC;

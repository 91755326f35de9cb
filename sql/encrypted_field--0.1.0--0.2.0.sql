-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION encrypted_field UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 adds functions and changes no stored format: values written by
-- 0.1.0 are read as they are.

CREATE FUNCTION ef_is_searchable(value encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ef_is_searchable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_is_searchable(encrypted_field) IS 'whether a value carries a search term, readable with no key held';

CREATE FUNCTION ef_rotate_index_key() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_rotate_index_key' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_rotate_index_key() IS 'create a new index key for search terms, wrapped under every held master key';

-- the terms of a value under every index key held, newest first: while
-- values move to a rotated index key, c = ANY(ef_terms(x)) finds them all
CREATE FUNCTION ef_terms(value anyelement, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(anyelement, text, text) IS 'the search terms of a value under every index key held, newest first';

CREATE FUNCTION ef_terms(value text, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(text, text, text) IS 'the search terms of a text value under every index key held';

CREATE FUNCTION ef_terms(value varchar, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(varchar, text, text) IS 'the search terms of a varchar value under every index key held';

CREATE FUNCTION ef_terms(value character, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(character, text, text) IS 'the search terms of a char(n) value under every index key held';

CREATE FUNCTION ef_index_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_index_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_index_key_id(encrypted_field) IS 'id of the index key a value''s search term was made with, readable with no key held';

-- The loop the column procedures share: the rows select_sql finds, in one
-- scan, are updated by update_sql, which gets batch_size of their ctids at a
-- time as $1; each batch commits on its own and is reported as
-- "label <rows so far> what".  The callers CALL it, so that its COMMITs are
-- allowed; done returns how many rows it updated.
CREATE PROCEDURE ef_update_in_batches(select_sql text, update_sql text, batch_size integer,
	label text, what text, INOUT done bigint DEFAULT 0)
	LANGUAGE plpgsql
	AS $$
DECLARE
	batch tid[] := '{}';
	n bigint;
	r record;
BEGIN
	done := COALESCE(done, 0);
	FOR r IN EXECUTE select_sql LOOP
		batch := pg_catalog.array_append(batch, r.ctid);
		IF pg_catalog.cardinality(batch) >= batch_size THEN
			EXECUTE update_sql USING batch;
			GET DIAGNOSTICS n = ROW_COUNT;
			done := done + n;
			batch := '{}';
			COMMIT;
			RAISE NOTICE '% % %', label, done, what;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(batch) > 0 THEN
		EXECUTE update_sql USING batch;
		GET DIAGNOSTICS n = ROW_COUNT;
		done := done + n;
		COMMIT;
		RAISE NOTICE '% % %', label, done, what;
	END IF;
END
$$;
COMMENT ON PROCEDURE ef_update_in_batches(text, text, integer, text, text, bigint) IS 'internal: the committed batches of ef_rewrap_column, ef_reterm_column and ef_encrypt_column';

-- the column procedures of 0.1.0 now run their batches through it
CREATE OR REPLACE PROCEDURE ef_rewrap_column(tbl regclass, col name, key_id integer DEFAULT NULL,
	batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target integer := key_id;
	done bigint := 0;
	remaining bigint;
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

	CALL @extschema@.ef_update_in_batches(
		pg_catalog.format('SELECT ctid FROM %s WHERE @extschema@.ef_key_id(%I) OPERATOR(pg_catalog.<>) %s',
			tbl, col, target),
		pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_rewrap(%I, %s) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
			'AND @extschema@.ef_key_id(%I) OPERATOR(pg_catalog.<>) %s', tbl, col, col, target, col, target),
		batch_size, 'ef_rewrap_column:', pg_catalog.format('rows of %s re-wrapped to master key %s', tbl, target),
		done);

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

CREATE OR REPLACE PROCEDURE ef_encrypt_column(tbl regclass, col name, encrypted_col name DEFAULT NULL,
	context_expr text DEFAULT NULL, searchable boolean DEFAULT false,
	search_domain text DEFAULT NULL, batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target name := COALESCE(encrypted_col, (col OPERATOR(pg_catalog.||) '_encrypted')::name);
	done bigint := 0;
	plain_rows bigint;
	encrypted_rows bigint;
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

	CALL @extschema@.ef_update_in_batches(
		pg_catalog.format('SELECT ctid FROM %s WHERE %I IS NULL AND %I IS NOT NULL', tbl, target, col),
		pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_encrypt(%I, %s, %L::boolean, NULL, %L::text) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) AND %I IS NULL AND %I IS NOT NULL',
			tbl, target, col, COALESCE(context_expr, 'NULL'), searchable, search_domain, target, col),
		batch_size, 'ef_encrypt_column:', pg_catalog.format('rows of %s encrypted into %s', tbl, target),
		done);

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

CREATE FUNCTION ef_reterm(value encrypted_field, context text DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_reterm' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_reterm(encrypted_field, text, text, text) IS 'encrypt a searchable value again with a term of the newest index key held; plaintext, type, context and master key unchanged';

-- Moves a column's searchable values to the newest index key after
-- ef_rotate_index_key(), in batches that each commit, like ef_rewrap_column.
-- Values are encrypted again (a term is authenticated with its value), each
-- under its own master key; search_domain, search_normalize and
-- context_expr (an SQL expression over the table's columns) must be those
-- the values were written with, which ef_reterm checks.  Values without a
-- term are left alone.
CREATE PROCEDURE ef_reterm_column(tbl regclass, col name, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact', context_expr text DEFAULT NULL,
	batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target integer;
	done bigint := 0;
	remaining bigint;
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
	IF NOT EXISTS (SELECT FROM @extschema@.ef_held_keys() h WHERE h.is_current) THEN
		RAISE EXCEPTION 'no master key is unlocked in this session'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Call ef_unlock() with a registered master key first, with session scope.';
	END IF;
	-- the index key new terms use: the one a fresh searchable value gets,
	-- which must be the database's newest, or values would move backwards
	target := @extschema@.ef_index_key_id(@extschema@.ef_encrypt(''::text, NULL, true));
	IF target IS DISTINCT FROM (SELECT pg_catalog.max(k.index_key_id) FROM @extschema@.ef_index_keys k) THEN
		RAISE EXCEPTION 'this session does not hold the database''s newest index key'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Unlock the master keys again, then move the column.';
	END IF;

	-- a batch after a rotation meanwhile (which this session takes when the
	-- library is preloaded) moves nothing: values would go to another index
	-- key than target, so the final count asks for a second run instead
	CALL @extschema@.ef_update_in_batches(
		pg_catalog.format('SELECT ctid FROM %s WHERE @extschema@.ef_index_key_id(%I) OPERATOR(pg_catalog.<) %s',
			tbl, col, target),
		pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_reterm(%I, %s, %L::text, %L::text) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
			'AND @extschema@.ef_index_key_id(%I) OPERATOR(pg_catalog.<) %s '
			'AND (SELECT @extschema@.ef_index_key_id(@extschema@.ef_encrypt(''''::text, NULL, true))) '
			'OPERATOR(pg_catalog.=) %s',
			tbl, col, col, COALESCE(context_expr, 'NULL'), search_domain, search_normalize, col, target, target),
		batch_size, 'ef_reterm_column:', pg_catalog.format('rows of %s moved to index key %s', tbl, target),
		done);

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE @extschema@.ef_index_key_id(%I) '
		'OPERATOR(pg_catalog.<) $1', tbl, col) INTO remaining USING target;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_reterm_column: % rows of % still have terms of an older index key', remaining, tbl
			USING HINT = 'They changed, or the index key was rotated, during the run; call ef_reterm_column again.';
	ELSE
		RAISE NOTICE 'ef_reterm_column: every searchable value of %.% has a term of index key %', tbl, col, target;
	END IF;
END
$$;

CREATE FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field_term) IS 'btree support: order two terms';

-- a btree scan sorts the terms of c = ANY(ef_terms(x)) with this
ALTER OPERATOR FAMILY encrypted_field_ops USING btree ADD
	FUNCTION 1 (encrypted_field_term, encrypted_field_term) ef_term_cmp(encrypted_field_term, encrypted_field_term);

REVOKE ALL ON FUNCTION ef_rotate_index_key() FROM PUBLIC;

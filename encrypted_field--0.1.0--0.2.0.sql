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

	upd := pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_reterm(%I, %s, $2, $3) '
		'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
		'AND @extschema@.ef_index_key_id(%I) OPERATOR(pg_catalog.<) $4',
		tbl, col, col, COALESCE(context_expr, 'NULL'), col);
	FOR r IN EXECUTE pg_catalog.format('SELECT ctid FROM %s WHERE @extschema@.ef_index_key_id(%I) '
		'OPERATOR(pg_catalog.<) $1', tbl, col) USING target
	LOOP
		batch := pg_catalog.array_append(batch, r.ctid);
		IF pg_catalog.cardinality(batch) >= batch_size THEN
			EXECUTE upd USING batch, search_domain, search_normalize, target;
			GET DIAGNOSTICS n = ROW_COUNT;
			done := done + n;
			batch := '{}';
			COMMIT;
			RAISE NOTICE 'ef_reterm_column: % rows of % moved to index key %', done, tbl, target;
			-- a rotation meanwhile would move the rest elsewhere and strand values
			IF @extschema@.ef_index_key_id(@extschema@.ef_encrypt(''::text, NULL, true))
				IS DISTINCT FROM target THEN
				RAISE EXCEPTION 'the index key was rotated while ef_reterm_column ran'
					USING ERRCODE = 'object_not_in_prerequisite_state',
					HINT = 'Call ef_reterm_column again: it moves every value to the newest index key.';
			END IF;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(batch) > 0 THEN
		EXECUTE upd USING batch, search_domain, search_normalize, target;
		GET DIAGNOSTICS n = ROW_COUNT;
		done := done + n;
		COMMIT;
		RAISE NOTICE 'ef_reterm_column: % rows of % moved to index key %', done, tbl, target;
	END IF;

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE @extschema@.ef_index_key_id(%I) '
		'OPERATOR(pg_catalog.<) $1', tbl, col) INTO remaining USING target;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_reterm_column: % rows of % still have terms of an older index key', remaining, tbl
			USING HINT = 'They changed during the run; call ef_reterm_column again.';
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

-- ef_column_batch_check: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_column_batch_check.sql
--
-- Copyright (c) 2026, The encrypted_field Authors

-- The argument checks the column procedures share: a positive batch size,
-- a column of the table that is of type encrypted_field (want_encrypted)
-- or that exists, and, with need_current, a held key that may encrypt.
-- ef_rewrap_column checks its key itself: it may be given one.  Like them, it names every object and operator with its
-- schema instead of pinning search_path, so that its messages name the
-- table as the caller would.
CREATE OR REPLACE FUNCTION ef_column_batch_check(tbl regclass, col name, batch_size integer,
	want_encrypted boolean, need_current boolean)
	RETURNS void
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	AS $$
BEGIN
	IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF want_encrypted AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) col
		AND NOT a.attisdropped
		AND a.atttypid OPERATOR(pg_catalog.=) '@extschema@.encrypted_field'::pg_catalog.regtype) THEN
		RAISE EXCEPTION 'column "%" of % is not of type encrypted_field', col, tbl
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF NOT want_encrypted AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) col
		AND NOT a.attisdropped AND a.attnum > 0) THEN
		RAISE EXCEPTION 'column "%" of % does not exist', col, tbl USING ERRCODE = 'undefined_column';
	END IF;
	IF need_current AND NOT EXISTS (SELECT FROM @extschema@.ef_held_keys() h WHERE h.is_current) THEN
		RAISE EXCEPTION 'no master key is unlocked in this session'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Call ef_unlock() with a registered master key first, with session scope.';
	END IF;
END
$$;
COMMENT ON FUNCTION ef_column_batch_check(regclass, name, integer, boolean, boolean) IS 'internal: the argument checks of ef_rewrap_column, ef_reterm_column and ef_encrypt_column';

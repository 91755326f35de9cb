-- ef_reterm_column: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_reterm_column.sql
--
-- Copyright (c) 2026, The encrypted_field Authors
--
-- The schema, quoted as an identifier, is a format() argument (%s), never
-- part of a format string: see sql/encrypted_field.sql above its routines

-- Moves a column's searchable values to the newest index key after
-- ef_rotate_index_key(), in batches that each commit, like ef_rewrap_column.
-- Values are encrypted again (a term is authenticated with its value), each
-- under its own master key; search_domain, search_normalize and
-- context_expr (an SQL expression over the table's columns) must be those
-- the values were written with, which ef_reterm checks.  Values without a
-- term are left alone.
CREATE OR REPLACE PROCEDURE ef_reterm_column(tbl regclass, col name, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact', context_expr text DEFAULT NULL,
	batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target integer;
	grp text;
	older integer[];
	grp_keys integer[];
	done bigint := 0;
	remaining bigint;
BEGIN
	PERFORM @extschema@.ef_column_batch_check(tbl, col, batch_size, true, true);
	-- the index key new terms use: the one a fresh searchable value gets,
	-- which must be the newest of its index-key group, or values would move
	-- backwards; values under other groups' index keys are left as they are
	target := @extschema@.ef_term_index_key_id();
	SELECT k.index_group INTO grp FROM @extschema@.ef_keys k
		JOIN @extschema@.ef_index_keys i ON i.key_id OPERATOR(pg_catalog.=) k.key_id
		WHERE i.index_key_id OPERATOR(pg_catalog.=) target LIMIT 1;
	IF target IS DISTINCT FROM (SELECT pg_catalog.max(i.index_key_id) FROM @extschema@.ef_index_keys i
		JOIN @extschema@.ef_keys k ON k.key_id OPERATOR(pg_catalog.=) i.key_id
		WHERE k.index_group OPERATOR(pg_catalog.=) grp) THEN
		RAISE EXCEPTION 'this session does not hold the newest index key of its index-key group'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Unlock the master keys again, then move the column.';
	END IF;
	SELECT COALESCE(pg_catalog.array_agg(DISTINCT i.index_key_id), '{}') INTO older
		FROM @extschema@.ef_index_keys i
		JOIN @extschema@.ef_keys k ON k.key_id OPERATOR(pg_catalog.=) i.key_id
		WHERE k.index_group OPERATOR(pg_catalog.=) grp AND i.index_key_id OPERATOR(pg_catalog.<) target;
	SELECT pg_catalog.array_agg(k.key_id) INTO grp_keys FROM @extschema@.ef_keys k
		WHERE k.index_group OPERATOR(pg_catalog.=) grp;

	-- a batch after a rotation meanwhile (which this session takes when the
	-- library is preloaded) moves nothing: values would go to another index
	-- key than target, so the final count asks for a second run instead
	CALL @extschema@.ef_update_in_batches(
		pg_catalog.format('SELECT ctid FROM %s WHERE %s.ef_index_key_id(%I) '
			'OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.int4[])', tbl, '@extschema@', col, older),
		pg_catalog.format('UPDATE %s SET %I = %s.ef_reterm(%I, %s, %L::pg_catalog.text, %L::pg_catalog.text) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
			'AND %s.ef_index_key_id(%I) OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.int4[]) '
			'AND (SELECT %s.ef_term_index_key_id()) '
			'OPERATOR(pg_catalog.=) %s',
			tbl, col, '@extschema@', col, COALESCE(context_expr, 'NULL'), search_domain, search_normalize,
			'@extschema@', col, older, '@extschema@', target),
		batch_size, 'ef_reterm_column:', pg_catalog.format('rows of %s moved to index key %s', tbl, target),
		done);

	-- left: the group's values whose term is not of target (an older index
	-- key, or another group's, of a value re-wrapped before 0.3.0 refused it)
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %s.ef_index_key_id(%I) '
		'OPERATOR(pg_catalog.<>) $1 AND %s.ef_key_id(%I) OPERATOR(pg_catalog.=) ANY ($2)',
		tbl, '@extschema@', col, '@extschema@', col) INTO remaining USING target, grp_keys;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_reterm_column: % rows of % still have terms of an older index key, or of another group''s', remaining, tbl
			USING HINT = 'They changed, or the index key was rotated, during the run: call ef_reterm_column again. A value with another group''s term must be encrypted again with ef_encrypt.';
	ELSE
		RAISE NOTICE 'ef_reterm_column: every searchable value of %.% in index-key group "%" has a term of index key %', tbl, col, grp, target;
	END IF;
END
$$;
COMMENT ON PROCEDURE ef_reterm_column(regclass, name, text, text, text, integer) IS 'move a column''s searchable values to the newest index key, in committed batches';

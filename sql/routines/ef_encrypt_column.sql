-- ef_encrypt_column: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_encrypt_column.sql
--
-- Copyright (c) 2026, The encrypted_field Authors
--
-- The schema, quoted as an identifier, is a format() argument (%s), never
-- part of a format string: see sql/encrypted_field.sql above its routines

-- Encrypts an existing plaintext column into an encrypted_field column, in
-- batches that each commit, so a live table is converted without one long
-- transaction.  Rows whose encrypted column is still NULL are the work left,
-- so an interrupted run resumes where it stopped.  The context of each value
-- can be bound to its row with context_expr, an SQL expression over the
-- table's columns (for example 'users.email.' || id).  Reads are switched and
-- the plaintext column dropped by hand, after the final count agrees.
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
	PERFORM @extschema@.ef_column_batch_check(tbl, col, batch_size, false, true);
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) target
		AND NOT a.attisdropped) THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I %s.encrypted_field', tbl, target, '@extschema@');
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
		pg_catalog.format('UPDATE %s SET %I = %s.ef_encrypt(%I, %s, %L::pg_catalog.bool, NULL, %L::pg_catalog.text) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) AND %I IS NULL AND %I IS NOT NULL',
			tbl, target, '@extschema@', col, COALESCE(context_expr, 'NULL'), searchable, search_domain,
			target, col),
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
COMMENT ON PROCEDURE ef_encrypt_column(regclass, name, name, text, boolean, text, integer) IS 'encrypt an existing plaintext column into an encrypted_field column, in committed batches';

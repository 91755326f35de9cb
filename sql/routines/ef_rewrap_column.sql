-- ef_rewrap_column: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_rewrap_column.sql
--
-- Copyright (c) 2026, The encrypted_field Authors
--
-- The schema, quoted as an identifier, is a format() argument (%s), never
-- part of a format string: see sql/encrypted_field.sql above its routines

-- Re-wraps a column in batches, each committed on its own, so that a large
-- table rotates without one long transaction and an interruption loses only
-- the batch under way.  Rows are found in one scan and updated by ctid; a row
-- moved by a concurrent update in between keeps its key and is reported in
-- the final count, for a second run to pick up.  It must be CALLed outside a
-- transaction block, with session-scoped keys (a transaction-scoped key is
-- forgotten at the first batch's commit).  A SET search_path clause would
-- forbid its COMMITs, so every name in it is qualified instead.
CREATE OR REPLACE PROCEDURE ef_rewrap_column(tbl regclass, col name, key_id integer DEFAULT NULL,
	batch_size integer DEFAULT 10000)
	LANGUAGE plpgsql
	AS $$
DECLARE
	target integer := key_id;
	done bigint := 0;
	remaining bigint;
BEGIN
	PERFORM @extschema@.ef_column_batch_check(tbl, col, batch_size, true, false);
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
		pg_catalog.format('SELECT ctid FROM %s WHERE %s.ef_key_id(%I) OPERATOR(pg_catalog.<>) %s',
			tbl, '@extschema@', col, target),
		pg_catalog.format('UPDATE %s SET %I = %s.ef_rewrap(%I, %s) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
			'AND %s.ef_key_id(%I) OPERATOR(pg_catalog.<>) %s',
			tbl, col, '@extschema@', col, target, '@extschema@', col, target),
		batch_size, 'ef_rewrap_column:', pg_catalog.format('rows of %s re-wrapped to master key %s', tbl, target),
		done);

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %s.ef_key_id(%I) '
		'OPERATOR(pg_catalog.<>) $1', tbl, '@extschema@', col) INTO remaining USING target;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_rewrap_column: % rows of % are still under another key', remaining, tbl
			USING HINT = 'They changed during the run; call ef_rewrap_column again.';
	ELSE
		RAISE NOTICE 'ef_rewrap_column: every value of %.% is under master key %', tbl, col, target;
	END IF;
END
$$;
COMMENT ON PROCEDURE ef_rewrap_column(regclass, name, integer, integer) IS 're-wrap every value of a column under one held key, in committed batches';

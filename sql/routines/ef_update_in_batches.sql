-- ef_update_in_batches: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_update_in_batches.sql
--
-- Copyright (c) 2026, The encrypted_field Authors

-- The loop the column procedures share: the rows select_sql finds, in one
-- scan, are updated by update_sql, which gets batch_size of their ctids at a
-- time as $1; each batch commits on its own and is reported as
-- "label <rows so far> what".  The callers CALL it, so that its COMMITs are
-- allowed; done returns how many rows it updated.
CREATE OR REPLACE PROCEDURE ef_update_in_batches(select_sql text, update_sql text, batch_size integer,
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

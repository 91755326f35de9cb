-- ef_citus_share_registry: included by sql/encrypted_field.sql (and by the
-- upgrade scripts that change it) where a line reads
-- \i routines/ef_citus_share_registry.sql
--
-- Copyright (c) 2026, The encrypted_field Authors
--
-- The schema, quoted as an identifier, is a format() argument (%s), never
-- part of a format string: see sql/encrypted_field.sql above its routines

-- On a Citus coordinator, make the key registry (ef_keys, ef_index_keys)
-- reference tables, so that every node, and every node added later, has
-- the same rows: ef_unlock() and ef_register_key() then work on any node
-- that takes queries.  Citus cannot convert a table with a foreign key to a
-- local table the extension created on the workers too, so the foreign key
-- goes first, on every node (run_command_on_workers commits on the workers
-- on its own: a failure after it leaves their copies without the key, which
-- Citus replaces by reference-table shards anyway), and comes back between
-- the reference tables.  Idempotent: run again, it copies the tables to
-- nodes added since.
CREATE FUNCTION ef_citus_share_registry() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	shared integer;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_dist_local_group WHERE groupid OPERATOR(pg_catalog.<>) 0) THEN
		RAISE EXCEPTION 'ef_citus_share_registry() runs on the Citus coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT pg_catalog.count(*) INTO shared FROM pg_catalog.pg_dist_partition
		WHERE logicalrelid OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.ef_keys'::pg_catalog.regclass,
			'@extschema@.ef_index_keys'::pg_catalog.regclass]);
	IF shared OPERATOR(pg_catalog.=) 0 THEN
		ALTER TABLE @extschema@.ef_index_keys DROP CONSTRAINT ef_index_keys_key_id_fkey;
		PERFORM pg_catalog.run_command_on_workers(pg_catalog.format(
			'ALTER TABLE %s.ef_index_keys DROP CONSTRAINT IF EXISTS ef_index_keys_key_id_fkey', '@extschema@'));
		PERFORM pg_catalog.create_reference_table('@extschema@.ef_keys'::pg_catalog.regclass);
		PERFORM pg_catalog.create_reference_table('@extschema@.ef_index_keys'::pg_catalog.regclass);
		ALTER TABLE @extschema@.ef_index_keys ADD CONSTRAINT ef_index_keys_key_id_fkey
			FOREIGN KEY (key_id) REFERENCES @extschema@.ef_keys (key_id);
	ELSIF shared OPERATOR(pg_catalog.<>) 2 THEN
		RAISE EXCEPTION 'only one of ef_keys and ef_index_keys is a Citus table'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Undo that with undistribute_table(), then call ef_citus_share_registry() again.';
	END IF;
	-- nodes added since get their copies now rather than at the next shard placement
	PERFORM pg_catalog.replicate_reference_tables('block_writes');
END
$$;
REVOKE ALL ON FUNCTION ef_citus_share_registry() FROM PUBLIC;
COMMENT ON FUNCTION ef_citus_share_registry() IS 'on a Citus coordinator: make the key registry reference tables, copied to every node';

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION encrypted_field UPDATE TO '0.3.0'" to load this file. \quit

-- Copyright (c) 2026, The encrypted_field Authors

-- 0.3.0 changes no stored format: values written by 0.1.0 and 0.2.0 are
-- read as they are.

-- 0.2.0's btree support function between two terms gives way to
-- ef_term_cmp_term below; ef_term_cmp now orders a term against a value
ALTER OPERATOR FAMILY encrypted_field_ops USING btree DROP
	FUNCTION 1 (encrypted_field_term, encrypted_field_term);
DROP FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field_term);

COMMENT ON PROCEDURE ef_reterm_column(regclass, name, text, text, text, integer) IS 'move a column''s searchable values to the newest index key, in committed batches';

-- 0.3.0 completes the operator families: every operator between values
-- and terms in both directions and between two terms, a support function
-- for each pair, seeded hashes (hash support 2, for hash partitioning), and
-- btree and hash operator classes for encrypted_field_term.
CREATE FUNCTION ef_hash_extended(encrypted_field, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_hash_extended(encrypted_field, bigint) IS 'hash support: hash a searchable value''s term with a seed';
CREATE FUNCTION ef_lt_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_lt_term(encrypted_field, encrypted_field_term) IS 'implementation of < operator';
CREATE FUNCTION ef_le_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_le_term(encrypted_field, encrypted_field_term) IS 'implementation of <= operator';
CREATE FUNCTION ef_gt_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_gt_term(encrypted_field, encrypted_field_term) IS 'implementation of > operator';
CREATE FUNCTION ef_ge_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ge_term(encrypted_field, encrypted_field_term) IS 'implementation of >= operator';
CREATE FUNCTION ef_term_lt(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_lt(encrypted_field_term, encrypted_field) IS 'implementation of < operator';
CREATE FUNCTION ef_term_le(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_le(encrypted_field_term, encrypted_field) IS 'implementation of <= operator';
CREATE FUNCTION ef_term_gt(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_gt(encrypted_field_term, encrypted_field) IS 'implementation of > operator';
CREATE FUNCTION ef_term_ge(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ge(encrypted_field_term, encrypted_field) IS 'implementation of >= operator';
CREATE FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_term_cmp_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field) IS 'btree support: order a term against a searchable value';
CREATE FUNCTION ef_term_eq_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_eq_term(encrypted_field_term, encrypted_field_term) IS 'implementation of = operator';
CREATE FUNCTION ef_term_ne_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ne_term(encrypted_field_term, encrypted_field_term) IS 'implementation of <> operator';
CREATE FUNCTION ef_term_lt_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_lt_term(encrypted_field_term, encrypted_field_term) IS 'implementation of < operator';
CREATE FUNCTION ef_term_le_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_le_term(encrypted_field_term, encrypted_field_term) IS 'implementation of <= operator';
CREATE FUNCTION ef_term_gt_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_gt_term(encrypted_field_term, encrypted_field_term) IS 'implementation of > operator';
CREATE FUNCTION ef_term_ge_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ge_term(encrypted_field_term, encrypted_field_term) IS 'implementation of >= operator';
CREATE FUNCTION ef_term_cmp_term(encrypted_field_term, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp_term(encrypted_field_term, encrypted_field_term) IS 'btree support: order two terms';
CREATE FUNCTION ef_term_hash_extended(encrypted_field_term, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_hash_extended(encrypted_field_term, bigint) IS 'hash support: hash a term with a seed';

CREATE OPERATOR < (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_lt_term,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field, encrypted_field_term) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_le_term,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field, encrypted_field_term) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_gt_term,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field, encrypted_field_term) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_ge_term,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field, encrypted_field_term) IS 'greater than or equal, in the arbitrary order of search terms';
CREATE OPERATOR < (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_lt,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field_term, encrypted_field) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_le,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field_term, encrypted_field) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_gt,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field_term, encrypted_field) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_ge,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field_term, encrypted_field) IS 'greater than or equal, in the arbitrary order of search terms';

CREATE OPERATOR = (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_eq_term,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field_term, encrypted_field_term) IS 'equal search terms';
CREATE OPERATOR <> (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_ne_term,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field_term, encrypted_field_term) IS 'different search terms';
CREATE OPERATOR < (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_lt_term,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field_term, encrypted_field_term) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_le_term,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field_term, encrypted_field_term) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_gt_term,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field_term, encrypted_field_term) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_ge_term,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field_term, encrypted_field_term) IS 'greater than or equal, in the arbitrary order of search terms';

-- = between a value and a term (both ways) now HASHES and MERGES, as in a
-- fresh install: the families order and hash values and terms alike.
-- PostgreSQL 15 has no ALTER OPERATOR ... SET (HASHES, MERGES) (17 added
-- it), so the flags CREATE OPERATOR would set are set in the catalog; this
-- script runs as a superuser, the extension not being trusted.
UPDATE pg_catalog.pg_operator SET oprcanhash = true, oprcanmerge = true
	WHERE oid OPERATOR(pg_catalog.=) ANY (ARRAY[
		'@extschema@.=(@extschema@.encrypted_field, @extschema@.encrypted_field_term)',
		'@extschema@.=(@extschema@.encrypted_field_term, @extschema@.encrypted_field)']::pg_catalog.regoperator[]);

COMMENT ON OPERATOR CLASS encrypted_field_ops USING btree IS 'the order of searchable values by search term';
COMMENT ON OPERATOR FAMILY encrypted_field_ops USING btree IS 'the order of searchable values and search terms by search term';
-- Two terms are equal only if their bytes are, so a btree on terms may
-- deduplicate (btequalimage).  Two searchable values with the same term
-- have different envelopes, so one on values must not.
CREATE OPERATOR CLASS encrypted_field_term_ops DEFAULT FOR TYPE encrypted_field_term
	USING btree FAMILY encrypted_field_ops AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
	FUNCTION 1 ef_term_cmp_term(encrypted_field_term, encrypted_field_term),
	FUNCTION 4 btequalimage(oid);
COMMENT ON OPERATOR CLASS encrypted_field_term_ops USING btree IS 'the order of search terms';
-- = and ef_cmp_term between a value and a term are 0.1.0's; a btree scan
-- also sorts the terms of c = ANY(ef_terms(x)) with ef_term_cmp_term
ALTER OPERATOR FAMILY encrypted_field_ops USING btree ADD
	OPERATOR 1 < (encrypted_field, encrypted_field_term),
	OPERATOR 2 <= (encrypted_field, encrypted_field_term),
	OPERATOR 4 >= (encrypted_field, encrypted_field_term),
	OPERATOR 5 > (encrypted_field, encrypted_field_term),
	OPERATOR 1 < (encrypted_field_term, encrypted_field),
	OPERATOR 2 <= (encrypted_field_term, encrypted_field),
	OPERATOR 3 = (encrypted_field_term, encrypted_field),
	OPERATOR 4 >= (encrypted_field_term, encrypted_field),
	OPERATOR 5 > (encrypted_field_term, encrypted_field),
	FUNCTION 1 (encrypted_field_term, encrypted_field) ef_term_cmp(encrypted_field_term, encrypted_field);

-- The hash support of terms, in the family since 0.1.0, moves into their
-- operator class, as a fresh install has it.
ALTER OPERATOR FAMILY encrypted_field_ops USING hash DROP
	FUNCTION 1 (encrypted_field_term, encrypted_field_term);
ALTER OPERATOR FAMILY encrypted_field_ops USING hash ADD
	FUNCTION 2 (encrypted_field, encrypted_field) ef_hash_extended(encrypted_field, bigint);
COMMENT ON OPERATOR CLASS encrypted_field_ops USING hash IS 'the hash of searchable values by search term';
COMMENT ON OPERATOR FAMILY encrypted_field_ops USING hash IS 'the hash of searchable values and search terms by search term';
CREATE OPERATOR CLASS encrypted_field_term_ops DEFAULT FOR TYPE encrypted_field_term
	USING hash FAMILY encrypted_field_ops AS
	OPERATOR 1 = , FUNCTION 1 ef_term_hash(encrypted_field_term),
	FUNCTION 2 ef_term_hash_extended(encrypted_field_term, bigint);
COMMENT ON OPERATOR CLASS encrypted_field_term_ops USING hash IS 'the hash of search terms';
-- = (encrypted_field, encrypted_field_term) is 0.1.0's
ALTER OPERATOR FAMILY encrypted_field_ops USING hash ADD
	OPERATOR 1 = (encrypted_field_term, encrypted_field);

-- statistics functions are STABLE, as PostgreSQL's own
ALTER FUNCTION ef_typanalyze(internal) STABLE;



-- keys given at connection start (encrypted_field.keys): the key argument
-- may be left out; a key in an argument must come from a bind parameter.
-- ef_unlock also takes the reason the audit lines give: made again below,
-- keeping its grants.

-- index-key groups: the master keys of a group (a tenant, say) share index
-- keys that only they wrap, so no other group's key holder can compute its
-- search terms.  The keys registered so far form the group 'default'.
-- (no fast default: the rows hold the value, as a fresh install's would)
ALTER TABLE ef_keys ADD COLUMN index_group text
	CHECK (pg_catalog.octet_length(index_group) BETWEEN 1 AND 63);
UPDATE ef_keys SET index_group = 'default';
ALTER TABLE ef_keys ALTER COLUMN index_group SET DEFAULT 'default',
	ALTER COLUMN index_group SET NOT NULL;
COMMENT ON TABLE ef_keys IS 'registered master keys: id, check value, dates, comment and index-key group, never the key';

-- ef_register_key and ef_rotate_index_key take the group, ef_create_view
-- context_schema, ef_unlock the reason: new signatures, so they are made
-- again, keeping their EXECUTE grants
CREATE FUNCTION pg_temp.ef_execute_grants(fn regprocedure, signature text) RETURNS text[]
	LANGUAGE sql AS $$
	-- a function whose privileges were never changed keeps the defaults
	SELECT CASE WHEN p.proacl IS NULL THEN '{}'::text[] ELSE
		pg_catalog.array_prepend(pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', signature),
		COALESCE((SELECT pg_catalog.array_agg(pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s',
				signature,
				CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
					ELSE pg_catalog.quote_ident(r.rolname) END,
				CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
			FROM pg_catalog.aclexplode(p.proacl) a
			LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
			WHERE a.grantee OPERATOR(pg_catalog.<>) p.proowner
				AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'), '{}'))
	END
	FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) fn
$$;
CREATE TEMP TABLE ef_kept_grants AS
	SELECT g.g, g.n, f.n AS f FROM (VALUES
		(1, 'ef_register_key(integer, bytea, text)'::regprocedure, 'ef_register_key(integer, bytea, text, text)'),
		(2, 'ef_rotate_index_key()'::regprocedure, 'ef_rotate_index_key(text)'),
		(3, 'ef_create_view(regclass, name, name, name[])'::regprocedure,
			'ef_create_view(regclass, text, name, name[], boolean)'),
		(4, 'ef_unlock(integer, bytea, text)'::regprocedure,
			'ef_unlock(integer, bytea, text, text)')) f(n, fn, signature)
	CROSS JOIN LATERAL pg_catalog.unnest(pg_temp.ef_execute_grants(f.fn, f.signature))
		WITH ORDINALITY g(g, n);

DROP FUNCTION ef_register_key(integer, bytea, text);
CREATE FUNCTION ef_register_key(key_id integer, master_key bytea DEFAULT NULL, comment text DEFAULT NULL,
	index_group text DEFAULT 'default')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_register_key_in_group' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_register_key(integer, bytea, text, text) IS 'record a master key''s check value in the registry, in an index-key group; the key, a bind parameter or given at connection start, is not stored';
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text, text) FROM PUBLIC;

DROP FUNCTION ef_unlock(integer, bytea, text);
CREATE FUNCTION ef_unlock(key_id integer, master_key bytea DEFAULT NULL, scope text DEFAULT 'session',
	reason text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_unlock_with_reason' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_unlock(integer, bytea, text, text) IS 'check a master key, a bind parameter or given at connection start, against the registry and hold it for this role in this session or transaction, with the reason the audit lines give';

DROP FUNCTION ef_rotate_index_key();
CREATE FUNCTION ef_rotate_index_key(index_group text DEFAULT 'default') RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_rotate_index_key_of_group' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_rotate_index_key(text) IS 'create a new index key for the search terms of an index-key group, wrapped under its held master keys';
REVOKE ALL ON FUNCTION ef_rotate_index_key(text) FROM PUBLIC;

-- ef_create_view generates safe SQL (names quoted, the trigger body a
-- literal, search_path pinned, security_invoker views), refuses names it
-- would truncate, and puts the schema in each value's context unless told
-- (context_schema => false, for a table written through a view made
-- before 0.3.0); views made earlier keep their own definitions
DROP FUNCTION ef_create_view(regclass, name, name, name[]);
\i routines/ef_create_view.sql

DO $$
DECLARE
	g text;
BEGIN
	FOR g IN SELECT k.g FROM pg_temp.ef_kept_grants k ORDER BY k.f, k.n LOOP
		EXECUTE g;
	END LOOP;
END
$$;
DROP TABLE pg_temp.ef_kept_grants;
DROP FUNCTION pg_temp.ef_execute_grants(regprocedure, text);

-- the column procedures share their argument checks
\i routines/ef_column_batch_check.sql
\i routines/ef_rewrap_column.sql
\i routines/ef_encrypt_column.sql

-- the index key new terms use, which ef_reterm_column moves values to
CREATE FUNCTION ef_term_index_key_id() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_term_index_key_id' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_term_index_key_id() IS 'the id of the index key new search terms use in this session: the newest of the current key''s index-key group';

-- ef_reterm_column moves the values of the session's index-key group only
\i routines/ef_reterm_column.sql

-- Citus (doc/citus.md).  This server's public key, to which a coordinator
-- seals the keys it forwards to the workers of one transaction
CREATE FUNCTION ef_node_public_key() RETURNS text
	AS 'MODULE_PATHNAME', 'ef_node_public_key' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_node_public_key() IS 'this server''s public key for keys forwarded by a Citus coordinator (needs shared_preload_libraries)';

-- In an UPDATE of a Citus table, the planner calls these in place of
-- ef_encrypt, ef_rewrap and ef_reterm: Citus lets only IMMUTABLE functions
-- over columns run on the workers, and evaluates STABLE ones over constants
-- on the coordinator.  The markings say where they run, not what they
-- compute; call the functions they stand for instead.  Their arguments and
-- defaults are those of the functions they stand for, which the planner
-- fills in after the hook.
CREATE FUNCTION ef_encrypt_on_coordinator(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt_on_coordinator(anyelement, text, boolean, integer, text, text) IS 'ef_encrypt for an UPDATE of a Citus table, over constants: evaluated once on the coordinator; internal';

CREATE FUNCTION ef_encrypt_on_shard(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt_on_shard(anyelement, text, boolean, integer, text, text) IS 'ef_encrypt for an UPDATE of a Citus table, over columns: runs on the workers; internal';

CREATE FUNCTION ef_rewrap_on_shard(value encrypted_field, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_rewrap' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_rewrap_on_shard(encrypted_field, integer) IS 'ef_rewrap for an UPDATE of a Citus table: runs on the workers; internal';

CREATE FUNCTION ef_reterm_on_shard(value encrypted_field, context text DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_reterm' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_reterm_on_shard(encrypted_field, text, text, text) IS 'ef_reterm for an UPDATE of a Citus table: runs on the workers; internal';

\i routines/ef_citus_share_registry.sql
-- 0.3.0 hands the leader's keys to the parallel workers of its query
-- (src/parallel_keys.c): the functions that read held keys become PARALLEL
-- SAFE, so that a scan that decrypts runs in every worker.
ALTER FUNCTION ef_encrypt(anyelement, text, boolean, integer, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_encrypt(text, text, boolean, integer, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_encrypt(character varying, text, boolean, integer, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_encrypt(character, text, boolean, integer, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_term(anyelement, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_term(text, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_term(character varying, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_term(character, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_terms(anyelement, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_terms(text, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_terms(character varying, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_terms(character, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_decrypt(encrypted_field, text) PARALLEL SAFE;
ALTER FUNCTION ef_decrypt_as(encrypted_field, anyelement, text) PARALLEL SAFE;
ALTER FUNCTION ef_rewrap(encrypted_field, integer) PARALLEL SAFE;
ALTER FUNCTION ef_reterm(encrypted_field, text, text, text) PARALLEL SAFE;
ALTER FUNCTION ef_term_index_key_id() PARALLEL SAFE;

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
-- may be left out; a key in an argument must come from a bind parameter

CREATE OR REPLACE FUNCTION ef_unlock(key_id integer, master_key bytea DEFAULT NULL, scope text DEFAULT 'session')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_unlock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_unlock(integer, bytea, text) IS 'check a master key, a bind parameter or given at connection start, against the registry and hold it for this role in this session or transaction';

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
-- context_schema: new signatures, so they are made again, keeping their
-- EXECUTE grants
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
			'ef_create_view(regclass, text, name, name[], boolean)')) f(n, fn, signature)
	CROSS JOIN LATERAL pg_catalog.unnest(pg_temp.ef_execute_grants(f.fn, f.signature))
		WITH ORDINALITY g(g, n);

DROP FUNCTION ef_register_key(integer, bytea, text);
CREATE FUNCTION ef_register_key(key_id integer, master_key bytea DEFAULT NULL, comment text DEFAULT NULL,
	index_group text DEFAULT 'default')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_register_key_in_group' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_register_key(integer, bytea, text, text) IS 'record a master key''s check value in the registry, in an index-key group; the key, a bind parameter or given at connection start, is not stored';
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text, text) FROM PUBLIC;

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
CREATE FUNCTION ef_create_view(tbl regclass, view_name text DEFAULT NULL,
	key_column name DEFAULT NULL, searchable_columns name[] DEFAULT '{}',
	context_schema boolean DEFAULT true)
	RETURNS regclass
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $create_view$
DECLARE
	rel_name name;
	rel_schema name;
	vname text;
	fname text;
	target text;
	trigfn text;
	ctx_prefix text;
	cols text[] := '{}';
	sel text[] := '{}';
	ins_vals text[] := '{}';
	upd_sets text[] := '{}';
	enc text;
	ctx_t text;
	ctx_new text;
	key_eq text;
	change text;
	body text;
	a record;
BEGIN
	-- view_name and key_column may be NULL: their defaults
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'argument "tbl" must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF searchable_columns IS NULL THEN
		RAISE EXCEPTION 'argument "searchable_columns" must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass an empty array for a view with no searchable column.';
	END IF;
	IF context_schema IS NULL THEN
		RAISE EXCEPTION 'argument "context_schema" must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relname, n.nspname INTO rel_name, rel_schema
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	-- names are never truncated (view_name is text, not name, for that): a
	-- view named like its table, or two trigger functions named alike, would
	-- follow
	vname := COALESCE(view_name, rel_name::text || '_decrypted');
	IF octet_length(vname) > 63 THEN
		RAISE EXCEPTION 'the view''s name "%" would be longer than 63 bytes', vname
			USING ERRCODE = 'name_too_long', HINT = 'Pass a shorter view_name.';
	END IF;
	fname := vname;
	WHILE octet_length(fname) > 63 - octet_length('_write') LOOP
		fname := left(fname, -1);
	END LOOP;
	target := format('%I.%I', rel_schema, vname);
	trigfn := format('%I.%I', rel_schema, fname || '_write');
	IF key_column IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute
		WHERE attrelid = tbl AND attname = key_column AND attnum > 0 AND NOT attisdropped) THEN
		RAISE EXCEPTION 'column "%" of % does not exist', key_column, tbl USING ERRCODE = 'undefined_column';
	END IF;
	-- the key column's equality, named with its schema: the trigger's
	-- search_path is pinned, and no operator is looked up by name at run time
	IF key_column IS NOT NULL THEN
		SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname) INTO key_eq
		FROM pg_catalog.pg_attribute att
		JOIN pg_catalog.pg_type ty ON ty.oid = att.atttypid
		JOIN pg_catalog.pg_opclass oc ON oc.opcdefault
			AND oc.opcintype = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
		JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
		JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily AND ao.amopstrategy = 3
			AND ao.amoplefttype = oc.opcintype AND ao.amoprighttype = oc.opcintype
		JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
		JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
		WHERE att.attrelid = tbl AND att.attname = key_column;
		IF key_eq IS NULL THEN
			RAISE EXCEPTION 'key column "%" of % has no default btree equality', key_column, tbl
				USING ERRCODE = 'undefined_function';
		END IF;
	END IF;

	FOR a IN SELECT attname, atttypid FROM pg_attribute
		WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped ORDER BY attnum
	LOOP
		cols := cols || format('%I', a.attname);
		IF a.atttypid = '@extschema@.encrypted_field'::regtype THEN
			-- names are quoted, never used as a format string
			ctx_t := 'NULL';
			ctx_new := 'NULL';
			IF key_column IS NOT NULL THEN
				-- schema, table and column, quoted so that no two differ only
				-- by where their dots fall; without the schema as before 0.3.0
				ctx_prefix := CASE WHEN context_schema
					THEN format('%I.%I.%I.', rel_schema, rel_name, a.attname)
					ELSE rel_name || '.' || a.attname || '.' END;
				ctx_t := format('%L OPERATOR(pg_catalog.||) t.%I::pg_catalog.text', ctx_prefix, key_column);
				ctx_new := format('%L OPERATOR(pg_catalog.||) NEW.%I::pg_catalog.text', ctx_prefix, key_column);
			END IF;
			sel := sel || format('@extschema@.ef_decrypt(t.%I, %s) AS %I', a.attname, ctx_t, a.attname);
			enc := format('@extschema@.ef_encrypt(NEW.%I::pg_catalog.text, %s, %L, NULL, %L)', a.attname, ctx_new,
				a.attname = ANY (searchable_columns), rel_name || '.' || a.attname);
			ins_vals := ins_vals || enc;
			-- a changed key column changes every value's context: all are
			-- encrypted again, under the new one
			upd_sets := upd_sets || format('%I = CASE WHEN NEW.%I IS NOT DISTINCT FROM OLD.%I%s THEN t.%I ELSE %s END',
				a.attname, a.attname, a.attname,
				CASE WHEN key_column IS NULL THEN ''
					ELSE format(' AND COALESCE(NEW.%I %s OLD.%I, false)', key_column, key_eq, key_column) END,
				a.attname, enc);
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

	-- security_invoker: the caller's privileges and row-level security apply
	EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS SELECT %s FROM %s t',
		target, array_to_string(sel, ', '), tbl);
	IF key_column IS NULL THEN
		change := $c$RAISE EXCEPTION 'the view was created without a key column, so it cannot update or delete rows'
		USING ERRCODE = 'feature_not_supported';$c$;
	ELSE
		change := format($c$IF TG_OP = 'UPDATE' THEN
		UPDATE %s t SET %s WHERE t.%I %s OLD.%I;
		RETURN NEW;
	END IF;
	DELETE FROM %s t WHERE t.%I %s OLD.%I;
	RETURN OLD;$c$, tbl, array_to_string(upd_sets, ', '), key_column, key_eq, key_column,
		tbl, key_column, key_eq, key_column);
	END IF;
	body := format($b$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO %s (%s) VALUES (%s);
		RETURN NEW;
	END IF;
	%s
END $b$, tbl, array_to_string(cols, ', '), array_to_string(ins_vals, ', '), change);
	-- the body is a quoted literal (%L), not dollar-quoted: no name can end it
	EXECUTE format('CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql '
		'SET search_path = pg_catalog, pg_temp AS %L', trigfn, body);
	EXECUTE format('CREATE TRIGGER write INSTEAD OF INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s()',
		target, trigfn);
	RETURN target::regclass;
END
$create_view$;
COMMENT ON FUNCTION ef_create_view(regclass, text, name, name[], boolean) IS 'create a view that decrypts a table''s encrypted columns and encrypts what is written through it';

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

-- ef_reterm_column moves the values of the session's index-key group only
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
	-- which must be the newest of its index-key group, or values would move
	-- backwards; values under other groups' index keys are left as they are
	target := @extschema@.ef_index_key_id(@extschema@.ef_encrypt(''::text, NULL, true));
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
		pg_catalog.format('SELECT ctid FROM %s WHERE @extschema@.ef_index_key_id(%I) '
			'OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.int4[])', tbl, col, older),
		pg_catalog.format('UPDATE %s SET %I = @extschema@.ef_reterm(%I, %s, %L::text, %L::text) '
			'WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) '
			'AND @extschema@.ef_index_key_id(%I) OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.int4[]) '
			'AND (SELECT @extschema@.ef_index_key_id(@extschema@.ef_encrypt(''''::text, NULL, true))) '
			'OPERATOR(pg_catalog.=) %s',
			tbl, col, col, COALESCE(context_expr, 'NULL'), search_domain, search_normalize, col, older, target),
		batch_size, 'ef_reterm_column:', pg_catalog.format('rows of %s moved to index key %s', tbl, target),
		done);

	-- left: the group's values whose term is not of target (an older index
	-- key, or another group's, of a value re-wrapped before 0.3.0 refused it)
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE @extschema@.ef_index_key_id(%I) '
		'OPERATOR(pg_catalog.<>) $1 AND @extschema@.ef_key_id(%I) OPERATOR(pg_catalog.=) ANY ($2)',
		tbl, col, col) INTO remaining USING target, grp_keys;
	IF remaining > 0 THEN
		RAISE WARNING 'ef_reterm_column: % rows of % still have terms of an older index key, or of another group''s', remaining, tbl
			USING HINT = 'They changed, or the index key was rotated, during the run: call ef_reterm_column again. A value with another group''s term must be encrypted again with ef_encrypt.';
	ELSE
		RAISE NOTICE 'ef_reterm_column: every searchable value of %.% in index-key group "%" has a term of index key %', tbl, col, grp, target;
	END IF;
END
$$;

-- ef_create_view: included by sql/encrypted_field.sql (and by the upgrade scripts
-- that change it) where a line reads \i routines/ef_create_view.sql
--
-- Copyright (c) 2026, The encrypted_field Authors
--
-- The schema, quoted as an identifier, is a format() argument (%s), never
-- part of a format string: see sql/encrypted_field.sql above its routines

-- Creates a view that shows a table's encrypted_field columns decrypted (as
-- text) to sessions holding the key, and INSTEAD OF triggers that encrypt
-- what is written through it, so an application reads and writes plaintext
-- while the table holds only ciphertext.  With key_column, each value's
-- context is 'table.column.' || key, binding it to its row, and UPDATE and
-- DELETE work through the view; searchable columns get the search domain
-- 'table.column'.
CREATE OR REPLACE FUNCTION ef_create_view(tbl regclass, view_name text DEFAULT NULL,
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
			sel := sel || format('%s.ef_decrypt(t.%I, %s) AS %I', '@extschema@', a.attname, ctx_t, a.attname);
			enc := format('%s.ef_encrypt(NEW.%I::pg_catalog.text, %s, %L, NULL, %L)', '@extschema@', a.attname,
				ctx_new, a.attname = ANY (searchable_columns), rel_name || '.' || a.attname);
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

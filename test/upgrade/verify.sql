-- What is wrong with the stored values, one line per fault; no line when
-- every value decrypts to its case's plaintext, in the type it was written
-- as, with its compression, context and search term.  Needs key 1 held.
CREATE FUNCTION pg_temp.upgrade_faults() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	c record;
	ok boolean;
BEGIN
	FOR c IN SELECT u.*, v.value FROM upgrade_cases u LEFT JOIN upgrade_values v USING (label) ORDER BY label LOOP
		IF c.value IS NULL THEN
			RETURN NEXT c.label || ': missing';
			CONTINUE;
		END IF;
		BEGIN
		EXECUTE format('SELECT ef_decrypt_as($1, NULL::%s, $2)::text IS NOT DISTINCT FROM (%s)::%s::text',
					   c.type, c.expr, c.type) INTO ok USING c.value, c.context;
		IF ok IS NOT TRUE THEN RETURN NEXT c.label || ': ef_decrypt_as gives another value'; END IF;
		EXECUTE format('SELECT ef_decrypt($1, $2) IS NOT DISTINCT FROM format(''%%s'', (%s)::%s)',
					   c.expr, c.type) INTO ok USING c.value, c.context;
		IF ok IS NOT TRUE THEN RETURN NEXT c.label || ': ef_decrypt gives another text'; END IF;
		IF ef_key_id(c.value) IS DISTINCT FROM 1 THEN RETURN NEXT c.label || ': key id changed'; END IF;
		IF (ef_envelope(c.value)).flags & 3 IS DISTINCT FROM (CASE c.compression WHEN 'pglz' THEN 1 WHEN 'lz4' THEN 2 ELSE 0 END) THEN
			RETURN NEXT c.label || ': compression flags differ from the case';
		END IF;
		IF c.searchable THEN
			EXECUTE format('SELECT $1 = ef_term((%s)::%s, $2, $3)', c.expr, c.type)
				INTO ok USING c.value, c.search_domain, c.search_normalize;
			IF ok IS NOT TRUE THEN RETURN NEXT c.label || ': ef_term no longer finds it'; END IF;
		ELSIF (ef_envelope(c.value)).search_term IS NOT NULL THEN
			RETURN NEXT c.label || ': has a search term';
		END IF;
		EXCEPTION WHEN OTHERS THEN
			RETURN NEXT c.label || ': ' || SQLERRM;
		END;
	END LOOP;
END
$$;
SELECT * FROM pg_temp.upgrade_faults();
-- from 0.3.0 on, every key of an older release is in the group "default"
SELECT 'key ' || k.key_id || ' is in index-key group ' || (pg_catalog.to_jsonb(k) ->> 'index_group')
FROM ef_keys k
WHERE pg_catalog.to_jsonb(k) ? 'index_group'
	AND (pg_catalog.to_jsonb(k) ->> 'index_group') IS DISTINCT FROM 'default';

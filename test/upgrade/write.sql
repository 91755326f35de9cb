-- Encrypt every case with the functions of 0.1.0, as an application would
-- have before the upgrade.  Needs key 1 held.
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT * FROM upgrade_cases ORDER BY label LOOP
		PERFORM pg_catalog.set_config('encrypted_field.compression', c.compression, true);
		EXECUTE format('INSERT INTO upgrade_values SELECT $1, ef_encrypt((%s)::%s, $2, $3, NULL, $4, $5)',
					   c.expr, c.type)
			USING c.label, c.context, c.searchable, c.search_domain, c.search_normalize;
	END LOOP;
END
$$;

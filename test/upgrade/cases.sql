-- The values an upgrade must keep readable, and the table write.sql fills:
-- every plaintext type, arrays, context binding, both compressors and search
-- terms of every normalisation.  expr is an SQL expression, cast to type
-- when used.
CREATE TABLE upgrade_cases (
	label text PRIMARY KEY,
	type text NOT NULL,
	expr text NOT NULL,
	context text,
	searchable boolean NOT NULL DEFAULT false,
	search_domain text,
	search_normalize text NOT NULL DEFAULT 'exact',
	compression text NOT NULL DEFAULT 'off'
);
INSERT INTO upgrade_cases (label, type, expr) VALUES
	('text', 'text', $$'hello'$$),
	('text empty', 'text', $$''$$),
	('text unicode', 'text', $$'Grüße, 世界'$$),
	('bytea', 'bytea', $$'\x00ff10'$$),
	('varchar', 'varchar', $$'a varchar'$$),
	('bool', 'bool', $$'true'$$),
	('int2', 'int2', $$'-7'$$),
	('int4', 'int4', $$'2147483647'$$),
	('int8', 'int8', $$'-9223372036854775808'$$),
	('float4', 'float4', $$'3.25'$$),
	('float8', 'float8', $$'-1.5e-300'$$),
	('numeric', 'numeric', $$'12345678901234567890.123456789'$$),
	('date', 'date', $$'2026-11-29'$$),
	('time', 'time', $$'12:34:56.789'$$),
	('timetz', 'timetz', $$'12:34:56+05:30'$$),
	('timestamp', 'timestamp', $$'2026-11-29 12:00:00.123456'$$),
	('timestamptz', 'timestamptz', $$'2026-11-29 12:00:00+00'$$),
	('interval', 'interval', $$'1 year 2 mons 3 days 04:05:06'$$),
	('uuid', 'uuid', $$'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'$$),
	('json', 'json', $$'{"b": 1,  "a": [1, 2]}'$$),
	('jsonb', 'jsonb', $$'{"b": 1, "a": [1, 2]}'$$),
	('bpchar', 'character(4)', $$'ab'$$),
	('inet', 'inet', $$'192.168.0.1/24'$$),
	('cidr', 'cidr', $$'10.0.0.0/8'$$),
	('macaddr', 'macaddr', $$'08:00:2b:01:02:03'$$),
	('money', 'money', $$'12.34'$$),
	('text array', 'text[]', $$'{a,NULL,"c d"}'$$),
	('int4 array', 'int4[]', $$'{1,2,3}'$$);
INSERT INTO upgrade_cases (label, type, expr, context, searchable, search_domain, search_normalize, compression) VALUES
	('context', 'text', $$'bound to row 7'$$, 'users.email.7', false, NULL, 'exact', 'off'),
	('lz4', 'text', $$repeat('encrypted field ', 100)$$, NULL, false, NULL, 'exact', 'lz4'),
	('pglz', 'text', $$repeat('encrypted field ', 100)$$, NULL, false, NULL, 'exact', 'pglz'),
	('search exact', 'text', $$'alice@example.org'$$, NULL, true, 'email', 'exact', 'off'),
	('search lower_trim', 'text', $$'  Bob@Example.org '$$, NULL, true, 'email', 'lower_trim', 'off'),
	('search nfkc', 'text', $$'ＣＡＦÉ'$$, NULL, true, 'name', 'nfkc_lower_trim', 'off'),
	('search default domain', 'int8', $$'4242'$$, 'orders.ref.1', true, NULL, 'exact', 'off'),
	('search compressed', 'text', $$repeat('searchable ', 60)$$, NULL, true, 'doc', 'exact', 'lz4');

-- what write.sql stores; an index shows terms keep working across the upgrade
CREATE TABLE upgrade_values (label text PRIMARY KEY, value encrypted_field NOT NULL);
CREATE INDEX upgrade_values_terms ON upgrade_values (value) WHERE label LIKE 'search%';

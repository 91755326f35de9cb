-- Parallel query: the functions that read held keys are PARALLEL SAFE, and
-- a query that may run in parallel hands the leader's keys to its workers
-- (src/parallel_keys.c).
-- Parallel plans, forced (debug_parallel_query, or force_parallel_mode
-- before PostgreSQL 16) and real (a Gather over a parallel scan), give
-- exactly the serial results: a decrypting count, an aggregate over
-- ef_decrypt_as(..., NULL::numeric), a join on terms, ef_term probes,
-- parallel-safe SQL and PL/pgSQL wrappers of ef_decrypt, and a parallel
-- index build on a searchable column, a domain whose CHECK decrypts,
-- reached through an array cast (the plan shows no function of this
-- extension: so every parallel plan of a key-holding session hands the
-- keys over, a plain table's too), and a sort by a user's operator class
-- whose support function decrypts.  A leader that holds no key hands nothing, and its workers raise
-- the leader's error.  The setting that carries the hand-over is refused
-- to SET and shows empty.
--
-- Each query under test runs as a statement of its own, its results kept
-- with \gset for the checks that follow: pgTAP's functions are PARALLEL
-- UNSAFE, so a query that calls one, even in a subquery, never runs in
-- parallel.  A hand-over is seen in the server's log, where the leader
-- reports it at DEBUG1 (with no handle or secret): test/t/001_pgtap.pl
-- makes the log readable as $PGDATA/server.log.
--
-- This session was given the tap keys at connection start.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(41);

CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);

-- force a parallel plan for any query: the setting's name changed in 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
	THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_setting \gset

-- the hand-overs the log reports after a mark.  These functions are
-- PARALLEL UNSAFE, and the reader plans its own query serially: none of
-- them can report a hand-over of its own, whatever the rule
CREATE TEMP TABLE log_marks (name text PRIMARY KEY, off bigint NOT NULL);
CREATE FUNCTION pg_temp.log_mark(mark text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO log_marks VALUES (mark, (pg_stat_file('server.log')).size)
	ON CONFLICT (name) DO UPDATE SET off = excluded.off
$$;
CREATE FUNCTION pg_temp.handovers_since(mark text) RETURNS integer LANGUAGE sql
	SET max_parallel_workers_per_gather = 0 AS $$
	SELECT count(*)::int
	FROM log_marks m,
		regexp_split_to_table(pg_read_file('server.log', m.off, (pg_stat_file('server.log')).size - m.off),
			E'\n') l
	WHERE m.name = mark
		AND position('encrypted_field: keys handed to the parallel workers of this query' IN l) > 0
$$;
SET log_min_messages = debug1;

-- a leader that holds no key: the workers raise its error.  The value is
-- sealed in a savepoint that rolls back, which forgets the key unlocked there.
SAVEPOINT k;
SELECT ef_unlock(1);
SELECT ef_encrypt('sealed while held'::text) AS sealed \gset
ROLLBACK TO k;
CREATE TABLE nokey AS SELECT :'sealed'::encrypted_field AS c FROM generate_series(1, 100);
SET max_parallel_workers_per_gather = 2;
SET :force_setting = on;
SELECT throws_ok($$SELECT count(ef_decrypt(c)) FROM nokey$$, '55000',
	'no master key is unlocked in this session',
	'a worker of a leader without a key raises the leader''s error');
RESET :force_setting;

SELECT ef_unlock(1);

CREATE TABLE par (id int, n encrypted_field, s encrypted_field);
INSERT INTO par SELECT g, ef_encrypt(g::numeric), ef_encrypt('v' || (g % 500), searchable => true)
	FROM generate_series(1, 20000) g;
CREATE TABLE probe (id int, t text);
INSERT INTO probe SELECT g, 'v' || g FROM generate_series(1, 600) g;
-- no encrypted column, no function but PostgreSQL's
CREATE TABLE plain (id int, t text);
INSERT INTO plain SELECT g, 'p' || g FROM generate_series(1, 20000) g;
ANALYZE par;
ANALYZE probe;
ANALYZE plain;

-- parallel-safe wrappers of ef_decrypt, which the workers run: the plan
-- calls them, never ef_decrypt itself (the SQL one is STRICT over a
-- function that is not, so it is not inlined)
CREATE FUNCTION par_dec_plpgsql(v encrypted_field) RETURNS text
	LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	RETURN ef_decrypt(v);
END $$;
CREATE FUNCTION par_dec_sql(v encrypted_field) RETURNS text
	LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$ SELECT ef_decrypt(v) $$;

-- a domain whose CHECK decrypts, which a worker runs in domain_in, through
-- an array cast, where the plan shows no function of this extension; and an
-- operator class whose support function decrypts, which a sort calls
CREATE DOMAIN par_checked AS encrypted_field CHECK (ef_decrypt_as(VALUE, NULL::numeric) IS NOT NULL);
CREATE FUNCTION par_cmp(a encrypted_field, b encrypted_field) RETURNS int
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$ SELECT numeric_cmp(ef_decrypt_as(a, NULL::numeric), ef_decrypt_as(b, NULL::numeric)) $$;
CREATE FUNCTION par_lt(a encrypted_field, b encrypted_field) RETURNS boolean
	LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$ SELECT par_cmp(a, b) < 0 $$;
CREATE FUNCTION par_same(a encrypted_field, b encrypted_field) RETURNS boolean
	LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$ SELECT par_cmp(a, b) = 0 $$;
CREATE OPERATOR <<< (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, FUNCTION = par_lt);
CREATE OPERATOR === (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, FUNCTION = par_same);
CREATE OPERATOR CLASS par_numeric_ops FOR TYPE encrypted_field USING btree AS
	OPERATOR 1 <<<, OPERATOR 3 ===, FUNCTION 1 par_cmp(encrypted_field, encrypted_field);

-- the serial results
SET max_parallel_workers_per_gather = 0;
SELECT count(ef_decrypt(n)) AS s_count, sum(ef_decrypt_as(n, NULL::numeric)) AS s_sum,
	string_agg(md5(ef_decrypt(s)), '' ORDER BY id) AS s_md5 FROM par \gset
SELECT count(*) AS s_join FROM par JOIN probe ON par.s = ef_term(probe.t) \gset
SELECT count(*) AS s_plain_count, sum(id) AS s_plain_sum, md5(string_agg(t, ',' ORDER BY id)) AS s_plain_md5
	FROM plain \gset
SELECT count(*) AS s_groups FROM (SELECT s FROM par GROUP BY s) g \gset
SELECT count(*) AS s_domain FROM par WHERE ('{' || n::text || '}')::par_checked[] IS NOT NULL \gset
SELECT string_agg(id::text, ',') AS s_sorted FROM (SELECT id FROM par WHERE id <= 300 ORDER BY n USING <<< LIMIT 5) o \gset

-- forced: every query runs in a worker
SET max_parallel_workers_per_gather = 2;
SET :force_setting = on;

SELECT pg_temp.log_mark('f_plain');
SELECT count(*) AS f_plain_count, sum(id) AS f_plain_sum, md5(string_agg(t, ',' ORDER BY id)) AS f_plain_md5
	FROM plain \gset
SELECT pg_temp.handovers_since('f_plain') AS f_plain_handovers \gset
SELECT is(:f_plain_count::bigint, :s_plain_count::bigint, 'forced parallel over a plain table: count as serial');
SELECT is(:f_plain_sum::bigint, :s_plain_sum::bigint, 'forced parallel over a plain table: sum as serial');
SELECT is(:'f_plain_md5'::text, :'s_plain_md5'::text, 'forced parallel over a plain table: every value as serial');
SELECT is(:f_plain_handovers, 1, 'forced parallel over a plain table, in a session that holds keys: one hand-over');

SELECT pg_temp.log_mark('f_support');
SELECT count(*) AS f_groups FROM (SELECT s FROM par GROUP BY s) g \gset
SELECT count(*) AS f_text FROM par WHERE n::text LIKE 'ef1:%' \gset
SELECT count(*) AS f_greatest FROM par WHERE GREATEST(s, s) IS NOT NULL AND ROW(id, s) <= ROW(id, s) \gset
SELECT pg_temp.handovers_since('f_support') AS f_support_handovers \gset
SELECT is(:f_groups::bigint, :s_groups::bigint,
	'forced parallel: GROUP BY a searchable column (its hash and equality, in a worker) as serial');
SELECT is(:f_text::bigint, 20000::bigint, 'forced parallel: the text form of every value (its output function, in a worker)');
SELECT is(:f_greatest::bigint, 20000::bigint, 'forced parallel: GREATEST and a row comparison (its btree support, in a worker)');
SELECT is(:f_support_handovers, 3, 'forced parallel: each of the three queries hands the keys over');

SELECT pg_temp.log_mark('f_decrypt');
SELECT count(ef_decrypt(n)) AS f_count FROM par \gset
SELECT pg_temp.handovers_since('f_decrypt') AS f_decrypt_handovers \gset
SELECT is(:f_count::bigint, :s_count::bigint, 'forced parallel: count(ef_decrypt) as serial');
SELECT is(:f_decrypt_handovers, 1, 'forced parallel: a query that calls ef_decrypt hands the keys over, once');
SELECT sum(ef_decrypt_as(n, NULL::numeric)) AS f_sum FROM par \gset
SELECT is(:'f_sum'::numeric, :'s_sum'::numeric, 'forced parallel: sum(ef_decrypt_as(..., NULL::numeric)) as serial');
SELECT string_agg(md5(ef_decrypt(s)), '' ORDER BY id) AS f_md5 FROM par \gset
SELECT is(:'f_md5'::text, :'s_md5'::text, 'forced parallel: every decrypted value as serial');
SELECT ef_decrypt(ef_encrypt('made in a worker'::text)) AS f_made \gset
SELECT is(:'f_made'::text, 'made in a worker'::text, 'forced parallel: ef_encrypt in a worker, ef_decrypt of it');
SELECT count(*) AS f_probe FROM par WHERE s = ef_term('v7') \gset
SELECT is(:f_probe::bigint, 40::bigint, 'forced parallel: ef_term probes find the values');

-- a domain's CHECK (domain_in, through the array cast: the plan does not
-- show it) and a user's operator class (the sort), in a worker
SELECT count(*) AS f_domain FROM par WHERE ('{' || n::text || '}')::par_checked[] IS NOT NULL \gset
SELECT is(:f_domain::bigint, :s_domain::bigint,
	'forced parallel: a domain whose CHECK decrypts, through an array cast, as serial');
SELECT string_agg(id::text, ',') AS f_sorted FROM (SELECT id FROM par WHERE id <= 300 ORDER BY n USING <<< LIMIT 5) o \gset
SELECT is(:'f_sorted'::text, :'s_sorted'::text,
	'forced parallel: a sort by an operator class whose support function decrypts, as serial');

SELECT pg_temp.log_mark('f_plpgsql');
SELECT string_agg(md5(par_dec_plpgsql(s)), '' ORDER BY id) AS f_plpgsql_md5 FROM par \gset
SELECT pg_temp.handovers_since('f_plpgsql') AS f_plpgsql_handovers \gset
SELECT is(:'f_plpgsql_md5'::text, :'s_md5'::text, 'forced parallel: a PL/pgSQL wrapper of ef_decrypt decrypts every value as serial');
SELECT is(:f_plpgsql_handovers, 1, 'forced parallel: a query that calls a PL/pgSQL wrapper hands the keys over');

SELECT pg_temp.log_mark('f_sql');
SELECT string_agg(md5(par_dec_sql(s)), '' ORDER BY id) AS f_sql_md5 FROM par \gset
SELECT pg_temp.handovers_since('f_sql') AS f_sql_handovers \gset
SELECT is(:'f_sql_md5'::text, :'s_md5'::text, 'forced parallel: a SQL wrapper of ef_decrypt decrypts every value as serial');
SELECT is(:f_sql_handovers, 1, 'forced parallel: a query that calls a SQL wrapper hands the keys over');
RESET :force_setting;

-- real parallel plans over the tables
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT ok((SELECT count(*) FROM pg_settings WHERE name = 'max_parallel_workers' AND setting::int >= 2) = 1,
	'two parallel workers may run');
CREATE FUNCTION pg_temp.plan_of(q text, options text DEFAULT 'COSTS OFF') RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text; out text := '';
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (' || options || ') ' || q LOOP out := out || r || E'\n'; END LOOP;
	RETURN out;
END $f$;

SELECT matches(pg_temp.plan_of('SELECT count(*), sum(id) FROM plain', 'ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF'),
	'Workers Launched: 2', 'a parallel scan of the plain table runs in two workers');
SELECT pg_temp.log_mark('r_plain');
SELECT count(*) AS r_plain_count, sum(id) AS r_plain_sum FROM plain \gset
SELECT pg_temp.handovers_since('r_plain') AS r_plain_handovers \gset
SELECT is(:r_plain_count::bigint, :s_plain_count::bigint, 'parallel scan of a plain table: count as serial');
SELECT is(:r_plain_sum::bigint, :s_plain_sum::bigint, 'parallel scan of a plain table: sum as serial');
SELECT is(:r_plain_handovers, 1,
	'a parallel scan of a plain table, in a session that holds keys, hands the keys over once');

SELECT matches(pg_temp.plan_of('SELECT count(ef_decrypt(n)) FROM par'), 'Parallel Seq Scan',
	'count(ef_decrypt) runs as a parallel scan');
SELECT pg_temp.log_mark('r_decrypt');
SELECT count(ef_decrypt(n)) AS r_count FROM par \gset
SELECT pg_temp.handovers_since('r_decrypt') AS r_decrypt_handovers \gset
SELECT is(:r_count::bigint, :s_count::bigint, 'parallel scan: count(ef_decrypt) as serial');
SELECT is(:r_decrypt_handovers, 1, 'parallel scan: count(ef_decrypt) hands the keys over, once');
SELECT sum(ef_decrypt_as(n, NULL::numeric)) AS r_sum FROM par \gset
SELECT is(:'r_sum'::numeric, :'s_sum'::numeric,
	'parallel aggregate: sum(ef_decrypt_as(..., NULL::numeric)) as serial');
SELECT count(*) AS r_join FROM par JOIN probe ON par.s = ef_term(probe.t) \gset
SELECT is(:r_join::bigint, :s_join::bigint, 'parallel join on terms: as serial');

SELECT matches(pg_temp.plan_of('SELECT sum(par_dec_plpgsql(n)::numeric) FROM par', 'VERBOSE, COSTS OFF'),
	'Partial Aggregate\s+Output: PARTIAL sum\(\(par_dec_plpgsql\(n\)\)::numeric\)',
	'the PL/pgSQL wrapper runs in the workers'' partial aggregate');
SELECT pg_temp.log_mark('r_plpgsql');
SELECT sum(par_dec_plpgsql(n)::numeric) AS r_plpgsql_sum FROM par \gset
SELECT pg_temp.handovers_since('r_plpgsql') AS r_plpgsql_handovers \gset
SELECT is(:'r_plpgsql_sum'::numeric, :'s_sum'::numeric, 'parallel aggregate over a PL/pgSQL wrapper: as serial');
SELECT is(:r_plpgsql_handovers, 1, 'parallel aggregate over a PL/pgSQL wrapper hands the keys over');
SELECT matches(pg_temp.plan_of('SELECT sum(par_dec_sql(n)::numeric) FROM par', 'VERBOSE, COSTS OFF'),
	'Partial Aggregate\s+Output: PARTIAL sum\(\(par_dec_sql\(n\)\)::numeric\)',
	'the SQL wrapper, not inlined, runs in the workers'' partial aggregate');
SELECT pg_temp.log_mark('r_sql');
SELECT sum(par_dec_sql(n)::numeric) AS r_sql_sum FROM par \gset
SELECT pg_temp.handovers_since('r_sql') AS r_sql_handovers \gset
SELECT is(:'r_sql_sum'::numeric, :'s_sum'::numeric, 'parallel aggregate over a SQL wrapper: as serial');
SELECT is(:r_sql_handovers, 1, 'parallel aggregate over a SQL wrapper hands the keys over');

SET maintenance_work_mem = '64MB';
SET max_parallel_maintenance_workers = 2;
SELECT lives_ok($$CREATE INDEX par_s ON par (s)$$, 'a parallel index build on the searchable column');
SET enable_seqscan = off;
SELECT count(*) AS r_probe FROM par WHERE s = ef_term('v7') \gset
SELECT is(:r_probe::bigint, 40::bigint, 'the index built in parallel finds the values');
RESET enable_seqscan;
RESET log_min_messages;

-- the setting that carries the hand-over
SELECT throws_ok($$SET encrypted_field.parallel_keys = '1:00'$$, '42501', NULL,
	'the hand-over setting cannot be SET');
SELECT is((SELECT count(*) FROM pg_settings WHERE name = 'encrypted_field.parallel_keys'), 0::bigint,
	'the hand-over setting is not in pg_settings');

SELECT * FROM finish();
ROLLBACK;

-- Parallel query: the functions that read held keys are PARALLEL SAFE, and
-- a query that may run in parallel hands the leader's keys to its workers
-- (src/parallel_keys.c).  Parallel plans, forced (debug_parallel_query, or
-- force_parallel_mode before PostgreSQL 16) and real (a Gather over a
-- parallel scan), give exactly the serial results: a decrypting count, an
-- aggregate over ef_decrypt_as(..., NULL::numeric), a join on terms, ef_term
-- probes and a parallel index build on a searchable column.  A leader that
-- holds no key hands nothing, and its workers raise the leader's error.
-- The setting that carries the hand-over is refused to SET and shows empty.
--
-- This session was given the tap keys at connection start.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(15);

CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);

-- force a parallel plan for any query: the setting's name changed in 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
	THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_setting \gset

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
ANALYZE par;
ANALYZE probe;

-- the serial results
SET max_parallel_workers_per_gather = 0;
SELECT count(ef_decrypt(n)) AS s_count, sum(ef_decrypt_as(n, NULL::numeric)) AS s_sum,
	string_agg(md5(ef_decrypt(s)), '' ORDER BY id) AS s_md5 FROM par \gset
SELECT count(*) AS s_join FROM par JOIN probe ON par.s = ef_term(probe.t) \gset

-- forced: every query runs in a worker
SET max_parallel_workers_per_gather = 2;
SET :force_setting = on;
SELECT is((SELECT count(ef_decrypt(n)) FROM par), :s_count::bigint, 'forced parallel: count(ef_decrypt) as serial');
SELECT is((SELECT sum(ef_decrypt_as(n, NULL::numeric)) FROM par), :'s_sum'::numeric,
	'forced parallel: sum(ef_decrypt_as(..., NULL::numeric)) as serial');
SELECT is((SELECT string_agg(md5(ef_decrypt(s)), '' ORDER BY id) FROM par), :'s_md5',
	'forced parallel: every decrypted value as serial');
SELECT is((SELECT ef_decrypt(ef_encrypt('made in a worker'::text))), 'made in a worker',
	'forced parallel: ef_encrypt in a worker, ef_decrypt of it');
SELECT is((SELECT count(*) FROM par WHERE s = ef_term('v7')), 40::bigint,
	'forced parallel: ef_term probes find the values');
RESET :force_setting;

-- real parallel plans over the table
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT ok((SELECT count(*) FROM pg_settings WHERE name = 'max_parallel_workers' AND setting::int >= 2) = 1,
	'two parallel workers may run');
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text; out text := '';
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP out := out || r || E'\n'; END LOOP;
	RETURN out;
END $f$;
SELECT matches(pg_temp.plan_of('SELECT count(ef_decrypt(n)) FROM par'), 'Parallel Seq Scan',
	'count(ef_decrypt) runs as a parallel scan');
SELECT is((SELECT count(ef_decrypt(n)) FROM par), :s_count::bigint, 'parallel scan: count(ef_decrypt) as serial');
SELECT is((SELECT sum(ef_decrypt_as(n, NULL::numeric)) FROM par), :'s_sum'::numeric,
	'parallel aggregate: sum(ef_decrypt_as(..., NULL::numeric)) as serial');
SELECT is((SELECT count(*) FROM par JOIN probe ON par.s = ef_term(probe.t)), :s_join::bigint,
	'parallel join on terms: as serial');
SET maintenance_work_mem = '64MB';
SET max_parallel_maintenance_workers = 2;
SELECT lives_ok($$CREATE INDEX par_s ON par (s)$$, 'a parallel index build on the searchable column');
SET enable_seqscan = off;
SELECT is((SELECT count(*) FROM par WHERE s = ef_term('v7')), 40::bigint,
	'the index built in parallel finds the values');
RESET enable_seqscan;


-- the setting that carries the hand-over
SELECT throws_ok($$SET encrypted_field.parallel_keys = '1:00'$$, '42501', NULL,
	'the hand-over setting cannot be SET');
SELECT is((SELECT count(*) FROM pg_settings WHERE name = 'encrypted_field.parallel_keys'), 0::bigint,
	'the hand-over setting is not in pg_settings');

SELECT * FROM finish();
ROLLBACK;

-- The audit review recipe of doc/audit.md: the server's csvlog as a foreign
-- table (file_fdw), and views that turn encrypted_field's statement lines
-- into rows, one per statement and column.  Run as a superuser or a member
-- of pg_read_server_files, in a database of the auditors' (not the
-- application's), naming the csvlog file:
--   psql -v logfile=/var/lib/postgresql/18/main/log/postgresql.csv -f doc/audit_review.sql
-- test/t/060_decrypt_audit.pl runs this file as it is.
--
-- Copyright (c) 2026, The encrypted_field Authors

CREATE EXTENSION IF NOT EXISTS file_fdw;
CREATE SERVER IF NOT EXISTS ef_log_files FOREIGN DATA WRAPPER file_fdw;

-- the csvlog columns of PostgreSQL 15 to 18
CREATE FOREIGN TABLE ef_server_log (
	log_time timestamp(3) with time zone,
	user_name text,
	database_name text,
	process_id integer,
	connection_from text,
	session_id text,
	session_line_num bigint,
	command_tag text,
	session_start_time timestamp with time zone,
	virtual_transaction_id text,
	transaction_id bigint,
	error_severity text,
	sql_state_code text,
	message text,
	detail text,
	hint text,
	internal_query text,
	internal_query_pos integer,
	context text,
	query text,
	query_pos integer,
	location text,
	application_name text,
	backend_type text,
	leader_pid integer,
	query_id bigint
) SERVER ef_log_files OPTIONS (filename :'logfile', format 'csv');

-- one row per statement line: its time and the line's fields as jsonb
CREATE VIEW ef_audit_statements AS
SELECT l.log_time, l.session_id,
	pg_catalog.substr(l.message, pg_catalog.length('encrypted_field audit: ') + 1)::jsonb AS line
FROM ef_server_log l
WHERE l.message LIKE 'encrypted_field audit: {%';

-- one row per statement and column decrypted (op decrypt), re-wrapped or
-- re-termed, with who, from where, why (the reasons of the unlocks of the
-- keys used) and how many values
CREATE VIEW ef_audit_columns AS
SELECT s.log_time,
	s.line->>'status' AS status,
	s.line->>'session_user' AS session_user_name,
	s.line->>'current_user' AS current_user_name,
	s.line->>'database' AS database_name,
	s.line->>'client' AS client,
	s.line->>'application' AS application,
	(s.line->>'backend_pid')::integer AS backend_pid,
	s.line->>'command' AS command,
	(s.line->>'queryid')::bigint AS queryid,
	c->>'op' AS op,
	c->>'column' AS column_name,
	(c->>'values')::bigint AS n_values,
	(SELECT pg_catalog.string_agg(DISTINCT k->>'reason', '; ')
	 FROM pg_catalog.jsonb_array_elements(s.line->'keys') k) AS reason,
	(SELECT pg_catalog.array_agg((k->>'key_id')::integer ORDER BY (k->>'key_id')::integer)
	 FROM pg_catalog.jsonb_array_elements(s.line->'keys') k) AS key_ids
FROM ef_audit_statements s,
	pg_catalog.jsonb_array_elements(s.line->'columns') c;

-- The example: every decrypt of customers.email in the last day, by user
-- and reason
--   SELECT session_user_name, reason, count(*) AS statements,
--          sum(n_values) AS emails, min(log_time) AS first, max(log_time) AS last
--   FROM ef_audit_columns
--   WHERE column_name = 'public.customers.email' AND op = 'decrypt'
--     AND log_time > now() - interval '1 day'
--   GROUP BY 1, 2 ORDER BY 1, 2;

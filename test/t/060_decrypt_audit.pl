# Decrypt audit: every statement that decrypts writes one line as it ends,
# naming who, from where, the unlock's reason, the key ids, the columns
# (through views, joins, PL/pgSQL) and how many values, and its query id;
# a failing statement writes its line with the count so far.  The lines are
# read back through the review recipe of doc/audit.md (doc/audit_review.sql:
# file_fdw over the csvlog), so the recipe is tested too.  No line holds a
# key or plaintext.  The levels of encrypted_field.audit, and the reason
# requirement with a role exempted, are checked here against real logins.
# Keys are given at connection start (encrypted_field.keys), as psql users
# give them.  Parallel plans (real ones, with the leader taking no part so
# that only workers decrypt, and forced ones) write the serial plan's
# counts: the workers' counts reach the leader's line (also when only a
# PL/pgSQL wrapper the workers run decrypts), and those of a statement that
# fails, in a worker or in the leader, up to the failure.  A statement that
# fails while its plan is walked leaves nothing that puts a later
# statement's counts under its query id.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

plan skip_all => 'file_fdw is not installed in ' . pg_config('sharedir') . '/extension'
  unless have_extension('file_fdw');

my $key = random_key();
my $node = PostgreSQL::Test::Cluster->new('decrypt_audit');
$node->init;
$node->append_conf('postgresql.conf', <<'CONF');
logging_collector = on
log_destination = 'csvlog'
log_directory = 'log'
log_filename = 'audit.log'
log_rotation_age = 0
compute_query_id = on
log_statement = none
session_preload_libraries = 'encrypted_field'
max_prepared_transactions = 2
CONF
$node->start;
my $csv = $node->data_dir . '/log/audit.csv';

# a psql session as a role (default support; '': the bootstrap superuser),
# given key 1 (the library is preloaded: roles that are not superusers
# cannot set session_preload_libraries) at connection start, with its own
# application_name, so that its lines can be told apart
sub session
{
	my ($app, $sql, %o) = @_;
	my $user = $o{user} // 'support';
	return psql_cmd($node, 'shop',
		[ '-v', 'ON_ERROR_STOP=' . ($o{fail} ? 0 : 1), ($user eq '' ? () : ('-U', $user)) ],
		env => {
			PGOPTIONS => "-c encrypted_field.keys=1:$key",
			PGAPPNAME => $app
		},
		stdin => $sql);
}

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('postgres', 'CREATE DATABASE audit');
my ($st, $out, $err) = session('setup', <<'SQL', user => '');
CREATE ROLE support LOGIN;
CREATE ROLE app LOGIN;
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
CREATE TABLE customers (id integer PRIMARY KEY, email encrypted_field, phone encrypted_field);
SELECT ef_create_view('customers', key_column => 'id', searchable_columns => '{email}');
INSERT INTO customers_decrypted SELECT g, 'user' || g || '@example.com', '555-01' || g
	FROM generate_series(1, 5) g;
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, note encrypted_field);
INSERT INTO orders SELECT g, 1 + g % 2, ef_encrypt('order note ' || g) FROM generate_series(1, 4) g;
CREATE FUNCTION email_of(i integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	SELECT ef_decrypt(email, 'public.customers.email.' || id) INTO r FROM customers WHERE id = i;
	RETURN r;
END $$;
-- a parallel-safe wrapper, which parallel workers run
CREATE FUNCTION note_text(v encrypted_field) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	RETURN ef_decrypt(v);
END $$;
CREATE TABLE events (id integer, note encrypted_field) PARTITION BY RANGE (id);
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (3);
CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (3) TO (5);
INSERT INTO events SELECT g, ef_encrypt('event note ' || g) FROM generate_series(1, 4) g;
CREATE TABLE big (id integer, note encrypted_field);
INSERT INTO big SELECT g, ef_encrypt('big note ' || g) FROM generate_series(1, 3000) g;
ANALYZE big;
GRANT SELECT ON customers, customers_decrypted, orders, events, big TO support, app;
GRANT pg_read_all_stats TO support;
SQL
is($st, 0, 'the tables, the view and the roles are set up') or diag($err);
($st, $out, $err) = session('probe', 'SELECT 1', user => 'app');
is($st, 0, 'the roles can log in with the key given at connection start') or diag($err);

# ---------------------------------------------------------------- the paths
# a real parallel plan in which only the workers decrypt; the setting that
# forces one for any query was renamed in PostgreSQL 16
my $parallel = 'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; '
  . 'SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2; '
  . 'SET parallel_leader_participation = off;';
my $force = $node->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
# app => [ statements after the unlock, expected status, columns => counts ]
my %paths = (
	direct => [ 'SELECT ef_decrypt(email, \'public.customers.email.\' || id) FROM customers;',
		'ok', { 'decrypt public.customers.email' => 5 } ],
	view => [ 'SELECT email FROM customers_decrypted WHERE id <= 3;',
		'ok', { 'decrypt public.customers.email' => 3 } ],
	join => [ 'SELECT ef_decrypt(c.email, \'public.customers.email.\' || c.id), ef_decrypt(o.note)
		FROM customers c JOIN orders o ON o.customer_id = c.id;',
		'ok', { 'decrypt public.customers.email' => 4, 'decrypt public.orders.note' => 4 } ],
	expression => [ 'SELECT ef_decrypt(CASE WHEN id > 0 THEN note END) FROM orders;',
		'ok', { 'decrypt expression' => 4 } ],
	failing => [ 'SELECT ef_decrypt(note) FROM orders WHERE 1 / (id - 3) IS NOT NULL;',
		'error', { 'decrypt public.orders.note' => 2 } ],
	prepared => [ 'PREPARE q(integer) AS SELECT ef_decrypt(note) FROM orders WHERE id <= $1; EXECUTE q(3);',
		'ok', { 'decrypt public.orders.note' => 3 } ],
	plpgsql => [ 'SELECT email_of(id) FROM customers;',
		'ok', { 'decrypt public.customers.email' => 5 } ],
	rewrap => [ 'SELECT ef_rewrap(note, 1) FROM orders WHERE id <= 2;',
		'ok', { 'rewrap public.orders.note' => 2 } ],
	partitioned => [ 'SELECT ef_decrypt(note) FROM events ORDER BY id;',
		'ok', { 'decrypt public.events.note' => 4 } ],
	union => [ 'SELECT ef_decrypt(x) FROM (SELECT note AS x FROM orders UNION ALL SELECT note FROM events) s;',
		'ok', { 'decrypt expression' => 8 } ],
	serial_big => [ 'SET max_parallel_workers_per_gather = 0; SELECT count(ef_decrypt(note)) FROM big;',
		'ok', { 'decrypt public.big.note' => 3000 } ],
	parallel => [ "$parallel SELECT count(ef_decrypt(note)) FROM big;",
		'ok', { 'decrypt public.big.note' => 3000 } ],
	parallel_forced => [ "SET $force = on; SELECT ef_decrypt(note) FROM big WHERE id <= 100;",
		'ok', { 'decrypt public.big.note' => 100 } ],
	# only the workers decrypt, in the wrapper's own query: the leader's
	# line has no column of its own until it adds theirs
	parallel_wrapper => [ "$parallel SELECT count(note_text(note)) FROM big;",
		'ok', { 'decrypt expression' => 3000 } ],
	# two Gather nodes, in two initplans, each with workers of its own
	parallel_two => [ "$parallel SELECT (SELECT count(ef_decrypt(note)) FROM big)
		+ (SELECT count(ef_decrypt(note)) FROM big WHERE id <= 1000);",
		'ok', { 'decrypt public.big.note' => 4000 } ],
	# the one worker of a forced plan scans the table in order, decrypts
	# the first 2999 rows and fails at the last
	parallel_failing_worker => [ "SET $force = on;
		SELECT count(ef_decrypt(note)) FROM big WHERE 1 / (id - 3000) IS NOT NULL;",
		'error', { 'decrypt public.big.note' => 2999 } ],
	# the workers decrypt every row, the leader fails in the final aggregate
	parallel_failing_leader => [ "$parallel SELECT count(ef_decrypt(note)) / 0 FROM big;",
		'error', { 'decrypt public.big.note' => 3000 } ],
);
my %errors;
for my $app (sort keys %paths)
{
	my ($sql, $status) = @{ $paths{$app} };
	($st, $out, $err) = session("ef_$app", "SELECT ef_unlock(1, reason => 'TICKET-$app');\n$sql\n",
		fail => $status eq 'error');
	$errors{$app} = $err;
	if ($status eq 'error')
	{
		like($err, qr/division by zero/, "$app: the statement fails");
	}
	else
	{
		is($st, 0, "$app: the statement runs") or diag($err);
	}
}
# the parallel plans really run in workers, the leader taking no part
($st, $out, $err) = session('ef_parallel_explain', <<"SQL");
SELECT ef_unlock(1, reason => 'TICKET-parallel-explain');
$parallel
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(ef_decrypt(note)) FROM big;
SQL
like($out, qr/Workers Launched: 2/, 'parallel: two workers launched') or diag($out . $err);
like($out, qr/Parallel Seq Scan on public\.big/, 'parallel: a parallel scan of big') or diag($out);
like($out, qr/Partial Aggregate/, 'parallel: ef_decrypt runs in the workers\' partial aggregate') or diag($out);
($st, $out, $err) = session('ef_parallel_forced_explain', <<"SQL");
SELECT ef_unlock(1, reason => 'TICKET-parallel-forced-explain');
SET $force = on;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT ef_decrypt(note) FROM big WHERE id <= 100;
SQL
like($out, qr/Single Copy: true.*Worker 0:  actual rows=100/s, "$force: the scan runs in one worker")
  or diag($out . $err);
like($errors{parallel_failing_worker}, qr/CONTEXT:  parallel worker/,
	'parallel_failing_worker: the error is raised in the worker');
unlike($errors{parallel_failing_leader}, qr/parallel worker/,
	'parallel_failing_leader: the error is raised in the leader');

# the search: one probe's term, in the domain the view gave the column
($st, $out, $err) = session('ef_search', <<'SQL');
SELECT ef_unlock(1, reason => 'TICKET-search');
SELECT id FROM customers WHERE email = ef_term('user2@example.com', 'customers.email');
SQL
like($out, qr/^2$/m, 'search: the term finds the row') or diag($err);
# a transaction-scoped unlock, as behind a pooler in transaction mode, and
# DISCARD ALL after the statement
($st, $out, $err) = session('ef_pooled', <<'SQL');
BEGIN;
SELECT ef_unlock(1, NULL, 'transaction', 'TICKET-pooled');
SELECT ef_decrypt(note) FROM orders WHERE id = 1;
COMMIT;
DISCARD ALL;
SQL
is($st, 0, 'pooled: a transaction-scoped unlock, then DISCARD ALL') or diag($err);
# the query id of the direct path, as EXPLAIN VERBOSE shows it
($st, $out, $err) = session('ef_explain',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT ef_decrypt(email, 'public.customers.email.' || id) FROM customers;");
my ($direct_queryid) = $out =~ /Query Identifier: (-?\d+)/;
ok(defined $direct_queryid, 'EXPLAIN VERBOSE shows the direct statement\'s query id') or diag($out . $err);

# a statement that fails while its plan is walked (the lock that naming a
# partition's root needs is not granted in time), then a statement that
# decrypts while it is planned (the planner folds ef_decrypt of a constant
# to estimate the condition): that call counts in the second statement's
# line, under its query id, not in a line of the failed one
($st, $out, $err) = session('ef_walk_failed', <<'SQL', user => '', fail => 1);
SELECT ef_unlock(1, reason => 'TICKET-walk_failed');
SELECT note AS env FROM events_1 WHERE id = 1 \gset
SELECT ef_decrypt(note) FROM events_1 WHERE id = 1;
BEGIN;
LOCK pg_catalog.pg_inherits IN ACCESS EXCLUSIVE MODE;
PREPARE TRANSACTION 'ef_walk_failed';
SET lock_timeout = '200ms';
SELECT ef_decrypt(note) FROM events_1 WHERE id = 2;
RESET lock_timeout;
COMMIT PREPARED 'ef_walk_failed';
SELECT count(*) AS planned FROM events_1 WHERE ef_decrypt(note) = ef_decrypt(:'env'::encrypted_field);
SQL
like($err, qr/ERROR:  canceling statement due to lock timeout/, 'walk_failed: the statement fails')
  or diag($out);
like($out, qr/^1$/m, 'walk_failed: the next statement runs') or diag($err);
($st, $out, $err) = session('ef_walk_failed_explain', <<'SQL', user => '');
EXPLAIN (VERBOSE, COSTS OFF) SELECT ef_decrypt(note) FROM events_1 WHERE id = 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) AS planned FROM events_1
	WHERE ef_decrypt(note) = ef_decrypt(NULL::encrypted_field);
SQL
my @walk_queryids = $out =~ /Query Identifier: (-?\d+)/g;
is(scalar @walk_queryids, 2, 'walk_failed: EXPLAIN VERBOSE shows both query ids') or diag($out . $err);

# more distinct names than the session keeps (1024 search domains): the
# names are let go of between statements, and the next lines name theirs
($st, $out, $err) = session('ef_names', <<'SQL');
SELECT ef_unlock(1, reason => 'TICKET-names');
DO $$ BEGIN FOR i IN 1..1100 LOOP EXECUTE format('SELECT ef_term(%L, %L)', 'x', 'domain ' || i); END LOOP; END $$;
SELECT ef_decrypt(o.note), ef_decrypt(e.note) FROM orders o JOIN events e ON e.id = o.id;
SELECT id FROM customers WHERE email = ef_term('user2@example.com', 'customers.email');
SELECT 'names_bytes=' || total_bytes FROM pg_backend_memory_contexts WHERE name = 'encrypted_field audit names';
SQL
is($st, 0, 'names: 1100 search domains, then a join and a search') or diag($err);
# 1100 names kept take 40 kB here; let go of, the context is back to 1 kB
my ($names_bytes) = $out =~ /^names_bytes=(\d+)$/m;
cmp_ok($names_bytes // 1e9, '<', 8192, 'names: the session lets go of the names of past statements')
  or diag($out);

# ---------------------------------------------------------------- levels
($st, $out, $err) = session('ef_level_unlock', <<'SQL', user => '');
SET encrypted_field.audit = unlock;
SELECT ef_unlock(1, reason => 'TICKET-level-unlock');
SELECT ef_decrypt(note) FROM orders;
SQL
is($st, 0, 'audit = unlock: a superuser sets it') or diag($err);
($st, $out, $err) = session('ef_level_off', <<'SQL', user => '');
SET encrypted_field.audit = off;
SELECT ef_unlock(1, reason => 'TICKET-level-off');
SELECT ef_decrypt(note) FROM orders;
SQL
is($st, 0, 'audit = off: a superuser sets it') or diag($err);
($st, $out, $err) = session('ef_level_user', "SET encrypted_field.audit = off;\n", fail => 1);
like($err, qr/permission denied to set parameter "encrypted_field.audit"/,
	'a role without the privilege cannot turn the audit off');

# ---------------------------------------------------------------- reasons
$node->safe_psql('shop', "ALTER DATABASE shop SET encrypted_field.require_reason = 'all'");
$node->safe_psql('shop', "ALTER ROLE app IN DATABASE shop SET encrypted_field.require_reason = off");
($st, $out, $err) = session('ef_reason_missing', "SELECT ef_unlock(1);\n", fail => 1);
like($err, qr/ERROR:  a reason is required to unlock master key 1/,
	'require_reason = all: an unlock without a reason is refused');
($st, $out, $err) = session('ef_reason_blank', "SELECT ef_unlock(1, reason => '   ');\n", fail => 1);
like($err, qr/a reason is required to unlock master key 1/, 'a blank reason is no reason');
($st, $out, $err) = session('ef_reason_given', "SELECT ef_unlock(1, reason => 'INC-7');\n");
is($st, 0, 'with a reason, the unlock succeeds') or diag($err);
($st, $out, $err) = session('ef_reason_app', "SELECT ef_unlock(1);\n", user => 'app');
is($st, 0, 'the application role, exempted with ALTER ROLE ... SET, unlocks without one') or diag($err);
$node->safe_psql('shop', "ALTER DATABASE shop RESET encrypted_field.require_reason");

# ---------------------------------------------------------------- the review
# the collector writes asynchronously: wait for the last session's line
my $until = time + 30;
while (time < $until)
{
	last if -f $csv && slurp_file($csv) =~ /ef_reason_app/;
	sleep 1;
}
($st, $out, $err) = psql_cmd($node, 'audit', [ '-v', 'ON_ERROR_STOP=1', '-v', "logfile=$csv",
	'-f', 'doc/audit_review.sql' ]);
is($st, 0, 'doc/audit_review.sql creates the foreign table and the views') or diag($err);

# the statement lines of a session, as JSON
sub lines_of
{
	my ($app) = @_;
	my ($s, $o, $e) = psql_cmd($node, 'audit', [ '-c',
		"SELECT line FROM ef_audit_statements WHERE line->>'application' = 'ef_$app' ORDER BY log_time" ]);
	diag($e) if $s;
	return map { decode_json($_) } grep { /\S/ } split /\n/, $o;
}

for my $app (sort keys %paths)
{
	my (undef, $status, $want) = @{ $paths{$app} };
	my @lines = lines_of($app);
	is(scalar @lines, 1, "$app: one statement line") or next;
	my $l = $lines[0];
	my %got = map { ("$_->{op} $_->{column}" => $_->{values}) } @{ $l->{columns} };
	is_deeply(\%got, $want, "$app: the columns and their counts");
	is($l->{status}, $status, "$app: status $status");
	is_deeply([ map { [ $_->{key_id}, $_->{reason} ] } @{ $l->{keys} } ], [ [ 1, "TICKET-$app" ] ],
		"$app: key 1, with the unlock's reason");
	my $total = 0;
	$total += $_ for values %$want;
	is($l->{keys}[0]{values}, $total, "$app: the key's count is the columns' sum");
	is($l->{session_user}, 'support', "$app: the session user");
	is($l->{current_user}, 'support', "$app: the current user");
	ok(defined $l->{queryid} && $l->{queryid} != 0, "$app: a query id");
	ok($l->{backend_pid} > 0 && $l->{client} ne '', "$app: the backend pid and the client");
}
is((lines_of('direct'))[0]{queryid}, $direct_queryid, 'direct: the query id is the statement\'s');
is((lines_of('prepared'))[0]{command}, 'EXECUTE', 'prepared: counted under EXECUTE');
is((lines_of('parallel'))[0]{columns}[0]{values}, (lines_of('serial_big'))[0]{columns}[0]{values},
	'parallel: the count the serial plan gives');
my @explained = lines_of('parallel_explain');
is(scalar @explained, 1, 'parallel EXPLAIN ANALYZE: one statement line');
is_deeply([ map { [ $_->{op}, $_->{column}, $_->{values} ] } @{ $explained[0]{columns} } ],
	[ [ 'decrypt', 'public.big.note', 3000 ] ], 'parallel EXPLAIN ANALYZE: the workers\' 3000 values');
is($explained[0]{command}, 'EXPLAIN', 'parallel EXPLAIN ANALYZE: counted under EXPLAIN');
my @search = lines_of('search');
is(scalar @search, 1, 'search: one statement line');
ok((grep { ($_->{domain} // '') eq 'customers.email' && $_->{probes} >= 1 } @{ $search[0]{searches} }),
	'search: the probes in the domain customers.email') or diag(explain(\@search));
is_deeply($search[0]{columns}, [], 'search: no column decrypted');
my @pooled = lines_of('pooled');
is(scalar @pooled, 1, 'pooled: one statement line, DISCARD ALL after it');
is($pooled[0]{keys}[0]{reason}, 'TICKET-pooled', 'pooled: the transaction-scoped unlock\'s reason');
my @walk = lines_of('walk_failed');
is_deeply([ map { [ $_->{status}, $_->{queryid} ] } @walk ],
	[ [ 'ok', $walk_queryids[0] ], [ 'ok', $walk_queryids[1] ] ],
	'walk_failed: a line for each statement that decrypted, under its own query id')
  or diag(explain(\@walk));
is_deeply({ map { ("$_->{op} $_->{column}" => $_->{values}) } @{ $walk[1]{columns} } },
	{ 'decrypt public.events.note' => 2, 'decrypt expression' => 3 },
	'walk_failed: the call made while the statement was planned counts in its line');
my @names = lines_of('names');
is(scalar @names, 3, 'names: a line per statement');
is(scalar(grep { $_->{domain} =~ /^domain \d+$/ && $_->{probes} == 1 } @{ $names[0]{searches} }), 1100,
	'names: the DO block\'s line names its 1100 domains');
is_deeply({ map { ("$_->{op} $_->{column}" => $_->{values}) } @{ $names[1]{columns} } },
	{ 'decrypt public.orders.note' => 4, 'decrypt public.events.note' => 4 },
	'names: the next statement\'s line names its columns');
ok((grep { ($_->{domain} // '') eq 'customers.email' && $_->{probes} >= 1 } @{ $names[2]{searches} }),
	'names: the search\'s line names its domain') or diag(explain($names[2]));
is(scalar lines_of('level_unlock'), 0, 'audit = unlock: no statement line');
is(scalar lines_of('reason_given'), 0, 'a session that decrypted nothing: no statement line');

# the unlock lines: reason, and none at all with audit = off
my $log = slurp_file($csv);
like($log, qr/master key 1 unlocked, scope session, reason ""TICKET-direct""/,
	'the unlock line gives the reason');
like($log, qr/master key 1 unlocked, scope session, reason ""TICKET-level-unlock""/,
	'audit = unlock writes the unlock line');
unlike($log, qr/TICKET-level-off/, 'audit = off writes no line');
like($log, qr/master key 1 unlock failed: no reason given/, 'the refused unlock is audited');

# the auditor's query of doc/audit.md
($st, $out, $err) = psql_cmd($node, 'audit', [ '-F', '|', '-c', <<'SQL' ]);
SELECT session_user_name, reason, count(*) AS statements, sum(n_values) AS emails
FROM ef_audit_columns
WHERE column_name = 'public.customers.email' AND op = 'decrypt'
  AND log_time > now() - interval '1 day'
GROUP BY 1, 2 ORDER BY 1, 2;
SQL
chomp $out;
is($out, join("\n", 'support|TICKET-direct|1|5', 'support|TICKET-join|1|4', 'support|TICKET-plpgsql|1|5',
		'support|TICKET-view|1|3'),
	'every decrypt of customers.email in the last day, by user and reason') or diag($err);

# ---------------------------------------------------------------- hygiene
ok(leaks($key, $csv), 'no form of the master key in the log');
unlike($log, qr/example\.com|555-01|order note|event note|big note/, 'no plaintext in the log');
unlike($log, qr/encrypted_field audit: [^\n]*SELECT ef_decrypt/, 'no statement text in an audit line');

$node->stop;
done_testing();

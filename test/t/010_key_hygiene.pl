# Key hygiene: under the harshest logging and statistics settings, no form of
# a master key reaches the server log, pg_stat_statements, pg_stat_activity
# as another session sees it, pg_prepared_statements, EXPLAIN output or the
# settings views, for every channel a key may take: bind parameters from
# libpq, psycopg 3 and node-postgres (directly, through a PL/pgSQL wrapper,
# a procedure, named prepared statements), and the encrypted_field.keys
# startup option psql users take.  A poller reads pg_stat_activity in a tight
# loop while 1,000 unlocks run through each channel.  Keys written into SQL
# text are refused; psycopg2, which does that, is refused and shown the way
# out.  Held keys sit in memory excluded from core dumps and are zeroed by
# ef_lock(); the bind parameter a key came from is wiped.
#
# The clients are the programs in test/hygiene: bind_key (libpq, built by
# make prove_installcheck), psycopg_client.py, psycopg2_client.py,
# node_client.js (node-postgres, installed once with npm into
# ${EF_CACHE:-~/.cache/encrypted_field}/node) and psql.  The German-message
# checks run where the de_DE.UTF-8 locale exists.  EF_HYGIENE_LOOPS sets
# the number of unlocks per channel (1000).
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

my $here = 'test/hygiene';
my $py = $EFTest::python;
my $loops = $ENV{EF_HYGIENE_LOOPS} // 1000;
my $work = PostgreSQL::Test::Utils::tempdir;

die "$py with psycopg 3, psycopg2 and cryptography is needed (Debian: python3-psycopg python3-psycopg2 python3-cryptography)\n"
  if system($py, '-c', 'import psycopg, psycopg2, cryptography') != 0;
die "$here/bind_key is not built: run make prove_installcheck, which builds it\n"
  unless -x "$here/bind_key";
# German messages need the locale, and PostgreSQL's German catalog (a build
# with --enable-nls)
my $german = grep { /^de_DE\.utf-?8$/i } split /\n/, `locale -a 2>/dev/null`;
my $no_german = 'the de_DE.UTF-8 locale is not installed (localedef -i de_DE -f UTF-8 de_DE.UTF-8)';
if ($german && !glob(pg_config('localedir') . '/de/LC_MESSAGES/postgres*.mo'))
{
	$german = 0;
	$no_german = 'this PostgreSQL has no German messages (built without --enable-nls)';
}

my $key = random_key();
my $wrong = random_key();
my $decoy = random_key();
my $lazy = random_key();

# node-postgres, installed once outside the repository
my $node_dir = ($ENV{EF_CACHE}
	  // ($ENV{XDG_CACHE_HOME} // "$ENV{HOME}/.cache") . '/encrypted_field') . '/node';
if (!-d "$node_dir/node_modules/pg")
{
	make_path($node_dir);
	system('npm', 'install', '--silent', '--no-audit', '--no-fund', '--prefix', $node_dir, 'pg@8') == 0
	  or die "could not install node-postgres into $node_dir with npm\n";
}

my $node = PostgreSQL::Test::Cluster->new('hygiene');
$node->init;
# the harshest settings: every statement, its parameters and its plan logged,
# every statement and utility command tracked
$node->append_conf('postgresql.conf', <<'CONF');
shared_preload_libraries = 'pg_stat_statements,auto_explain'
log_statement = all
log_min_duration_statement = 0
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_verbose = on
auto_explain.log_nested_statements = on
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
CONF
$node->start;

our $db = 'ef_pre';
# run a client program in the current database; returns status and its
# output (standard output, then standard error)
sub client
{
	my ($cmd, %env) = @_;
	my ($status, $out, $err) = run_cmd($cmd, env => { node_env($node, $db), %env });
	return ($status, $out . $err);
}
# psql -X -q -At -v ON_ERROR_STOP=0 ARGS: returns its standard output
sub qry
{
	my (@args) = @_;
	my ($status, $out, $err) = psql_cmd($node, $db, [ '-v', 'ON_ERROR_STOP=0', @args ]);
	chomp $out;
	return $out;
}
# the same, with PGOPTIONS: returns status and all output
sub q_opts
{
	my ($options, @args) = @_;
	return client([ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=0', @args ],
		PGOPTIONS => $options);
}
sub node_client
{
	return client([ 'node', "$here/node_client.js", @_ ],
		NODE_PATH => "$node_dir/node_modules");
}
# write a text to a file of the work directory; returns its path
sub save
{
	my ($name, $text) = @_;
	my $path = "$work/$name";
	open my $fh, '>>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	return $path;
}
# a command whose status is the check, with its output kept in a file
sub ok_cmd
{
	my ($name, $file, $status, $out) = @_;
	save($file, $out);
	ok($status == 0, $name) or diag($out);
}
# no form of the key or of the wrong key in a file (leaks.py)
sub no_leaks { my ($file) = @_; return leaks($key, $file) && leaks($wrong, $file); }
sub count_lines { my ($text, $re) = @_; return scalar grep { /$re/ } split /\n/, $text; }

$node->safe_psql('postgres', "CREATE DATABASE ef_pre; CREATE DATABASE ef_lazy;
	ALTER DATABASE ef_pre SET session_preload_libraries = 'encrypted_field';");
$node->safe_psql('ef_pre', 'CREATE EXTENSION encrypted_field; CREATE EXTENSION pg_stat_statements;');
$node->safe_psql('ef_lazy', 'CREATE EXTENSION encrypted_field;');

{
	local $db = 'postgres';
	ok(same(qry('-c', "SELECT string_agg(current_setting(s), ',' ORDER BY s) FROM unnest(ARRAY['log_statement',
		'log_min_duration_statement', 'log_parameter_max_length', 'log_parameter_max_length_on_error',
		'auto_explain.log_min_duration', 'auto_explain.log_analyze', 'auto_explain.log_verbose',
		'auto_explain.log_nested_statements', 'pg_stat_statements.track',
		'pg_stat_statements.track_utility']) s"), 'on,0,on,on,0,-1,-1,all,all,on'),
		'settings: statements, parameters, plans and utility statements are all recorded');
}
ok( same(
		qry('-c', "SELECT current_setting('log_parameter_max_length') || ',' || current_setting('log_parameter_max_length_on_error')"),
		'0,0'),
	'with the library loaded, PostgreSQL builds no parameter strings for the log');
qry('-c', "SELECT 'hygiene canary statement'");
# plaintext as a bind parameter, in a statement that calls no key function
client([ $py, '-c',
	"import psycopg; c = psycopg.connect('', autocommit=True); c.execute('SELECT length(%s)', ['hygiene parameter canary'])" ]);
qry('-c', "/* ef_unlock */ SELECT 'comment canary statement'");

# The key reaches the registry through the startup option, as psql users do
q_opts("-c encrypted_field.keys=1:$key", '-c', "SELECT ef_register_key(1, comment => 'hygiene')");
ok(same(qry('-c', 'SELECT count(*) FROM ef_keys'), '1'), 'startup option: the key registered');

# The application's own wrappers, which pass the key on
$node->safe_psql($db, <<'SQL');
CREATE FUNCTION app_unlock(k bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ef_unlock(1, k);
END $$;
CREATE PROCEDURE app_unlock_proc(k bytea) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ef_unlock(1, k);
END $$;
CREATE FUNCTION app_unlock_hex(k text) RETURNS void LANGUAGE sql AS $$
	SELECT ef_unlock(1, decode(k, 'hex'))
$$;
SQL

# Each client library, each way of passing a key, and what must fail
ok_cmd('libpq: every step ended as expected', 'libpq.out',
	client([ "$here/bind_key", 'steps', $key, $wrong ]));
ok_cmd('psycopg 3: every step ended as expected', 'psycopg.out',
	client([ $py, "$here/psycopg_client.py", 'steps', $key, $wrong, $decoy ]));
ok_cmd('node-postgres: every step ended as expected', 'node.out',
	node_client('steps', $key, $wrong, $decoy));
ok_cmd('psycopg2: refused, and the startup option works', 'psycopg2.out',
	client([ $py, "$here/psycopg2_client.py", $key, $decoy ]));
my $clients = join('', map { slurp_file("$work/$_.out") } qw(libpq psycopg node psycopg2));
my $shown = join('', map { "$_\n" } grep { /^(prepared|explain):/ } split /\n/, $clients);
save('shown.txt', $shown);
cmp_ok(count_lines($shown, qr/^prepared:.*ef_unlock/), '>=', 3, 'the clients saw their prepared statements');
is(count_lines($shown, qr/^explain:.*ef_unlock\(1, \$1/), 3, 'EXPLAIN shows the key as a parameter');
ok(no_leaks("$work/shown.txt"), 'pg_prepared_statements and EXPLAIN hold no form of the key');

# A quoted identifier is still the key function: its literal key is refused
my (undef, $uescape) = q_opts('', '-c', "SELECT U&\"ef\\005funlock\"(1, '\\x$decoy'::bytea)");
like($uescape, qr/master key 1 was not given as a bind parameter/,
	'U&"ef\005funlock" with a literal key is refused');

# The startup option: the setting shows only the key id
my (undef, $settings) = q_opts("-c encrypted_field.keys=1:$key", '-c', 'SELECT ef_unlock(1)',
	'-c', 'SELECT name, setting, reset_val, boot_val FROM pg_settings',
	'-c', "SELECT current_setting('encrypted_field.keys')");
save('settings.txt', $settings);
like($settings, qr/^1$/m, 'startup option: the setting shows the key id');
ok(no_leaks("$work/settings.txt"), 'pg_settings holds no form of the key');
my (undef, $set) = q_opts('', '-c', "SET encrypted_field.keys = '1:$decoy'");
like($set, qr/ERROR:  parameter "encrypted_field.keys" cannot be set after connection start/, 'refused: SET');
my (undef, $alter) = q_opts('', '-c', "ALTER ROLE CURRENT_USER SET encrypted_field.keys = '1:$decoy'");
like($alter, qr/ERROR:  parameter "encrypted_field.keys" cannot be set after connection start/,
	'refused: ALTER ROLE');
ok(index($set . $alter, substr($decoy, 0, 16)) < 0, 'the refusals do not quote the value');
ok( same(
		qry('-c', "SELECT count(*) FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%encrypted_field.keys%'"),
		'0'),
	'no role or database setting stored a key');
# a key stored by ALTER ROLE where the library was not loaded to refuse it
{
	local $db = 'postgres';
	qry('-c', "ALTER ROLE CURRENT_USER IN DATABASE ef_pre SET encrypted_field.keys = '1:$decoy'");
}
my (undef, $stored) = q_opts('', '-c', 'SELECT ef_unlock(1)');
my (undef, $lookalike) = q_opts('-c application_name=encrypted_field.keys=', '-c', 'SELECT ef_unlock(1)');
$stored .= $lookalike;
{
	local $db = 'postgres';
	qry('-c', 'ALTER ROLE CURRENT_USER IN DATABASE ef_pre RESET encrypted_field.keys');
}
is(count_lines($stored, qr/master keys given at connection start were refused/), 2,
	'a look-alike option does not pass for the key option');
like($stored, qr/master keys given at connection start were refused/,
	'a key stored with ALTER ROLE is refused, not taken');
# other spellings of the name are wiped too
my (undef, $spelling) = q_opts("--ENCRYPTED-FIELD.KEYS=1:$key", '-c', 'SELECT ef_unlock(1)',
	'-c', 'SHOW encrypted_field.keys');
like($spelling, qr/^1$/m, 'the option spelled otherwise works');
my (undef, $badopt) = q_opts("-c encrypted_field.keys=1:zz$decoy", '-c', 'SELECT 1');
like($badopt, qr/FATAL:  invalid master keys given at connection start/,
	'startup option: a malformed key refuses the connection');
ok(index($badopt, substr($decoy, 0, 16)) < 0, 'startup option: the refusal does not quote the value');

# The same under translated messages: nothing may depend on English text
SKIP:
{
	skip($no_german, 2) unless $german;
	ok_cmd('German messages: every libpq step ended as expected', 'libpq_de.out',
		client([ "$here/bind_key", 'steps', $key, $wrong ], PGOPTIONS => '-c lc_messages=de_DE.UTF-8'));
	ok_cmd('German messages: 100 unlocks through a wrapper', 'libpq_de.out',
		client([ "$here/bind_key", 'loop', $key, 100, 'wrapper' ], PGOPTIONS => '-c lc_messages=de_DE.UTF-8'));
}

# What the review found: plaintext parameters in plans of cursors that end
# out of order, in input errors (also in German), after a session turns
# parameter logging back on; a key a wrapper writes into dynamic SQL
$node->safe_psql($db, <<'SQL');
CREATE TABLE hyg_t (c encrypted_field);
CREATE FUNCTION app_unlock_dynamic(k text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CALL app_unlock_proc(decode(%L, ''hex''))', k);
END $$;
SQL
my @languages = $german ? ('C', 'de_DE.UTF-8') : ('C');
my ($review_status, $review) = client([ $py, '-c', <<'PY', $decoy, @languages ], PGOPTIONS => "-c encrypted_field.keys=1:$key");
import sys, psycopg
c = psycopg.connect("", autocommit=True)
c.execute("SELECT ef_unlock(1)")
c.execute("INSERT INTO hyg_t VALUES (ef_encrypt(%s))", ["review plaintext in an insert"])
with c.transaction():
    a = c.cursor("noparam"); a.execute("SELECT 1 FROM generate_series(1, 3)"); a.fetchone()
    b = c.cursor("withparam")
    b.execute("SELECT ef_decrypt(c) FROM hyg_t WHERE ef_decrypt(c) = %s", ["review plaintext in a cursor"])
    b.fetchone(); a.close(); b.close()
for lang in sys.argv[2:]:
    c.execute("SELECT set_config('lc_messages', %s, false)", [lang])
    for sql, value in (("SELECT %s::int", "review plaintext not an integer"),
                       ("SELECT ef_encrypt(%s::jsonb)", '{"x": review plaintext not json}')):
        try:
            c.execute(sql, [value])
        except psycopg.Error as e:
            print("input error", e.sqlstate)
c.execute("SET lc_messages = 'C'")
c.execute("SET log_parameter_max_length_on_error = -1")
try:
    c.execute("SELECT ef_encrypt(%s::text), 1 / 0", ["review first line\nreview second line"])
except psycopg.Error as e:
    print("after SET", e.sqlstate)
# force_parallel_mode, called debug_parallel_query from PostgreSQL 16
c.execute("SET %s = on" % ("debug_parallel_query" if c.info.server_version >= 160000 else "force_parallel_mode"))
print("parallel after SET", c.execute("SELECT count(*) FROM hyg_t").fetchone()[0])
try:
    c.execute("SELECT app_unlock_dynamic(%s)", [sys.argv[1]])
    print("dynamic accepted")
except psycopg.Error as e:
    print("dynamic", e.sqlstate)
PY
save('review.out', $review);
if ($german)
{
	is(count_lines($review, qr/^input error 22/), 4, 'review: input errors raised (twice in two languages)')
	  or diag($review);
}
else
{
	diag("review: input errors in English only: $no_german");
	is(count_lines($review, qr/^input error 22/), 2, 'review: input errors raised (twice, in English)')
	  or diag($review);
}
like($review, qr/^parallel after SET 1$/m, 'review: parallel queries work after a session SET of parameter logging');
like($review, qr/^dynamic 28EF1$/m, 'review: a key written into dynamic SQL by a wrapper is refused');

# A poller reads pg_stat_activity while 1,000 unlocks run through each channel
my $poller_out = '';
my $poller;
{
	local %ENV = (%ENV, node_env($node, $db));
	$poller = IPC::Run::start([ $py, "$here/poll_activity.py", "$work/activity.txt", "$work/stop" ],
		'>', \$poller_out, '2>&1');
}
select(undef, undef, undef, 0.5);
for my $channel (qw(direct wrapper call prepared))
{
	ok_cmd("libpq: $loops unlocks through $channel", 'loops.out',
		client([ "$here/bind_key", 'loop', $key, $loops, $channel ]));
}
ok_cmd("psycopg 3: $loops unlocks", 'loops.out', client([ $py, "$here/psycopg_client.py", 'loop', $key, $loops ]));
ok_cmd("node-postgres: $loops unlocks", 'loops.out', node_client('loop', $key, $loops));
save('psql_unlocks.sql', "SELECT ef_unlock(1);\n" x $loops);
my ($psql_status, $psql_loop) = q_opts("-c encrypted_field.keys=1:$key", '-f', "$work/psql_unlocks.sql");
ok($psql_status == 0 && count_lines($psql_loop, qr/ERROR:/) == 0, "startup option: $loops unlocks in psql")
  or diag($psql_loop);
my ($conn_failed, $conn_out) = (0, '');
for (1 .. 100)
{
	my ($status, $out) = q_opts("-c encrypted_field.keys=1:$key", '-c', 'SELECT ef_unlock(1)');
	$conn_failed++ if $status != 0;
	$conn_out .= $out;
}
ok($conn_failed == 0 && count_lines($conn_out, qr/ERROR:/) == 0, 'startup option: 100 connections unlocked')
  or diag($conn_out);
save('stop', '');
$poller->finish;
note($poller_out);
my ($busy) = $poller_out =~ /(\d+) while an unlock ran/;
ok(defined $busy && $busy > 0, 'the poller saw unlocks running');
ok(no_leaks("$work/activity.txt"), 'pg_stat_activity holds no form of the key');

my $statements = qry('-c', 'SELECT query FROM pg_stat_statements');
save('statements.txt', $statements);
like($statements, qr/ef_unlock/, 'pg_stat_statements recorded the key statements');
like($statements, qr/CALL app_unlock_proc/, 'pg_stat_statements recorded the procedure call');
ok(no_leaks("$work/statements.txt"), 'pg_stat_statements holds no form of the key');

# Memory: the key page is excluded from core dumps and zeroed by ef_lock()
sub memcheck
{
	my ($pid, $expect) = @_;
	my ($status, $out) = client([ $py, "$here/memcheck.py", $pid // 0, $key, $expect ]);
	note($out);
	return $status == 0;
}

# An interactive psql session given key 1 at connection start: returns the
# session, references to its input and output, and its backend's pid
sub keyed_session
{
	my ($in, $out) = (\(my $i = ''), \(my $o = ''));
	my $session;
	{
		local %ENV = (%ENV, node_env($node, $db), PGOPTIONS => "-c encrypted_field.keys=1:$key");
		$session = IPC::Run::start([ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=0' ],
			'<', $in, '>', $out, '2>&1');
	}
	$$in .= "SELECT 'pid=' || pg_backend_pid();\n";
	wait_output($session, $out, qr/^pid=/m, 5);
	my ($pid) = $$out =~ /^pid=(\d+)/m;
	return ($session, $in, $out, $pid);
}
{
	my ($session, $in, $out, $pid) = keyed_session();
	$$in .= "SELECT ef_unlock(1); SELECT 'unlocked';\n";
	wait_output($session, $out, qr/^unlocked/m, 5);
	ok(memcheck($pid, 'held'), 'memory: the held KEK is in a page excluded from core dumps');
	$$in .= "SELECT ef_lock(); SELECT 'locked';\n";
	wait_output($session, $out, qr/^locked/m, 5);
	ok(memcheck($pid, 'wiped'), 'memory: ef_lock() zeroed the KEK');
	ok(memcheck($pid, 'absent'), 'memory: ef_lock() zeroed the key given at connection start');
	$session->finish;
}

# A key forgotten without ef_lock (the savepoint that unlocked it rolled
# back) leaves no kept copy or key schedule of its KEK behind either
{
	my ($session, $in, $out, $pid) = keyed_session();
	$$in .= "BEGIN; SAVEPOINT s; SELECT ef_unlock(1); SELECT ef_encrypt('kept'::text) IS NOT NULL; SELECT 'encrypted';\n";
	wait_output($session, $out, qr/^encrypted/m, 5);
	ok(memcheck($pid, 'kek-present'), 'memory: a KEK that wrapped a data key is in a key schedule (the control)');
	$$in .= "ROLLBACK TO SAVEPOINT s; SELECT 'rolled back';\n";
	wait_output($session, $out, qr/^rolled back/m, 5);
	ok(memcheck($pid, 'kek-gone'), 'memory: a savepoint rollback that forgets the key leaves nothing of its KEK');
	$$in .= "COMMIT;\n";
	$session->finish;
}

# Memory: the bind parameter the key came from is wiped, and no other copy
# of the key's bytes is left.  A copy that a cursor keeps is found (the
# control: the scan sees a copy where there is one).
for my $mode (qw(clean stray))
{
	my ($in, $out) = ('', '');
	my $client;
	{
		local %ENV = (%ENV, node_env($node, $db));
		$client = IPC::Run::start([ "$here/bind_key", 'memory', $key, $mode ], '<', \$in, '>', \$out, '2>&1');
	}
	wait_output($client, \$out, qr/^pid=/m, 5);
	my ($pid) = $out =~ /^pid=(\d+)/m;
	$in .= "next\n";
	wait_output($client, \$out, qr/^locked/m, 5);
	my $expect = $mode eq 'stray' ? 'present' : 'absent';
	ok(memcheck($pid, $expect), "memory: after ef_lock(), the master key is $expect ($mode unlock)");
	$in .= "next\n";
	$client->finish;
	save("memory.$mode", $out);
}

# Memory: parallel workers hold the leader's keys only for their query.  A
# parallel query decrypts, slowed (pg_sleep per row, about 20 s in all) so
# that its two workers can be read while it runs.  In each worker: the KEK
# is in a page excluded from core dumps and its 32 bytes in no other
# mapping (a copy into ordinary memory fails this; OpenSSL's key schedule
# holds its first 16 bytes only, doc/security.md); the master key is
# nowhere; the hand-over secret, once the worker took the keys, is in none
# of its private mappings, as text (the setting's value, which the worker
# wipes) or raw (what opened the segment).  Its only copy is then the
# parallel context's shared memory, where PostgreSQL serialized the
# leader's settings: the test reads it there, in the leader.  After the
# query the workers have exited (PostgreSQL starts workers per query and
# never reuses them): what a worker kept ends with its process, and its
# forgetting at its parallel commit, just before it exits, cannot be
# observed from outside.  What remains is the leader's: the hand-over
# segment is gone from /dev/shm, the secret is nowhere in the leader's
# memory, text or raw (its setting's text wiped, the parallel context
# detached), and the leader still holds its own KEK.
{
	q_opts("-c encrypted_field.keys=1:$key", '-c', 'SELECT ef_unlock(1)',
		'-c', "CREATE TABLE hyg_par AS SELECT ef_encrypt('parallel ' || g) c FROM generate_series(1, 4000) g",
		'-c', 'ANALYZE hyg_par');
	my ($leader_session, $in, $out, $leader) = keyed_session();
	$$in .= "SELECT ef_unlock(1); SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
		SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
		SET parallel_leader_participation = off; SELECT 'set';\n";
	wait_output($leader_session, $out, qr/^set$/m, 5);
	$$in .= "SELECT 'rows=' || count(*) FROM hyg_par WHERE ef_decrypt(c) IS NOT NULL AND pg_sleep(0.01) IS NOT NULL;\n";
	$leader_session->pump_nb;
	my @workers;
	for (1 .. 100)
	{
		@workers = split /\n/, qry('-c', "SELECT pid FROM pg_stat_activity
			WHERE backend_type = 'parallel worker' AND leader_pid = $leader");
		last if @workers == 2;
		select(undef, undef, undef, 0.1);
	}
	is(scalar @workers, 2, 'parallel: the query runs in two workers');
	# let them pass their ExecutorStart, where they take the keys
	select(undef, undef, undef, 1);
	my ($status, $found) = client([ $py, "$here/memcheck.py", $leader, $key, 'handoff' ]);
	my ($handoff) = $found =~ /^handoff=(\S+)/m;
	ok(defined $handoff, 'parallel: the hand-over setting is in the parallel context, read in the leader')
	  or diag($found);
	$handoff //= '0:' . ('A' x 43) . '=';
	for my $i (0 .. $#workers)
	{
		ok(memcheck($workers[$i], 'only-held'),
			"parallel: worker $i holds the KEK in pages excluded from core dumps, and nowhere else");
		ok(memcheck($workers[$i], 'absent'), "parallel: worker $i has the master key nowhere");
		my ($secret_status, $secret_out) = client([ $py, "$here/memcheck.py", $workers[$i], $key, 'secret-private', $handoff ]);
		note($secret_out);
		ok($secret_status == 0, "parallel: worker $i keeps the hand-over secret in no private memory");
	}
	ok(wait_output($leader_session, $out, qr/^rows=4000$/m, 60), 'parallel: the query decrypted every row')
	  or diag($$out);
	# the postmaster reaps them
	for (1 .. 50)
	{
		last unless grep { kill(0, $_) } @workers;
		select(undef, undef, undef, 0.1);
	}
	ok(!grep({ kill(0, $_) } @workers), 'parallel: the workers exited with the query');
	my ($handle) = $handoff =~ /^(\d+):/;
	ok(!-e "/dev/shm/PostgreSQL.$handle", 'parallel: the hand-over segment is gone');
	my ($after_status, $after_out) = client([ $py, "$here/memcheck.py", $leader, $key, 'secret-absent', $handoff ]);
	note($after_out);
	ok($after_status == 0, 'parallel: after the query, the hand-over secret is nowhere in the leader');
	ok(memcheck($leader, 'held'), 'parallel: after the query, the leader still holds its KEK');
	$$in .= "\\q\n";
	$leader_session->finish;
}

# Not preloaded: keys given at connection start wait in a placeholder that
# SQL can read, so they are refused.  A key statement that loads the
# library is refused when statements are logged and the library came too
# late to take the parameters out (a procedure call loads it only as it
# runs); a SELECT loads it at Bind, before the Execute is logged, and passes.
$db = 'ef_lazy';
qry('-c', 'CREATE PROCEDURE app_unlock_proc(k bytea) LANGUAGE plpgsql AS $$ BEGIN PERFORM ef_unlock(1, k); END $$');
my (undef, $lazy_opt) = q_opts("-c encrypted_field.keys=1:$lazy", '-c', 'SELECT ef_register_key(1)');
like($lazy_opt, qr/master keys given at connection start were refused/,
	'not preloaded: keys waiting in a placeholder are refused');
ok(same(qry('-c', 'SELECT count(*) FROM ef_keys'), '0'), 'not preloaded: nothing was registered');
my (undef, $lazy_out) = client([ $py, '-c', <<'PY', $lazy ]);
import sys, psycopg
key = bytes.fromhex(sys.argv[1])
for sqls in (["CALL app_unlock_proc(%s)", "SELECT ef_register_key(1, %s)"], ["SELECT ef_unlock(1, %s)"]):
    c = psycopg.connect("", autocommit=True)
    for sql in sqls:
        try:
            c.execute(sql, [key])
            print("accepted:", sql)
        except psycopg.Error as e:
            print(e.sqlstate, e.diag.message_primary)
    c.close()
PY
note($lazy_out);
like($lazy_out, qr/^28EF1 master key 1 may have been written to the server log/m,
	'not preloaded: a procedure call that loads the library is refused (28EF1)');
like($lazy_out, qr/^accepted: SELECT ef_register_key/m, 'not preloaded: once loaded, the key registers');
like($lazy_out, qr/^accepted: SELECT ef_unlock/m, 'not preloaded: a SELECT that loads the library unlocks');

# The server log, read last, after every statement above
my $log = slurp_file($node->logfile);
my $log_copy = save('server.log', $log);
ok($log =~ qr/statement: SELECT 'hygiene canary statement'/,
	'the log has the canary statement (log_statement = all is on)');
ok($log =~ qr{statement: /\* ef_unlock \*/ SELECT 'comment canary statement'},
	'a comment naming a key function hides nothing');
SKIP:
{
	skip($no_german, 1) unless $german;
	ok($log =~ qr/Anweisung: SELECT/, 'the log has German lines');
}
ok($log !~ qr/hygiene parameter canary/, 'a plaintext bind parameter is nowhere in the log');
ok($log !~ qr/review plaintext|review first line|review second line/,
	'review: no plaintext parameter of cursors, input errors or SET is in the log');
ok($log =~ qr/SELECT length\(\$1\)/, 'the log has the statement of that parameter');
ok($log !~ qr/not-hex/, 'a parameter that failed to convert: its value is not in the log');
ok($log =~ qr/message hidden by encrypted_field: it may quote a bind parameter/,
	'a parameter that failed to convert: its message is hidden');
ok($log =~ qr/plan: <plan hidden by encrypted_field/, 'the log has hidden plans');
ok($log =~ qr/plan:$/m, 'the log has auto_explain plans of other statements');
ok($log =~ qr/encrypted_field: master key 1 unlock failed/, 'the log has the audit lines');
ok(leaks($key, $log_copy), 'the log holds no form of the key');
ok(leaks($wrong, $log_copy), 'the log holds no form of the wrong key');
# its parameters: on the Bind message's duration line and the execute line
is(scalar(() = $log =~ /$lazy/g), 2,
	"not preloaded: the lazy key reached the log only as the refused call's parameters");

$node->safe_psql('postgres', 'DROP DATABASE ef_pre; DROP DATABASE ef_lazy;');
$node->stop;
done_testing();

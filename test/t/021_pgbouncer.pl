# Connection pooling with PgBouncer, one server connection shared by every
# client: in transaction mode a transaction-scoped key never serves the next
# client, while a session-scoped key would (which is why the README says to
# use transaction scope there); in session mode DISCARD ALL, sent between
# clients, forgets every key.  PgBouncer passes no startup options, so the
# keys go as bind parameters (test/ops/bind_client.py, psycopg 3); a key in
# SQL text is refused.  Runs where the pgbouncer program is found (PATH,
# /usr/sbin, or EF_PGBOUNCER), and is skipped otherwise.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

my ($pgbouncer) = grep { defined && -x }
  ($ENV{EF_PGBOUNCER}, map { "$_/pgbouncer" } split(/:/, $ENV{PATH}), '/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer');
plan skip_all => 'pgbouncer is not installed (Debian: apt-get install pgbouncer; or set EF_PGBOUNCER)'
  unless $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('pgbouncer');
$node->init;
$node->append_conf('postgresql.conf', 'log_statement = none');
$node->start;
# PgBouncer's socket directory and port
my $dir = PostgreSQL::Test::Utils::tempdir_short;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $user = getpwuid($<);
my $key = random_key();

# PgBouncer passes no startup options (encrypted_field.keys) to the server:
# every key goes as a bind parameter, sent by a psycopg client as an
# application sends it (psql 15 cannot).  Returns status and output.
sub bind_client
{
	my ($conninfo, @statements) = @_;
	my ($status, $out, $err) = run_cmd([ $EFTest::python, 'test/ops/bind_client.py', $conninfo, @statements ],
		env => { node_env($node, 'app'), EF_KEY => $key });
	return ($status, $out . $err);
}

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION encrypted_field');
my ($status, $setup) = bind_client('dbname=app', 'SELECT ef_register_key(1, %(key)s)',
	'SELECT ef_unlock(1, %(key)s)', "CREATE TABLE t AS SELECT ef_encrypt('pooled secret') AS v");
ok($status == 0, 'setup: the key, a bind parameter, is registered and encrypts a value') or diag($setup);

# run pgbouncer in a mode; every client then shares one server connection
my $socket = "$dir/.s.PGSQL.$port";
sub bouncer
{
	my ($mode) = @_;
	my ($host, $pgport) = ($node->host, $node->port);
	open my $ini, '>', "$dir/pgbouncer.ini" or die $!;
	print $ini <<INI;
[databases]
app = host=$host port=$pgport dbname=app user=$user
[pgbouncer]
listen_addr =
unix_socket_dir = $dir
listen_port = $port
auth_type = trust
auth_file = $dir/users.txt
pool_mode = $mode
default_pool_size = 1
max_client_conn = 10
server_reset_query = DISCARD ALL
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
	close $ini;
	open my $users, '>', "$dir/users.txt" or die $!;
	print $users "\"$user\" \"\"\n";
	close $users;
	system($pgbouncer, '-d', "$dir/pgbouncer.ini") == 0 or return 0;
	for (1 .. 50)
	{
		return 1 if -S $socket;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}
sub bouncer_pid
{
	open my $fh, '<', "$dir/pgbouncer.pid" or return;
	my $pid = <$fh>;
	chomp $pid;
	return $pid;
}
sub stop_bouncer
{
	my $pid = bouncer_pid();
	kill 'TERM', $pid if $pid;
	for (1 .. 50)
	{
		return unless -S $socket;
		select(undef, undef, undef, 0.1);
	}
}
END { stop_bouncer() if -S $socket; }
# a client through the pooler: its own connection, then disconnect;
# returns its output (standard output, then standard error)
sub client
{
	my ($args, %env) = @_;
	my (undef, $out, $err) = run_cmd([ 'psql', '-X', '-q', '-At', '-d', 'app', @$args ],
		env => { PGHOST => $dir, PGPORT => $port, %env });
	chomp $out;
	return $out . $err;
}
# a server pid and a result, as "pid|result"; a psql error is neither
sub pid_of { my ($r) = @_; return ($r // '') =~ /^(\d+)\|/ ? $1 : ''; }
sub result_of { my ($r) = @_; return ($r // '') =~ /^[^|]*\|(.*)$/s ? $1 : ''; }
# a client sending the key as a bind parameter through the pooler
sub bound { return (bind_client("host=$dir port=$port dbname=app", @_))[1]; }
sub lines { my ($text) = @_; return split /\n/, $text; }

ok(bouncer('transaction'), 'transaction mode: PgBouncer starts');
# what a psql user might try: the key in the statement's text is refused,
# and so is a key in the startup options, which PgBouncer does not pass on
my $lit = client([ '-v', 'VERBOSITY=verbose', '-c', "SELECT ef_unlock(1, decode('$key', 'hex'), 'transaction')" ]);
like($lit, qr/ERROR:  28EF1:/, 'transaction mode: a key written into SQL text is refused (28EF1)');
my $opt = client([ '-c', "SELECT ef_unlock(1, NULL, 'transaction')", '-c', 'SELECT ef_decrypt(v) FROM t' ],
	PGOPTIONS => "-c encrypted_field.keys=1:$key");
ok($opt !~ /pooled secret/ && $opt =~ /unsupported startup parameter|no master key given/,
	'transaction mode: a key given at connection start does not pass PgBouncer')
  or diag($opt);
# client A unlocks with the key as a bind parameter, scope transaction,
# decrypts, commits, and looks again in its next transaction
my @a = lines(bound("SELECT ef_unlock(1, %(key)s, 'transaction')",
	"SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t", 'COMMIT',
	"SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()"));
my $a_next = $a[-1];
my $ra = $a[1];
my $rb = client([ '-c', "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()" ]);
ok(same(result_of($ra), 'pooled secret'),
	'transaction mode: client A decrypted within its transaction, the key a bind parameter');
ok(same(pid_of($a_next), pid_of($ra)), "transaction mode: A's next transaction ran on the same server connection");
ok(same(result_of($a_next), '0'), "transaction mode: A's next transaction holds no key");
ok(same(pid_of($rb), pid_of($ra)), 'transaction mode: client B got the same server connection');
ok(same(result_of($rb), '0'), "transaction mode: B holds no key from A's transaction-scoped unlock");
my $c = client([ '-c', 'SELECT ef_decrypt(v) FROM t' ]);
like($c, qr/no master key is unlocked in this session/, 'transaction mode: B cannot decrypt');

# the hazard the README warns of: a session-scoped key outlives its client
bound('SELECT ef_unlock(1, %(key)s)');
my $d = client([ '-c', 'SELECT ef_decrypt(v) FROM t' ]);
ok(same($d, 'pooled secret'), 'transaction mode: a session-scoped key would serve the next client');
client([ '-c', 'SELECT ef_lock()' ]);
stop_bouncer();

ok(bouncer('session'), 'session mode: PgBouncer starts');
my $e = (lines(bound('SELECT ef_unlock(1, %(key)s)', "SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t")))[-1];
my $f = client([ '-c', "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()" ]);
ok(same(result_of($e), 'pooled secret'), 'session mode: client A decrypted with a session-scoped key');
ok(same(pid_of($f), pid_of($e)), 'session mode: client B got the same server connection');
ok(same(result_of($f), '0'), "session mode: DISCARD ALL between clients forgot A's key");
ok(slurp_file($node->logfile) =~ /encrypted_field: locked by DISCARD ALL; master keys forgotten: 1/,
	'session mode: the server log records the DISCARD ALL');
stop_bouncer();

$node->stop;
my $log = -s $node->logfile ? slurp_file($node->logfile) : '';
ok($log ne '' && $log !~ /\Q$key\E/i, 'no key material in the server log');
done_testing();

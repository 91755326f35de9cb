#-------------------------------------------------------------------------
#
# EFCitus.pm
#		A Citus cluster for the TAP suites: a coordinator and workers
#
# Each node is a PostgreSQL::Test::Cluster listening on 127.0.0.1 (the
# nodes reach each other there, with trust authentication), with Citus
# loaded first and encrypted_field second, every statement in its log
# (log_statement = all, citus.log_remote_commands = on, so a log shows what
# the coordinator sent to the workers), and the citus extension created in
# the database postgres.  The workers join with citus_add_node; a worker can
# join later.  Citus must be installed in the PostgreSQL under test
# (scripts/citus.sh installs it into Debian's 15): see citus_missing.
#
# SQL runs through a psycopg 3 client (ef_sql), which returns rows or the
# error (SQLSTATE and message) of every statement, and passes master keys
# as bind parameters: a key never appears in SQL text.
#
# IDENTIFICATION
#		test/perl/EFCitus.pm
#
#-------------------------------------------------------------------------
# Copyright (c) 2026, The encrypted_field Authors
package EFCitus;

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

our @EXPORT = qw(citus_missing citus_cluster citus_add_worker citus_node
  ef_sql ef_rows ef_value ef_error all_nodes node_logs_leak);

# The address the nodes listen on and reach each other at
our $host = '127.0.0.1';
# The database the suites use on every node
our $db = 'postgres';

# Why Citus cannot run here (a message for skip_all), or undef if it can:
# the PostgreSQL first in PATH must have the citus extension and library
sub citus_missing
{
	my $version = `pg_config --version`;
	chomp $version;
	return "Citus is not installed in $version (scripts/citus.sh installs Citus 13.2.2 into Debian's PostgreSQL 15; Citus 13 supports PostgreSQL 15 to 17)"
	  unless have_extension('citus') && -f pg_config('pkglibdir') . '/citus.so';
	return "python3 with psycopg 3 is needed ($EFTest::python; Debian: apt-get install python3-psycopg)"
	  if system($EFTest::python, '-c', 'import psycopg') != 0;
	return undef;
}

# A started node with Citus and encrypted_field preloaded and the citus
# extension created; not yet in any cluster.  Extra postgresql.conf lines
# may follow the name.
sub citus_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"listen_addresses = '$host'",
		# Citus must come first
		"shared_preload_libraries = 'citus,encrypted_field'",
		# Citus commits writes to several nodes with two-phase commit
		'max_prepared_transactions = 20',
		'log_statement = all',
		'citus.log_remote_commands = on',
		'log_min_messages = info',
		'log_error_verbosity = verbose',
		# time, pid, application (citus_internal marks Citus's own
		# connections), user, database, the client's address
		"log_line_prefix = '%m [%p] %q%a %u\@%d %h '",
		'log_connections = on',
		'citus.enable_statistics_collection = off',
		@conf) . "\n");
	$node->append_conf('pg_hba.conf', "host all all $host/32 trust\n");
	$node->start;
	$node->safe_psql($db, 'CREATE EXTENSION citus');
	return $node;
}

# A coordinator and WORKERS workers (default 2), named by PREFIX (default
# citus): the coordinator is in the metadata (citus_set_coordinator_host)
# and every worker is active.  Returns { coordinator => node, workers =>
# [ nodes ] }.
sub citus_cluster
{
	my (%o) = @_;
	my $prefix = $o{prefix} // 'citus';
	my $cluster = {
		coordinator => citus_node("${prefix}_coordinator"),
		workers => [],
		prefix => $prefix,
	};
	my $c = $cluster->{coordinator};
	$c->safe_psql($db,
		"SELECT citus_set_coordinator_host('$host', " . $c->port . ')');
	citus_add_worker($cluster) for 1 .. ($o{workers} // 2);
	return $cluster;
}

# Start one more worker and add it to the cluster (citus_add_node on the
# coordinator, which syncs the metadata and the distributed objects, such
# as extensions, to it).  Returns the node.
sub citus_add_worker
{
	my ($cluster) = @_;
	my $n = @{ $cluster->{workers} } + 1;
	my $w = citus_node("$cluster->{prefix}_worker$n");
	$cluster->{coordinator}->safe_psql($db,
		"SELECT citus_add_node('$host', " . $w->port . ')');
	push @{ $cluster->{workers} }, $w;
	return $w;
}

# The coordinator, then the workers
sub all_nodes
{
	my ($cluster) = @_;
	return ($cluster->{coordinator}, @{ $cluster->{workers} });
}

# The client ef_sql runs: one connection, autocommit (BEGIN and COMMIT as
# statements make a transaction), every statement's rows or error as one
# JSON line.  %(name)s in a statement is the key given as name, a bytea
# bind parameter.
my $client = <<'PY';
import json, os, sys
import psycopg
keys = {k: bytes.fromhex(v) for k, v in json.loads(os.environ.get("EF_KEYS", "{}")).items()}
with psycopg.connect(sys.argv[1], autocommit=True, prepare_threshold=None) as conn:
    for statement in sys.argv[2:]:
        used = {k: v for k, v in keys.items() if "%(" + k + ")s" in statement}
        try:
            cur = conn.execute(statement, used or None)
            rows = [[None if v is None else str(v) for v in row] for row in cur.fetchall()] if cur.description else []
            print(json.dumps({"rows": rows}))
        except psycopg.Error as e:
            print(json.dumps({"error": {"sqlstate": e.sqlstate, "message": e.diag.message_primary}}))
        sys.stdout.flush()
PY

# Run statements on a node, in order, on one connection.  Options: keys =>
# { name => hex key } (a statement names one as %(name)s, which goes as a
# bytea bind parameter; a literal % in such a statement is written %%),
# options => startup options (PGOPTIONS, e.g. key_options(...)), db =>
# database.  Returns one result per statement: { rows => [ [ values ] ] }
# or { error => { sqlstate, message } }; values are text, NULL undef.  A
# client that fails altogether yields { error => { sqlstate => 'client',
# message => its standard error } } for the statements it did not report.
sub ef_sql
{
	my ($node, $statements, %o) = @_;
	my @statements = ref $statements ? @$statements : ($statements);
	my $conninfo = "host=$host port=" . $node->port . ' dbname=' . ($o{db} // $db);
	my ($status, $out, $err) = run_cmd([ $EFTest::python, '-c', $client, $conninfo, @statements ],
		env => {
			EF_KEYS => encode_json($o{keys} // {}),
			PGOPTIONS => $o{options},
			PGAPPNAME => $o{application} // 'ef_test',
		});
	my @results = map { decode_json($_) } grep { /^\{/ } split /\n/, $out;
	push @results, { error => { sqlstate => 'client', message => $err } }
	  while @results < @statements;
	return @results;
}

# The rows of one statement (undef on error, with the error as a diag)
sub ef_rows
{
	my ($node, $sql, %o) = @_;
	my ($r) = ef_sql($node, [$sql], %o);
	if ($r->{error})
	{
		diag("$sql: ERROR $r->{error}{sqlstate}: $r->{error}{message}");
		return undef;
	}
	return $r->{rows};
}

# The first value of one statement's first row (undef on error or no row)
sub ef_value
{
	my ($rows) = ef_rows(@_);
	return $rows && @$rows ? $rows->[0][0] : undef;
}

# The error of one statement, as "SQLSTATE: message" (undef if none)
sub ef_error
{
	my ($node, $sql, %o) = @_;
	my ($r) = ef_sql($node, [$sql], %o);
	return $r->{error} ? "$r->{error}{sqlstate}: $r->{error}{message}" : undef;
}

# Does any node's log hold a key in any encoding: hex in either case (which
# covers bytea's \x escape), base64, and every 16-byte run of it in hex
# (test/hygiene/leaks.py, as EFTest::leaks)?  Returns the names of the logs
# that do; an empty list if none does.
sub node_logs_leak
{
	my ($cluster, @keys) = @_;
	my @leaking;
	for my $node (all_nodes($cluster))
	{
		for my $key (@keys)
		{
			next if leaks($key, $node->logfile);
			push @leaking, $node->name;
			last;
		}
	}
	return @leaking;
}

1;

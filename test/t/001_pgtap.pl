# The pgTAP suite, test/*.sql, on a cluster of its own: the files open other
# sessions with dblink, which are given the tap keys at connection start as
# this one is (libpq in the server reads PGOPTIONS from the server's
# environment); test/sessions.sql prepares transactions; test/audit_log.sql
# reads the server log as $PGDATA/server.log.  Each pgTAP assertion is
# reported as one of this test.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

plan skip_all => 'pgTAP is not installed in ' . pg_config('sharedir') . '/extension'
  unless have_extension('pgtap');

# this process's sessions and, through the server's environment, the
# sessions dblink opens
$ENV{PGOPTIONS} = tap_options();

my $node = PostgreSQL::Test::Cluster->new('pgtap');
$node->init;
# PostgreSQL's default log_statement: statements the files write keys into,
# to see them refused, must not be logged whole
$node->append_conf('postgresql.conf', "max_prepared_transactions = 4\nlog_statement = none");
log_in_data_dir($node);
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE ef_tap');
$node->safe_psql('ef_tap', 'CREATE EXTENSION pgtap; CREATE EXTENSION dblink;');
# PGTAP_TESTS, as for make pgtap, names the files to run instead of all
pgtap_files($node, 'ef_tap',
	$ENV{PGTAP_TESTS} ? split(' ', $ENV{PGTAP_TESTS}) : sort glob('test/*.sql'));

$node->stop;
done_testing();

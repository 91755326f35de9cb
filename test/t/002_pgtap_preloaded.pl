# The pgTAP files that need the library in shared_preload_libraries,
# test/preloaded/*.sql (a committed rotation is counted in shared memory),
# on a cluster of its own; keys as in 001_pgtap.pl.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

plan skip_all => 'pgTAP is not installed in ' . pg_config('sharedir') . '/extension'
  unless have_extension('pgtap');

$ENV{PGOPTIONS} = tap_options();

my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'encrypted_field'\nlog_statement = none");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE ef_tap');
$node->safe_psql('ef_tap', 'CREATE EXTENSION pgtap; CREATE EXTENSION dblink;');
pgtap_files($node, 'ef_tap', sort glob('test/preloaded/*.sql'));

$node->stop;
done_testing();

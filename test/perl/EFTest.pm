#-------------------------------------------------------------------------
#
# EFTest.pm
#		Helpers shared by the TAP suites under test/t
#
# The suites run with prove from the project root (make prove_installcheck),
# against the PostgreSQL whose bin directory is first in PATH, and create
# their own clusters with PostgreSQL::Test::Cluster as the calling user.
#
# IDENTIFICATION
#		test/perl/EFTest.pm
#
#-------------------------------------------------------------------------
# Copyright (c) 2026, The encrypted_field Authors
package EFTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(basename);
use IPC::Run;
use TAP::Parser;
use Test::More;

our @EXPORT = qw(random_key key_options tap_options run_cmd psql_cmd
  leaks node_env log_in_data_dir pgtap_files pg_config have_extension
  wait_output same);

# Keys given at connection start come from PGOPTIONS where a suite sets it,
# never from the caller's environment
delete $ENV{PGOPTIONS};

# Python with psycopg, as the clients under test/ expect (Debian's packages)
our $python = '/usr/bin/python3';

# A fresh random master key, as 64 hex digits
sub random_key
{
	open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
	read($fh, my $bytes, 32) == 32 or die "short read from /dev/urandom";
	close $fh;
	return unpack('H*', $bytes);
}

# The startup options that give master keys (id => hex, ...) at connection
# start, with the library loaded as the session starts
sub key_options
{
	my (%keys) = @_;
	my $keys = join(',', map { "$_:$keys{$_}" } sort { $a <=> $b } keys %keys);
	return "-c session_preload_libraries=encrypted_field -c encrypted_field.keys=$keys";
}

# The startup options that give the fixed pgTAP test keys (test/keys.sh)
sub tap_options
{
	my $keys = `sh test/keys.sh tap`;
	die "test/keys.sh failed" if $? || $keys !~ /\S/;
	chomp $keys;
	return "-c session_preload_libraries=encrypted_field -c encrypted_field.keys=$keys";
}

# Are two non-empty strings equal?
sub same
{
	my ($got, $want) = @_;
	return defined $got && $got ne '' && $got eq $want;
}

# Run a command.  Returns its exit status (0 for success; -1 if it could not
# be started), its standard output and its standard error.  Options:
# env => { NAME => value, or undef to unset }, stdin => text.
sub run_cmd
{
	my ($cmd, %o) = @_;
	my ($out, $err) = ('', '');
	my $in = $o{stdin} // '';
	local %ENV = %ENV;
	while (my ($k, $v) = each %{ $o{env} // {} })
	{
		if (defined $v) { $ENV{$k} = $v; }
		else { delete $ENV{$k}; }
	}
	my $status = eval {
		IPC::Run::run($cmd, '<', \$in, '>', \$out, '2>', \$err);
		$? >> 8;
	};
	if (!defined $status)
	{
		$err .= "could not run $cmd->[0]: $@";
		$status = -1;
	}
	return ($status, $out, $err);
}

# The libpq environment that reaches a node's database
sub node_env
{
	my ($node, $db) = @_;
	return (PGHOST => $node->host, PGPORT => $node->port,
		PGDATABASE => $db // 'postgres');
}

# psql -X -q -At with ARGS against a node's database (env => extra
# environment, stdin => input); returns status, stdout and stderr
sub psql_cmd
{
	my ($node, $db, $args, %o) = @_;
	return run_cmd([ 'psql', '-X', '-q', '-At', @$args ],
		env => { node_env($node, $db), %{ $o{env} // {} } },
		stdin => $o{stdin});
}

# Does a text file hold any form of a key?  (test/hygiene/leaks.py: hex in
# either case, base64, any 16-byte run)  True when it holds none.
sub leaks
{
	my ($key, $file) = @_;
	my ($status, $out, $err) =
	  run_cmd([ $python, 'test/hygiene/leaks.py', $key, $file ]);
	diag($out . $err) if $status;
	return $status == 0;
}

# A value of pg_config, of the PostgreSQL first in PATH
sub pg_config
{
	my ($option) = @_;
	my $v = `pg_config --$option`;
	die "pg_config --$option failed" if $?;
	chomp $v;
	return $v;
}

# Is an extension installed in that PostgreSQL?
sub have_extension
{
	my ($name) = @_;
	return -f pg_config('sharedir') . "/extension/$name.control";
}

# Make the node's log readable as $PGDATA/server.log, as the pgTAP files
# that read the log expect (pg_read_file('server.log')); call before start
sub log_in_data_dir
{
	my ($node) = @_;
	symlink($node->logfile, $node->data_dir . '/server.log')
	  or die "symlink server.log: $!";
}

# Pump a started IPC::Run harness until its output matches a pattern, for
# up to SECONDS (default 30); true if it did
sub wait_output
{
	my ($h, $out, $re, $seconds) = @_;
	my $until = time + ($seconds // 30);
	while ($$out !~ $re)
	{
		return 0 if time > $until || !$h->pumpable;
		$h->pump_nb;
		select(undef, undef, undef, 0.05);
	}
	return 1;
}

# Run pgTAP files in a node's database with psql, as pg_prove runs them, and
# report each of their assertions as one of this test, named by the file
# and its description; then, for each file, that it ran its whole plan and
# psql exited 0.  The session's environment (PGOPTIONS) is the caller's.
sub pgtap_files
{
	my ($node, $db, @files) = @_;
	for my $file (@files)
	{
		my $name = basename($file);
		my ($status, $out, $err) = run_cmd(
			[
				'psql', '--no-psqlrc', '--no-align', '--quiet',
				'--pset', 'pager=off', '--pset', 'tuples_only=true',
				'--set', 'ON_ERROR_STOP=1', '--file', $file
			],
			env => { node_env($node, $db) });
		my $parser = TAP::Parser->new({ tap => $out });
		my $failed = 0;
		while (my $r = $parser->next)
		{
			# pgTAP's diagnostics of a failed assertion follow it
			diag($r->as_string) if $failed && $r->is_comment;
			next unless $r->is_test;
			$failed = !$r->is_ok;
			my $desc = $r->description;
			$desc =~ s/^-\s*//;
			$desc = "$name: " . ($desc eq '' ? 'test ' . $r->number : $desc);
			if ($r->has_skip)
			{
			  SKIP: { skip("$desc: " . $r->explanation, 1); }
			}
			elsif ($r->has_todo)
			{
				my $b = Test::More->builder;
				$b->todo_start($r->explanation);
				ok($r->is_actual_ok, $desc);
				$b->todo_end;
			}
			else
			{
				ok($r->is_ok, $desc);
			}
		}
		my $planned = $parser->tests_planned // 0;
		ok($parser->is_good_plan && $planned > 0 && $status == 0,
			"$name: ran its plan of $planned tests, psql exited 0")
		  or diag("psql exited $status; tests run: " . $parser->tests_run . "\n$err");
	}
	return;
}

1;

# Upgrades from each release, 0.1.0 and 0.2.0, to the version in this tree:
#  - values the release's build wrote (the committed fixture) read back with
#    this build;
#  - a database created at 0.1.0 and brought up with ALTER EXTENSION UPDATE
#    keeps every value, term and index, and ends with the same objects, down
#    to each function's flags, grants and comments, as a fresh install;
#  - when the release's commit is at hand (this clone's git, or the one
#    EF_GIT_DIR names), the real path: the release is built from git, writes
#    data with its own library under shared_preload_libraries, the server
#    restarts on this build, and the data survives ALTER EXTENSION UPDATE.
# The cluster runs on a private copy of the installation (server programs
# copied, the rest linked), so that the release's build can be put in place
# and taken away again without writing into the real one.
# The release's library takes the master key in the statement's text; this
# build refuses it there (SQLSTATE 28EF1) and, psql 15 sending no bind
# parameters, its sessions give the key at connection start instead.
# EF_UPGRADE_WRITE_FIXTURE=VERSION rewrites that release's fixture with its
# build instead of testing.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

# each release, its commit, and the PostgreSQL major versions it was built
# for: against others, a release that does not build is skipped, not failed
my @releases = (
	[ '0.1.0', 'b91251d1aba5b7c18a4663ff807fd0a155f6601b', [15] ],    # tag v0.1.0
	[ '0.2.0', '03eaad4ccb347c1e14999554dd151ef8ea81c1b8', [15] ],
);
my ($release, $release_commit, %release_majors, $fixture, $node);
my ($current) = slurp_file('encrypted_field.control') =~ /^default_version = '(.*)'/m;
# a public test key: the fixture is readable by design
my $key = do
{
	my (undef, $out) = run_cmd([ 'sha256sum' ], stdin => 'encrypted_field upgrade fixture');
	substr($out, 0, 64);
};
my $base = PostgreSQL::Test::Utils::tempdir;

# git, in this clone or the one EF_GIT_DIR names
sub git
{
	my (@args) = @_;
	my @git = ('git', $ENV{EF_GIT_DIR} ? ('--git-dir', $ENV{EF_GIT_DIR}) : ());
	return run_cmd([ @git, @args ]);
}
sub have_release { return (git('cat-file', '-e', "$release_commit^{commit}"))[0] == 0; }

# The private installation
my %real = map { $_ => pg_config($_) } qw(bindir pkglibdir sharedir);
my $pg_config = "$real{bindir}/pg_config";
my $shadow = "$base/install";
my %mine = map { $_ => "$shadow$real{$_}" } keys %real;
die "the bin directory $real{bindir} is not named bin\n" unless basename($real{bindir}) eq 'bin';
make_path(values %mine, "$mine{sharedir}/extension");
# the server and pg_ctl, which starts the server beside it, are copies:
# PostgreSQL finds its lib and share directories relative to its program
for my $f (glob("$real{bindir}/*"))
{
	my $to = "$mine{bindir}/" . basename($f);
	if (basename($f) =~ /^(postgres|pg_ctl)$/)
	{
		copy($f, $to) && chmod(0755, $to) or die "copy $f: $!";
	}
	else
	{
		symlink($f, $to) or die "symlink $f: $!";
	}
}
for my $f (glob("$real{pkglibdir}/*"))
{
	next if basename($f) =~ /^encrypted_field\./ || -e "$mine{pkglibdir}/" . basename($f);
	symlink($f, "$mine{pkglibdir}/" . basename($f)) or die "symlink $f: $!";
}
for my $f (glob("$real{sharedir}/*"))
{
	next if basename($f) eq 'extension';
	symlink($f, "$mine{sharedir}/" . basename($f)) or die "symlink $f: $!";
}
for my $f (glob("$real{sharedir}/extension/*"))
{
	next if basename($f) =~ /^encrypted_field[.-]/;
	symlink($f, "$mine{sharedir}/extension/" . basename($f)) or die "symlink $f: $!";
}

# Put a build's library and extension files in the private installation
# (over what is there, as make install does)
sub install_build
{
	my ($pkglibdir, $sharedir) = @_;
	my @files = ("$pkglibdir/encrypted_field.so", glob("$sharedir/extension/encrypted_field[.-]*"));
	return 0 unless -f $files[0] && @files > 2;
	for my $f (@files)
	{
		my $to = ($f =~ /\.so$/ ? $mine{pkglibdir} : "$mine{sharedir}/extension") . '/' . basename($f);
		unlink $to;
		symlink($f, $to) or return 0;
	}
	return 1;
}
my $release_installed = 0;
# this build: the one installed where pg_config says
sub install_current
{
	unlink glob("$mine{pkglibdir}/encrypted_field.*"), glob("$mine{sharedir}/extension/encrypted_field[.-]*");
	$release_installed = 0;
	return install_build($real{pkglibdir}, $real{sharedir});
}
# Build the release from its commit and install it over this build
sub install_release
{
	my $src = "$base/release-$release";
	my $dest = "$base/release-$release-install";
	make_path($src);
	my ($status, $archive, $err) = git('archive', $release_commit);
	return 0 if $status;
	($status) = run_cmd([ 'tar', '-x', '-C', $src ], stdin => $archive);
	return 0 if $status;
	my ($make, $out);
	($make, $out, $err) = run_cmd([ 'make', '-C', $src, "PG_CONFIG=$pg_config" ]);
	($make, $out, $err) = run_cmd([ 'make', '-C', $src, "PG_CONFIG=$pg_config", "DESTDIR=$dest", 'install' ])
	  if $make == 0;
	if ($make != 0)
	{
		# a release that fails against a major it was not made for is
		# skipped by the caller, without pages of compiler errors
		diag("building $release failed:\n$err") if $release_majors{ $node->pg_version->major };
		return 0;
	}
	$release_installed = 1;
	return install_build("$dest$real{pkglibdir}", "$dest$real{sharedir}");
}
install_current() or die "encrypted_field is not installed in $real{pkglibdir}: run make install\n";

# psql -X -q -At -v ON_ERROR_STOP=1 in a database with extra environment:
# status, standard output (chomped), standard error
sub psql_db
{
	my ($db, $args, %env) = @_;
	my ($status, $out, $err) =
	  psql_cmd($node, $db, [ '-v', 'ON_ERROR_STOP=1', @$args ], env => \%env);
	chomp $out;
	diag($err) if $status && $err ne '';
	return ($status, $out, $err);
}
sub qo { my ($db, @args) = @_; return (psql_db($db, \@args))[1]; }
sub q_ok { my ($db, @args) = @_; return (psql_db($db, \@args))[0] == 0; }

# How a session gives key 1 to the library installed.  The release's takes
# it as an argument, in the statement's text, as applications of 0.1.0 and
# 0.2.0 passed it.  This build takes it at connection start
# (encrypted_field.keys, the library loaded as the session starts) when the
# key argument is NULL; the NULL is written out because the releases' SQL
# functions, still in place before ALTER EXTENSION UPDATE, have no default
# for it.
sub key_arg { return $release_installed ? "decode('$key', 'hex')" : 'NULL'; }
sub key_env { return $release_installed ? () : (PGOPTIONS => key_options(1 => $key)); }
# as psql_db, in a session holding key 1
sub qk
{
	my ($db, @args) = @_;
	return psql_db($db, [ '-c', 'SELECT ef_unlock(1, ' . key_arg() . ')', @args ], key_env());
}

# A database at the release's version, holding every case, written by
# whichever library is installed
sub write_release_db
{
	my ($db, $clause) = @_;
	return q_ok('postgres', '-c', "CREATE DATABASE $db")
	  && (psql_db($db, [ '-c', "CREATE EXTENSION encrypted_field $clause",
			'-c', 'SELECT ef_register_key(1, ' . key_arg() . ", 'upgrade test key')",
			'-f', 'test/upgrade/cases.sql', '-c', 'SELECT ef_unlock(1, ' . key_arg() . ')',
			'-f', 'test/upgrade/write.sql' ], key_env()))[0] == 0;
}
# every value decrypts to its case: the faults test/upgrade/verify.sql
# finds, none
sub no_faults
{
	my ($db) = @_;
	my ($status, $faults) = qk($db, '-f', 'test/upgrade/verify.sql');
	if ($status)
	{
		diag("could not verify $db");
		return 0;
	}
	$faults = join("\n", grep { $_ ne '' } split /\n/, $faults);
	return 1 if $faults eq '';
	diag($faults);
	return 0;
}
sub version_of { return qo($_[0], '-c', "SELECT extversion FROM pg_extension WHERE extname = 'encrypted_field'"); }
# The extension's objects as pg_dump's binary-upgrade mode writes them: every
# member with its definition, flags, grants and comment.  OIDs and xids,
# which differ between any two databases, are masked.
sub objects
{
	my ($db) = @_;
	my ($status, $dump) = run_cmd([ 'pg_dump', '--binary-upgrade', '--schema-only', '-d', $db ],
		env => { node_env($node, $db) });
	return '' if $status;
	my @lines;
	for (split /\n/, $dump)
	{
		next if /^\\restrict|^\\unrestrict|binary_upgrade_set_next|^--|^$/;
		s/[0-9]{3,}/N/g if /binary_upgrade_create_empty_extension|relfrozenxid|WHERE oid =/;
		push @lines, "$_\n";
	}
	return join('', @lines);
}
sub same_objects
{
	my ($db, $other) = @_;
	my ($a_ddl, $b_ddl) = ("$base/$db.ddl", "$base/$other.ddl");
	for ([ $a_ddl, $db ], [ $b_ddl, $other ])
	{
		open my $fh, '>', $_->[0] or die "$_->[0]: $!";
		print $fh objects($_->[1]);
		close $fh;
	}
	return 0 unless -s $a_ddl;
	my ($status, $diff) = run_cmd([ 'diff', '-u', $b_ddl, $a_ddl ]);
	diag($diff) if $status;
	return $status == 0;
}
# an index scan finds a value written before the upgrade
sub index_finds
{
	my ($db) = @_;
	my $query = "SELECT label FROM upgrade_values
		WHERE label LIKE 'search%' AND value = ef_term('alice\@example.org'::text, 'email')";
	my (undef, $plan) = qk($db, '-c', 'SET enable_seqscan = off', '-c', "EXPLAIN (COSTS OFF) $query");
	my (undef, $found) = qk($db, '-c', 'SET enable_seqscan = off', '-c', $query);
	$found = (split /\n/, $found)[-1] // '';
	return index($plan, 'upgrade_values_terms') >= 0 && same($found, 'search exact');
}
# rotate the index key of a registry an older version wrote
sub rotation_keeps_old_terms
{
	my ($db) = @_;
	my (undef, $out) = qk($db, '-c', 'SELECT ef_rotate_index_key()', '-c', "SELECT label FROM upgrade_values
		WHERE label LIKE 'search%' AND value = ANY(ef_terms('alice\@example.org'::text, 'email'))");
	return same(join(' ', grep { $_ ne '' } split /\n/, $out) . ' ', '2 search exact ');
}
sub searchable_flags_agree
{
	my ($db) = @_;
	return same(
		qo($db, '-c', 'SELECT count(*) FROM upgrade_values JOIN upgrade_cases USING (label)
		WHERE ef_is_searchable(value) = searchable'),
		qo($db, '-c', 'SELECT count(*) FROM upgrade_cases'));
}

# Start a cluster of its own for a release and set the release's globals
sub for_release
{
	my ($r) = @_;
	($release, $release_commit) = @$r[ 0, 1 ];
	%release_majors = map { $_ => 1 } @{ $r->[2] };
	$fixture = "test/upgrade/written_by_$release.sql";
	$node = PostgreSQL::Test::Cluster->new('upgrade_' . ($release =~ s/\./_/gr),
		install_path => dirname($mine{bindir}));
	$node->init;
	$node->append_conf('postgresql.conf', 'log_statement = none');
	install_current() or die "encrypted_field is not installed in $real{pkglibdir}\n";
}

if (my $write = $ENV{EF_UPGRADE_WRITE_FIXTURE})
{
	my ($r) = grep { $_->[0] eq $write } @releases or die "no release $write\n";
	for_release($r);
	die "commit $release_commit of $release is not in this clone\n" unless have_release();
	install_release() or die "could not build $release\n";
	$node->start;
	write_release_db('fx', '') or die "could not write the release's database\n";
	my $text = "-- Written by encrypted_field $release (commit $release_commit) with\n"
	  . "-- EF_UPGRADE_WRITE_FIXTURE=$release make prove_installcheck PROVE_TESTS=test/t/030_upgrade.pl; key 1 is the public test key there.\n";
	# with the columns named: later versions add registry columns
	for my $t (qw(ef_keys ef_index_keys upgrade_values))
	{
		my $columns = qo('fx', '-c', "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
			FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped");
		$text .= "COPY $t ($columns) FROM stdin;\n" . qo('fx', '-c', "COPY $t TO stdout") . "\n\\.\n";
	}
	open my $fh, '>', $fixture or die "$fixture: $!";
	print $fh $text;
	close $fh;
	ok(1, "wrote $fixture");
	$node->stop;
	done_testing();
	exit 0;
}

for my $r (@releases)
{
	for_release($r);
	upgrade_from();
}
done_testing();

sub upgrade_from
{
$node->start;
# What the release's library wrote, read by this one
q_ok('postgres', '-c', 'CREATE DATABASE stored')
  && q_ok('stored', '-c', 'CREATE EXTENSION encrypted_field', '-f', 'test/upgrade/cases.sql', '-f', $fixture);
my $cases = qo('stored', '-c', 'SELECT count(*) FROM upgrade_cases');
note(($cases || 'no') . " cases; release $release, this tree $current");
ok(same(qo('stored', '-c', 'SELECT count(*) FROM upgrade_values'), $cases),
	"the fixture holds a value of every case, written by $release");
ok(no_faults('stored'), "values written by $release decrypt to their cases with this build");
ok(index_finds('stored'), "terms written by $release are found through an index");
ok(rotation_keeps_old_terms('stored'),
	"0.2.0's index key rotation works on ${release}'s registry, and finds the old terms");

# ALTER EXTENSION UPDATE in place, with this library
write_release_db('inplace', "VERSION '$release'");
ok(same(version_of('inplace'), $release), "CREATE EXTENSION VERSION '$release' installs $release");
ok(q_ok('inplace', '-c', 'ALTER EXTENSION encrypted_field UPDATE'), 'ALTER EXTENSION UPDATE succeeds');
ok(same(version_of('inplace'), $current), "and leaves version $current");
# what 0.1.0 applications did: the key in the statement's text
{
	my (undef, $out, $err) = psql_cmd($node, 'inplace', [ '-v', 'VERBOSITY=verbose',
		'-c', "SELECT ef_unlock(1, decode('$key', 'hex'))", '-c', 'SELECT count(*) FROM ef_held_keys()' ]);
	chomp $out;
	ok($err =~ /ERROR:  28EF1:/ && same((split /\n/, $out)[-1], '0'),
		"a key in SQL text, as $release took it, is refused after the update (28EF1)")
	  or diag($out . $err);
}
ok(no_faults('inplace'), 'every value decrypts to its case after the update');
ok(index_finds('inplace'), 'an index built before the update still finds values');
ok(searchable_flags_agree('inplace'), 'ef_is_searchable, new in 0.2.0, reads values written before it');
ok( same(
		qo('inplace', '-c', "SELECT array(SELECT c::regclass::text FROM pg_extension, unnest(extconfig) c
		WHERE extname = 'encrypted_field' ORDER BY 1)"),
		'{ef_index_keys,ef_keys}'),
	'the registry is still dumped with the data');
q_ok('postgres', '-c', 'CREATE DATABASE fresh')
  && q_ok('fresh', '-c', 'CREATE EXTENSION encrypted_field', '-f', 'test/upgrade/cases.sql');
ok(same_objects('inplace', 'fresh'), "the updated extension has the same objects as a fresh install of $current");

# A dump of the updated database restores with its registry and reads back
sub dump_restores
{
	return 0 unless q_ok('postgres', '-c', 'CREATE DATABASE restored');
	my ($status) = run_cmd([ 'pg_dump', '-Fc', '-d', 'inplace', '-f', "$base/inplace.dump" ],
		env => { node_env($node, 'inplace') });
	return 0 if $status;
	my $err;
	($status, undef, $err) = run_cmd([ 'pg_restore', '--exit-on-error', '-d', 'restored', "$base/inplace.dump" ],
		env => { node_env($node, 'restored') });
	diag($err) if $status;
	return $status == 0;
}
ok(dump_restores(), 'a dump taken after the update restores');
ok(no_faults('restored'), 'and every value of the restored copy decrypts');

# The real path: the release's library writes, this one reads after the update
SKIP:
{
	skip("commit $release_commit of $release is not in this clone (set EF_GIT_DIR); the release's own build is not run", 9)
	  unless have_release();
	# releases up to 0.2.0 kept their script at the top, later ones freeze
	# the built one in sql/
	my (undef, $released_script) = git('show', "$release_commit:sql/encrypted_field--$release.sql");
	(undef, $released_script) = git('show', "$release_commit:encrypted_field.sql") if $released_script eq '';
	ok($released_script ne '' && $released_script eq slurp_file("sql/encrypted_field--$release.sql"),
		"sql/encrypted_field--$release.sql is the release's script, unchanged");
	$node->stop;
	# the release's library, loaded as the server starts
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'encrypted_field'");
	my $major = $node->pg_version->major;
	if (install_release())
	{
		$node->start;
		write_release_db('released', '');
		ok(same(version_of('released'), $release), "the release's build installs version $release");
		ok(no_faults('released'), "the release's build reads what it wrote");
		$node->stop;
	}
	elsif (!$release_majors{$major})
	{
		skip("$release was released for PostgreSQL " . join(', ', sort keys %release_majors)
			  . " and does not build against $major", 8);
	}
	else
	{
		ok(0, "the release builds from commit $release_commit");
	}
	ok(install_current(), 'this build is installed again');
	$node->start;
	ok(q_ok('released', '-c', 'ALTER EXTENSION encrypted_field UPDATE'),
		'ALTER EXTENSION UPDATE after the server restarts on this build');
	ok(same(version_of('released'), $current), "and leaves version $current");
	ok(no_faults('released'), "values the release's library wrote decrypt after the update");
	ok(index_finds('released'), 'its index still finds values');
	ok(same_objects('released', 'fresh'), 'the updated extension has the same objects as a fresh install');
}

$node->stop;
return;
}

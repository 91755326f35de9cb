# Operations: pg_dump and restore into a fresh cluster, a physical streaming
# replica, and logical replication to a subscriber (text and binary), each
# a cluster of its own.  Every copy must hold the same bytes, decrypt to the
# same plaintext with the same key, and no dump may hold plaintext or key
# material.  Only the registry's check values and wrapped index keys travel;
# no server stores a master key.  psql 15 sends no bind parameters, so
# sessions that need the key give it at connection start
# (encrypted_field.keys, with the library loaded as the session starts); a
# key written into SQL text is refused.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

my $base = PostgreSQL::Test::Utils::tempdir;
my $key = random_key();
my $unlock = 'SELECT ef_unlock(1);';
# the plaintext of every row, and the stored bytes of every row
my $plain_sum = "SELECT md5(string_agg(id || ':' || ef_decrypt(email, 'customers.email.' || id) || ':' ||
	ef_decrypt_as(amount, NULL::numeric) || ':' || (ef_decrypt_as(doc, NULL::jsonb) ->> 'city') || ':' || note,
	',' ORDER BY id)) FROM customers";
my $bytes_sum = "SELECT md5(string_agg(id || ':' || ef_send(email)::text || ef_send(amount)::text || ef_send(doc)::text,
	',' ORDER BY id)) FROM customers";
my $schema = "CREATE TABLE customers (id int PRIMARY KEY, email encrypted_field, amount encrypted_field,
	doc encrypted_field, note text);
CREATE UNIQUE INDEX customers_email ON customers (email);";

# psql -X -q -At -v ON_ERROR_STOP=1 ARGS in a node's database, with extra
# environment; returns status, standard output (chomped) and standard error
sub psql_on
{
	my ($node, $db, $args, %env) = @_;
	my ($status, $out, $err) =
	  psql_cmd($node, $db, [ '-v', 'ON_ERROR_STOP=1', @$args ], env => \%env);
	chomp $out;
	return ($status, $out, $err);
}
# its standard output
sub qo { my ($node, $db, @args) = @_; return (psql_on($node, $db, \@args))[1]; }
# the same in a session given $key (or another key) at connection start;
# ef_unlock(1) takes it from there
sub qk
{
	my ($node, $db, @args) = @_;
	return (psql_on($node, $db, \@args, PGOPTIONS => key_options(1 => $key)))[1];
}
sub last_line { my ($text) = @_; return (split /\n/, $text // '')[-1] // ''; }
sub insert_rows
{
	my ($node, $first, $last) = @_;
	qk($node, 'app', '-c', $unlock, '-c', "INSERT INTO customers SELECT g,
		ef_encrypt('person' || g || '\@example.org', 'customers.email.' || g, searchable => true, search_domain => 'email'),
		ef_encrypt((g * 1.25)::numeric), ef_encrypt(jsonb_build_object('city', 'city-' || g)), 'plain note ' || g
		FROM generate_series($first, $last) g");
}
# a cluster as the shell suites ran them: PostgreSQL's defaults for
# statement logging, memory and connections
sub new_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%params);
	$node->append_conf('postgresql.conf',
		"log_statement = none\nshared_buffers = 128MB\nmax_connections = 100");
	$node->start;
	return $node;
}

# The primary: wal for both kinds of replication
my $primary = new_node('primary', allows_streaming => 'logical');
qo($primary, 'postgres', '-c', 'CREATE DATABASE app');
qk($primary, 'app', '-c', 'CREATE EXTENSION encrypted_field', '-c', "SELECT ef_register_key(1, comment => 'ops key')",
	'-c', $schema, '-c', 'CREATE PUBLICATION pub FOR TABLE customers, ef_keys, ef_index_keys');
insert_rows($primary, 1, 500);
my $p_plain = last_line(qk($primary, 'app', '-c', $unlock, '-c', $plain_sum));
my $p_bytes = qo($primary, 'app', '-c', $bytes_sum);
# the key written into SQL text, as with 0.1.0, is refused (and must not
# reach the server log, checked at the end)
my ($status, $lit, $lit_err) = psql_cmd($primary, 'app', [ '-v', 'VERBOSITY=verbose',
	'-c', "SELECT ef_unlock(1, decode('$key', 'hex'))", '-c', 'SELECT count(*) FROM ef_held_keys()' ]);
ok($lit_err =~ /ERROR:  28EF1:/ && last_line($lit) eq '0',
	'a key written into SQL text is refused (28EF1), and not held')
  or diag($lit . $lit_err);

# Dumps: plain and custom format
my %p_env = node_env($primary, 'app');
run_cmd([ 'pg_dump', '-Fp', '-f', "$base/app.sql" ], env => \%p_env);
run_cmd([ 'pg_dump', '-Fc', '-f', "$base/app.dump" ], env => \%p_env);
run_cmd([ 'pg_restore', '-f', "$base/app_from_custom.sql", "$base/app.dump" ]);
# the file must exist and hold something, or a search that finds nothing
# would pass
sub no_secret
{
	my ($file) = @_;
	return 0 unless -s $file;
	my $text = slurp_file($file);
	return !grep { index($text, $_) >= 0 } ('person1@example.org', 'city-1"', $key, uc $key);
}
ok(no_secret("$base/app.sql"), 'the plain dump holds no plaintext or key');
ok(no_secret("$base/app_from_custom.sql"), 'the custom dump holds no plaintext or key');
{
	my $dump = -s "$base/app.sql" ? slurp_file("$base/app.sql") : '';
	ok(index($dump, 'ef1:') >= 0 && index($dump, 'ops key') >= 0,
		'the plain dump holds the encrypted values and the registry');
}

# Restore both dumps into a fresh cluster, then decrypt with the same key
my $restored = new_node('restored');
qo($restored, 'postgres', '-c', 'CREATE DATABASE from_plain', '-c', 'CREATE DATABASE from_custom');
psql_on($restored, 'from_plain', [ '-f', "$base/app.sql" ]);
run_cmd([ 'pg_restore', '-d', 'from_custom', "$base/app.dump" ], env => { node_env($restored, 'from_custom') });
for my $db (qw(from_plain from_custom))
{
	ok(same(qo($restored, $db, '-c', $bytes_sum), $p_bytes), "$db: the stored bytes are unchanged");
	ok(same(last_line(qk($restored, $db, '-c', $unlock, '-c', $plain_sum)), $p_plain),
		"$db: every value decrypts as on the primary");
	my (undef, $out, $err) = psql_cmd($restored, $db, [ '-c', $unlock, '-c',
		"INSERT INTO customers VALUES (9999, ef_encrypt('person7\@example.org', searchable => true, search_domain => 'email'))" ],
		env => { PGOPTIONS => key_options(1 => $key) });
	like($out . $err, qr/duplicate key value violates unique constraint/, "$db: the unique index on terms holds");
	ok( same(
			last_line(qk($restored, $db, '-c', $unlock,
				'-c', "SELECT id FROM customers WHERE email = ef_term('person7\@example.org', 'email')")),
			'7'),
		"$db: a lookup by term finds its row");
}

# A physical streaming replica
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
insert_rows($primary, 501, 600);
$p_plain = last_line(qk($primary, 'app', '-c', $unlock, '-c', $plain_sum));
$p_bytes = qo($primary, 'app', '-c', $bytes_sum);
my $lsn = qo($primary, 'app', '-c', 'SELECT pg_current_wal_lsn()');
$standby->poll_query_until('app', "SELECT pg_last_wal_replay_lsn() >= '$lsn'");
ok(same(qo($standby, 'app', '-c', $bytes_sum), $p_bytes), "standby: the stored bytes equal the primary's");
ok(same(last_line(qk($standby, 'app', '-c', $unlock, '-c', $plain_sum)), $p_plain),
	'standby: a session holding the key decrypts rows written on the primary');

# Logical replication to a subscriber, in text and in binary form
my $subscriber = new_node('subscriber');
my $publisher = 'host=' . $primary->host . ' port=' . $primary->port . ' dbname=app';
for my $mode (qw(text binary))
{
	my $db = "sub_$mode";
	my $binary = $mode eq 'binary' ? 'true' : 'false';
	qo($subscriber, 'postgres', '-c', "CREATE DATABASE $db");
	qo($subscriber, $db, '-c', 'CREATE EXTENSION encrypted_field', '-c', $schema,
		'-c', "CREATE SUBSCRIPTION sub_$mode CONNECTION '$publisher' PUBLICATION pub WITH (binary = $binary)");
}
insert_rows($primary, 601, 650);
$p_plain = last_line(qk($primary, 'app', '-c', $unlock, '-c', $plain_sum));
$p_bytes = qo($primary, 'app', '-c', $bytes_sum);
for my $mode (qw(text binary))
{
	$subscriber->poll_query_until("sub_$mode", 'SELECT count(*) = 650 FROM customers');
	ok(same(qo($subscriber, "sub_$mode", '-c', $bytes_sum), $p_bytes),
		"subscriber ($mode): values arrive byte-identical");
	ok(same(last_line(qk($subscriber, "sub_$mode", '-c', $unlock, '-c', $plain_sum)), $p_plain),
		"subscriber ($mode): the registry arrived, and the key decrypts every row");
}

# A value taken to another database, whose key id 1 is another master key:
# the wrap does not open there, and the value cannot be read
my $other = random_key();
qo($restored, 'postgres', '-c', 'CREATE DATABASE other');
psql_on($restored, 'other', [ '-c', 'CREATE EXTENSION encrypted_field', '-c', 'SELECT ef_register_key(1)',
	'-c', 'CREATE TABLE stolen (v encrypted_field)' ], PGOPTIONS => key_options(1 => $other));
my $copied = qo($primary, 'app', '-c', 'COPY (SELECT amount FROM customers WHERE id = 1) TO STDOUT');
psql_cmd($restored, 'other', [ '-c', 'COPY stolen FROM STDIN' ], stdin => "$copied\n");
my (undef, $moved, $moved_err) = psql_cmd($restored, 'other',
	[ '-c', 'SELECT ef_unlock(1)', '-c', 'SELECT ef_decrypt(v) FROM stolen' ],
	env => { PGOPTIONS => key_options(1 => $other) });
like($moved . $moved_err, qr/could not decrypt value/,
	"a value moved to another database's registry does not decrypt there");

for my $node ($primary, $restored, $standby, $subscriber)
{
	$node->stop;
	my $log = -s $node->logfile ? slurp_file($node->logfile) : '';
	ok($log ne '' && $log !~ /\Q$key\E/i, $node->name . '.log: no key material in the server log');
}
done_testing();

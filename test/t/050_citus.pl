# Citus: a coordinator and two workers on loopback (a third added later),
# with citus first in shared_preload_libraries.  The application's SQL is
# the same as on one node: decrypting SELECTs (router and multi-shard,
# prepared and not), searches, UPDATEs that encrypt and rewrap, the column
# procedures, views, and a reference table; shard queries run in the
# workers' parallel workers as well.  Keys reach the worker backends
# only for one transaction: nothing is left after COMMIT, ROLLBACK, a
# rolled-back savepoint, ef_lock() or DISCARD ALL, and another session on
# the same node holds nothing.  No node's log holds a key or a plaintext
# (log_statement = all, citus.log_remote_commands = on), and a sealed set
# copied from a worker's log is refused once its transaction has ended.
# Keys go as bind parameters (test/citus/citus_client.py, psycopg 3).
# Runs where Citus is installed in the PostgreSQL under test
# (scripts/citus.sh installs Citus 13.2.2 into Debian's 15); skipped
# otherwise.
# Copyright (c) 2026, The encrypted_field Authors
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EFTest;

plan skip_all => 'Citus is not installed in this PostgreSQL (scripts/citus.sh installs it into PostgreSQL 15)'
  unless have_extension('citus');

my ($k1, $k2) = (random_key(), random_key());
# plaintexts that must never reach a log: values encrypted, and values
# searched for (the nick column, plain text until ef_encrypt_column, is not
# among them: Citus ships plain columns' values in its statements)
my @plaintexts = ('ada.lovelace@example.org', 'grace.hopper@example.org',
	'katherine.johnson@example.org', 'dorothy.vaughan@example.org',
	'mary.jackson@example.org', 'AdaLogin', 'GraceLogin', 'motto-liberte',
	'patient-alice', 'patient-bob', 'adalogin', 'NICK-DOROTHY',
	'compared-with-plaintext', 'repartitioned-plaintext');

sub citus_node
{
	my ($name, $preload) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$preload'
listen_addresses = '127.0.0.1'
log_statement = all
log_min_messages = notice
citus.log_remote_commands = on
max_prepared_transactions = 10
});
	$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	return $node;
}

# Run statements on one connection to a node; returns label => result
sub client
{
	my ($node, %o) = @_;
	my ($status, $out, $err) = run_cmd(
		[ $EFTest::python, 'test/citus/citus_client.py',
			'host=127.0.0.1 port=' . $node->port . ' dbname=postgres', @{ $o{sql} } ],
		env => { EF_KEY1 => $k1, EF_KEY2 => $k2, %{ $o{env} // {} } });
	die "citus_client.py failed: $err" if $status;
	my %r;
	for (split /\n/, $out)
	{
		my ($label, $value) = split /\|/, $_, 2;
		$r{$label} = $value;
	}
	return \%r;
}

my $coord = citus_node('coordinator', 'citus,encrypted_field');
my $w1 = citus_node('worker1', 'citus,encrypted_field');
my $w2 = citus_node('worker2', 'citus,encrypted_field');
$coord->safe_psql('postgres', 'SELECT citus_set_coordinator_host(\'127.0.0.1\', ' . $coord->port . ')');
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', $_)") for ($w1->port, $w2->port);
$coord->safe_psql('postgres', 'CREATE EXTENSION encrypted_field');

is($w1->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'encrypted_field'"),
	'1', 'CREATE EXTENSION on the coordinator creates the extension on the workers');
my $pub1 = $w1->safe_psql('postgres', 'SELECT ef_node_public_key()');
my $pub2 = $w2->safe_psql('postgres', 'SELECT ef_node_public_key()');
like($pub1, qr/^[0-9a-f]{64}$/, 'a worker has a public key for forwarded keys');
isnt($pub1, $pub2, 'each worker has a key of its own');

# the registry, the tables and rows, written with transaction-scoped keys;
# every plaintext goes as a bind parameter, as keys do
my %plain = (EF_P1 => 'ada.lovelace@example.org', EF_P2 => 'grace.hopper@example.org',
	EF_P3 => 'katherine.johnson@example.org', EF_P4 => 'dorothy.vaughan@example.org',
	EF_P5 => 'AdaLogin', EF_P6 => 'GraceLogin', EF_P7 => 'nick-ada', EF_P8 => 'nick-grace',
	EF_P9 => 'nick-katherine', EF_P10 => 'nick-dorothy', EF_P11 => 'motto-liberte');
my $searchable = "searchable => true, search_domain => 'customers.login', search_normalize => 'lower'";
my $r = client($coord, env => \%plain, sql => [
	'reg1::SELECT ef_register_key(1, %(k1)s)',
	'u1::SELECT ef_unlock(1, %(k1)s)',
	'reg2::SELECT ef_register_key(2, %(k2)s)',
	'lock::SELECT ef_lock()',
	'create::CREATE TABLE customers (tenant_id int, id int, email encrypted_field, login encrypted_field, '
	  . 'nick text, PRIMARY KEY (tenant_id, id))',
	'dist::SELECT create_distributed_table(\'customers\', \'tenant_id\')',
	'ref::CREATE TABLE countries (code text PRIMARY KEY, motto encrypted_field)',
	'refdist::SELECT create_reference_table(\'countries\')',
	'BEGIN',
	'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	"ins::INSERT INTO customers VALUES "
	  . "(1, 1, ef_encrypt(%(p1)s::text), ef_encrypt(%(p5)s::text, $searchable), %(p7)s), "
	  . "(1, 2, ef_encrypt(%(p2)s::text), ef_encrypt(%(p6)s::text, $searchable), %(p8)s), "
	  . "(2, 1, ef_encrypt(%(p3)s::text), NULL, %(p9)s), "
	  . "(3, 1, ef_encrypt(%(p4)s::text), NULL, %(p10)s)",
	"insref::INSERT INTO countries VALUES ('fr', ef_encrypt(%(p11)s::text))",
	'COMMIT',
]);
is($r->{ins}, 'INSERT 0 4', 'rows are written with ef_encrypt in a transaction') or diag(explain $r);

# the registry becomes reference tables: every node has its rows, and a
# session on a worker can unlock and register there
is($coord->safe_psql('postgres', 'SELECT ef_citus_share_registry()'), '', 'ef_citus_share_registry() runs on the coordinator');
is($coord->safe_psql('postgres', "SELECT string_agg(logicalrelid::text || ':' || partmethod::text || repmodel::text, ',' ORDER BY logicalrelid::text) "
	  . "FROM pg_dist_partition WHERE logicalrelid::text IN ('ef_keys', 'ef_index_keys')"),
	'ef_index_keys:nt,ef_keys:nt', 'ef_keys and ef_index_keys are reference tables');
is($w1->safe_psql('postgres', 'SELECT count(*) FROM ef_keys'), '2', 'a worker reads both registered keys');
$r = client($w1, sql => [ 'u1::SELECT ef_unlock(1, %(k1)s)', 'held::SELECT count(*) FROM ef_held_keys()' ]);
is($r->{held}, '1', 'a session on a worker unlocks a key registered on the coordinator');
my (undef, undef, $share_err) = $w1->psql('postgres', 'SELECT ef_citus_share_registry()');
like($share_err, qr/ERROR:  ef_citus_share_registry\(\) runs on the Citus coordinator/,
	'ef_citus_share_registry() is refused on a worker');
is($coord->safe_psql('postgres', 'SELECT ef_citus_share_registry()'), '', 'and is idempotent on the coordinator');

# every statement shape, in a transaction with transaction-scoped keys
my @prepared_term = map { "pterm$_\::prepared:SELECT count(*) FROM customers WHERE login = ef_term(%(p1)s::text, 'customers.login', 'lower')" } 1 .. 8;
my @prepared_router = map { "prouter$_\::prepared:SELECT ef_decrypt(email) FROM customers WHERE tenant_id = 1 AND id = 2" } 1 .. 7;
$r = client($coord, env => { EF_P1 => 'adalogin', EF_P2 => 'mary.jackson@example.org', EF_P3 => 'NICK-DOROTHY' }, sql => [
	'BEGIN',
	'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\', \'TICKET-4711\')',
	'tu2::SELECT ef_unlock(2, %(k2)s, \'transaction\', \'TICKET-4711\')',
	'router::SELECT id, ef_decrypt(email) FROM customers WHERE tenant_id = 1 ORDER BY id',
	'multi::SELECT string_agg(ef_decrypt(email), \',\' ORDER BY tenant_id, id) FROM customers',
	'term::SELECT count(*) FROM customers WHERE login = ef_term(%(p1)s::text, \'customers.login\', \'lower\')',
	'terms::SELECT count(*) FROM customers WHERE login = ANY(ef_terms(%(p1)s::text, \'customers.login\', \'lower\'))',
	@prepared_term, @prepared_router,
	'upd_const::UPDATE customers SET email = ef_encrypt(%(p2)s::text) WHERE tenant_id = 2 AND id = 1',
	'read_const::SELECT ef_decrypt(email) FROM customers WHERE tenant_id = 2 AND id = 1',
	'rewrap_router::UPDATE customers SET email = ef_rewrap(email, 2) WHERE tenant_id = 1',
	'rewrap_multi::UPDATE customers SET email = ef_rewrap(email, 2)',
	'key_ids::SELECT ef_key_id(email), count(*) FROM customers GROUP BY 1',
	'enc_col::UPDATE customers SET login = ef_encrypt(nick, searchable => true, search_domain => \'customers.login\', search_normalize => \'lower\') WHERE tenant_id = 3',
	'term_col::SELECT tenant_id FROM customers WHERE login = ef_term(%(p3)s::text, \'customers.login\', \'lower\')',
	'after_rewrap::SELECT string_agg(ef_decrypt(email), \',\' ORDER BY tenant_id, id) FROM customers',
	'ref_read::SELECT ef_decrypt(motto) FROM countries',
	'ref_rewrap::UPDATE countries SET motto = ef_rewrap(motto, 2)',
	'ref_key::SELECT ef_key_id(motto) FROM countries',
	'COMMIT',
	'BEGIN',
	'tu1b::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'ref_enc_col::UPDATE countries SET motto = ef_encrypt(code)',
	'ROLLBACK',
	'BEGIN',
	'tu1c::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'SET LOCAL plan_cache_mode = force_generic_plan',
	'generic::prepared:SELECT count(*) FROM customers WHERE login = ef_term(%(p1)s::text, \'customers.login\', \'lower\')',
	'ROLLBACK',
]);
is($r->{router}, '1,ada.lovelace@example.org;2,grace.hopper@example.org', 'a router SELECT decrypts on its worker');
is($r->{multi}, 'ada.lovelace@example.org,grace.hopper@example.org,katherine.johnson@example.org,dorothy.vaughan@example.org',
	'a multi-shard SELECT decrypts on every worker');
is($r->{term}, '1', 'a search term over a parameter finds its row');
is($r->{terms}, '1', 'ef_terms over a parameter finds its row');
is(scalar(grep { $r->{"pterm$_"} eq '1' } 1 .. 8), 8, 'a prepared search finds its row in 8 executions (custom plans throughout)');
is(scalar(grep { $r->{"prouter$_"} eq 'grace.hopper@example.org' } 1 .. 7), 7, 'a prepared router SELECT decrypts in 7 executions');
is($r->{upd_const}, 'UPDATE 1', 'UPDATE ... SET c = ef_encrypt($1) runs');
is($r->{read_const}, 'mary.jackson@example.org', 'and writes the value');
is($r->{rewrap_router}, 'UPDATE 2', 'UPDATE ... SET c = ef_rewrap(c, 2) runs on one shard');
is($r->{rewrap_multi}, 'UPDATE 4', 'and on every shard');
is($r->{key_ids}, '2,4', 'every value is then under key 2');
is($r->{enc_col}, 'UPDATE 1', 'UPDATE ... SET c = ef_encrypt(other column) runs on the workers');
is($r->{term_col}, '3', 'and writes a searchable value with its term');
is($r->{after_rewrap}, 'ada.lovelace@example.org,grace.hopper@example.org,mary.jackson@example.org,dorothy.vaughan@example.org',
	'rewrapped values decrypt to the same plaintext');
is($r->{ref_read}, 'motto-liberte', 'a reference table decrypts');
is($r->{ref_rewrap}, 'UPDATE 1', 'a reference table rewraps on every placement');
is($r->{ref_key}, '2', 'to key 2');
like($r->{ref_enc_col}, qr/^ERROR 0A000: ef_encrypt\(\) over a column cannot update a Citus reference table \| Encrypt on the coordinator/,
	'ef_encrypt over a column in an UPDATE of a reference table is refused: each placement would differ');
like($r->{generic}, qr/^ERROR 0A000: a search term over a bind parameter needs a custom plan on a Citus table \| Set plan_cache_mode/,
	'a generic plan for a search over a parameter is refused');

# keys last for one transaction on the workers
$r = client($coord, sql => [
	'su1::SELECT ef_unlock(1, %(k1)s)',
	'su2::SELECT ef_unlock(2, %(k2)s)',
	'autocommit::SELECT count(ef_decrypt(email)) FROM customers',
	'BEGIN',
	'session_in_block::SELECT count(ef_decrypt(email)) FROM customers',
	'COMMIT',
	'BEGIN',
	'session_again::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1',
	'COMMIT',
	'lock1::SELECT ef_lock()',
	'BEGIN',
	'after_commit::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'BEGIN',
	'tu2a::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'before_lock::SELECT count(ef_decrypt(email)) FROM customers',
	'lock2::SELECT ef_lock()',
	'after_lock::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'BEGIN',
	'tu2b::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'before_rollback::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'BEGIN',
	'after_rollback::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'BEGIN',
	'SAVEPOINT a',
	'tu2c::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'in_savepoint::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK TO SAVEPOINT a',
	'after_savepoint::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'su2d::SELECT ef_unlock(2, %(k2)s)',
	'DISCARD ALL',
	'BEGIN',
	'after_discard::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
]);
like($r->{autocommit}, qr/^ERROR 55000: no master key is unlocked in this session \| On Citus, the coordinator forwards its keys to the workers only inside a transaction block/,
	'outside a transaction block, a worker says keys are forwarded only inside one');
is($r->{session_in_block}, '4', 'session-scoped keys reach the workers inside a transaction block');
is($r->{session_again}, '2', 'and again in the next one');
like($r->{after_commit}, qr/^ERROR 55000: no master key is unlocked/, 'after ef_lock and COMMIT, the cached worker connections hold nothing');
is($r->{before_lock}, '4', 'a transaction-scoped key decrypts on the workers');
like($r->{after_lock}, qr/^ERROR 55000: no master key is unlocked/, 'ef_lock() in the transaction takes effect on the workers at once');
is($r->{before_rollback}, '4', 'keys forwarded in a transaction that rolls back');
like($r->{after_rollback}, qr/^ERROR 55000: no master key is unlocked/, 'are gone from the workers after ROLLBACK');
is($r->{in_savepoint}, '4', 'keys forwarded in a savepoint');
like($r->{after_savepoint}, qr/^ERROR 55000: no master key is unlocked/, 'are gone after ROLLBACK TO SAVEPOINT');
like($r->{after_discard}, qr/^ERROR 55000: no master key is unlocked/, 'DISCARD ALL on the coordinator leaves the workers nothing');

# after a savepoint that sent a new set rolls back, the workers hold the set
# sent before it again, and the coordinator still sends the next one: a key
# unlocked after the rollback reaches them
$r = client($coord, env => { EF_P1 => 'under key two' }, sql => [
	'create2::CREATE TABLE keyed2 (id int, v encrypted_field)',
	'dist2::SELECT create_distributed_table(\'keyed2\', \'id\')',
	'BEGIN', 'tu2::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'ins2::INSERT INTO keyed2 VALUES (1, ef_encrypt(%(p1)s::text, key_id => 2))', 'COMMIT',
	'BEGIN',
	'a1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'a_read::SELECT count(*) FROM keyed2',
	'SAVEPOINT s',
	'b2::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'b_read::SELECT ef_decrypt(v) FROM keyed2',
	'ROLLBACK TO SAVEPOINT s',
	'gone::SELECT ef_decrypt(v) FROM keyed2',
	'ROLLBACK TO SAVEPOINT s',
	'c2::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'c_read::SELECT ef_decrypt(v) FROM keyed2',
	'COMMIT',
]);
is($r->{ins2}, 'INSERT 0 1', 'a value under key 2 on a distributed table');
is($r->{b_read}, 'under key two', 'a key unlocked in a savepoint decrypts on the workers');
like($r->{gone}, qr/^ERROR 55000: master key 2 is not unlocked/, 'after ROLLBACK TO SAVEPOINT the workers hold only the earlier set (key 1)');
is($r->{c_read}, 'under key two', 'a key unlocked after the rollback reaches the workers');

# where each tenant's rows live, to reach a worker on a connection of its own
my %port_of = map {
	($_ => $coord->safe_psql('postgres', "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) "
		  . "WHERE p.shardid = get_shard_id_for_distribution_column('customers', $_)"))
} (1, 2, 3);
my ($elsewhere) = grep { $port_of{$_} ne $port_of{1} } (2, 3);
$coord->safe_psql('postgres', 'CREATE ROLE ef_other LOGIN; GRANT SELECT ON customers TO ef_other');

# ef_lock() in a savepoint that is then released reaches connections
# opened after it; a search term folded into a cached plan goes with the
# keys; a parameter compared with decrypted values stays out of the logs
$r = client($coord, env => { EF_P1 => 'compared-with-plaintext', EF_P2 => 'repartitioned-plaintext' }, sql => [
	'BEGIN',
	'tu2::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'one::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1',
	'SAVEPOINT s',
	'lock::SELECT ef_lock()',
	'RELEASE SAVEPOINT s',
	'after_release::SELECT count(ef_decrypt(email)) FROM customers',
	'ROLLBACK',
	'BEGIN',
	'tu2r::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'one_r::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1',
	'SAVEPOINT s',
	'lock_r::SELECT ef_lock()',
	'RELEASE SAVEPOINT s',
	"new_connection::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = " . ($elsewhere // 1),
	'ROLLBACK',
	'BEGIN',
	'tu2b::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'prep::PREPARE q AS SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\')',
	'q1::EXECUTE q',
	'lock2::SELECT ef_lock()',
	'q2::EXECUTE q',
	'ROLLBACK',
	'BEGIN',
	'tu2d::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'prep_role::PREPARE qr AS SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\')',
	'qr1::EXECUTE qr',
	"SELECT set_config('role', 'ef_other', true)",
	'qr2::EXECUTE qr',
	'ROLLBACK',
	'BEGIN',
	'tu2c::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'compare::SELECT count(*) FROM customers WHERE ef_decrypt(email) = %(p1)s::text',
	'ROLLBACK',
	'BEGIN',
	'tu2e::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'repartition_plan::EXPLAIN (COSTS OFF) INSERT INTO customers (tenant_id, id, email) SELECT id + 100, tenant_id, ef_encrypt(\'not a secret\'::text) FROM customers',
	'repartition::INSERT INTO customers (tenant_id, id, email) SELECT id + 100, tenant_id, ef_encrypt(%(p2)s::text) FROM customers',
	'ROLLBACK',
]);
is($r->{one}, '2', 'keys reach a worker in a transaction');
like($r->{after_release}, qr/^ERROR 55000: no master key is unlocked/,
	'ef_lock() in a released savepoint reaches the connections opened after it');
is($r->{q1}, '1', 'a cached plan with a search term computed on the coordinator finds its row');
like($r->{q2}, qr/^ERROR 55000: no index key is held/, 'after ef_lock(), the plan is made again and needs a key');
SKIP:
{
	skip 'tenants 1 to 3 all live on one worker', 1 unless defined $elsewhere;
	like($r->{new_connection}, qr/^ERROR 55000: no master key is unlocked/,
		'ef_lock() in a released savepoint reaches a worker connection opened after it');
}
is($r->{qr1}, '1', 'a cached plan with a folded search term runs for the role it was made for');
like($r->{qr2}, qr/^ERROR 42501: /,
	'after set_config() switches the role, the plan is made again, and the other role may not compute the term');
is($r->{compare}, '0', 'a parameter compared with decrypted values is shipped to the workers');
like($r->{repartition_plan}, qr/INSERT\/SELECT method: repartition/, 'Citus plans that INSERT ... SELECT by repartitioning');
is($r->{repartition}, 'INSERT 0 4', 'an INSERT ... SELECT that Citus repartitions encrypts a parameter for every row');

# a plan holding a folded term is dropped after its run, and only it: a
# cached plan without a term stays.  ef_planned() is evaluated when its
# statement is planned (immutable, constant arguments), so the value it
# returns says which planning made the plan that runs.
$coord->safe_psql('postgres', q{
CREATE SEQUENCE ef_plans;
CREATE FUNCTION ef_planned() RETURNS bigint IMMUTABLE LANGUAGE plpgsql
	AS $$ BEGIN RETURN nextval('ef_plans'); END $$;
});
$r = client($coord, sql => [
	'BEGIN',
	'tu2f::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'SET LOCAL plan_cache_mode = force_generic_plan',
	'PREPARE keep AS SELECT ef_planned()',
	'PREPARE fold AS SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\')',
	'keep1::EXECUTE keep',
	'fold1::EXECUTE fold',
	'keep2::EXECUTE keep',
	'fold2::EXECUTE fold',
	'keep3::EXECUTE keep',
	'ROLLBACK',
	# the 6th run of a statement makes its generic plan, in which a term
	# waits for the parameter's value, and keeps it though a custom plan
	# runs; forced to it, the statement is refused as it starts (a router
	# query: Citus would run it, shipping the parameter's value)
	'BEGIN',
	'tu2g::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'PREPARE byparam(text) AS SELECT count(*) FROM customers WHERE tenant_id = 1 AND login = ef_term($1, \'customers.login\', \'lower\')',
	(map { "byparam$_\::EXECUTE byparam('gracelogin')" } 1 .. 6),
	'SET LOCAL plan_cache_mode = force_generic_plan',
	'byparam_generic::EXECUTE byparam(\'gracelogin\')',
	'ROLLBACK',
	# EXPLAIN too: Citus would send the bound value to a worker to explain
	'BEGIN',
	'tu2h::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
	'SET LOCAL plan_cache_mode = force_generic_plan',
	'byparam_explain::EXPLAIN EXECUTE byparam(\'gracelogin\')',
	'ROLLBACK',
]);
is($r->{fold1} . ' ' . $r->{fold2}, '1 1', 'a cached plan with a folded term is made again for each run and finds its row');
is($r->{keep1} . ' ' . $r->{keep2} . ' ' . $r->{keep3}, '1 1 1',
	'a cached plan without a term is kept while plans with a term are dropped');
is(join(' ', map { $r->{"byparam$_"} } 1 .. 6), '1 1 1 1 1 1', 'a prepared search over a parameter finds its row in its first 6 runs');
like($r->{byparam_generic}, qr/^ERROR 0A000: a search term over a bind parameter needs a custom plan on a Citus table/,
	'its cached generic plan, forced, is refused as it starts: the parameter never reaches a worker');
like($r->{byparam_explain}, qr/^ERROR 0A000: a search term over a bind parameter needs a custom plan on a Citus table/,
	'and so is EXPLAIN of it');

# a plan holding a folded term runs only with the keys and for the role
# its term was computed with.  On PostgreSQL 15 to 17 a SQL function's
# statement is planned once per call site and transaction, outside the
# plan cache: its second call in a query would reuse a term computed
# before ef_lock() or a change of role.  EXPLAIN is checked alike: here
# the keys go while the statement is planned (an IMMUTABLE function that
# calls ef_lock(), folded after the term was computed)
$coord->safe_psql('postgres', q{
CREATE FUNCTION ef_find_grace() RETURNS bigint LANGUAGE sql
	AS $$ SELECT count(*) FROM customers WHERE login = ef_term('gracelogin'::text, 'customers.login', 'lower') $$;
CREATE FUNCTION ef_lock_when_planned() RETURNS integer IMMUTABLE LANGUAGE plpgsql
	AS $$ BEGIN RETURN ef_lock(); END $$;
CREATE FUNCTION ef_find_login(text) RETURNS bigint LANGUAGE sql
	AS $$ SELECT count(*) FROM customers WHERE tenant_id = 1 AND login = ef_term($1, 'customers.login', 'lower') $$;
CREATE FUNCTION ef_find_login_pl(text) RETURNS bigint LANGUAGE plpgsql
	AS $$ BEGIN RETURN (SELECT count(*) FROM customers WHERE tenant_id = 1 AND login = ef_term($1, 'customers.login', 'lower')); END $$;
});
my $stale_term = 'ERROR 55000: cannot run a plan whose search term was computed with other keys or for another role \| '
  . 'Search from PL/pgSQL rather than from a SQL function, or run the statement again in a new transaction\. \| ';
$r = client($coord, sql => [
	'su2a::SELECT ef_unlock(2, %(k2)s)',
	'fn_same::SELECT i, ef_find_grace() FROM generate_series(1, 2) i',
	'fn_lock::SELECT i, CASE WHEN i = 2 THEN ef_lock() END, ef_find_grace() FROM generate_series(1, 2) i',
	'su2b::SELECT ef_unlock(2, %(k2)s)',
	"fn_role::SELECT i, CASE WHEN i = 2 THEN set_config('role', 'ef_other', true) END, ef_find_grace() FROM generate_series(1, 2) i",
	'explain_fresh::EXPLAIN (COSTS OFF) SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\')',
	'explain_stale::EXPLAIN (COSTS OFF) SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\') AND ef_lock_when_planned() >= 0',
	'lock_end::SELECT ef_lock()',
	'su2c::SELECT ef_unlock(2, %(k2)s)',
	'run_stale::SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\') AND ef_lock_when_planned() >= 0',
	'lock_end2::SELECT ef_lock()',
	# a SQL function's statement is planned without its arguments' values
	# on PostgreSQL 15 to 17: a term over one waits for it, and the plan
	# would ship the argument's plaintext to the worker (a router query,
	# in a transaction that forwarded the keys, where the worker could
	# compute the term from it); PL/pgSQL plans with the values
	'su2d::SELECT ef_unlock(2, %(k2)s)',
	'BEGIN',
	"fn_param::SELECT ef_find_login('gracelogin')",
	'ROLLBACK',
	'BEGIN',
	"fn_param_pl::SELECT ef_find_login_pl('gracelogin')",
	'ROLLBACK',
	'lock_end3::SELECT ef_lock()',
]);
is($r->{fn_same}, '1,1;2,1', 'a SQL function that searches with a folded term finds the row in both calls of a query');
like($r->{fn_lock}, qr/^${stale_term}The keys held in this session changed after the plan computed its search term\./,
	'after ef_lock() between two calls, the SQL function\'s plan, whose term was computed with the keys before, is refused (55000)');
like($r->{fn_role}, qr/^${stale_term}The current role is not the role the plan computed its search term for\./,
	'after set_config() switches the role between two calls, the plan whose term was computed for the role before is refused');
like($r->{explain_fresh}, qr/Custom Scan \(Citus Adaptive\)/, 'EXPLAIN of a plan whose term was computed with the keys held shows the plan');
like($r->{explain_stale}, qr/^${stale_term}The keys held in this session changed after the plan computed its search term\./,
	'EXPLAIN of a plan whose term was computed before the keys changed is refused as well');
like($r->{run_stale}, qr/^${stale_term}The keys held in this session changed after the plan computed its search term\./,
	'and so is running it');
like($r->{fn_param}, qr/^ERROR 0A000: a search term over a bind parameter needs a custom plan on a Citus table \| Set plan_cache_mode to auto or force_custom_plan; in a SQL function, search from PL\/pgSQL instead\./,
	'a SQL function searching by its argument is refused as it starts: the argument never reaches a worker');
is($r->{fn_param_pl}, '1', 'the same search in PL/pgSQL, planned with the argument\'s value, finds its row');

# another session, meanwhile, never decrypts with this one's keys
$r = client($coord, sql => [ 'BEGIN', 'other::SELECT count(ef_decrypt(email)) FROM customers', 'ROLLBACK' ]);
like($r->{other}, qr/^ERROR 55000: no master key is unlocked/, 'another coordinator session holds nothing on the workers');

# the column procedures, with session-scoped keys, batch by batch
$r = client($coord, sql => [
	'su1::SELECT ef_unlock(1, %(k1)s)',
	'su2::SELECT ef_unlock(2, %(k2)s)',
	'rewrap_column::CALL ef_rewrap_column(\'customers\', \'email\', 1, 2)',
	'key_ids::SELECT ef_key_id(email), count(*) FROM customers GROUP BY 1',
	'encrypt_column::CALL ef_encrypt_column(\'customers\', \'nick\', \'nick_enc\')',
	'BEGIN',
	'nicks::SELECT string_agg(ef_decrypt(nick_enc), \',\' ORDER BY tenant_id, id) FROM customers',
	'COMMIT',
	'reterm_column::CALL ef_reterm_column(\'customers\', \'login\', \'customers.login\', \'lower\')',
]);
is($r->{rewrap_column}, 'CALL', 'CALL ef_rewrap_column runs on a distributed table') or diag(explain $r);
is($r->{key_ids}, '1,4', 'and moves every value to key 1');
is($r->{encrypt_column}, 'CALL', 'CALL ef_encrypt_column runs on a distributed table') or diag(explain $r);
is($r->{nicks}, 'nick-ada,nick-grace,nick-katherine,nick-dorothy', 'and encrypts every value');
is($r->{reterm_column}, 'CALL', 'CALL ef_reterm_column runs on a distributed table') or diag(explain $r);

# Run statements in a transaction that holds keys 1 and 2 (transaction
# scope), ended by $end; where 'ROTATE' stands, another session unlocks
# both, rotates the index key, runs the statements in also, and commits.
# The results carry rotated_to, the new index key id, and other, what the
# other session printed.
my $rotated = PostgreSQL::Test::Utils::tempdir() . '/rotated';
sub across_rotation
{
	my ($end, $sql, %o) = @_;
	# its statements go in single quotes: values with quotes come as %(pN)s
	my $other = "$EFTest::python test/citus/citus_client.py 'host=127.0.0.1 port=" . $coord->port . " dbname=postgres' "
	  . "'SET lock_timeout = 20000' 'u1::SELECT ef_unlock(1, %(k1)s)' 'u2::SELECT ef_unlock(2, %(k2)s)' "
	  . "'rot::SELECT ef_rotate_index_key()'" . join('', map { " '$_'" } @{ $o{also} // [] }) . " > $rotated";
	unlink $rotated;
	my $res = client($coord, env => $o{env} // {}, sql => [
		'BEGIN',
		'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
		'tu2::SELECT ef_unlock(2, %(k2)s, \'transaction\')',
		(map { $_ eq 'ROTATE' ? "rotate::shell:$other" : $_ } @$sql),
		$end,
	]);
	$res->{other} = -e $rotated ? slurp_file($rotated) : '';
	($res->{rotated_to}) = $res->{other} =~ /^rot\|(\d+)$/m;
	return $res;
}

# another session rotates the index key and commits while this session's
# transaction has forwarded its keys to the workers: the next statement on
# a Citus table that calls the extension reads the new index key as it is
# planned and sends it to the workers, so a term computed on a shard uses
# the index key the coordinator's searches use.  Tenant 1's values move to
# it (committed); the other tenants keep terms of the index key before.
# Then a second rotation: the first statement after it, a search, must not
# be refused as if its keys had changed after its terms were computed.
# (Last of the term tests.)
$r = across_rotation('COMMIT', [
	'before_id::SELECT ef_term_index_key_id()',
	'sent::SELECT count(ef_decrypt(email)) FROM customers',
	'ROTATE',
	'reterm::UPDATE customers SET login = ef_reterm(login, NULL, \'customers.login\', \'lower\') WHERE tenant_id = 1',
	'ids::SELECT string_agg(DISTINCT ef_index_key_id(login)::text, \',\') FROM customers WHERE tenant_id = 1',
	'after_id::SELECT ef_term_index_key_id()',
	'found::SELECT count(*) FROM customers WHERE login = ef_term(\'gracelogin\'::text, \'customers.login\', \'lower\')',
]);
my $rotated_to = $r->{rotated_to};
is($r->{sent}, '4', 'a transaction forwards its keys to the workers');
ok(defined $rotated_to && $rotated_to > $r->{before_id}, 'another session rotates the index key meanwhile, and commits')
  or diag($r->{other});
is($r->{reterm}, 'UPDATE 2', 'UPDATE ... SET c = ef_reterm(c) runs on the workers after that');
is($r->{ids}, $rotated_to, 'and gives the values terms of the new index key: planning it read the rotation and the workers received it');
is($r->{after_id}, $rotated_to, 'this session computes new terms with the new index key');
is($r->{found}, '1', 'so a search computed on the coordinator with the new index key finds the row');

$r = across_rotation('ROLLBACK', [
	'sent::SELECT count(ef_decrypt(email)) FROM customers',
	'ROTATE',
	'found::SELECT count(*) FROM customers WHERE login = ANY (ef_terms(\'gracelogin\'::text, \'customers.login\', \'lower\'))',
	'ids::SELECT ef_term_index_key_id()',
]);
my $rotated_again = $r->{rotated_to};
ok(defined $rotated_again && $rotated_again > $rotated_to, 'another session rotates the index key again')
  or diag($r->{other});
is($r->{found}, '1', 'the first statement after it, a search with the terms of both index keys held, runs and finds the row');
is($r->{ids}, $rotated_again, 'its terms were computed with the index keys after the rotation');

# a cached plan is not planned again, so the planner does not read a
# rotation before it runs: the keys it sends are read again as it starts
# (committed: tenant 1's values keep terms of an index key held next)
my $reterm_tenant1 = 'PREPARE reterm_tenant1 AS UPDATE customers SET login = ef_reterm(login, NULL, \'customers.login\', \'lower\') WHERE tenant_id = 1';
$r = across_rotation('COMMIT', [
	"prep::$reterm_tenant1",
	'psel::PREPARE reterm_ids AS SELECT string_agg(DISTINCT ef_index_key_id(ef_reterm(login, NULL, \'customers.login\', \'lower\'))::text, \',\') FROM customers WHERE tenant_id = 1',
	'first::EXECUTE reterm_tenant1',
	'sel1::EXECUTE reterm_ids',
	'ROTATE',
	'sel2::EXECUTE reterm_ids',
	'second::EXECUTE reterm_tenant1',
	'ids::SELECT string_agg(DISTINCT ef_index_key_id(login)::text, \',\') FROM customers WHERE tenant_id = 1',
]);
my $rotated_third = $r->{rotated_to};
ok(defined $rotated_third && $rotated_third > $rotated_again, 'another session rotates the index key a third time')
  or diag($r->{other});
is($r->{first} . ' ' . $r->{second}, 'UPDATE 2 UPDATE 2', 'a prepared UPDATE ... SET c = ef_reterm(c) runs before and after it');
is($r->{ids}, $rotated_third, 'and its cached plan\'s second run gives the values terms of the new index key');
is($r->{sel1} . ' ' . $r->{sel2}, "$rotated_again $rotated_third",
	'so does a prepared SELECT whose shards compute terms, run first after the rotation');

# only a plan that computes terms reads the registry again as it starts:
# after a rotation and a damaged row in the registry, statements that
# compute no term run as before, and the prepared UPDATE names the row
$r = across_rotation('ROLLBACK', [
	"prep::$reterm_tenant1",
	'pdec::PREPARE decrypt_count AS SELECT count(ef_decrypt(email)) FROM customers',
	'first::EXECUTE reterm_tenant1',
	'dec1::EXECUTE decrypt_count',
	'ROTATE',
	'one::SELECT 1',
	'count::SELECT count(*) FROM customers',
	'dec2::EXECUTE decrypt_count',
	'second::EXECUTE reterm_tenant1',
], env => { EF_P1 => '00' x 40, EF_P2 => 'hex' },
  also => [ 'damage::INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) VALUES (65000, 1, decode(%(p1)s, %(p2)s))' ]);
like($r->{other}, qr/^damage\|INSERT 0 1$/m, 'another session rotates the index key and leaves a damaged row in the registry')
  or diag($r->{other});
is($r->{one} . ' ' . $r->{count} . ' ' . $r->{dec1} . ' ' . $r->{dec2}, '1 4 4 4',
	'in a transaction that forwards keys, statements that compute no term run as before, a prepared decrypt included')
  or diag(explain $r);
like($r->{second}, qr/^ERROR XX001: index key 65000 wrapped under master key 1 is damaged/,
	'the prepared UPDATE whose shards compute terms reads the registry again as it starts, and says so');
$coord->safe_psql('postgres', 'DELETE FROM ef_index_keys WHERE index_key_id = 65000');

# views from ef_create_view: SELECT and INSERT work, UPDATE and DELETE are refused
$r = client($coord, env => { EF_P1 => 'patient-alice', EF_P2 => 'patient-bob' }, sql => [
	'create::CREATE TABLE patients (clinic int, id int, name encrypted_field, PRIMARY KEY (clinic, id))',
	'dist::SELECT create_distributed_table(\'patients\', \'clinic\')',
	'view::SELECT ef_create_view(\'patients\', \'patients_clear\', \'id\', ARRAY[\'name\'])',
	'BEGIN',
	'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'insert::INSERT INTO patients_clear (clinic, id, name) VALUES (1, 1, %(p1)s), (2, 2, %(p2)s)',
	'select::SELECT string_agg(name, \',\' ORDER BY id) FROM patients_clear',
	'COMMIT',
	'BEGIN',
	'tu1b::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'update::UPDATE patients_clear SET name = %(p3)s WHERE clinic = 1',
	'ROLLBACK',
	'BEGIN',
	'tu1c::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'delete::DELETE FROM patients_clear WHERE clinic = 1',
	'ROLLBACK',
]);
is($r->{insert}, 'INSERT 0 2', 'INSERT through a view on a distributed table encrypts on the coordinator');
is($r->{select}, 'patient-alice,patient-bob', 'SELECT through the view decrypts on the workers');
like($r->{update}, qr/^ERROR 0A000: cannot update through view "patients_clear", which reads a Citus table/,
	'UPDATE through the view is refused with a clear error');
like($r->{delete}, qr/^ERROR 0A000: cannot delete through view "patients_clear", which reads a Citus table/,
	'DELETE through the view is refused with a clear error');

# workers that run their shard queries in parallel workers: the worker
# backend opens the set before it hands its keys to its parallel workers,
# which neither open the set themselves nor end it when they exit, so the
# connections the transaction opens later still take it; the results are
# the serial ones
my @parallel_sql = (
	# outside a transaction block no key is forwarded, and the error says why
	'su1::SELECT ef_unlock(1, %(k1)s)',
	'autocommit::SELECT count(ef_decrypt(email)) FROM customers',
	'lock::SELECT ef_lock()',
	# the unlock reads the registry's local placement, after which Citus
	# runs no EXPLAIN ANALYZE unless local execution is off
	'BEGIN', 'SET LOCAL citus.enable_local_execution TO off',
	'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'plan::EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) SELECT count(ef_decrypt(email)) FROM customers',
	'COMMIT',
	'BEGIN', 'tu1b::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'all::SELECT count(ef_decrypt(email)) FROM customers',
	'SET LOCAL citus.force_max_query_parallelization TO on',
	'again::SELECT count(ef_decrypt(email)) FROM customers',
	'names::SELECT string_agg(name, \',\' ORDER BY id) FROM patients_clear',
	'emails::SELECT md5(string_agg(ef_decrypt(email), \',\' ORDER BY tenant_id, id)) FROM customers',
	'COMMIT');
my $serial = client($coord, sql => \@parallel_sql);
my $parallel_setting = $w1->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
for my $w ($w1, $w2)
{
	$w->safe_psql('postgres', "ALTER SYSTEM SET $parallel_setting = on");
	$w->reload;
}
$r = client($coord, sql => \@parallel_sql);
for my $w ($w1, $w2)
{
	$w->safe_psql('postgres', "ALTER SYSTEM RESET $parallel_setting");
	$w->reload;
}
unlike($serial->{plan}, qr/Workers Launched/, 'without the setting, the shard queries run serially');
like($r->{plan}, qr/Workers Launched: 1/, "with $parallel_setting on the workers, the shard queries run in parallel workers");
is($r->{all}, '4', 'a worker backend hands the forwarded keys to its parallel workers, which decrypt');
like($r->{autocommit}, qr/^ERROR 55000: no master key is unlocked in this session \| On Citus, the coordinator forwards its keys to the workers only inside a transaction block/,
	'outside a transaction block, a parallel worker of a worker says keys are forwarded only inside one');
is($r->{again}, '4', 'connections the transaction opens later take the set: no parallel worker ended it');
is($r->{names}, $serial->{names}, 'the view decrypts the same in parallel workers as serially');
is($r->{emails}, $serial->{emails}, 'every value decrypts the same in parallel workers as serially');

# a worker restarted mid-session has a new key: one transaction fails with a
# hint, the next reads the new key
my $w2ctl = 'pg_ctl -w -D ' . $w2->data_dir . ' -l ' . $w2->logfile . ' restart';
$r = client($coord, sql => [
	'BEGIN', 'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'before::SELECT count(ef_decrypt(email)) FROM customers', 'COMMIT',
	"restart::shell:$w2ctl",
	'BEGIN', 'tu1b::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'stale::SELECT count(ef_decrypt(email)) FROM customers', 'ROLLBACK',
	'BEGIN', 'tu1c::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'fresh::SELECT count(ef_decrypt(email)) FROM customers', 'COMMIT',
]);
is($r->{before}, '4', 'before a worker restarts, its backends decrypt');
like($r->{stale}, qr/^ERROR 55000: .* \| The Citus coordinator sealed its keys to other servers' keys: this server restarted/,
	'after it restarts, a set sealed to its old key says why it holds no key');
is($r->{fresh}, '4', 'the next transaction seals to its new key');

# a worker added later gets the extension, a key, and forwarded keys
my $w3 = citus_node('worker3', 'citus,encrypted_field');
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $w3->port . ')');
like($w3->safe_psql('postgres', 'SELECT ef_node_public_key()'), qr/^[0-9a-f]{64}$/,
	'a worker added later has the extension and a key');
$r = client($coord, sql => [
	'create::CREATE TABLE orders (tenant_id int, id int, note encrypted_field)',
	'dist::SELECT create_distributed_table(\'orders\', \'tenant_id\', shard_count => 6)',
	'placed::SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = \'orders\'::regclass',
	'BEGIN', 'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'insert::INSERT INTO orders SELECT g, g, ef_encrypt(\'order \' || g) FROM generate_series(1, 30) g',
	'read::SELECT count(*) FROM orders WHERE ef_decrypt(note) = \'order \' || id',
	'COMMIT',
]);
is($r->{placed}, '3', 'a new table has shards on all three workers');
is($r->{read}, '30', 'values decrypt on every worker, the new one too');
$coord->safe_psql('postgres', 'SELECT ef_citus_share_registry()');
# (citus_shards leaves out the tables of extensions: the placements say it)
is($coord->safe_psql('postgres', "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid) "
	  . "JOIN pg_dist_node n ON n.groupid = p.groupid WHERE s.logicalrelid = 'ef_keys'::regclass AND n.nodeport = " . $w3->port),
	'1', 'ef_citus_share_registry() again copies the registry to the worker added later');
$r = client($w3, sql => [ 'u1::SELECT ef_unlock(1, %(k1)s)', 'held::SELECT count(*) FROM ef_held_keys()' ]);
is($r->{held}, '1', 'and a session there unlocks a key registered before it was added');

# a key written into SQL text is refused on the coordinator, before it is
# held or sent anywhere (a throwaway key: the coordinator's log has it)
my $literal = random_key();
$r = client($coord, sql => [ 'BEGIN', "literal::SELECT ef_unlock(1, '\\x$literal'::bytea, 'transaction')", 'ROLLBACK' ]);
like($r->{literal}, qr/^ERROR 28EF1:/, 'a key written into SQL text is refused on a Citus coordinator');
ok(leaks($literal, $_->logfile), $_->name . "'s log never holds a key refused on the coordinator") for ($w1, $w2, $w3);

# the workers' decrypt audit lines name the column and the coordinator's reason
my $workers_log = slurp_file($w1->logfile) . slurp_file($w2->logfile);
like($workers_log, qr/encrypted_field audit: \{"kind":"statement".*"application":"citus_internal gpid=\d+".*"keys":\[\{"key_id":1,"reason":"TICKET-4711"/,
	'a worker writes an audit line for the decrypts it runs, with the reason the coordinator session gave');
like($workers_log, qr/encrypted_field audit: \{"kind":"statement".*"columns":\[\{"op":"decrypt","column":"public\.customers_\d+\.email"/,
	'naming the shard column it decrypted');

# no key and no plaintext in any node's log; the checks read what they must
for my $node ($coord, $w1, $w2, $w3)
{
	my $log = slurp_file($node->logfile);
	ok(leaks($k1, $node->logfile) && leaks($k2, $node->logfile), $node->name . "'s log holds no form of either key");
	is(scalar(grep { index($log, $_) >= 0 } @plaintexts), 0, $node->name . "'s log holds no plaintext");
}
like(slurp_file($w1->logfile), qr/SET LOCAL encrypted_field\.forwarded_keys = '[0-9a-f]+'/,
	"a worker's log holds the sealed sets (log_statement = all), so the checks above read them");
like(slurp_file($coord->logfile), qr/issuing <command hidden by encrypted_field: this session holds keys>/,
	"the coordinator's log hides what Citus sends for a session that holds keys (citus.log_remote_commands)");
like(slurp_file($coord->logfile), qr/issuing SELECT create_distributed_table|issuing .*CREATE TABLE/,
	"and shows it for sessions that hold none");
like(slurp_file($w1->logfile), qr/<message hidden by encrypted_field: this backend serves a Citus coordinator that forwarded keys>/,
	"a worker's log hides the statements it runs for a coordinator that forwarded keys");

# a set copied from a worker's log opens nothing once its transaction ended
my $w1log = slurp_file($w1->logfile);
my @sets = $w1log =~ /forwarded_keys = '([0-9a-f]+)'/g;
my @ids = $w1log =~ /assign_distributed_transaction_id\((\d+), (\d+), '([^']+)'\)/g;
my $set = $sets[-1];
my ($group, $number, $stamp) = @ids[-3 .. -1];
my $shard = $w1->safe_psql('postgres', q{SET citus.override_table_visibility = off;
	SELECT c.relname FROM pg_class c WHERE c.relname LIKE 'customers\_%' AND c.relkind = 'r'
	ORDER BY c.relname LIMIT 1});
# the header intact, the entries cut short
my $truncated = substr($set, 0, length($set) - 40);
my $tampered = $set;
substr($tampered, 200, 1) = substr($set, 200, 1) eq '0' ? '1' : '0';
$r = client($w1, sql => [
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$set'",
	"SELECT assign_distributed_transaction_id($group, $number, '$stamp')",
	"replay::SELECT count(ef_decrypt(email)) FROM $shard", 'ROLLBACK',
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$set'",
	"SELECT assign_distributed_transaction_id($group, 999999, now())",
	"replay_new::SELECT count(ef_decrypt(email)) FROM $shard", 'ROLLBACK',
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$tampered'",
	"SELECT assign_distributed_transaction_id($group, 999998, now())",
	"tampered::SELECT count(ef_decrypt(email)) FROM $shard", 'ROLLBACK',
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$truncated'",
	"SELECT assign_distributed_transaction_id($group, 999995, now())",
	"truncated::SELECT count(ef_decrypt(email)) FROM $shard", 'ROLLBACK',
	"garbage::SET encrypted_field.forwarded_keys = 'not a set'",
	"role::ALTER ROLE CURRENT_USER SET encrypted_field.forwarded_keys = '$set'",
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$set'",
	'show::SHOW encrypted_field.forwarded_keys', 'ROLLBACK',
]);
like($r->{replay}, qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'a sealed set replayed from the log with its own transaction id is refused: its transaction ended');
like($r->{replay_new}, qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused/,
	'and with a new transaction id');
like($r->{tampered}, qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused/, 'an altered set is refused');
like($r->{truncated}, qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused/,
	'a set whose entries are cut short is refused');
like($r->{garbage}, qr/^ERROR 22023: encrypted_field.forwarded_keys is not a set of keys sealed by a Citus coordinator/,
	'a value that is not a sealed set is refused');
like($r->{role}, qr/^ERROR 55P02: encrypted_field.forwarded_keys can only be set by a Citus coordinator, with SET LOCAL/,
	'a set cannot be made a role default');
is($r->{show}, '(sealed)', 'SHOW never shows a set');

# a server with the library but without Citus refuses any set, and says why
my $plain_node = PostgreSQL::Test::Cluster->new('no_citus');
$plain_node->init;
$plain_node->append_conf('postgresql.conf', "shared_preload_libraries = 'encrypted_field'");
$plain_node->start;
$plain_node->safe_psql('postgres', 'CREATE EXTENSION encrypted_field');
my (undef, undef, $no_citus_err) = $plain_node->psql('postgres',
	"BEGIN; SET LOCAL encrypted_field.forwarded_keys = '$set'; SELECT 1; ROLLBACK;");
like($no_citus_err, qr/ERROR:  keys forwarded by a Citus coordinator were refused\nDETAIL:  Citus is not loaded in this session\./,
	'without Citus, a set is refused at the next statement (28000), with the reason');
$plain_node->stop;

# a set a worker received but never opened is refused after its transaction
my %before = map { $_->name => length(slurp_file($_->logfile)) } ($w1, $w2);
$r = client($coord, sql => [
	'BEGIN',
	'warm::SELECT count(*) FROM customers WHERE tenant_id = 1',
	'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'other::SELECT pg_catalog.now() IS NOT NULL',
	'COMMIT',
]);
my ($unopened, $received_by, $bystander);
for my $node ($w1, $w2)
{
	my ($set) = substr(slurp_file($node->logfile), $before{ $node->name }) =~ /forwarded_keys = '([0-9a-f]+)'/;
	if (defined $set) { ($unopened, $received_by) = ($set, $node); }
	else { $bystander = $node; }
}
ok(defined $unopened && defined $bystander, 'a set reached the one worker connection in the transaction, which ran nothing after it');
my %shard_of = map {
	my $node = $_;
	($node->name => $node->safe_psql('postgres', q{SET citus.override_table_visibility = off;
		SELECT c.relname FROM pg_class c WHERE c.relname LIKE 'customers\_%' AND c.relkind = 'r'
		AND (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', c.relname), false, true, '')))[1]::text::int > 0
		ORDER BY c.relname LIMIT 1}))
} ($w1, $w2);
# a worker session that takes a set as if it served a coordinator's
# transaction of this number, and decrypts a shard with it
sub replay_set
{
	my ($node, $set, $number, $shard_table) = @_;
	return client($node, sql => [
		'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$set'",
		"SELECT assign_distributed_transaction_id($group, $number, now())",
		"replay::SELECT count(ef_decrypt(email)) FROM $shard_table", 'ROLLBACK',
	])->{replay};
}
like(replay_set($received_by, $unopened, 999997, $shard_of{ $received_by->name }), qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused/,
	'a set received but never opened is refused once its transaction ended');

# a transaction that sends a worker more than 64 sets records every one
# (the record grows past its first 64 entries): the last keyed set,
# replayed after the transaction, is refused
my ($tenant_node) = grep { $_->port == $port_of{1} } ($w1, $w2, $w3);
my $tenant_shard = $coord->safe_psql('postgres',
	q{SELECT 'customers_' || get_shard_id_for_distribution_column('customers', 1)});
my $mark = length(slurp_file($tenant_node->logfile));
my @many = ('BEGIN');
for my $i (1 .. 70)
{
	push @many, "u$i" . '::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	  "r$i" . '::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1',
	  "l$i" . '::SELECT ef_lock()';
}
$r = client($coord, sql => [ @many, 'COMMIT' ]);
is($r->{r70}, '2', 'the 70th unlock of a transaction still reaches the worker');
my @many_sets = substr(slurp_file($tenant_node->logfile), $mark) =~ /forwarded_keys = '([0-9a-f]+)'/g;
cmp_ok(scalar @many_sets, '>', 64, 'the worker received more than 64 sets in that transaction');
my ($longest) = sort { $b <=> $a } map { length } @many_sets;
my ($last_keyed) = grep { length == $longest } reverse @many_sets;
like(replay_set($tenant_node, $last_keyed, 999990, $tenant_shard), qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused/,
	'a set sent after the 64th of its transaction is refused once the transaction ended');

# a set sealed to a worker that never took part in its transaction is
# refused once it is older than encrypted_field.forwarded_keys_max_age
$bystander->append_conf('postgresql.conf', 'encrypted_field.forwarded_keys_max_age = 10');
$bystander->reload;
sleep 11;
like(replay_set($bystander, $unopened, 999996, $shard_of{ $bystander->name }),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| They are older than encrypted_field\.forwarded_keys_max_age\./,
	'a set for a worker that never took part is refused once it is older than the maximum age');
$bystander->append_conf('postgresql.conf', 'encrypted_field.forwarded_keys_max_age = 300');
$bystander->reload;

# a worker records ended sets in a table of encrypted_field.citus_ended_sets
# entries (the ids of sets older than the maximum age need no entry)
my $small = $tenant_node;
my ($other_tenant, $other_port) = split /\|/, $coord->safe_psql('postgres',
	q{SELECT t, n.nodeport FROM generate_series(1, 1000) t
	JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('customers', t)
	JOIN pg_dist_node n USING (groupid) WHERE n.nodeport <> } . $small->port . q{ ORDER BY t LIMIT 1});
my ($other_node) = grep { $_->port == $other_port } ($w1, $w2, $w3);
# a set sealed to every worker but sent only to the other one's connection
sub unseen_set
{
	my $mark = length(slurp_file($other_node->logfile));
	client($coord, sql => [
		'BEGIN', "warm::SELECT count(*) FROM customers WHERE tenant_id = $other_tenant",
		'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')', 'other::SELECT 1', 'COMMIT' ]);
	my ($set) = substr(slurp_file($other_node->logfile), $mark) =~ /forwarded_keys = '([0-9a-f]+)'/;
	return $set;
}
my $shard_values = $small->safe_psql('postgres', "SELECT count(email) FROM $tenant_shard");

# under load: more transactions end within the maximum age than the 16384
# ids the worker once kept, all young, while a transaction made before them
# still runs; with a larger table, its set (one the worker has not seen) is
# still taken on a new worker connection.  20000 sets end in one session
# on the worker (the record takes any well-formed set a transaction
# received: ids made up, the time of a set made after the running one)
$small->append_conf('postgresql.conf', 'encrypted_field.citus_ended_sets = 32768');
$small->restart;
my $running = unseen_set();
my $later = unseen_set();
$small->safe_psql('postgres', qq{BEGIN;
	DO \$\$ BEGIN FOR i IN 1 .. 20000 LOOP
		PERFORM set_config('encrypted_field.forwarded_keys', overlay('$later' PLACING lpad(to_hex(i), 32, '0') FROM 9 FOR 32), true);
	END LOOP; END \$\$;
	COMMIT});
is(replay_set($small, $running, 999981, $tenant_shard), $shard_values,
	'with encrypted_field.citus_ended_sets = 32768, 20000 young ended sets leave a set made before them to be taken');

# restarted with the smallest table, the worker ends more sets than that.
# While they are young, it forgets the oldest and refuses a set made before
# them that it never saw; once they are older than the maximum age, it
# drops them instead, and a set made before the next ones is taken
$small->append_conf('postgresql.conf', 'encrypted_field.citus_ended_sets = 128');
$small->restart;
is($small->safe_psql('postgres', 'SHOW encrypted_field.citus_ended_sets'), '128',
	'a worker restarted with encrypted_field.citus_ended_sets = 128');
# one transaction that sends the small worker a set per unlock; returns
# how many it opened (the audit lines say: it hides the statements while a
# key is held), and leaves the sets its log shows in @ended_sets
my @ended_sets;
sub end_sets
{
	my ($n) = @_;
	my $mark = length(slurp_file($small->logfile));
	my $r = client($coord, sql => [ 'BEGIN',
		(map { ("u$_" . '::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
			"r$_\::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1",
			# with no key held in between, the worker logs each new set
			"l$_\::SELECT ef_lock()") } 1 .. $n),
		'COMMIT' ]);
	die "the transaction that ends sets failed: " . join(', ', grep { /ERROR/ } values %$r)
	  if grep { /ERROR/ } values %$r;
	my $log = substr(slurp_file($small->logfile), $mark);
	my @got = $log =~ /master keys 1 forwarded by the Citus coordinator/g;
	@ended_sets = $log =~ /forwarded_keys = '([0-9a-f]+)'/g;
	return scalar @got;
}
my $before_young = unseen_set();
ok(defined $before_young, 'a set that the small worker never received');
cmp_ok(end_sets(150), '>', 128, 'the small worker then ends more sets than its table holds, all young');
like(replay_set($small, $before_young, 999980, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| Retry the transaction\. Raise encrypted_field\.citus_ended_sets on this server and restart it\. \| They were made before sets that this server had to forget while they were young/,
	'a set made before young sets that a full table forgot is refused, and the error says to raise the setting');
like(slurp_file($small->logfile), qr/LOG:  encrypted_field: more Citus transactions ended within encrypted_field\.forwarded_keys_max_age than encrypted_field\.citus_ended_sets can record; keys forwarded up to .* are refused/,
	'the worker logs that it forgot young sets');
# a set of the middle of those 150, newer than the ones forgotten, is kept
cmp_ok(scalar @ended_sets, '>=', 150, 'the small worker\'s log shows the sets of those 150 unlocks');
my $young_set = $ended_sets[int(@ended_sets / 2)];
like(replay_set($small, $young_set, 999977, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'a young ended set newer than the forgotten ones is still refused as ended');
$r = client($coord, sql => [ 'BEGIN', 'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'read::SELECT count(ef_decrypt(email)) FROM customers WHERE tenant_id = 1', 'COMMIT' ]);
is($r->{read}, '2', 'sets made after that are taken');
$small->append_conf('postgresql.conf', 'encrypted_field.forwarded_keys_max_age = 10');
$small->reload;
sleep 11;
my $before_aged = unseen_set();
cmp_ok(end_sets(100), '>=', 100, 'once its sets are older than the maximum age, it ends 100 more, more than its free entries');
# the maximum age again, so that a slow machine cannot age the set
$small->append_conf('postgresql.conf', 'encrypted_field.forwarded_keys_max_age = 300');
$small->reload;
is(replay_set($small, $before_aged, 999979, $tenant_shard), $shard_values,
	'a set made before them is taken: the aged entries were dropped, no young one was forgotten');
like(replay_set($small, $before_aged, 999978, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'and refused once that transaction ended');
# the entry of that set of the 150 was dropped as aged under a maximum age
# of 10 s: with the maximum at 300 s again, the set is still refused as aged
like(replay_set($small, $young_set, 999976, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| They are older than encrypted_field\.forwarded_keys_max_age\./,
	'a set whose entry was dropped as aged stays refused once the maximum age is raised');

# a copy of a set's header dated earlier, received with the set, does not
# make the set's record age early: the later time is kept.  On a fresh
# table: the set, then 127 made-up ids dated 250 to 187 s ago fill it; once
# the copy's time is past the maximum age, one more id makes room (the
# oldest of the made-up ones go), and the set must still be refused
$small->restart;
my $dated = unseen_set();
my $fill_header = unseen_set();
# a header with its time (hex digits 41 to 56: microseconds since 2000)
# set to this many seconds ago
sub dated_header
{
	my ($set, $ago) = @_;
	return "overlay('$set' PLACING lpad(to_hex(((extract(epoch FROM clock_timestamp()) - 946684800 - $ago) * 1000000)::bigint), 16, '0') FROM 41 FOR 16)";
}
my $earlier = $small->safe_psql('postgres', 'SELECT ' . dated_header($dated, 297));
$r = client($small, sql => [
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$earlier'",
	"SET LOCAL encrypted_field.forwarded_keys = '$dated'",
	"SELECT assign_distributed_transaction_id($group, 999975, now())",
	"first::SELECT count(ef_decrypt(email)) FROM $tenant_shard", 'ROLLBACK' ]);
is($r->{first}, $shard_values, 'a set is taken once, after a copy of its header dated 297 s earlier');
# fill the fresh table with 127 made-up ids (id i dated 250 - i / 2 s
# ago); once a copy dated 297 s ago is past the maximum age, end one more,
# which makes room: the oldest made-up ones go
sub fill_and_make_room
{
	my $made_up = "overlay(overlay('$fill_header' PLACING lpad(to_hex(i + 100000), 32, '0') FROM 9 FOR 32) PLACING "
	  . "lpad(to_hex(((extract(epoch FROM clock_timestamp()) - 946684800 - 250 + i / 2.0) * 1000000)::bigint), 16, '0') FROM 41 FOR 16)";
	$small->safe_psql('postgres', qq{BEGIN;
		DO \$\$ BEGIN FOR i IN 1 .. 127 LOOP
			PERFORM set_config('encrypted_field.forwarded_keys', $made_up, true);
		END LOOP; END \$\$;
		COMMIT});
	sleep 4;
	$small->safe_psql('postgres', qq{BEGIN;
		SELECT set_config('encrypted_field.forwarded_keys', overlay('$fill_header' PLACING lpad(to_hex(200000), 32, '0') FROM 9 FOR 32), true);
		COMMIT});
}
fill_and_make_room();
like(replay_set($small, $dated, 999974, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'the set is refused as ended after the copy\'s time aged and the full table made room');

# the same with the copy recorded by another transaction, which ends while
# the set's own transaction runs: the set's end keeps the later time
$small->restart;
$dated = unseen_set();
$fill_header = unseen_set();
$earlier = $small->safe_psql('postgres', 'SELECT ' . dated_header($dated, 297));
my $own = $small->background_psql('postgres');
$own->query_safe("BEGIN; SET LOCAL encrypted_field.forwarded_keys = '$dated';
	SELECT assign_distributed_transaction_id($group, 999973, now())");
is($own->query_safe("SELECT count(ef_decrypt(email)) FROM $tenant_shard"), $shard_values,
	'a set is taken in a transaction that stays open');
$small->safe_psql('postgres', "BEGIN; SET LOCAL encrypted_field.forwarded_keys = '$earlier'; COMMIT");
$own->query_safe('ROLLBACK');
$own->quit;
fill_and_make_room();
like(replay_set($small, $dated, 999972, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'the set is refused as ended when a copy dated earlier was recorded first by another transaction');

# a copy dated an hour ahead, received after the set in its transaction,
# does not keep the set from being recorded (at 60 s ahead at most)
my $ahead_set = unseen_set();
my $ahead = $small->safe_psql('postgres', 'SELECT ' . dated_header($ahead_set, -3600));
$r = client($small, sql => [
	'BEGIN', "SET LOCAL encrypted_field.forwarded_keys = '$ahead_set'",
	"SELECT assign_distributed_transaction_id($group, 999971, now())",
	"first::SELECT count(ef_decrypt(email)) FROM $tenant_shard",
	"SET LOCAL encrypted_field.forwarded_keys = '$ahead'", 'ROLLBACK' ]);
is($r->{first}, $shard_values, 'a set is taken once, before a copy of its header dated an hour ahead');
like(replay_set($small, $ahead_set, 999970, $tenant_shard),
	qr/^ERROR 28000: keys forwarded by a Citus coordinator were refused \| None \| The transaction they were sent for has ended\./,
	'and refused as ended afterwards');

# a worker without the library preloaded cannot receive keys, and says so
my $w4 = citus_node('worker4', 'citus');
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $w4->port . ')');
my (undef, undef, $err) = $w4->psql('postgres', 'SELECT ef_node_public_key()');
like($err, qr/this server has no key to receive forwarded keys.*\n.*HINT:  Add encrypted_field to shared_preload_libraries, after citus/,
	'without the preload, a worker has no key, and the error says what to add');
$r = client($coord, sql => [
	'create::CREATE TABLE notes (tenant_id int, id int, body encrypted_field)',
	'dist::SELECT create_distributed_table(\'notes\', \'tenant_id\', shard_count => 8)',
	'BEGIN', 'tu1::SELECT ef_unlock(1, %(k1)s, \'transaction\')',
	'insert::INSERT INTO notes SELECT g, g, ef_encrypt(\'note \' || g) FROM generate_series(1, 40) g',
	'read::SELECT count(ef_decrypt(body)) FROM notes',
	'ROLLBACK',
]);
like($r->{read}, qr/^ERROR 55000: no master key is unlocked in this session \| This server cannot receive keys from the Citus coordinator: add encrypted_field to shared_preload_libraries/,
	'a statement that needs a key there fails with a hint that names the preload');

$_->stop for ($coord, $w1, $w2, $w3, $w4);
done_testing();

#!/usr/bin/env bash
# Connection pooling with PgBouncer, one server connection shared by every
# client: in transaction mode a transaction-scoped key never serves the next
# client, while a session-scoped key would (which is why the README says to
# use transaction scope there); in session mode DISCARD ALL, sent between
# clients, forgets every key.  PgBouncer passes no startup options, so the
# keys go as bind parameters (test/ops/bind_client.py, psycopg 3); a key in
# SQL text is refused.  Starts its own cluster and pgbouncer.
# Usage, from the project root, after the extension is installed:
#   bash test/ops/pgbouncer.sh
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$EF_ROOT"
. test/check.sh
unset PGOPTIONS # PgBouncer refuses a client that sends startup options
EF_PORT=${EF_PORT:-55511} ef_cluster_start
dir=$(dirname "$EF_PGDATA")
key=$(openssl rand -hex 32)

# PgBouncer passes no startup options (encrypted_field.keys) to the server:
# every key goes as a bind parameter, sent by a psycopg client as an
# application sends it (psql 15 cannot)
bind_client() { EF_KEY=$key /usr/bin/python3 test/ops/bind_client.py "$@" 2>&1; }

psql -X -q -c "CREATE DATABASE app" >/dev/null
psql -X -q -d app -c "CREATE EXTENSION encrypted_field" >/dev/null
setup=$(bind_client "dbname=app" "SELECT ef_register_key(1, %(key)s)" "SELECT ef_unlock(1, %(key)s)" \
	"CREATE TABLE t AS SELECT ef_encrypt('pooled secret') AS v")
status=$?
check "setup: the key, a bind parameter, is registered and encrypts a value" test $status -eq 0
[ $status -eq 0 ] || sed 's/^/  /' <<<"$setup"

# run pgbouncer in a mode; every client then shares one server connection
bouncer() {
	cat >"$dir/pgbouncer.ini" <<INI
[databases]
app = host=$dir port=$PGPORT dbname=app user=$PGUSER
[pgbouncer]
listen_addr =
unix_socket_dir = $dir
listen_port = 6432
auth_type = trust
auth_file = $dir/users.txt
pool_mode = $1
default_pool_size = 1
max_client_conn = 10
server_reset_query = DISCARD ALL
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
	echo "\"$PGUSER\" \"\"" >"$dir/users.txt"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pgbouncer.ini" "$dir/users.txt"
	ef_as_owner pgbouncer -d "$dir/pgbouncer.ini"
	for _ in $(seq 50); do [ -S "$dir/.s.PGSQL.6432" ] && return 0; sleep 0.1; done
	return 1
}
stop_bouncer() {
	kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null
	for _ in $(seq 50); do [ -S "$dir/.s.PGSQL.6432" ] || return 0; sleep 0.1; done
}
# a client through the pooler: its own connection, then disconnect
client() { psql -X -q -At -p 6432 -d app "$@" 2>&1; }

# a server pid and a result, as "pid|result"; a psql error is neither
pid_of() { [[ "${1%%|*}" =~ ^[0-9]+$ ]] && echo "${1%%|*}"; }

# a client sending the key as a bind parameter through the pooler
bound() { bind_client "host=$dir port=6432 dbname=app" "$@"; }

check "transaction mode: PgBouncer starts" bouncer transaction
# what a psql user might try: the key in the statement's text is refused,
# and so is a key in the startup options, which PgBouncer does not pass on
lit=$(client -v VERBOSITY=verbose -c "SELECT ef_unlock(1, decode('$key', 'hex'), 'transaction')")
check "transaction mode: a key written into SQL text is refused (28EF1)" grep -q "ERROR:  28EF1:" <<<"$lit"
opt=$(PGOPTIONS="-c encrypted_field.keys=1:$key" client -c "SELECT ef_unlock(1, NULL, 'transaction')" -c "SELECT ef_decrypt(v) FROM t")
check "transaction mode: a key given at connection start does not pass PgBouncer" \
	bash -c '! grep -q "pooled secret" <<<"$1" &&
		grep -q -e "unsupported startup parameter" -e "no master key given" <<<"$1"' _ "$opt"
# client A unlocks with the key as a bind parameter, scope transaction,
# decrypts, commits, and looks again in its next transaction
a=$(bound "SELECT ef_unlock(1, %(key)s, 'transaction')" \
	"SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t" COMMIT \
	"SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()")
a_next=$(tail -1 <<<"$a")
a=$(sed -n 2p <<<"$a")
b=$(client -c "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()")
check "transaction mode: client A decrypted within its transaction, the key a bind parameter" same "${a#*|}" "pooled secret"
check "transaction mode: A's next transaction ran on the same server connection" same "$(pid_of "$a_next")" "$(pid_of "$a")"
check "transaction mode: A's next transaction holds no key" same "${a_next#*|}" 0
check "transaction mode: client B got the same server connection" same "$(pid_of "$b")" "$(pid_of "$a")"
check "transaction mode: B holds no key from A's transaction-scoped unlock" same "${b#*|}" 0
c=$(client -c "SELECT ef_decrypt(v) FROM t")
check "transaction mode: B cannot decrypt" grep -q "no master key is unlocked in this session" <<<"$c"

# the hazard the README warns of: a session-scoped key outlives its client
bound "SELECT ef_unlock(1, %(key)s)" >/dev/null
d=$(client -c "SELECT ef_decrypt(v) FROM t")
check "transaction mode: a session-scoped key would serve the next client" same "$d" "pooled secret"
client -c "SELECT ef_lock()" >/dev/null
stop_bouncer

check "session mode: PgBouncer starts" bouncer session
e=$(bound "SELECT ef_unlock(1, %(key)s)" "SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t" | tail -1)
f=$(client -c "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()")
check "session mode: client A decrypted with a session-scoped key" same "${e#*|}" "pooled secret"
check "session mode: client B got the same server connection" same "$(pid_of "$f")" "$(pid_of "$e")"
check "session mode: DISCARD ALL between clients forgot A's key" same "${f#*|}" 0
check "session mode: the server log records the DISCARD ALL" \
	grep -q "encrypted_field: locked by DISCARD ALL; master keys forgotten: 1" "$EF_PGDATA/server.log"
stop_bouncer

check "no key material in the server log" bash -c "[ -s '$EF_PGDATA/server.log' ] && ! grep -q -i '$key' '$EF_PGDATA/server.log'"
report pgbouncer

#!/usr/bin/env bash
# Connection pooling with PgBouncer, one server connection shared by every
# client: in transaction mode a transaction-scoped key never serves the next
# client, while a session-scoped key would (which is why the README says to
# use transaction scope there); in session mode DISCARD ALL, sent between
# clients, forgets every key.  Starts its own cluster and pgbouncer.
# Usage, from the project root, after the extension is installed:
#   bash test/ops/pgbouncer.sh
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$EF_ROOT"
. test/check.sh
EF_PORT=${EF_PORT:-55511} ef_cluster_start
dir=$(dirname "$EF_PGDATA")
key=$(openssl rand -hex 32)

psql -X -q -c "CREATE DATABASE app" >/dev/null
psql -X -q -d app -c "CREATE EXTENSION encrypted_field" -c "SELECT ef_register_key(1, decode('$key', 'hex'))" \
	-c "SELECT ef_unlock(1, decode('$key', 'hex'))" \
	-c "CREATE TABLE t AS SELECT ef_encrypt('pooled secret') AS v" >/dev/null

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

check "transaction mode: PgBouncer starts" bouncer transaction
a=$(client -c "BEGIN" -c "SELECT ef_unlock(1, decode('$key', 'hex'), 'transaction')" \
	-c "SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t" -c "COMMIT" | tail -1)
b=$(client -c "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()")
check "transaction mode: client A decrypted within its transaction" same "${a#*|}" "pooled secret"
check "transaction mode: client B got the same server connection" same "$(pid_of "$b")" "$(pid_of "$a")"
check "transaction mode: B holds no key from A's transaction-scoped unlock" same "${b#*|}" 0
c=$(client -c "SELECT ef_decrypt(v) FROM t")
check "transaction mode: B cannot decrypt" grep -q "no master key is unlocked in this session" <<<"$c"

# the hazard the README warns of: a session-scoped key outlives its client
client -c "SELECT ef_unlock(1, decode('$key', 'hex'))" >/dev/null
d=$(client -c "SELECT ef_decrypt(v) FROM t")
check "transaction mode: a session-scoped key would serve the next client" same "$d" "pooled secret"
client -c "SELECT ef_lock()" >/dev/null
stop_bouncer

check "session mode: PgBouncer starts" bouncer session
e=$(client -c "SELECT ef_unlock(1, decode('$key', 'hex'))" -c "SELECT pg_backend_pid() || '|' || ef_decrypt(v) FROM t" | tail -1)
f=$(client -c "SELECT pg_backend_pid() || '|' || count(*) FROM ef_held_keys()")
check "session mode: client A decrypted with a session-scoped key" same "${e#*|}" "pooled secret"
check "session mode: client B got the same server connection" same "$(pid_of "$f")" "$(pid_of "$e")"
check "session mode: DISCARD ALL between clients forgot A's key" same "${f#*|}" 0
check "session mode: the server log records the DISCARD ALL" \
	grep -q "encrypted_field: locked by DISCARD ALL; master keys forgotten: 1" "$EF_PGDATA/server.log"
stop_bouncer

report pgbouncer

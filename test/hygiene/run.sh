#!/usr/bin/env bash
# Key hygiene: with the server logging every statement and its parameters,
# no form of a master key reaches the server log, pg_stat_activity as another
# session sees it, pg_stat_statements or pg_settings, when encrypted_field is
# preloaded; when it is not, the first key statement warns.  Held keys sit in
# memory excluded from core dumps, and are zeroed by ef_lock().
#
# Run by scripts/test.sh against a cluster started with
#   shared_preload_libraries = pg_stat_statements, log_statement = all,
#   log_min_duration_statement = 0, log_parameter_max_length = -1,
#   log_parameter_max_length_on_error = -1
# with PGHOST, PGPORT, PGUSER set and EF_PGDATA naming its data directory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../check.sh"
work=$(mktemp -d)
log=$EF_PGDATA/server.log
trap 'rm -rf "$work"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=0 "$@"; }

key=$(openssl rand -hex 32)
wrong=$(openssl rand -hex 32)
lazy=$(openssl rand -hex 32)

q -c "CREATE DATABASE ef_pre" -c "CREATE DATABASE ef_lazy" >/dev/null
q -c "ALTER DATABASE ef_pre SET session_preload_libraries = 'encrypted_field'" >/dev/null
q -d ef_pre -c "CREATE EXTENSION encrypted_field" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
q -d ef_lazy -c "CREATE EXTENSION encrypted_field" >/dev/null

# Preloaded: keys as literals in psql, each in its own session
export PGDATABASE=ef_pre
q -c "SELECT 'hygiene canary statement'" >/dev/null
q -c "SELECT ef_register_key(1, '\\x$key'::bytea)" >"$work/pre.out" 2>&1
q -c "SELECT ef_unlock(1, '\\x$key'::bytea)" >>"$work/pre.out" 2>&1
q -c "SELECT ef_unlock(1, '\\x$wrong'::bytea)" >>"$work/pre.out" 2>&1
q -c "SELECT ef_unlock(1, '\\x$key'::bytea), 1 / 0" >>"$work/pre.out" 2>&1
q -c "SELECT ef_unlock(1, decode('$key', 'hex'))" >>"$work/pre.out" 2>&1
check "preloaded: no warning about the log" bash -c "! grep -q 'may have been written' '$work/pre.out'"
check "preloaded: the wrong key was refused" grep -q "does not match the fingerprint" "$work/pre.out"

# Preloaded: keys as bind parameters from a libpq program
check "bind parameters: every step ended as expected" "$here/bind_key" "$key" "$wrong"

# pg_stat_activity, seen from another session while a key statement runs
q -c "SELECT ef_unlock(1, '\\x$key'::bytea), pg_sleep(2)" >/dev/null 2>&1 &
sleeper=$!
sleep 1
q -c "SELECT pid, query FROM pg_stat_activity WHERE datname = 'ef_pre'" >"$work/activity.txt"
wait $sleeper
check "pg_stat_activity shows the placeholder" grep -q "hidden by encrypted_field" "$work/activity.txt"
check "pg_stat_activity holds no form of the key" "$here/leaks.py" "$key" "$work/activity.txt"

q -c "SELECT query FROM pg_stat_statements" >"$work/statements.txt"
check "pg_stat_statements recorded the key statements" grep -q "ef_unlock" "$work/statements.txt"
check "pg_stat_statements holds no form of the key" "$here/leaks.py" "$key" "$work/statements.txt"
q -c "SELECT name, setting, reset_val, boot_val FROM pg_settings" >"$work/settings.txt"
check "pg_settings holds no form of the key" "$here/leaks.py" "$key" "$work/settings.txt"

# Memory: the key page is excluded from core dumps and zeroed by ef_lock()
mkfifo "$work/in"
q -f "$work/in" >"$work/session.out" 2>&1 &
session=$!
exec 3>"$work/in"
wait_for() { for _ in $(seq 50); do grep -q "$1" "$work/session.out" && return 0; sleep 0.1; done; return 1; }
echo "SELECT 'pid=' || pg_backend_pid();" >&3
wait_for "^pid=" || true
pid=$(sed -n 's/^pid=//p' "$work/session.out")
echo "SELECT ef_unlock(1, '\\x$key'::bytea); SELECT 'unlocked';" >&3
wait_for "^unlocked" || true
check "memory: the held KEK is in a page excluded from core dumps" "$here/memcheck.py" "$pid" "$key" held
echo "SELECT ef_lock(); SELECT 'locked';" >&3
wait_for "^locked" || true
check "memory: ef_lock() zeroed the KEK" "$here/memcheck.py" "$pid" "$key" wiped
exec 3>&-
wait $session

# Not preloaded: the statement that loads the library warns; later ones are hidden
export PGDATABASE=ef_lazy
q -c "SELECT ef_register_key(1, '\\x$lazy'::bytea)" \
	-c "SELECT ef_unlock(1, '\\x$lazy'::bytea)" >"$work/lazy.out" 2>&1
check "not preloaded: the first key statement warns" \
	grep -q "WARNING:  the master key may have been written to the server log" "$work/lazy.out"
check "not preloaded: only that statement warns" \
	test "$(grep -c 'may have been written' "$work/lazy.out")" -eq 1

# The server log, read last, after every statement above
cp "$log" "$work/server.log"
check "the log has the canary statement (log_statement = all is on)" \
	grep -q "statement: SELECT 'hygiene canary statement'" "$work/server.log"
check "the log has the placeholders" grep -q "hidden by encrypted_field" "$work/server.log"
check "the log has the audit lines" grep -q "encrypted_field: master key 1 unlock failed" "$work/server.log"
check "the log holds no form of the key" "$here/leaks.py" "$key" "$work/server.log"
check "the log holds no form of the wrong key" "$here/leaks.py" "$wrong" "$work/server.log"
check "not preloaded: only the loading statement reached the log" \
	test "$(grep -o "$lazy" "$work/server.log" | wc -l)" -eq 1

q -d postgres -c "DROP DATABASE ef_pre" -c "DROP DATABASE ef_lazy" >/dev/null
report hygiene

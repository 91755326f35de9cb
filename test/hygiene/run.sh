#!/usr/bin/env bash
# Key hygiene: under the harshest logging and statistics settings, no form of
# a master key reaches the server log, pg_stat_statements, pg_stat_activity
# as another session sees it, pg_prepared_statements, EXPLAIN output or the
# settings views, for every channel a key may take: bind parameters from
# libpq, psycopg 3 and node-postgres (directly, through a PL/pgSQL wrapper,
# a procedure, named prepared statements), and the encrypted_field.keys
# startup option psql users take.  A poller reads pg_stat_activity in a tight
# loop while 1,000 unlocks run through each channel.  Keys written into SQL
# text are refused; psycopg2, which does that, is refused and shown the way
# out.  Held keys sit in memory excluded from core dumps and are zeroed by
# ef_lock(); the bind parameter a key came from is wiped.
#
# Run by scripts/test.sh against a cluster started with
#   shared_preload_libraries = pg_stat_statements, auto_explain
#   log_statement = all, log_min_duration_statement = 0,
#   log_parameter_max_length = -1, log_parameter_max_length_on_error = -1,
#   auto_explain.log_min_duration = 0, log_analyze, log_verbose,
#   log_nested_statements on, pg_stat_statements.track = all
# with PGHOST, PGPORT, PGUSER set and EF_PGDATA naming its data directory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../check.sh"
work=$(mktemp -d)
log=$EF_PGDATA/server.log
trap '[ -n "${EF_KEEP:-}" ] || rm -rf "$work"' EXIT
py=/usr/bin/python3
loops=${EF_HYGIENE_LOOPS:-1000}

q() { psql -X -q -At -v ON_ERROR_STOP=0 "$@"; }
# run a command with its output appended to a file: to FILE COMMAND...
to() { local out=$1; shift; "$@" >>"$out" 2>&1; }
leaks() { "$here/leaks.py" "$key" "$1" && "$here/leaks.py" "$wrong" "$1"; }

key=$(openssl rand -hex 32)
wrong=$(openssl rand -hex 32)
decoy=$(openssl rand -hex 32)
lazy=$(openssl rand -hex 32)

# node-postgres, installed once outside the repository
node_dir=${EF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/encrypted_field}/node
if [ ! -d "$node_dir/node_modules/pg" ]; then
	mkdir -p "$node_dir"
	npm install --silent --no-audit --no-fund --prefix "$node_dir" pg@8 >/dev/null
fi
node_client() { NODE_PATH=$node_dir/node_modules node "$here/node_client.js" "$@"; }

q -c "CREATE DATABASE ef_pre" -c "CREATE DATABASE ef_lazy" >/dev/null
q -c "ALTER DATABASE ef_pre SET session_preload_libraries = 'encrypted_field'" >/dev/null
q -d ef_pre -c "CREATE EXTENSION encrypted_field" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
q -d ef_lazy -c "CREATE EXTENSION encrypted_field" >/dev/null

export PGDATABASE=ef_pre
check "settings: statements, parameters, plans and utility statements are all recorded" \
	same "$(q -d postgres -c "SELECT string_agg(current_setting(s), ',' ORDER BY s) FROM unnest(ARRAY['log_statement',
		'log_min_duration_statement', 'log_parameter_max_length', 'log_parameter_max_length_on_error',
		'auto_explain.log_min_duration', 'auto_explain.log_analyze', 'auto_explain.log_verbose',
		'auto_explain.log_nested_statements', 'pg_stat_statements.track',
		'pg_stat_statements.track_utility']) s")" "on,0,on,on,0,-1,-1,all,all,on"
check "with the library loaded, PostgreSQL builds no parameter strings for the log" \
	same "$(q -c "SELECT current_setting('log_parameter_max_length') || ',' || current_setting('log_parameter_max_length_on_error')")" "0,0"
q -c "SELECT 'hygiene canary statement'" >/dev/null
# plaintext as a bind parameter, in a statement that calls no key function
"$py" -c "import psycopg; c = psycopg.connect('', autocommit=True); c.execute('SELECT length(%s)', ['hygiene parameter canary'])"
q -c "/* ef_unlock */ SELECT 'comment canary statement'" >/dev/null

# The key reaches the registry through the startup option, as psql users do
PGOPTIONS="-c encrypted_field.keys=1:$key" q -c "SELECT ef_register_key(1, comment => 'hygiene')" >/dev/null
check "startup option: the key registered" same "$(q -c "SELECT count(*) FROM ef_keys")" 1

# The application's own wrappers, which pass the key on
q >/dev/null <<'SQL'
CREATE FUNCTION app_unlock(k bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ef_unlock(1, k);
END $$;
CREATE PROCEDURE app_unlock_proc(k bytea) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ef_unlock(1, k);
END $$;
CREATE FUNCTION app_unlock_hex(k text) RETURNS void LANGUAGE sql AS $$
	SELECT ef_unlock(1, decode(k, 'hex'))
$$;
SQL

# Each client library, each way of passing a key, and what must fail
check "libpq: every step ended as expected" to "$work/libpq.out" "$here/bind_key" steps "$key" "$wrong"
check "psycopg 3: every step ended as expected" to "$work/psycopg.out" "$py" "$here/psycopg_client.py" steps "$key" "$wrong" "$decoy"
check "node-postgres: every step ended as expected" to "$work/node.out" node_client steps "$key" "$wrong" "$decoy"
check "psycopg2: refused, and the startup option works" to "$work/psycopg2.out" "$py" "$here/psycopg2_client.py" "$key" "$decoy"
cat "$work/libpq.out" "$work/psycopg.out" "$work/node.out" "$work/psycopg2.out" > "$work/clients.out"
grep -E "^(prepared|explain):" "$work/clients.out" > "$work/shown.txt"
check "the clients saw their prepared statements" test "$(grep -c '^prepared:.*ef_unlock' "$work/shown.txt")" -ge 3
check "EXPLAIN shows the key as a parameter" test "$(grep -c '^explain:.*ef_unlock(1, \$1' "$work/shown.txt")" -eq 3
check "pg_prepared_statements and EXPLAIN hold no form of the key" leaks "$work/shown.txt"

# A quoted identifier is still the key function: its literal key is refused
q -c "SELECT U&\"ef\\005funlock\"(1, '\\x$decoy'::bytea)" >"$work/uescape.out" 2>&1
check "U&\"ef\\005funlock\" with a literal key is refused" grep -q "master key 1 was not given as a bind parameter" "$work/uescape.out"

# The startup option: the setting shows only the key id
PGOPTIONS="-c encrypted_field.keys=1:$key" q -c "SELECT ef_unlock(1)" \
	-c "SELECT name, setting, reset_val, boot_val FROM pg_settings" \
	-c "SELECT current_setting('encrypted_field.keys')" >"$work/settings.txt" 2>&1
check "startup option: the setting shows the key id" grep -qx "1" "$work/settings.txt"
check "pg_settings holds no form of the key" leaks "$work/settings.txt"
q -c "SET encrypted_field.keys = '1:$decoy'" >"$work/set.out" 2>&1
check "refused: SET" grep -q 'ERROR:  parameter "encrypted_field.keys" cannot be set after connection start' "$work/set.out"
q -c "ALTER ROLE CURRENT_USER SET encrypted_field.keys = '1:$decoy'" >"$work/alter.out" 2>&1
check "refused: ALTER ROLE" grep -q 'ERROR:  parameter "encrypted_field.keys" cannot be set after connection start' "$work/alter.out"
check "the refusals do not quote the value" bash -c "! grep -q '${decoy:0:16}' '$work/set.out' '$work/alter.out'"
check "no role or database setting stored a key" \
	same "$(q -c "SELECT count(*) FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%encrypted_field.keys%'")" 0
# a key stored by ALTER ROLE where the library was not loaded to refuse it
q -d postgres -c "ALTER ROLE CURRENT_USER IN DATABASE ef_pre SET encrypted_field.keys = '1:$decoy'" >/dev/null 2>&1
q -c "SELECT ef_unlock(1)" >"$work/stored.out" 2>&1
PGOPTIONS="-c application_name=encrypted_field.keys=" q -c "SELECT ef_unlock(1)" >>"$work/stored.out" 2>&1
q -d postgres -c "ALTER ROLE CURRENT_USER IN DATABASE ef_pre RESET encrypted_field.keys" >/dev/null
check "a look-alike option does not pass for the key option" \
	test "$(grep -c "master keys given at connection start were refused" "$work/stored.out")" -eq 2
check "a key stored with ALTER ROLE is refused, not taken" \
	grep -q "master keys given at connection start were refused" "$work/stored.out"
# other spellings of the name are wiped too
PGOPTIONS="--ENCRYPTED-FIELD.KEYS=1:$key" q -c "SELECT ef_unlock(1)" -c "SHOW encrypted_field.keys" >"$work/spelling.out" 2>&1
check "the option spelled otherwise works" grep -qx "1" "$work/spelling.out"
PGOPTIONS="-c encrypted_field.keys=1:zz$decoy" q -c "SELECT 1" >"$work/badopt.out" 2>&1
check "startup option: a malformed key refuses the connection" \
	grep -q "FATAL:  invalid master keys given at connection start" "$work/badopt.out"
check "startup option: the refusal does not quote the value" bash -c "! grep -q '${decoy:0:16}' '$work/badopt.out'"

# The same under translated messages: nothing may depend on English text
check "German messages: every libpq step ended as expected" \
	to "$work/libpq_de.out" env PGOPTIONS="-c lc_messages=de_DE.UTF-8" "$here/bind_key" steps "$key" "$wrong"
check "German messages: 100 unlocks through a wrapper" \
	to "$work/libpq_de.out" env PGOPTIONS="-c lc_messages=de_DE.UTF-8" "$here/bind_key" loop "$key" 100 wrapper

# What the review found: plaintext parameters in plans of cursors that end
# out of order, in input errors (also in German), after a session turns
# parameter logging back on; a key a wrapper writes into dynamic SQL
q >/dev/null <<'SQL'
CREATE TABLE hyg_t (c encrypted_field);
CREATE FUNCTION app_unlock_dynamic(k text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CALL app_unlock_proc(decode(%L, ''hex''))', k);
END $$;
SQL
PGOPTIONS="-c encrypted_field.keys=1:$key" "$py" - "$decoy" >"$work/review.out" 2>&1 <<'PY'
import sys, psycopg
c = psycopg.connect("", autocommit=True)
c.execute("SELECT ef_unlock(1)")
c.execute("INSERT INTO hyg_t VALUES (ef_encrypt(%s))", ["review plaintext in an insert"])
with c.transaction():
    a = c.cursor("noparam"); a.execute("SELECT 1 FROM generate_series(1, 3)"); a.fetchone()
    b = c.cursor("withparam")
    b.execute("SELECT ef_decrypt(c) FROM hyg_t WHERE ef_decrypt(c) = %s", ["review plaintext in a cursor"])
    b.fetchone(); a.close(); b.close()
for lang in ("C", "de_DE.UTF-8"):
    c.execute("SELECT set_config('lc_messages', %s, false)", [lang])
    for sql, value in (("SELECT %s::int", "review plaintext not an integer"),
                       ("SELECT ef_encrypt(%s::jsonb)", '{"x": review plaintext not json}')):
        try:
            c.execute(sql, [value])
        except psycopg.Error as e:
            print("input error", e.sqlstate)
c.execute("SET lc_messages = 'C'")
c.execute("SET log_parameter_max_length_on_error = -1")
try:
    c.execute("SELECT ef_encrypt(%s::text), 1 / 0", ["review first line\nreview second line"])
except psycopg.Error as e:
    print("after SET", e.sqlstate)
c.execute("SET force_parallel_mode = on")
print("parallel after SET", c.execute("SELECT count(*) FROM hyg_t").fetchone()[0])
try:
    c.execute("SELECT app_unlock_dynamic(%s)", [sys.argv[1]])
    print("dynamic accepted")
except psycopg.Error as e:
    print("dynamic", e.sqlstate)
PY
check "review: input errors raised (twice in two languages)" test "$(grep -c '^input error 22' "$work/review.out")" -eq 4
check "review: parallel queries work after a session SET of parameter logging" grep -qx "parallel after SET 1" "$work/review.out"
check "review: a key written into dynamic SQL by a wrapper is refused" grep -qx "dynamic 28EF1" "$work/review.out"

# A poller reads pg_stat_activity while 1,000 unlocks run through each channel
"$py" "$here/poll_activity.py" "$work/activity.txt" "$work/stop" >"$work/poller.out" 2>&1 &
poller=$!
sleep 0.5
for channel in direct wrapper call prepared; do
	check "libpq: $loops unlocks through $channel" to "$work/loops.out" "$here/bind_key" loop "$key" "$loops" "$channel"
done
check "psycopg 3: $loops unlocks" to "$work/loops.out" "$py" "$here/psycopg_client.py" loop "$key" "$loops"
check "node-postgres: $loops unlocks" to "$work/loops.out" node_client loop "$key" "$loops"
yes "SELECT ef_unlock(1);" | head -n "$loops" >"$work/psql_unlocks.sql"
PGOPTIONS="-c encrypted_field.keys=1:$key" q -f "$work/psql_unlocks.sql" >"$work/psql_loop.out" 2>&1
check "startup option: $loops unlocks in psql" test "$(grep -c "ERROR:" "$work/psql_loop.out")" -eq 0
for i in $(seq 100); do
	PGOPTIONS="-c encrypted_field.keys=1:$key" q -c "SELECT ef_unlock(1)" >>"$work/psql_conn.out" 2>&1
done
check "startup option: 100 connections unlocked" test "$(grep -c "ERROR:" "$work/psql_conn.out")" -eq 0
touch "$work/stop"
wait $poller
cat "$work/poller.out"
check "the poller saw unlocks running" test "$(sed -n 's/.* \([0-9]*\) while an unlock ran.*/\1/p' "$work/poller.out")" -gt 0
check "pg_stat_activity holds no form of the key" leaks "$work/activity.txt"

q -c "SELECT query FROM pg_stat_statements" >"$work/statements.txt"
check "pg_stat_statements recorded the key statements" grep -q "ef_unlock" "$work/statements.txt"
check "pg_stat_statements recorded the procedure call" grep -q "CALL app_unlock_proc" "$work/statements.txt"
check "pg_stat_statements holds no form of the key" leaks "$work/statements.txt"

# Memory: the key page is excluded from core dumps and zeroed by ef_lock()
wait_for() { for _ in $(seq 50); do grep -q "$1" "$2" && return 0; sleep 0.1; done; return 1; }
mkfifo "$work/in"
PGOPTIONS="-c encrypted_field.keys=1:$key" q -f "$work/in" >"$work/session.out" 2>&1 &
session=$!
exec 3>"$work/in"
echo "SELECT 'pid=' || pg_backend_pid();" >&3
wait_for "^pid=" "$work/session.out" || true
pid=$(sed -n 's/^pid=//p' "$work/session.out")
echo "SELECT ef_unlock(1); SELECT 'unlocked';" >&3
wait_for "^unlocked" "$work/session.out" || true
check "memory: the held KEK is in a page excluded from core dumps" "$py" "$here/memcheck.py" "$pid" "$key" held
echo "SELECT ef_lock(); SELECT 'locked';" >&3
wait_for "^locked" "$work/session.out" || true
check "memory: ef_lock() zeroed the KEK" "$py" "$here/memcheck.py" "$pid" "$key" wiped
check "memory: ef_lock() zeroed the key given at connection start" "$py" "$here/memcheck.py" "$pid" "$key" absent
exec 3>&-
wait $session

# Memory: the bind parameter the key came from is wiped, and no other copy
# of the key's bytes is left.  A copy that a cursor keeps is found (the
# control: the scan sees a copy where there is one).
for mode in clean stray; do
	rm -f "$work/in"
	mkfifo "$work/in"
	exec 3<>"$work/in"
	"$here/bind_key" memory "$key" "$mode" <&3 >"$work/memory.$mode" 2>&1 &
	client=$!
	wait_for "^pid=" "$work/memory.$mode" || true
	pid=$(sed -n 's/^pid=//p' "$work/memory.$mode")
	echo next >&3
	wait_for "^locked" "$work/memory.$mode" || true
	expect=absent
	[ "$mode" = stray ] && expect=present
	check "memory: after ef_lock(), the master key is $expect ($mode unlock)" \
		"$py" "$here/memcheck.py" "$pid" "$key" "$expect"
	echo next >&3
	wait $client
	exec 3>&-
done

# Not preloaded: keys given at connection start wait in a placeholder that
# SQL can read, so they are refused.  A key statement that loads the
# library is refused when statements are logged and the library came too
# late to take the parameters out (a procedure call loads it only as it
# runs); a SELECT loads it at Bind, before the Execute is logged, and passes.
export PGDATABASE=ef_lazy
q -c "CREATE PROCEDURE app_unlock_proc(k bytea) LANGUAGE plpgsql AS \$\$ BEGIN PERFORM ef_unlock(1, k); END \$\$" >/dev/null
PGOPTIONS="-c encrypted_field.keys=1:$lazy" q -c "SELECT ef_register_key(1)" >"$work/lazy_opt.out" 2>&1
check "not preloaded: keys waiting in a placeholder are refused" \
	grep -q "master keys given at connection start were refused" "$work/lazy_opt.out"
check "not preloaded: nothing was registered" same "$(q -c "SELECT count(*) FROM ef_keys")" 0
"$py" - "$lazy" >"$work/lazy.out" 2>&1 <<'PY'
import sys, psycopg
key = bytes.fromhex(sys.argv[1])
for sqls in (["CALL app_unlock_proc(%s)", "SELECT ef_register_key(1, %s)"], ["SELECT ef_unlock(1, %s)"]):
    c = psycopg.connect("", autocommit=True)
    for sql in sqls:
        try:
            c.execute(sql, [key])
            print("accepted:", sql)
        except psycopg.Error as e:
            print(e.sqlstate, e.diag.message_primary)
    c.close()
PY
cat "$work/lazy.out"
check "not preloaded: a procedure call that loads the library is refused (28EF1)" \
	grep -q "^28EF1 master key 1 may have been written to the server log" "$work/lazy.out"
check "not preloaded: once loaded, the key registers" grep -q "^accepted: SELECT ef_register_key" "$work/lazy.out"
check "not preloaded: a SELECT that loads the library unlocks" grep -q "^accepted: SELECT ef_unlock" "$work/lazy.out"

# The server log, read last, after every statement above
cp "$log" "$work/server.log"
check "the log has the canary statement (log_statement = all is on)" \
	grep -q "statement: SELECT 'hygiene canary statement'" "$work/server.log"
check "a comment naming a key function hides nothing" \
	grep -q "statement: /\* ef_unlock \*/ SELECT 'comment canary statement'" "$work/server.log"
check "the log has German lines" grep -q "Anweisung: SELECT" "$work/server.log"
check "a plaintext bind parameter is nowhere in the log" bash -c "! grep -q 'hygiene parameter canary' '$work/server.log'"
check "review: no plaintext parameter of cursors, input errors or SET is in the log" \
	bash -c "! grep -q 'review plaintext\|review first line\|review second line' '$work/server.log'"
check "the log has the statement of that parameter" grep -q 'SELECT length(\$1)' "$work/server.log"
check "a parameter that failed to convert: its value is not in the log" bash -c "! grep -q 'not-hex' '$work/server.log'"
check "a parameter that failed to convert: its message is hidden" \
	grep -q "message hidden by encrypted_field: it may quote a bind parameter" "$work/server.log"
check "the log has hidden plans" grep -q "plan: <plan hidden by encrypted_field" "$work/server.log"
check "the log has auto_explain plans of other statements" grep -q "plan:$" "$work/server.log"
check "the log has the audit lines" grep -q "encrypted_field: master key 1 unlock failed" "$work/server.log"
check "the log holds no form of the key" "$here/leaks.py" "$key" "$work/server.log"
check "the log holds no form of the wrong key" "$here/leaks.py" "$wrong" "$work/server.log"
# its parameters: on the Bind message's duration line and the execute line
check "not preloaded: the lazy key reached the log only as the refused call's parameters" \
	test "$(grep -o "$lazy" "$work/server.log" | wc -l)" -eq 2

q -d postgres -c "DROP DATABASE ef_pre" -c "DROP DATABASE ef_lazy" >/dev/null
report hygiene

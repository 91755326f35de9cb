#!/usr/bin/env bash
# The performance benchmark of SPEC section 7: encrypted_field against
# pgcrypto in the same run, on a throwaway cluster it starts itself.
#
# Loads N rows (default 1,000,000) of 100-byte text and times, in one backend
# with parallelism off, each function applied to every row of a table
# (SELECT count(f(x)) FROM t: count() makes the executor evaluate f per row):
# ef_encrypt, ef_decrypt, ef_rewrap, decrypt-then-encrypt, pgcrypto's
# encrypt/decrypt (aes-cbc/pad:pkcs, raw 32-byte key) and pgp_sym_encrypt/
# pgp_sym_decrypt (s2k-mode=1 and the default), and md5(t), the floor of a
# per-row function call.  Each figure is the median of RUNS runs (default 3)
# after one warm-up run; the operations take turns within each run, so a
# disturbance of the machine spreads over all of them.  Also measured: an
# equality lookup through the blind index against a plaintext btree lookup
# (pgbench; also through a hash index, and with the audit off, since every
# searching statement writes an audit line), the storage per value, the backend's peak memory while it
# decrypts all rows and a tenth of them, and the cost of OpenSSL alone
# (openssl speed, and bench/floor.c for the extension's exact sequence).
#
# Prints the machine and the table; a run at the default N (not --smoke) also
# writes it as Markdown to bench/results.md, the committed record.  Exits non-zero when a measurement fails to run (an
# error, a wrong row count), never because a figure is slow: targets are
# reported as met or missed.
#
# Usage, from the project root:
#   bash bench/run.sh [N] [RUNS]     # default 1000000 3: about 7 minutes
#   bash bench/run.sh --smoke        # N=2000, 1 run, 2-second lookups: CI
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$EF_ROOT"

smoke=0
if [ "${1:-}" = "--smoke" ]; then
	smoke=1
	shift
fi
if [ $smoke -eq 1 ]; then
	n=${1:-2000}; runs=${2:-1}; lookup_secs=2; ssl_secs=1; floor_ms=60
else
	n=${1:-1000000}; runs=${2:-3}; lookup_secs=15; ssl_secs=3; floor_ms=900
fi
lookup_secs=${EF_BENCH_LOOKUP_SECS:-$lookup_secs}
case "$n$runs" in *[!0-9]*) echo "usage: bash bench/run.sh [--smoke] [N] [RUNS]" >&2; exit 2 ;; esac
command_line="bash bench/run.sh"
[ $smoke -eq 0 ] || command_line+=" --smoke"
command_line+="${1:+ $1}${2:+ $2}"
# pgp_sym_* are slow; they run on fewer rows (rates are per row all the same)
n_s2k1=$(( n / 10 > 100 ? n / 10 : 100 ))
n_s2k3=$(( n / 100 > 20 ? n / 100 : 20 ))
n_tenth=$(( n / 10 > 1 ? n / 10 : 1 ))
started=$(date +%s)

step() { echo "-- $* ($(( $(date +%s) - started ))s)" >&2; }
fail() { echo "bench/run.sh: FAILED: $*" >&2; exit 1; }

ef_deps
dpkg-query -W -f='${Status}' postgresql-contrib 2>/dev/null | grep -q "install ok installed" ||
	[ -f /usr/share/postgresql/15/extension/pgcrypto.control ] || fail "pgcrypto is not installed"
step "building and installing the extension"
built_from=$(git -C "$EF_ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown")
[ -z "$(git -C "$EF_ROOT" status --porcelain -- src sql encrypted_field.control Makefile 2>/dev/null)" ] ||
	built_from+="-dirty"
ef_build
work=$(mktemp -d /tmp/ef_bench.XXXXXX)
chmod 755 "$work"
# one backend, no parallel workers; no JIT (it inlines no extension code and
# its compile time would land on whichever query crosses its cost threshold);
# every table fits in shared_buffers (a quarter of it, so no scan uses a
# ring buffer); no autovacuum running behind the measurements.  The library
# is preloaded, as the README recommends: every backend then runs the build
# installed here even if another build is installed while this one runs.
#
# Shared memory in 2 MB huge pages, as PostgreSQL's documentation advises
# for a large shared_buffers: a parallel worker is a new process, and with
# 4 kB pages it takes a page fault for every page of the table it reads
# (here, a virtual machine, that made each worker a third slower per row
# than the serial backend: md5 with 2 workers 1.22x serial with 4 kB pages,
# 1.82x with huge pages).  As root, the run reserves them (vm.nr_hugepages)
# and gives them back at the end; otherwise it uses them if the machine has
# them reserved, and says which.
hugepages_before=
huge_opt=()
huge_text="4 kB pages (no huge pages reserved: \`vm.nr_hugepages\` is 0; a full run as root reserves them)"
hugepages_need=1200				# 2 GB of shared_buffers and the rest, in 2 MB pages
hugepages_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
hugepages_size=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
restore_hugepages() { [ -z "$hugepages_before" ] || echo "$hugepages_before" >/proc/sys/vm/nr_hugepages; }
if [ "$hugepages_size" = 2048 ] && [ "${hugepages_free:-0}" -lt $hugepages_need ] &&
	[ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ] && [ $smoke -eq 0 ]; then
	hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
	trap restore_hugepages EXIT	# whatever fails from here on
	echo $(( hugepages_before + hugepages_need - hugepages_free )) >/proc/sys/vm/nr_hugepages
	hugepages_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
fi
if [ "$hugepages_size" = 2048 ] && [ "${hugepages_free:-0}" -ge $hugepages_need ]; then
	huge_opt=(-c huge_pages=on)
	huge_text="2 MB huge pages (\`huge_pages = on\`${hugepages_before:+; \`vm.nr_hugepages\` raised from $hugepages_before for the run and restored after})"
elif [ -n "$hugepages_before" ]; then
	restore_hugepages			# the kernel could not find the memory
	hugepages_before=
	huge_text="4 kB pages (the kernel could not reserve $hugepages_need huge pages)"
fi
trap restore_hugepages EXIT		# if the cluster fails to start
EF_PORT=${EF_PORT:-54333} ef_cluster_start -c shared_preload_libraries=encrypted_field \
	-c shared_buffers=2GB -c max_parallel_workers_per_gather=0 "${huge_opt[@]}" \
	-c jit=off -c autovacuum=off -c wal_level=minimal -c max_wal_senders=0 \
	-c checkpoint_timeout=30min -c max_wal_size=20GB
trap 'ef_cluster_stop; restore_hugepages; rm -rf "$work"' EXIT

k1=$(openssl rand -hex 32)
k2=$(openssl rand -hex 32)
aes=$(openssl rand -hex 32)			# pgcrypto's raw AES-256 key
# every client session, psql and pgbench, gets the master keys in its startup
# options, as psql users give them: they appear in no SQL text (the library
# is preloaded, which taking them at connection start needs)
export PGOPTIONS="-c encrypted_field.keys=1:$k1,2:$k2"
unlock="SELECT ef_unlock(1) \\g /dev/null
SELECT ef_unlock(2) \\g /dev/null"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# ---------------------------------------------------------------- the machine
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
pgver=$(q -c "SHOW server_version")
sslver=$(openssl version | cut -d' ' -f1-2)
libcrypto=$(ldd "$($PG_BIN/pg_config --pkglibdir)/encrypted_field.so" | awk '/libcrypto/ { print $3 }')
aesni=$(grep -qw aes /proc/cpuinfo && echo "AES-NI" || echo "no AES-NI")
load=$(cut -d' ' -f1-3 /proc/loadavg)
machine="$(nproc) cores, $cpu ($aesni), $mem memory, Linux $(uname -r); PostgreSQL $pgver, $sslver ($libcrypto)"
built="encrypted_field built from commit \`${built_from%-dirty}\`"
case "$built_from" in *-dirty) built+=" with uncommitted changes to its source" ;; esac

# ---------------------------------------------------------------- the data
step "loading $n rows"
q <<SQL >/dev/null
CREATE EXTENSION encrypted_field;
CREATE EXTENSION pgcrypto;
-- key 1 first: a build with search terms registers later keys only while
-- the first one (which wraps the database's index key) is unlocked
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
$unlock
-- 100 bytes of text per row, different in every row
CREATE TABLE src AS SELECT g AS id, substr(repeat(md5(g::text), 4), 1, 100) AS t
	FROM generate_series(1, $n) g;
CREATE TABLE src_s2k1 AS SELECT * FROM src WHERE id <= $n_s2k1;
CREATE TABLE src_s2k3 AS SELECT * FROM src WHERE id <= $n_s2k3;
-- under key 1, so that ef_rewrap(c, 2) has a key to change
CREATE TABLE e AS SELECT id, ef_encrypt(t, key_id => 1) AS c FROM src;
CREATE TABLE pc AS SELECT id, encrypt(convert_to(t, 'UTF8'), decode('$aes', 'hex'), 'aes-cbc/pad:pkcs') AS c FROM src;
CREATE TABLE g1 AS SELECT id, pgp_sym_encrypt(t, 'password', 's2k-mode=1') AS c FROM src_s2k1;
CREATE TABLE g3 AS SELECT id, pgp_sym_encrypt(t, 'password') AS c FROM src_s2k3;
SQL
# the searchable lookup exists only in builds that have the blind index
searchable=$(q -c "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'ef_term')")
if [ "$searchable" = t ]; then
	step "loading the searchable table and the indexes"
	q <<SQL >/dev/null
$unlock
CREATE TABLE s AS SELECT id, ef_encrypt(t, searchable => true) AS c FROM src;
CREATE INDEX ON s (c);
-- the same values under a hash index, whose entries hold a 4-byte hash of
-- the term where a btree's hold the whole value
CREATE TABLE sh AS SELECT * FROM s;
CREATE INDEX ON sh USING hash (c);
SQL
fi
q -c "CREATE TABLE p AS SELECT * FROM src" -c "CREATE INDEX ON p (t)" >/dev/null
q -c "VACUUM (FREEZE, ANALYZE)" -c "CHECKPOINT" >/dev/null
threshold=$(q -c "SHOW encrypted_field.compression_threshold")
compression=$(q -c "SHOW encrypted_field.compression")
[ "$(q -c "SELECT count(*) FROM e WHERE ef_key_id(c) = 1")" = "$n" ] || fail "e is not under key 1"
# 100-byte values are below the threshold: no value is compressed
[ "$(q -c "SELECT count(*) FROM e WHERE (ef_envelope(c)).flags & 3 <> 0")" = 0 ] ||
	fail "some 100-byte values were compressed"

# ---------------------------------------------------------------- throughput
# the median of numbers, one a line (mawk has no asort)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# name|table|expression[|workers[|audit]]; each is timed as SELECT count(expression)
# FROM table, with encrypted_field.audit set to audit for it where given
# (the cost of the per-statement decrypt audit: its per-row counters)
key="decode('$aes', 'hex')"
ops=(
	"octet_length|src|octet_length(t)"
	"md5|src|md5(t)"
	"ef_encrypt|src|ef_encrypt(t)"
	"pgcrypto encrypt|src|encrypt(convert_to(t, 'UTF8'), $key, 'aes-cbc/pad:pkcs')"
	"pgp_sym_encrypt s2k1|src_s2k1|pgp_sym_encrypt(t, 'password', 's2k-mode=1')"
	"pgp_sym_encrypt default|src_s2k3|pgp_sym_encrypt(t, 'password')"
	"ef_decrypt|e|ef_decrypt(c)"
	"ef_decrypt, audit off|e|ef_decrypt(c)||off"
	"ef_decrypt, audit statement|e|ef_decrypt(c)||statement"
	"pgcrypto decrypt|pc|decrypt(c, $key, 'aes-cbc/pad:pkcs')"
	"pgcrypto decrypt text|pc|convert_from(decrypt(c, $key, 'aes-cbc/pad:pkcs'), 'UTF8')"
	"pgp_sym_decrypt s2k1|g1|pgp_sym_decrypt(c, 'password')"
	"pgp_sym_decrypt default|g3|pgp_sym_decrypt(c, 'password')"
	"ef_rewrap|e|ef_rewrap(c, 2)"
	"decrypt-then-encrypt|e|ef_encrypt(ef_decrypt(c), key_id => 2)"
)
if [ "$searchable" = t ]; then
	ops+=("ef_encrypt searchable|src|ef_encrypt(t, searchable => true)" "ef_term|src|ef_term(t)")
fi
# a fourth field: the parallel workers the query runs with (the leader only
# gathers), a fifth: the audit level it runs at; the scans that decrypt, serial and with 2 workers, side by side
ops+=(
	"ef_decrypt serial|e|ef_decrypt(c)|0"
	"ef_decrypt 2 workers|e|ef_decrypt(c)|2"
	"pgcrypto decrypt serial|pc|decrypt(c, $key, 'aes-cbc/pad:pkcs')|0"
	"pgcrypto decrypt 2 workers|pc|decrypt(c, $key, 'aes-cbc/pad:pkcs')|2"
	"md5 serial|src|md5(t)|0"
	"md5 2 workers|src|md5(t)|2"
)

declare -A rows
for table in src src_s2k1 src_s2k3 e pc g1 g3; do
	rows[$table]=$(q -c "SELECT count(*) FROM $table")
done
# ---------------------------------------------------------------- the cores
# What this machine's cores give, with no database: the same GCM loop alone
# on each of the first two cores, pinned, then on both at once.  A virtual
# machine's cores need not be equal (one may share its physical core with
# another guest's): here they have differed by a third.  By the wall clock
# (-elapsed): openssl speed otherwise divides by the CPU time it got, which
# hides a core that is shared or slow, and once read 2.01x for two processes
# that did 1.69x the work of one.  The sum of both at once over the faster
# core alone bounds what any 2-worker scan can gain against a serial one on
# the faster core, pgcrypto's as ours.  (runs of 8 s: 3 s ones varied by a
# fifth between runs)
step "the cores: the same AES-GCM loop alone on each, then on both"
ceiling_secs=$([ $smoke -eq 1 ] && echo 1 || echo 8)
# -aead: a new nonce, the associated data and the tag for every 100 bytes;
# -mr prints bytes per second
ssl_rate() { # seconds, the cores to run on (none: where the scheduler puts it)
	local pin=()
	[ -z "${2:-}" ] || pin=(taskset -c "$2")
	"${pin[@]}" openssl speed -elapsed -mr -aead -evp aes-256-gcm -bytes 100 \
		-seconds "$1" 2>/dev/null | awk -F: '/^\+F:/ { print $4 }'
}
# two loops at once, on these cores (empty: unpinned): their rates in two_a, two_b
both_rates() {
	ssl_rate "$ceiling_secs" "$1" >"$work/ssl_a" &
	local ssl_pid=$!
	two_b=$(ssl_rate "$ceiling_secs" "$2")
	wait "$ssl_pid"
	two_a=$(cat "$work/ssl_a")
}
# the cores this process may use, from a list such as 0-1 or 0,2-3
mapfile -t cores < <(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status | tr ',' '\n' |
	awk -F- '{ if (NF == 2) for (i = $1; i <= $2; i++) print i; else print $1 }')
fast_cpu=
if [ ${#cores[@]} -ge 2 ] && command -v taskset >/dev/null; then
	c0=${cores[0]} c1=${cores[1]}
	alone0=$(ssl_rate "$ceiling_secs" "$c0")
	alone1=$(ssl_rate "$ceiling_secs" "$c1")
	both_rates "$c0" "$c1"
	[ -n "$alone0" ] && [ -n "$alone1" ] && [ -n "$two_a" ] && [ -n "$two_b" ] ||
		fail "openssl speed did not run on each core and on both"
	fast_cpu=$(awk -v a="$alone0" -v b="$alone1" -v c0="$c0" -v c1="$c1" 'BEGIN { print (a >= b) ? c0 : c1 }')
	r_cores=$(awk -v a="$two_a" -v b="$two_b" -v x="$alone0" -v y="$alone1" \
		'BEGIN { printf "%.2f", (a + b) / (x >= y ? x : y) }')
	cores_text="the same AES-GCM loop (\`openssl speed -elapsed -aead -evp aes-256-gcm -bytes 100\`, ${ceiling_secs} s) did $(awk -v r="$alone0" 'BEGIN { printf "%.0f", r / 1e6 }') MB/s alone on core $c0, $(awk -v r="$alone1" 'BEGIN { printf "%.0f", r / 1e6 }') MB/s alone on core $c1, and $(awk -v a="$two_a" -v b="$two_b" 'BEGIN { printf "%.0f + %.0f", a / 1e6, b / 1e6 }') MB/s on both at once: ${r_cores}x the faster core alone. The serial rows ran on core $fast_cpu (the session's backend pinned there with taskset), so their rates are the faster core's."
else
	one_bps=$(ssl_rate "$ceiling_secs")
	both_rates "" ""
	[ -n "$one_bps" ] && [ -n "$two_a" ] && [ -n "$two_b" ] || fail "openssl speed did not run twice at once"
	r_cores=$(awk -v a="$two_a" -v b="$two_b" -v o="$one_bps" 'BEGIN { printf "%.2f", (a + b) / o }')
	cores_text="two \`openssl speed -elapsed -aead -evp aes-256-gcm -bytes 100\` side by side did ${r_cores}x the work of one alone (no database, nothing shared; not pinned: $(nproc) core(s) or no taskset)."
fi

# one session, so one backend, runs every measurement in turn
{
	echo "$unlock"
	if [ -n "$fast_cpu" ]; then
		# the serial rows on the faster core: the backend is pinned there
		# (its parallel workers are not; they are the postmaster's children)
		echo "SELECT pg_backend_pid() AS bpid \\gset"
		echo "\\setenv EF_BENCH_BACKEND :bpid"
		echo "\\! taskset -p -c $fast_cpu \"\$EF_BENCH_BACKEND\" >/dev/null && taskset -p -c \"\$EF_BENCH_BACKEND\" >$work/pinned.txt"
	fi
	echo "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
	echo "SET parallel_leader_participation = off;"
	for op in "${ops[@]}"; do		# the warm-up run: caches, libraries, hint bits
		IFS='|' read -r name table expr workers _ <<<"$op"
		echo "SET max_parallel_workers_per_gather = ${workers:-0};"
		echo "SELECT count($expr) FROM $table \\g /dev/null"
	done
	for run in $(seq "$runs"); do
		for op in "${ops[@]}"; do
			IFS='|' read -r name table expr workers audit <<<"$op"
			echo "SET max_parallel_workers_per_gather = ${workers:-0};"
			[ -z "$audit" ] || echo "SET encrypted_field.audit = $audit;"
			echo "SELECT clock_timestamp() AS t0 \\gset"
			echo "SELECT count($expr) AS cnt FROM $table \\gset"
			echo "SELECT 'R|$name|$run|' || :cnt || '|' || ${rows[$table]} || '|' ||"
			echo "	round(extract(epoch FROM clock_timestamp() - :'t0')::numeric * 1000, 1);"
			[ -z "$audit" ] || echo "RESET encrypted_field.audit;"
		done
	done
} >"$work/throughput.sql"
step "timing ${#ops[@]} operations, $runs run(s) after a warm-up"
q -f "$work/throughput.sql" | grep '^R|' >"$work/throughput.txt"
[ -z "$fast_cpu" ] || grep -q "list: $fast_cpu\$" "$work/pinned.txt" 2>/dev/null ||
	fail "the session's backend was not pinned to core $fast_cpu"
# every run of every operation must have evaluated every row
awk -F'|' '$4 != $5 { print "bench: " $2 " counted " $4 " of " $5 " rows"; bad = 1 } END { exit bad }' \
	"$work/throughput.txt" >&2 || fail "a function was not evaluated on every row"
[ "$(wc -l <"$work/throughput.txt")" -eq $(( ${#ops[@]} * runs )) ] || fail "missing measurements"

# median rows per second of one operation
median_rate() {
	awk -F'|' -v op="$1" '$2 == op { printf "%.3f\n", $5 / ($6 / 1000) }' "$work/throughput.txt" | median
}
declare -A rate
for op in "${ops[@]}"; do
	IFS='|' read -r name _ <<<"$op"
	rate[$name]=$(median_rate "$name") || fail "no rate for $name"
done

# ---------------------------------------------------------------- lookups
# pgbench runs its script over and over on one connection (no -C), so the
# key has to be unlocked once per connection, not once per lookup; ef_unlock(1)
# takes the key given at connection start in PGOPTIONS.  Weights of 0 are not
# allowed and pgbench has no per-connection startup script, but its client
# variables live as long as the connection: -D unlocked=0 sets one
# per client, the first run of the script sees 0, unlocks and sets it to 1,
# and every later run skips straight to the lookup.  The \if is a meta command
# evaluated in pgbench itself, and the plaintext script has the same one, so
# both measure the lookup statement alone.  The searched text is computed
# from the random id on the server in both, exactly as the rows were made,
# and \gset makes pgbench abort (and this script fail) if a lookup does not
# return exactly one row.
# The server log is checked afterwards for exactly one unlock per pgbench run.
lookup_runs=$runs
lookup() { # script file [more PGOPTIONS]: prints "latency_ms tps"
	PGOPTIONS="$PGOPTIONS ${2:-}" pgbench -n -M prepared -c 1 -T "$lookup_secs" -D unlocked=0 -f "$1" 2>&1 |
		awk '/^latency average/ { l = $4 } /^tps/ { t = $3 } END { if (l == "" || t == "") exit 1; print l, t }'
}
median_col() { awk -v c="$1" '{ print $c }' | median; }
cat >"$work/plain.sql" <<SQL
\\if :unlocked = 0
\\set unlocked 1
\\endif
\\set id random(1, $n)
SELECT id AS found FROM p WHERE t = substr(repeat(md5(:id::text), 4), 1, 100) \\gset
SQL
# the plan a prepared statement settles on after pgbench's first executions
plan_of() { # SQL with \$1 an int id
	{
		echo "$unlock"
		echo "PREPARE q(int) AS $1;"
		for i in 1 2 3 4 5 6 7; do echo "EXECUTE q($i) \\g /dev/null"; done
		echo "EXPLAIN (COSTS OFF) EXECUTE q(8);"
	} | q | head -1 | sed 's/ on .*//; s/^ *//'
}
plain_plan=$(plan_of "SELECT id FROM p WHERE t = substr(repeat(md5(\$1::text), 4), 1, 100)")
if [ "$searchable" = t ]; then
	cat >"$work/search.sql" <<SQL
\\if :unlocked = 0
SELECT ef_unlock(1);
\\set unlocked 1
\\endif
\\set id random(1, $n)
SELECT id AS found FROM s WHERE c = ef_term(substr(repeat(md5(:id::text), 4), 1, 100)) \\gset
SQL
	sed 's/ FROM s WHERE / FROM sh WHERE /' "$work/search.sql" >"$work/hash.sql"
	search_plan=$(plan_of "SELECT id FROM s WHERE c = ef_term(substr(repeat(md5(\$1::text), 4), 1, 100))")
	hash_plan=$(plan_of "SELECT id FROM sh WHERE c = ef_term(substr(repeat(md5(\$1::text), 4), 1, 100))")
fi
unlocks_before=$(grep -c 'master key 1 unlocked' "$EF_PGDATA/server.log" || true)
step "timing lookups, $lookup_runs x ${lookup_secs}s each"
: >"$work/plain.txt"; : >"$work/search.txt"; : >"$work/search_hash.txt"; : >"$work/search_noaudit.txt"
for _ in $(seq "$lookup_runs"); do
	lookup "$work/plain.sql" >>"$work/plain.txt" || fail "the plaintext lookup did not run"
	if [ "$searchable" = t ]; then
		lookup "$work/search.sql" >>"$work/search.txt" || fail "the searchable lookup did not run"
		lookup "$work/hash.sql" >>"$work/search_hash.txt" ||
			fail "the searchable lookup through a hash index did not run"
		# the audit's share: every searching statement writes a log line
		lookup "$work/search.sql" "-c encrypted_field.audit=off" >>"$work/search_noaudit.txt" ||
			fail "the searchable lookup without the audit did not run"
	fi
done
unlocks=$(( $(grep -c 'master key 1 unlocked' "$EF_PGDATA/server.log" || true) - unlocks_before ))
# (with the audit off, the unlock writes no line either)
if [ "$searchable" = t ] && [ "$unlocks" -ne $(( 2 * lookup_runs )) ]; then
	fail "expected one unlock per audited pgbench run ($(( 2 * lookup_runs ))), the log has $unlocks"
fi
plain_ms=$(median_col 1 <"$work/plain.txt"); plain_tps=$(median_col 2 <"$work/plain.txt")
if [ "$searchable" = t ]; then
	search_ms=$(median_col 1 <"$work/search.txt"); search_tps=$(median_col 2 <"$work/search.txt")
	hash_ms=$(median_col 1 <"$work/search_hash.txt"); hash_tps=$(median_col 2 <"$work/search_hash.txt")
	noaudit_ms=$(median_col 1 <"$work/search_noaudit.txt"); noaudit_tps=$(median_col 2 <"$work/search_noaudit.txt")
fi

# ---------------------------------------------------------------- storage
step "storage and memory"
read -r sz_plain sz_ef sz_pc sz_g1 sz_g3 < <(q -F' ' -c "SELECT
	(SELECT avg(pg_column_size(t)) FROM src)::numeric(8,1), (SELECT avg(pg_column_size(c)) FROM e)::numeric(8,1),
	(SELECT avg(pg_column_size(c)) FROM pc)::numeric(8,1), (SELECT avg(pg_column_size(c)) FROM g1)::numeric(8,1),
	(SELECT avg(pg_column_size(c)) FROM g3)::numeric(8,1)")
sz_s=n/a
[ "$searchable" = t ] && sz_s=$(q -c "SELECT avg(pg_column_size(c))::numeric(8,1) FROM s")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
idx_p=$(mb "$(q -c "SELECT pg_indexes_size('p')")")
idx_s=n/a
idx_sh=n/a
[ "$searchable" = t ] && idx_s=$(mb "$(q -c "SELECT pg_indexes_size('s')")") &&
	idx_sh=$(mb "$(q -c "SELECT pg_indexes_size('sh')")")

# ---------------------------------------------------------------- memory
# Peak resident memory of a fresh backend while it decrypts every row (and a
# tenth of them) and writes them out (COPY ... TO '/dev/null').  A first pass
# maps the table's shared buffers into the backend, then the peak (VmHWM) is
# reset through /proc/<pid>/clear_refs (by the backend's own user, with COPY
# TO PROGRAM), so what the second pass adds is the backend's private memory.
mem_probe() { # rows: prints "growth_kB rss_kB"
	q <<SQL
$unlock
SELECT pg_backend_pid() AS pid \\gset
COPY (SELECT ef_decrypt(c) FROM e WHERE id <= $1) TO '/dev/null';
\\set cmd 'cat >/dev/null; echo 5 >/proc/' :pid '/clear_refs'
COPY (SELECT 1) TO PROGRAM :'cmd';
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+)'))[1]::int AS before \\gset
COPY (SELECT ef_decrypt(c) FROM e WHERE id <= $1) TO '/dev/null';
SELECT (regexp_match(s, 'VmHWM:\\s+(\\d+)'))[1]::int - :before || ' ' || :before
	FROM pg_read_file('/proc/self/status') s;
SQL
}
read -r mem_all mem_rss < <(mem_probe "$n") || fail "the memory probe did not run"
read -r mem_tenth _ < <(mem_probe "$n_tenth") || fail "the memory probe did not run"

# ---------------------------------------------------------------- OpenSSL
step "OpenSSL alone"
gcm_bps=$(ssl_rate "$ssl_secs")
[ -n "$gcm_bps" ] || fail "openssl speed did not run"
gcm_ns=$(awk -v b="$gcm_bps" 'BEGIN { printf "%.0f", 100 / b * 1e9 }')
${CC:-cc} -O2 -I"$("$PG_CONFIG" --includedir-server)" -Isrc -o "$work/floor" \
	bench/floor.c src/cipher_direct.c src/hmac_direct.c -lcrypto || fail "bench/floor.c did not build"
"$work/floor" "$floor_ms" >"$work/floor.txt" || fail "bench/floor did not run"

# ---------------------------------------------------------------- the report
fmt() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } print s r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# verdict value target: "met" or "missed by N%" (how far the value falls short)
verdict_ge() { awk -v v="$1" -v t="$2" 'BEGIN { if (v >= t) print "**met**"; else printf "**missed** by %.0f%% (%.2fx of %.2fx)\n", (1 - v / t) * 100, v, t }'; }
verdict_le() { awk -v v="$1" -v t="$2" -v u="$3" 'BEGIN { if (v <= t) print "**met**"; else printf "**missed** by %.0f%% (%.2f%s over %.2f%s)\n", (v / t - 1) * 100, v, u, t, u }'; }

r_enc=$(ratio "${rate[ef_encrypt]}" "${rate[pgcrypto encrypt]}")
r_dec=$(ratio "${rate[ef_decrypt]}" "${rate[pgcrypto decrypt]}")
r_rew=$(ratio "${rate[ef_rewrap]}" "${rate[decrypt-then-encrypt]}")
r_par=$(ratio "${rate[ef_decrypt 2 workers]}" "${rate[ef_decrypt serial]}")
r_par_pc=$(ratio "${rate[pgcrypto decrypt 2 workers]}" "${rate[pgcrypto decrypt serial]}")
r_par_md5=$(ratio "${rate[md5 2 workers]}" "${rate[md5 serial]}")
# ef_term against the probes per second of the issue's figure, 1.51 µs per probe
term_before=662252
r_audit=$(ratio "${rate[ef_decrypt, audit statement]}" "${rate[ef_decrypt, audit off]}")
ov_ef=$(awk -v a="$sz_ef" -v b="$sz_plain" 'BEGIN { printf "%.1f", a - b }')
per_row_us() { awk -v r="$1" 'BEGIN { printf "%.2f", 1e6 / r }'; }

{
	echo "### encrypted_field performance"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), \`$command_line\`: $n rows of 100-byte text, median of $runs run(s) after a warm-up."
	echo "Machine: $machine; load average at the start $load."
	echo "$built; preloaded (\`shared_preload_libraries\`), master keys given at connection start (\`encrypted_field.keys\`)."
	echo "One backend, \`max_parallel_workers_per_gather = 0\`, \`jit = off\`, every table in shared_buffers, shared memory in $huge_text;"
	echo "\`encrypted_field.compression = $compression\`, \`compression_threshold = $threshold\` (the default):"
	echo "100-byte values are below it, so none is compressed. Each operation is \`SELECT count(f(x)) FROM table\`."
	echo
	echo "| operation | rows timed | rows/s | µs/row | ratio | target (SPEC 7) |"
	echo "|---|---:|---:|---:|---|---|"
	row() { # label, op, ratio text, target text
		local tbl
		for op in "${ops[@]}"; do IFS='|' read -r name tbl _ <<<"$op"; [ "$name" = "$2" ] && break; done
		echo "| $1 | $(fmt "${rows[$tbl]}") | $(fmt "${rate[$2]}") | $(per_row_us "${rate[$2]}") | $3 | $4 |"
	}
	row "\`octet_length(t)\`: the scan, the aggregate and a trivial call" octet_length "" ""
	row "\`md5(t)\`: floor of a per-row function call" md5 "" ""
	row "\`ef_encrypt(t)\`" ef_encrypt "${r_enc}x pgcrypto \`encrypt\`" "≥ 1x: $(verdict_ge "$r_enc" 1)"
	row "pgcrypto \`encrypt(convert_to(t, 'UTF8'), key, 'aes-cbc/pad:pkcs')\`" "pgcrypto encrypt" "peer of \`ef_encrypt\`" ""
	row "pgcrypto \`pgp_sym_encrypt(t, pw, 's2k-mode=1')\`" "pgp_sym_encrypt s2k1" "\`ef_encrypt\` is $(ratio "${rate[ef_encrypt]}" "${rate[pgp_sym_encrypt s2k1]}")x" ""
	row "pgcrypto \`pgp_sym_encrypt(t, pw)\` (default s2k)" "pgp_sym_encrypt default" "\`ef_encrypt\` is $(ratio "${rate[ef_encrypt]}" "${rate[pgp_sym_encrypt default]}")x" ""
	row "\`ef_decrypt(c)\`" ef_decrypt "${r_dec}x pgcrypto \`decrypt\`" "≥ 1x: $(verdict_ge "$r_dec" 1)"
	row "\`ef_decrypt(c)\`, \`encrypted_field.audit = off\`" "ef_decrypt, audit off" "" ""
	row "\`ef_decrypt(c)\`, \`encrypted_field.audit = statement\` (the default)" "ef_decrypt, audit statement" "${r_audit}x audit off" "≥ 0.95x: $(verdict_ge "$r_audit" 0.95)"
	row "pgcrypto \`decrypt(c, key, 'aes-cbc/pad:pkcs')\` (bytea out)" "pgcrypto decrypt" "peer of \`ef_decrypt\`" ""
	row "pgcrypto \`convert_from(decrypt(...), 'UTF8')\` (text out)" "pgcrypto decrypt text" "\`ef_decrypt\` is $(ratio "${rate[ef_decrypt]}" "${rate[pgcrypto decrypt text]}")x" ""
	row "pgcrypto \`pgp_sym_decrypt(c, pw)\`, s2k-mode=1" "pgp_sym_decrypt s2k1" "\`ef_decrypt\` is $(ratio "${rate[ef_decrypt]}" "${rate[pgp_sym_decrypt s2k1]}")x" ""
	row "pgcrypto \`pgp_sym_decrypt(c, pw)\`, default s2k" "pgp_sym_decrypt default" "\`ef_decrypt\` is $(ratio "${rate[ef_decrypt]}" "${rate[pgp_sym_decrypt default]}")x" ""
	row "\`ef_rewrap(c, 2)\`" ef_rewrap "${r_rew}x decrypt-then-encrypt" "≥ 2.5x: $(verdict_ge "$r_rew" 2.5)"
	row "\`ef_encrypt(ef_decrypt(c), key_id => 2)\`" "decrypt-then-encrypt" "peer of \`ef_rewrap\`" ""
	if [ "$searchable" = t ]; then
		r_srch=$(ratio "${rate[ef_encrypt searchable]}" "${rate[ef_encrypt]}")
		r_term=$(ratio "${rate[ef_term]}" "$term_before")
		row "\`ef_encrypt(t, searchable => true)\`" "ef_encrypt searchable" "${r_srch}x \`ef_encrypt(t)\`" "≥ 0.8x: $(verdict_ge "$r_srch" 0.8)"
		row "\`ef_term(t)\`: the probe a lookup computes" ef_term "${r_term}x the probes/s at 1.51 µs per probe" "≥ 2x: $(verdict_ge "$r_term" 2)"
	fi
	row "\`count(ef_decrypt(c))\`, serial" "ef_decrypt serial" "" ""
	row "\`count(ef_decrypt(c))\`, 2 parallel workers" "ef_decrypt 2 workers" "${r_par}x serial" "≥ 1.6x: $(verdict_ge "$r_par" 1.6)"
	row "pgcrypto \`count(decrypt(...))\`, serial" "pgcrypto decrypt serial" "" ""
	row "pgcrypto \`count(decrypt(...))\`, 2 parallel workers" "pgcrypto decrypt 2 workers" "${r_par_pc}x serial" "≥ 1.6x: $(verdict_ge "$r_par_pc" 1.6)"
	row "\`count(md5(t))\`, serial" "md5 serial" "" ""
	row "\`count(md5(t))\`, 2 parallel workers" "md5 2 workers" "${r_par_md5}x serial" "reference: no key, no extension"
	echo
	echo "Parallel rows: \`max_parallel_workers_per_gather = 2\`, \`parallel_leader_participation = off\` (the leader only gathers), on $(nproc) cores; the leader hands its keys to the workers of the query (src/parallel_keys.c)."
	echo "The machine's own ceiling for two processes: $cores_text"
	echo
	echo "pgp_sym_* run on fewer rows ($(fmt "$n_s2k1") with s2k-mode=1, $(fmt "$n_s2k3") with the default iterated s2k, whose count is random between 65,536 and 253,952 bytes hashed); rows/s are per row all the same."
	echo
	echo "| equality lookup (pgbench -M prepared -c 1, ${lookup_secs}s x $lookup_runs, median) | plan | ms per lookup | lookups/s | ratio | target |"
	echo "|---|---|---:|---:|---|---|"
	echo "| plaintext: \`SELECT id FROM p WHERE t = \$1\`, btree on \`t\` | $plain_plan | $plain_ms | $(fmt "$plain_tps") | | |"
	if [ "$searchable" = t ]; then
		r_look=$(ratio "$search_ms" "$plain_ms")
		echo "| searchable: \`SELECT id FROM s WHERE c = ef_term(\$1)\`, btree on \`c\` | $search_plan | $search_ms | $(fmt "$search_tps") | ${r_look}x the plaintext latency | ≤ 1.1x: $(verdict_le "$r_look" 1.1 x) |"
		echo "| the same values, hash index on \`c\` (\`sh\`) | $hash_plan | $hash_ms | $(fmt "$hash_tps") | $(ratio "$hash_ms" "$plain_ms")x | |"
		echo "| the btree lookup, \`encrypted_field.audit = off\` (no audit line per lookup) | $search_plan | $noaudit_ms | $(fmt "$noaudit_tps") | $(ratio "$noaudit_ms" "$plain_ms")x | |"
	else
		echo "| searchable: \`SELECT id FROM s WHERE c = ef_term(\$1)\` | n/a (not available in this build) | | | | ≤ 1.1x: not measured |"
	fi
	echo
	echo "| storage per value (\`avg(pg_column_size(...))\`) | bytes | overhead over plaintext | target |"
	echo "|---|---:|---:|---|"
	echo "| plaintext \`text\` | $sz_plain | | |"
	echo "| \`ef_encrypt(t)\` | $sz_ef | $ov_ef | ≤ 80: $(verdict_le "$ov_ef" 80 " bytes") |"
	if [ "$searchable" = t ]; then
		ov_s=$(awk -v a="$sz_s" -v b="$sz_plain" 'BEGIN { printf "%.1f", a - b }')
		echo "| \`ef_encrypt(t, searchable => true)\` | $sz_s | $ov_s | ≤ 80: $(verdict_le "$ov_s" 80 " bytes") |"
	else
		echo "| \`ef_encrypt(t, searchable => true)\` | n/a (not available in this build) | | |"
	fi
	echo "| pgcrypto \`encrypt\`, aes-cbc | $sz_pc | $(awk -v a="$sz_pc" -v b="$sz_plain" 'BEGIN { printf "%.1f", a - b }') | |"
	echo "| pgcrypto \`pgp_sym_encrypt\`, s2k-mode=1 | $sz_g1 | $(awk -v a="$sz_g1" -v b="$sz_plain" 'BEGIN { printf "%.1f", a - b }') | |"
	echo
	echo "Lookup indexes (\`pg_indexes_size\`): btree on the plaintext \`p.t\` $idx_p; btree on the searchable \`s.c\` $idx_s; hash on the same values, \`sh.c\`, $idx_sh."
	echo
	flat=$(awk -v a="$mem_all" -v b="$mem_tenth" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= 1024) ? "**flat** (within 1 MiB)" : "**not flat**" }')
	echo "Backend peak memory while decrypting (\`COPY (SELECT ef_decrypt(c) FROM e) TO '/dev/null'\`, VmHWM above a resident $(fmt "$mem_rss") kB):"
	echo "+$(fmt "$mem_all") kB for $(fmt "$n") rows, +$(fmt "$mem_tenth") kB for $(fmt "$n_tenth") rows: $flat."
	echo
	echo "OpenSSL alone: \`openssl speed -elapsed -aead -evp aes-256-gcm -bytes 100\`: $(awk -v b="$gcm_bps" 'BEGIN { printf "%.0f", b / 1e6 }') MB/s, $gcm_ns ns per 100-byte value (one key, a new nonce, associated data and tag per value)."
	echo "\`bench/floor.c\`, the extension's own sequence of OpenSSL calls, per 100-byte value:"
	echo
	echo "| OpenSSL step | ns |"
	echo "|---|---:|"
	tail -n +2 "$work/floor.txt" | sed -E 's/^(.*[^ ]) +([0-9]+)$/| \1 | \2 |/'
	echo
	echo "| the extension against its OpenSSL floor (today's sequence) | µs/row in SQL | floor µs | ratio | target |"
	echo "|---|---:|---:|---|---|"
	pairs=("ef_encrypt|encrypt, today's" "ef_decrypt|decrypt, today's" "ef_rewrap|rewrap (unwrap and wrap), today's")
	[ "$searchable" != t ] || pairs+=("ef_encrypt searchable|searchable encrypt (and the term's MAC), today's")
	for pair in "${pairs[@]}"; do
		IFS='|' read -r op label <<<"$pair"
		fl=$(awk -v l="$label" 'index($0, l) == 1 { print $NF }' "$work/floor.txt")
		[ -n "$fl" ] || continue		# a build of floor.c without that line
		us=$(per_row_us "${rate[$op]}")
		r=$(awk -v a="$us" -v b="$fl" 'BEGIN { printf "%.2f", a * 1000 / b }')
		echo "| \`$op\` | $us | $(awk -v b="$fl" 'BEGIN { printf "%.2f", b / 1000 }') | ${r}x | ≤ 1.3x: $(verdict_le "$r" 1.3 x) |"
	done
} >"$work/results.md"

echo
cat "$work/results.md"
if [ $smoke -eq 0 ] && [ "$n" -eq 1000000 ]; then
	cp "$work/results.md" bench/results.md
	echo
	echo "written to bench/results.md"
fi
step "done"

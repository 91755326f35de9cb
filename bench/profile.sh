#!/usr/bin/env bash
# Where a backend's time goes in ef_encrypt, ef_decrypt and ef_rewrap: perf
# (or a searchable ef_encrypt, or ef_term) samples one backend while it
# applies each function to N rows (default
# 200,000) of 100-byte text, on a throwaway cluster.  For each function it
# prints the share of each library, the hottest symbols (self time) and the
# inclusive share of the extension's and OpenSSL's entry points (call graphs
# unwound with DWARF).  Symbols inside libcrypto that it does not export show
# as addresses; their callers in the inclusive list say what they are.
# Needs perf (Debian's linux-perf) and kernel.perf_event_paranoid <= 2.
# Usage, from the project root: bash bench/profile.sh [N] [FUNCTIONS...]
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$EF_ROOT"
n=${1:-200000}
shift || true
funcs=("$@")
[ ${#funcs[@]} -gt 0 ] || funcs=(ef_encrypt ef_decrypt ef_rewrap)
command -v perf >/dev/null || { echo "bench/profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }

ef_deps
ef_build
work=$(mktemp -d /tmp/ef_profile.XXXXXX)
chmod 755 "$work"
# the library is preloaded, as the README recommends and as taking keys at
# connection start needs
EF_PORT=${EF_PORT:-54334} ef_cluster_start -c shared_preload_libraries=encrypted_field \
	-c shared_buffers=1GB -c max_parallel_workers_per_gather=0 -c jit=off -c autovacuum=off
trap 'ef_cluster_stop; rm -rf "$work"' EXIT

k1=$(openssl rand -hex 32)
k2=$(openssl rand -hex 32)
# the sessions get the keys in their startup options, never in SQL text
export PGOPTIONS="-c encrypted_field.keys=1:$k1,2:$k2"
unlock="SELECT ef_unlock(1) \\g /dev/null
SELECT ef_unlock(2) \\g /dev/null"
psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);
SELECT ef_unlock(1);
SELECT ef_register_key(2);
$unlock
CREATE TABLE src AS SELECT g AS id, substr(repeat(md5(g::text), 4), 1, 100) AS t FROM generate_series(1, $n) g;
CREATE TABLE e AS SELECT id, ef_encrypt(t, key_id => 1) AS c FROM src;	-- rewrap moves it to key 2
VACUUM (FREEZE, ANALYZE);
SQL

for f in "${funcs[@]}"; do
	case "$f" in
		ef_encrypt) query="SELECT count(ef_encrypt(t)) FROM src" ;;
		ef_decrypt) query="SELECT count(ef_decrypt(c)) FROM e" ;;
		ef_rewrap) query="SELECT count(ef_rewrap(c, 2)) FROM e" ;;
		searchable) query="SELECT count(ef_encrypt(t, searchable => true)) FROM src" ;;
		ef_term) query="SELECT count(ef_term(t)) FROM src" ;;
		*) echo "bench/profile.sh: unknown function $f" >&2; exit 2 ;;
	esac
	data="$work/$f.data"
	# the backend warms up, then perf (started by the client, stopped by its
	# pid) samples it through one timed run of the query
	psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
$unlock
$query \\g /dev/null
SELECT pg_backend_pid() AS pid \\gset
\\setenv EF_PID :pid
\\setenv EF_PERF_DATA $data
\\! perf record -q --call-graph dwarf,16384 -F 2000 -p "\$EF_PID" -o "\$EF_PERF_DATA" >/dev/null 2>&1 & echo \$! >"\$EF_PERF_DATA.pid"; sleep 1
$query \\g /dev/null
\\! kill -INT "\$(cat "\$EF_PERF_DATA.pid")"; while kill -0 "\$(cat "\$EF_PERF_DATA.pid")" 2>/dev/null; do sleep 0.2; done
SQL
	echo "=== $f: $query ($n rows)"
	echo "--- share by library (self time)"
	perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
	echo "--- hottest symbols (self time; a library's unexported code summed as one line)"
	perf report -i "$data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' |
		awk '$4 ~ /^0x/ { hidden[$2] += $1; next } { printf "%8.2f%%  %-22s %s\n", $1, $2, $4 }
			END { for (d in hidden) printf "%8.2f%%  %-22s %s\n", hidden[d], d, "(code it does not export)" }' |
		sort -rn | head -20
	echo "--- inclusive time of the extension's, OpenSSL's and the executor's entry points"
	perf report -i "$data" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' |
		grep -E '\] (ef_[a-z_]+|Ef[A-Za-z0-9]+|Term[A-Za-z]+|IndexKey[A-Za-z]+|HMAC[A-Za-z_]*|Envelope[A-Za-z]+|OpenValue|SealValue|Plaintext[A-Za-z]+|Compress[A-Za-z]+|KeyWrapOp|KeyFor[A-Za-z]+|Keystore[A-Za-z]+|ScrubContext|FeedAad|RAND_[a-z_]+|EVP_[A-Za-z_]+|CRYPTO_128_[a-z]+|AES_[a-z_]+|CRYPTO_gcm128_[a-z_]+|OSSL_PARAM_[a-z_]+|ossl_[a-z_]+|ExecAgg|ExecScan|heap_getnextslot|palloc[0-9]*|pfree|explicit_bzero|pg_detoast_datum[a-z_]*)( \(inlined\))?$' |
		awk '!seen[$0]++' | head -40
	echo
done

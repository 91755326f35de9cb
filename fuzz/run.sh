#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer) and run each for SECONDS (default 600) on its
# corpus; --smoke replays the saved corpus and crash regressions only.
# Prints executions per second and total executions of each run.
# Usage, from the project root: bash fuzz/run.sh [--smoke | SECONDS]
# PG_CONFIG names the PostgreSQL whose headers and static libraries are used.
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-600}
pg_config=${PG_CONFIG:-pg_config}
inc=$("$pg_config" --includedir-server)
# libpgcommon.a and libpgport.a: Debian puts them in pkglibdir, a source
# build in libdir
lib=$("$pg_config" --pkglibdir)
[ -f "$lib/libpgcommon.a" ] || lib=$("$pg_config" --libdir)
out=fuzz/build
mkdir -p "$out" fuzz/corpus/envelope fuzz/corpus/text fuzz/regressions
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wno-ignored-attributes -I$inc -Isrc"
common="src/crypto_openssl.c src/cipher_direct.c src/hmac_direct.c src/envelope.c src/kdf.c src/textform.c src/lockedmem.c"

clang -g -O1 -Wno-ignored-attributes -I"$inc" -Isrc -o "$out/make_seeds" fuzz/make_seeds.c $common \
	"$lib/libpgcommon.a" "$lib/libpgport.a" -lcrypto
"$out/make_seeds" fuzz/corpus/envelope fuzz/corpus/text
for h in envelope text; do
	clang $flags -o "$out/fuzz_$h" "fuzz/fuzz_$h.c" $common "$lib/libpgcommon.a" "$lib/libpgport.a" -lcrypto
done

status=0
if [ "$mode" = "--smoke" ]; then
	for h in envelope text; do
		# replay every saved input, seeds and past crashes alike
		if "$out/fuzz_$h" -runs=0 fuzz/corpus/$h fuzz/regressions >"$out/$h.log" 2>&1; then
			echo "fuzz_$h: replayed $(ls fuzz/corpus/$h fuzz/regressions | wc -l) inputs, no failure"
		else
			status=1; tail -20 "$out/$h.log"
		fi
	done
	exit $status
fi

# the harnesses run side by side, one core each
pids=()
for h in envelope text; do
	"$out/fuzz_$h" -max_total_time="$mode" -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=fuzz/regressions/ fuzz/corpus/$h >"$out/$h.log" 2>&1 &
	pids+=($!)
done
for i in 0 1; do
	h=$([ $i = 0 ] && echo envelope || echo text)
	if ! wait "${pids[$i]}"; then status=1; tail -30 "$out/$h.log"; fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$h.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$h.log")
	echo "fuzz_$h: $mode s, $execs executions, $rate per second, corpus $(ls fuzz/corpus/$h | wc -l) inputs"
done
exit $status

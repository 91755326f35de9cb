#!/usr/bin/env bash
# Run every test: C unit tests (Wycheproof vectors, envelope vector), the
# fuzz corpus replay, pg_regress, and the TAP suites under test/t (pgTAP,
# key hygiene, dump and restore, streaming and logical replication,
# PgBouncer, the upgrades from 0.1.0 and 0.2.0, a killed backend and a
# crashed server, the decrypt audit, Citus: a coordinator and workers).
# Installs the packages it needs, builds a copy of the tree with warnings as
# errors, installs it into PG_CONFIG's PostgreSQL (default Debian's 15), and
# runs the make targets as the unprivileged postgres user (the caller, when
# not root): make unitcheck, make installcheck against a cluster started
# here, and make prove_installcheck, whose suites start their own clusters.
# Without PG_CONFIG, it runs them all for each supported major version this
# machine can test: Debian's PostgreSQL 15, then 18.6, built from
# ../shared/vendor (or $EF_VENDOR_DIR) by scripts/pg18.sh into a cache
# outside the repository and reused from there; on 15, Citus 13.2.2, built
# the same way by scripts/citus.sh.
# Usage, from the project root, as root on Debian 12:
#   bash scripts/test.sh                                   # 15 and 18
#   PG_CONFIG=/path/to/bin/pg_config bash scripts/test.sh  # that one
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail

if [ -z "${PG_CONFIG:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	results=()
	status=0
	summary=$(mktemp)
	trap 'rm -f "$summary"' EXIT
	# each run writes its counts into the summary file as its last act
	if EF_SUMMARY=$summary PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config bash "$here/test.sh"; then
		results+=("PostgreSQL 15: passed, $(cat "$summary")")
	else
		results+=("PostgreSQL 15: FAILED, $(cat "$summary" 2>/dev/null)")
		status=1
	fi
	: >"$summary"
	echo "== building PostgreSQL 18 (or reusing the build)"
	if pg18=$(bash "$here/pg18.sh" | tail -n 1) && [ -x "$pg18" ] &&
		EF_SUMMARY=$summary PG_CONFIG=$pg18 bash "$here/test.sh"; then
		results+=("PostgreSQL 18: passed, $(cat "$summary")")
	else
		results+=("PostgreSQL 18: FAILED, $(cat "$summary" 2>/dev/null)")
		status=1
	fi
	printf '%s\n' "${results[@]}"
	if [ $status -eq 0 ]; then echo "All tests passed."; else echo "Some tests FAILED."; fi
	exit $status
fi

. "$(dirname "$0")/lib.sh"
cd "$EF_ROOT"

ef_deps
ef_locale
echo "PostgreSQL: $("$PG_CONFIG" --version) ($PG_CONFIG); tests run as $(ef_owner)"

work=$(mktemp -d /tmp/encrypted_field-test.XXXXXX)
chmod 755 "$work"
keep=
cleanup() {
	ef_cluster_stop
	if [ -n "$keep" ]; then echo "logs of the failed suites: $work/logs"; else rm -rf "$work"; fi
}
trap cleanup EXIT
ef_stage "$work/src"
cd "$work/src"
# the upgrade suite builds the 0.1.0 release from this clone's history
git_dir=${EF_GIT_DIR:-$(git -C "$EF_ROOT" rev-parse --absolute-git-dir 2>/dev/null || true)}
make_as_owner() { ef_as_owner env EF_GIT_DIR="$git_dir" make -s PG_CONFIG="$PG_CONFIG" "$@"; }

passed=0
failed=0
skipped=0
checks=0
suite() {
	echo "== $1"
	shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
# Run a test command with its output shown and kept in $work/out, and add
# the checks it reports to the count: prove's "Files=1, Tests=N",
# pg_regress's "All N tests passed", the unit programs' "NAME: N passed, 0
# failed", the fuzz replay's "replayed N inputs, no failure"
counted() { # name, command...
	local name=$1 n
	shift
	mkdir -p "$work/out"
	"$@" 2>&1 | tee "$work/out/$name" || return 1
	n=$(sed -n -e 's/.*Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' \
		-e 's/.*All \([0-9]*\) tests passed.*/\1/p' \
		-e 's/^[a-z_.]*: \([0-9]*\) passed, 0 failed.*/\1/p' \
		-e 's/^fuzz_[a-z_]*: replayed \([0-9]*\) inputs, no failure$/\1/p' \
		"$work/out/$name" | awk '{ n += $1 } END { print n + 0 }')
	checks=$((checks + n))
}
# keep what a failed suite left for reading
keep_logs() { # name, files...
	local name=$1
	shift
	keep=1
	mkdir -p "$work/logs/$name"
	cp -r "$@" "$work/logs/$name/" 2>/dev/null || true
}
regress() {
	counted pg_regress make_as_owner installcheck && return 0
	[ -f test/regression.diffs ] && cat test/regression.diffs
	keep_logs pg_regress test/regression.diffs test/regression.out
	return 1
}
tap() { # a TAP suite, test/t/NAME.pl
	counted "$1" make_as_owner prove_installcheck PROVE_TESTS="test/t/$1.pl" && return 0
	keep_logs "$1" tmp_check/log
	return 1
}

suite "unit tests" counted unit make_as_owner unitcheck
suite "fuzz corpus replay" counted fuzz ef_as_owner env PG_CONFIG="$PG_CONFIG" bash fuzz/run.sh --smoke

ef_cluster_start
trap cleanup EXIT
suite "pg_regress" regress
ef_cluster_stop

suite "pgTAP" tap 001_pgtap
suite "pgTAP, library preloaded" tap 002_pgtap_preloaded
suite "key hygiene" tap 010_key_hygiene
suite "operations: dump, restore, replication" tap 020_dump_replication
suite "operations: PgBouncer" tap 021_pgbouncer
suite "upgrade from 0.1.0 and 0.2.0" tap 030_upgrade
suite "faults: kill, crash" tap 040_faults
suite "decrypt audit: statement lines, reasons, review" tap 060_decrypt_audit
# Citus 13 supports PostgreSQL 15 to 17: there, as root, build it from
# ../shared/vendor (or reuse the build) and install it, and the Citus suite
# must then run; an ordinary user's run takes the suite if Citus is there
major=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
if [ "$major" -ge 15 ] && [ "$major" -le 17 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		suite "Citus 13.2.2: build or reuse, install" \
			env EF_CITUS_PG_CONFIG="$PG_CONFIG" bash "$EF_ROOT/scripts/citus.sh"
		suite "Citus: a coordinator and workers" tap 050_citus
		if grep -q 'Result: NOTESTS' "$work/out/050_citus" 2>/dev/null; then
			echo "the Citus suite skipped itself although Citus was installed"
			passed=$((passed - 1))
			failed=$((failed + 1))
		fi
	elif [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
		suite "Citus: a coordinator and workers" tap 050_citus
	else
		echo "== Citus: not installed in this PostgreSQL; as root, scripts/citus.sh installs it"
		skipped=$((skipped + 1))
	fi
else
	echo "== Citus: not run on PostgreSQL $major (Citus 13.2.2 supports 15 to 17)"
	skipped=$((skipped + 1))
fi

result="$passed suites passed, $failed failed, $skipped not run; $checks checks"
[ -n "${EF_SUMMARY:-}" ] && echo "$result" >"$EF_SUMMARY"
echo "PostgreSQL $major: $result"
[ "$failed" -eq 0 ]

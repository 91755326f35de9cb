#!/usr/bin/env bash
# Upgrades from the first release, 0.1.0, to the version in this tree:
#  - values the release's build wrote (the committed fixture) read back with
#    this build;
#  - a database created at 0.1.0 and brought up with ALTER EXTENSION UPDATE
#    keeps every value, term and index, and ends with the same objects, down
#    to each function's flags, grants and comments, as a fresh install;
#  - when this clone has the release's commit, the real path: the release is
#    built from git and installed, writes data with its own library under
#    shared_preload_libraries, the server restarts on this build, and the
#    data survives ALTER EXTENSION UPDATE.
# The release's library takes the master key in the statement's text; this
# build refuses it there (SQLSTATE 28EF1) and, psql 15 sending no bind
# parameters, its sessions give the key at connection start instead.
# Usage, from the project root, after the extension is built and installed:
#   bash test/upgrade/run.sh
#   bash test/upgrade/run.sh --write-fixture   # rewrite the fixture with the release's build
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$EF_ROOT"
. test/check.sh

release=0.1.0
release_commit=b91251d1aba5b7c18a4663ff807fd0a155f6601b # tag v0.1.0
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" encrypted_field.control)
fixture=test/upgrade/written_by_$release.sql
# a public test key: the fixture is readable by design
key=$(printf 'encrypted_field upgrade fixture' | sha256sum | cut -c1-64)

base=$(mktemp -d)
chmod 755 "$base"
[ "$(id -u)" -eq 0 ] && chown postgres: "$base"
export PGHOST=$base PGPORT=55521 PGUSER=postgres
[ "$(id -u)" -eq 0 ] || PGUSER=$(id -un)
release_installed=

stop() { ef_as_owner $PG_BIN/pg_ctl -D "$base/data" -m fast -w stop >/dev/null 2>&1; }
start() { # extra postgres options
	[ -d "$base/data" ] ||
		ef_as_owner $PG_BIN/initdb -D "$base/data" -U "$PGUSER" -A trust --no-sync >/dev/null
	ef_as_owner $PG_BIN/pg_ctl -D "$base/data" -l "$base/server.log" -w \
		-o "-k $base -p $PGPORT -c listen_addresses='' -c fsync=off $*" start >/dev/null
}
q() { local db=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
install_current() {
	make -s PG_CONFIG=$PG_BIN/pg_config install >/dev/null && release_installed=
}
# Build the release from its commit and install it over this build
install_release() {
	rm -rf "$base/release" && mkdir "$base/release" &&
		git archive "$release_commit" | tar -x -C "$base/release" &&
		make -C "$base/release" -s PG_CONFIG=$PG_BIN/pg_config >/dev/null 2>&1 &&
		release_installed=1 &&
		make -C "$base/release" -s PG_CONFIG=$PG_BIN/pg_config install >/dev/null
}
cleanup() {
	local status=$?
	stop
	# never leave the release's library installed for the suites that follow
	if [ -n "$release_installed" ] && ! install_current; then
		echo "could not reinstall this build over $release: run make install" >&2
		status=1
	fi
	rm -rf "$base"
	exit $status
}
trap cleanup EXIT
have_release() { git cat-file -e "$release_commit^{commit}" 2>/dev/null; }

# How a session gives key 1 to the library installed.  The release's takes
# it as an argument, in the statement's text, as 0.1.0 applications passed
# it.  This build takes it at connection start (encrypted_field.keys, the
# library loaded as the session starts) when the key argument is NULL; the
# NULL is written out because 0.1.0's SQL functions, still in place before
# ALTER EXTENSION UPDATE, have no default for it.
key_arg() { if [ -n "$release_installed" ]; then echo "decode('$key', 'hex')"; else echo NULL; fi; }
key_options() {
	[ -n "$release_installed" ] ||
		echo "-c session_preload_libraries=encrypted_field -c encrypted_field.keys=1:$key"
}
qk() { # as q, in a session holding key 1
	local db=$1
	shift
	PGOPTIONS=$(key_options) q "$db" -c "SELECT ef_unlock(1, $(key_arg))" "$@"
}

# A database at the release's version, holding every case, written by
# whichever library is installed
write_release_db() { # db, extra CREATE EXTENSION clause
	q postgres -c "CREATE DATABASE $1" &&
		PGOPTIONS=$(key_options) q "$1" -c "CREATE EXTENSION encrypted_field $2" \
			-c "SELECT ef_register_key(1, $(key_arg), 'upgrade test key')" \
			-f test/upgrade/cases.sql -c "SELECT ef_unlock(1, $(key_arg))" -f test/upgrade/write.sql >/dev/null
}
no_faults() { # db; prints the faults found
	local f
	f=$(qk "$1" -f test/upgrade/verify.sql) || { echo "  could not verify $1"; return 1; }
	f=$(echo "$f" | sed '/^$/d')
	[ -z "$f" ] && return 0
	echo "$f" | sed 's/^/  /'
	return 1
}
version_of() { q "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'encrypted_field'"; }
# The extension's objects as pg_dump's binary-upgrade mode writes them: every
# member with its definition, flags, grants and comment.  OIDs and xids,
# which differ between any two databases, are masked.
objects() {
	pg_dump --binary-upgrade --schema-only -d "$1" |
		grep -v -e '^\\restrict' -e '^\\unrestrict' -e 'binary_upgrade_set_next' -e '^--' -e '^$' |
		sed -E '/binary_upgrade_create_empty_extension|relfrozenxid|WHERE oid =/ s/[0-9]{3,}/N/g'
}
same_objects() { # db, db
	objects "$1" >"$base/$1.ddl" && objects "$2" >"$base/$2.ddl" &&
		[ -s "$base/$1.ddl" ] && diff -u "$base/$2.ddl" "$base/$1.ddl"
}
index_finds() { # db: an index scan finds a value written before the upgrade
	local plan found
	plan=$(qk "$1" -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) SELECT label FROM upgrade_values
		WHERE label LIKE 'search%' AND value = ef_term('alice@example.org'::text, 'email')" | tr '\n' ' ')
	found=$(qk "$1" -c "SET enable_seqscan = off" -c "SELECT label FROM upgrade_values
		WHERE label LIKE 'search%' AND value = ef_term('alice@example.org'::text, 'email')" | tail -n 1)
	[[ "$plan" == *"upgrade_values_terms"* ]] && same "$found" "search exact"
}
rotation_keeps_old_terms() { # db: rotate the index key of a registry an older version wrote
	local out
	out=$(qk "$1" -c "SELECT ef_rotate_index_key()" -c "SELECT label FROM upgrade_values
		WHERE label LIKE 'search%' AND value = ANY(ef_terms('alice@example.org'::text, 'email'))" | sed '/^$/d' | tr '\n' ' ')
	same "$out" "2 search exact "
}
searchable_flags_agree() {
	same "$(q "$1" -c "SELECT count(*) FROM upgrade_values JOIN upgrade_cases USING (label)
		WHERE ef_is_searchable(value) = searchable")" "$(q "$1" -c "SELECT count(*) FROM upgrade_cases")"
}

if [ "${1:-}" = "--write-fixture" ]; then
	have_release || { echo "commit $release_commit of $release is not in this clone" >&2; exit 1; }
	install_release || { echo "could not build $release" >&2; exit 1; }
	start
	write_release_db fx "" || exit 1
	{
		echo "-- Written by encrypted_field $release (commit $release_commit) with"
		echo "-- bash test/upgrade/run.sh --write-fixture; key 1 is the public test key there."
		# with the columns named: later versions add registry columns
		for t in ef_keys ef_index_keys upgrade_values; do
			echo "COPY $t ($(q fx -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
				FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped")) FROM stdin;"
			q fx -c "COPY $t TO stdout"
			echo '\.'
		done
	} >"$fixture"
	echo "wrote $fixture"
	exit 0
fi

start
# What the release's library wrote, read by this one
q postgres -c "CREATE DATABASE stored" &&
	q stored -c "CREATE EXTENSION encrypted_field" -f test/upgrade/cases.sql -f "$fixture" >/dev/null
cases=$(q stored -c "SELECT count(*) FROM upgrade_cases")
echo "# ${cases:-no} cases; release $release, this tree $current"
check "the fixture holds a value of every case, written by $release" \
	same "$(q stored -c "SELECT count(*) FROM upgrade_values")" "$cases"
check "values written by $release decrypt to their cases with this build" no_faults stored
check "terms written by $release are found through an index" index_finds stored
check "0.2.0's index key rotation works on $release's registry, and finds the old terms" \
	rotation_keeps_old_terms stored

# ALTER EXTENSION UPDATE in place, with this library
write_release_db inplace "VERSION '$release'"
check "CREATE EXTENSION VERSION '$release' installs $release" same "$(version_of inplace)" "$release"
check "ALTER EXTENSION UPDATE succeeds" q inplace -c "ALTER EXTENSION encrypted_field UPDATE"
check "and leaves version $current" same "$(version_of inplace)" "$current"
# what 0.1.0 applications did: the key in the statement's text
refused() {
	local out
	out=$(psql -X -q -At -v VERBOSITY=verbose -d inplace -c "SELECT ef_unlock(1, decode('$key', 'hex'))" \
		-c "SELECT count(*) FROM ef_held_keys()" 2>&1)
	grep -q "ERROR:  28EF1:" <<<"$out" && same "$(tail -1 <<<"$out")" 0
}
check "a key in SQL text, as 0.1.0 took it, is refused after the update (28EF1)" refused
check "every value decrypts to its case after the update" no_faults inplace
check "an index built before the update still finds values" index_finds inplace
check "ef_is_searchable, new in 0.2.0, reads values written before it" searchable_flags_agree inplace
check "the registry is still dumped with the data" same \
	"$(q inplace -c "SELECT array(SELECT c::regclass::text FROM pg_extension, unnest(extconfig) c
		WHERE extname = 'encrypted_field' ORDER BY 1)")" "{ef_index_keys,ef_keys}"
q postgres -c "CREATE DATABASE fresh" && q fresh -c "CREATE EXTENSION encrypted_field" -f test/upgrade/cases.sql >/dev/null
check "the updated extension has the same objects as a fresh install of $current" same_objects inplace fresh

# A dump of the updated database restores with its registry and reads back
dump_restores() {
	q postgres -c "CREATE DATABASE restored" &&
		pg_dump -Fc -d inplace >"$base/inplace.dump" &&
		pg_restore --exit-on-error -d restored "$base/inplace.dump"
}
check "a dump taken after the update restores" dump_restores
check "and every value of the restored copy decrypts" no_faults restored

# The real path: the release's library writes, this one reads after the update
if have_release; then
	check "encrypted_field--$release.sql is the release's script, unchanged" \
		cmp -s <(git show "$release_commit:encrypted_field.sql") "encrypted_field--$release.sql"
	stop
	if install_release; then
		start "-c shared_preload_libraries=encrypted_field"
		write_release_db released ""
		check "the release's build installs version $release" same "$(version_of released)" "$release"
		check "the release's build reads what it wrote" no_faults released
		stop
	else
		check "the release builds from commit $release_commit" false
	fi
	check "this build is installed again" install_current
	start "-c shared_preload_libraries=encrypted_field"
	check "ALTER EXTENSION UPDATE after the server restarts on this build" \
		q released -c "ALTER EXTENSION encrypted_field UPDATE"
	check "and leaves version $current" same "$(version_of released)" "$current"
	check "values the release's library wrote decrypt after the update" no_faults released
	check "its index still finds values" index_finds released
	check "the updated extension has the same objects as a fresh install" same_objects released fresh
else
	echo "# skip: commit $release_commit of $release is not in this clone; the release's own build is not run"
fi

report "upgrade"

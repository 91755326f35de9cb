# Shared steps of scripts/demo.sh and scripts/test.sh: install what is
# missing, build and install, and run a throwaway cluster as an unprivileged
# user (PostgreSQL refuses to run as root).  Sourced, not run.
# PG_CONFIG names the PostgreSQL to build for and test against; by default
# Debian's 15.
# Copyright (c) 2026, The encrypted_field Authors

EF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EF_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libssl-dev libkrb5-dev liblz4-dev jq make gcc clang libclang-rt-14-dev python3-cryptography python3-psycopg python3-psycopg2 pgbouncer locales libipc-run-perl"
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# its programs; set again by ef_deps, which may install them
PG_BIN=$("$PG_CONFIG" --bindir 2>/dev/null || true)

# Install the Debian packages that are not installed yet
ef_deps() {
	local missing=() p
	for p in $EF_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	# node-postgres, for the key hygiene suite, comes from npm
	command -v npm >/dev/null || missing+=(nodejs npm)
	if [ ${#missing[@]} -eq 0 ]; then
		PG_BIN=$("$PG_CONFIG" --bindir)
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]}; run as root or install them" >&2
		return 1
	fi
	echo "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	PG_BIN=$("$PG_CONFIG" --bindir)
}

# A translated message locale, for the key hygiene suite: PostgreSQL's log
# lines in German must hold no key either
ef_locale() {
	locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$' && return 0
	# without it, the suite skips its German checks and says so
	[ "$(id -u)" -eq 0 ] || { echo "locale de_DE.UTF-8 missing; run as root or generate it" >&2; return 0; }
	localedef -i de_DE -f UTF-8 de_DE.UTF-8
}

# Build with warnings as errors and install into PG_CONFIG's tree
ef_build() {
	make -C "$EF_ROOT" -s clean >/dev/null
	make -C "$EF_ROOT" -s PG_CONFIG="$PG_CONFIG" \
		PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" >/dev/null
	make -C "$EF_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# Copy the working tree, without its git directory and build products, into
# a new directory DIR owned by the cluster owner, build it there as that
# user with warnings as errors, and install it into PG_CONFIG's tree (as
# root, or as the caller if the tree is theirs).  The build and the tests'
# output stay out of the working tree, and edits made to it meanwhile do not
# reach the run.
ef_stage() {
	local dir=$1
	if ! ef_as_owner test -x "$PG_CONFIG"; then
		echo "$PG_CONFIG cannot be run by the user the tests run as ($(ef_owner)): install PostgreSQL where that user can read it" >&2
		return 1
	fi
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$(ef_owner):" "$dir"
	tar -C "$EF_ROOT" --exclude=./.git --exclude=./fuzz/build --exclude=./tmp_check --exclude=./results \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | ef_as_owner tar -C "$dir" -xf -
	ef_as_owner make -C "$dir" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null &&
		ef_as_owner make -C "$dir" -s PG_CONFIG="$PG_CONFIG" \
			PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" >/dev/null &&
		make -C "$dir" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# The unprivileged user that owns test clusters: postgres for root, else
# the caller
ef_owner() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

# Run a command as the unprivileged cluster owner
ef_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Start a throwaway cluster in a new temporary directory.  Sets EF_PGDATA,
# PGHOST, PGPORT, PGUSER and PGDATABASE for the clients that follow.
# Extra server settings may be passed as arguments (-c name=value).
ef_cluster_start() {
	local dir
	dir=$(mktemp -d /tmp/encrypted_field.XXXXXX)
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	export EF_PGDATA=$dir/data
	export PGHOST=$dir PGPORT=${EF_PORT:-54329} PGUSER=postgres PGDATABASE=postgres
	[ "$(id -u)" -eq 0 ] || PGUSER=$(id -un)
	ef_as_owner $PG_BIN/initdb -D "$EF_PGDATA" -U "$PGUSER" -A trust \
		--no-sync >/dev/null
	# the log lives in the data directory, so tests can read it with pg_read_file
	ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -l "$EF_PGDATA/server.log" -w \
		-o "-k $dir -p $PGPORT -c listen_addresses='' -c fsync=off $*" start >/dev/null
	trap ef_cluster_stop EXIT
}

# Stop the throwaway cluster and remove it
ef_cluster_stop() {
	[ -n "${EF_PGDATA:-}" ] || return 0
	ef_as_owner $PG_BIN/pg_ctl -D "$EF_PGDATA" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$(dirname "$EF_PGDATA")"
	EF_PGDATA=
}

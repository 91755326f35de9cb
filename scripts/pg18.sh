# Build PostgreSQL 18.6 from the vendored source into a cache directory
# outside the repository, with the contrib modules and pgTAP the tests use,
# for building and testing against the newest major version.  A finished
# build is reused.  Sourced, it defines ef_pg18 and ef_pg18_config; run, it
# builds and prints the path of the 18 pg_config on its last line:
#   PG18_CONFIG=$(bash scripts/pg18.sh | tail -n 1)
# Building takes 11 to 13 minutes on 2 cores; the output goes to
# $EF_PG18_PREFIX.log.  Overrides: EF_VENDOR_DIR (where the tarball is),
# EF_PG18_PREFIX (where it is installed).
#
# The build goes to ${XDG_CACHE_HOME:-$HOME/.cache}/encrypted_field, except
# as root with no XDG_CACHE_HOME: the server runs as the unprivileged
# postgres user, who cannot enter root's private home, so root's build goes
# to /var/cache/encrypted_field.
# Copyright (c) 2026, The encrypted_field Authors

EF_ROOT=${EF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
EF_VENDOR_DIR=${EF_VENDOR_DIR:-$EF_ROOT/../shared/vendor}
EF_PG18_VERSION=18.6
EF_PG18_SHA256=555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f
if [ -z "${XDG_CACHE_HOME:-}" ] && [ "$(id -u)" -eq 0 ]; then
	EF_PG18_PREFIX=${EF_PG18_PREFIX:-/var/cache/encrypted_field/postgresql-$EF_PG18_VERSION}
else
	EF_PG18_PREFIX=${EF_PG18_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/encrypted_field/postgresql-$EF_PG18_VERSION}
fi
EF_PG18_PACKAGES="bison flex libreadline-dev zlib1g-dev libssl-dev liblz4-dev libicu-dev pkg-config gettext libipc-run-perl make gcc"
# contrib modules the test suites load
EF_PG18_CONTRIB="pg_stat_statements auto_explain dblink pgcrypto file_fdw"
# pgTAP 1.x is SQL only (no C functions), so Debian's 15 build of it installs
# into 18 as it is
EF_PG18_PGTAP=/usr/share/postgresql/15/extension

# Print the path of the 18 pg_config (after ef_pg18)
ef_pg18_config() {
	echo "$EF_PG18_PREFIX/bin/pg_config"
}

# Install the build dependencies that are not installed yet
ef_pg18_deps() {
	local missing=() p
	for p in $EF_PG18_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages to build PostgreSQL $EF_PG18_VERSION: ${missing[*]}; run as root or install them" >&2
		return 1
	fi
	echo "installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Is a finished build there?  The marker is written last, so an interrupted
# build is not taken for one
ef_pg18_ready() {
	[ -f "$EF_PG18_PREFIX/.ef-complete" ] &&
		[ "$("$EF_PG18_PREFIX/bin/pg_config" --version 2>/dev/null)" = "PostgreSQL $EF_PG18_VERSION" ]
}

# Configure, build and install PostgreSQL, the contrib modules and pgTAP
ef_pg18_build() {
	local tarball=$EF_VENDOR_DIR/postgresql-$EF_PG18_VERSION.tar.bz2 src x
	if [ ! -f "$tarball" ]; then
		echo "$tarball not found; set EF_VENDOR_DIR to the directory that holds it" >&2
		return 1
	fi
	if ! echo "$EF_PG18_SHA256  $tarball" | sha256sum -c --status; then
		echo "$tarball: sha256 differs from $EF_PG18_SHA256" >&2
		return 1
	fi
	if ! ls "$EF_PG18_PGTAP"/pgtap--1.*.sql >/dev/null 2>&1; then
		echo "pgTAP not found in $EF_PG18_PGTAP; install postgresql-15-pgtap" >&2
		return 1
	fi
	ef_pg18_deps || return 1
	# what an interrupted build left
	rm -rf "$EF_PG18_PREFIX" "$EF_PG18_PREFIX".src.*
	src=$(mktemp -d "$EF_PG18_PREFIX.src.XXXXXX")
	echo "building PostgreSQL $EF_PG18_VERSION into $EF_PG18_PREFIX (log: $EF_PG18_PREFIX.log)" >&2
	# chained with &&: set -e does not hold inside a tested command
	(
		tar -xjf "$tarball" -C "$src" &&
			cd "$src/postgresql-$EF_PG18_VERSION" &&
			# ICU and translated messages as Debian's packages have them
			# (the key hygiene suite reads log lines in German)
			./configure --prefix="$EF_PG18_PREFIX" --with-openssl --with-lz4 \
				--with-icu --enable-nls --enable-tap-tests --enable-debug &&
			make -j"$(nproc)" &&
			make install &&
			for x in $EF_PG18_CONTRIB; do
				make -C "contrib/$x" install || exit 1
			done &&
			cp "$EF_PG18_PGTAP"/pgtap* "$EF_PG18_PREFIX/share/extension/"
	) >"$EF_PG18_PREFIX.log" 2>&1 || {
		echo "building PostgreSQL $EF_PG18_VERSION failed; see $EF_PG18_PREFIX.log" >&2
		rm -rf "$src"
		return 1
	}
	rm -rf "$src"
	# the cluster owner must be able to run the server
	if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- "$EF_PG18_PREFIX/bin/postgres" --version >/dev/null 2>&1; then
		echo "the postgres user cannot run $EF_PG18_PREFIX/bin/postgres; set EF_PG18_PREFIX to a directory it can enter" >&2
		return 1
	fi
	touch "$EF_PG18_PREFIX/.ef-complete"
}

# Build PostgreSQL 18 unless a finished build is there; one build at a time
ef_pg18() {
	mkdir -p "$(dirname "$EF_PG18_PREFIX")"
	(
		flock 9
		ef_pg18_ready || ef_pg18_build
	) 9>"$EF_PG18_PREFIX.lock"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	ef_pg18
	ef_pg18_config
fi

# Build Citus 13.2.2 from the vendored source for Debian's PostgreSQL 15
# into a cache directory outside the repository, and install the cached
# files into that PostgreSQL, for the Citus suites (test/t/050_citus.pl,
# test/t/051_citus_harness.pl).
# Citus is a test dependency only: the product never needs it.  A finished
# build is reused.  Sourced, it defines ef_citus (build unless built, then
# install), ef_citus_build, ef_citus_ready and ef_citus_install; run, it does
# ef_citus and prints one line, where the files came from and went.
#   bash scripts/citus.sh
# Building (configure, make -j2 with the LLVM bitcode PostgreSQL's JIT
# inlines, make install into a staging tree) took 334 s on 2 cores with
# other work running (load average 3); the output goes to
# $EF_CITUS_DIR.log.  Installing from the cache copies only the files that
# differ: about 0.3 s when none does.
# Overrides: EF_VENDOR_DIR (where the tarball and patch are), EF_CITUS_DIR
# (the cache), EF_CITUS_PG_CONFIG (the PostgreSQL, default Debian's 15;
# Citus 13 supports 15 to 17, not 18).
#
# The cache goes to ${XDG_CACHE_HOME:-$HOME/.cache}/encrypted_field, except
# as root with no XDG_CACHE_HOME: /var/cache/encrypted_field, as for
# scripts/pg18.sh.  It holds the tree `make install DESTDIR=...` wrote,
# whose paths are the PostgreSQL's own (usr/lib/postgresql/15/lib/citus.so,
# usr/share/postgresql/15/extension/citus*, ...); installing copies that
# tree into / and so needs write access to the PostgreSQL directories (root
# for Debian's).
# Copyright (c) 2026, The encrypted_field Authors

EF_ROOT=${EF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
EF_VENDOR_DIR=${EF_VENDOR_DIR:-$EF_ROOT/../shared/vendor}
EF_CITUS_VERSION=13.2.2
EF_CITUS_SHA256=c8fc76dc8294636a52b1a0dd75a20d8b4a36937df6443e30ca84d8d0464a6bb9
EF_CITUS_PG_CONFIG=${EF_CITUS_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
EF_CITUS_PG_MAJOR=$("$EF_CITUS_PG_CONFIG" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
if [ -z "${XDG_CACHE_HOME:-}" ] && [ "$(id -u)" -eq 0 ]; then
	EF_CITUS_DIR=${EF_CITUS_DIR:-/var/cache/encrypted_field/citus-$EF_CITUS_VERSION-pg${EF_CITUS_PG_MAJOR:-15}}
else
	EF_CITUS_DIR=${EF_CITUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/encrypted_field/citus-$EF_CITUS_VERSION-pg${EF_CITUS_PG_MAJOR:-15}}
fi
# configured --without-libcurl (no anonymous statistics collection) and
# --without-zstd (columnar compresses with lz4 then), so no libcurl or zstd
# headers are needed; Citus includes libpq's internal header, which includes
# GSSAPI's
EF_CITUS_PACKAGES="postgresql-server-dev-${EF_CITUS_PG_MAJOR:-15} libpq-dev liblz4-dev libssl-dev libkrb5-dev make gcc patch"

# Install the build dependencies that are not installed yet
ef_citus_deps() {
	local missing=() p
	for p in $EF_CITUS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages to build Citus $EF_CITUS_VERSION: ${missing[*]}; run as root or install them" >&2
		return 1
	fi
	echo "installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Is a finished build there, for this PostgreSQL?  The marker is written
# last, so an interrupted build is not taken for one; it names the
# PostgreSQL the build is for
ef_citus_ready() {
	[ -f "$EF_CITUS_DIR/.ef-complete" ] &&
		[ "$(cat "$EF_CITUS_DIR/.ef-complete")" = "$("$EF_CITUS_PG_CONFIG" --version)" ] &&
		[ -f "$EF_CITUS_DIR/root$("$EF_CITUS_PG_CONFIG" --pkglibdir)/citus.so" ]
}

# Configure, build and install Citus into $EF_CITUS_DIR/root
ef_citus_build() {
	local tarball=$EF_VENDOR_DIR/citus-$EF_CITUS_VERSION.tar.gz
	local patchfile=$EF_VENDOR_DIR/citus-$EF_CITUS_VERSION-pg15.20.patch src start
	if [ -z "$EF_CITUS_PG_MAJOR" ]; then
		echo "$EF_CITUS_PG_CONFIG does not run; set EF_CITUS_PG_CONFIG" >&2
		return 1
	fi
	case $EF_CITUS_PG_MAJOR in
	15 | 16 | 17) ;;
	*)
		echo "Citus $EF_CITUS_VERSION supports PostgreSQL 15 to 17, not $EF_CITUS_PG_MAJOR" >&2
		return 1
		;;
	esac
	if [ ! -f "$tarball" ] || [ ! -f "$patchfile" ]; then
		echo "$tarball or $patchfile not found; set EF_VENDOR_DIR to the directory that holds them" >&2
		return 1
	fi
	if ! echo "$EF_CITUS_SHA256  $tarball" | sha256sum -c --status; then
		echo "$tarball: sha256 differs from $EF_CITUS_SHA256" >&2
		return 1
	fi
	ef_citus_deps || return 1
	# what an interrupted build left
	rm -rf "$EF_CITUS_DIR" "$EF_CITUS_DIR".src.*
	mkdir -p "$EF_CITUS_DIR"
	src=$(mktemp -d "$EF_CITUS_DIR.src.XXXXXX")
	echo "building Citus $EF_CITUS_VERSION for $("$EF_CITUS_PG_CONFIG" --version) into $EF_CITUS_DIR (log: $EF_CITUS_DIR.log)" >&2
	start=$SECONDS
	# chained with &&: set -e does not hold inside a tested command.  The
	# patch replaces Citus's static copy of have_createdb_privilege() by a
	# declaration of the function PostgreSQL 15.20 exports; applied only
	# where the server headers declare it, as 15.20's do
	(
		tar -xzf "$tarball" -C "$src" &&
			cd "$src/citus-$EF_CITUS_VERSION" &&
			{ ! grep -q have_createdb_privilege "$("$EF_CITUS_PG_CONFIG" --includedir-server)/commands/dbcommands.h" ||
				patch -p1 <"$patchfile"; } &&
			./configure PG_CONFIG="$EF_CITUS_PG_CONFIG" --without-libcurl --without-zstd &&
			make -j"$(nproc)" &&
			make install DESTDIR="$EF_CITUS_DIR/root"
	) >"$EF_CITUS_DIR.log" 2>&1 || {
		echo "building Citus $EF_CITUS_VERSION failed; see $EF_CITUS_DIR.log" >&2
		rm -rf "$src"
		return 1
	}
	rm -rf "$src"
	echo "built in $((SECONDS - start)) s" >>"$EF_CITUS_DIR.log"
	"$EF_CITUS_PG_CONFIG" --version >"$EF_CITUS_DIR/.ef-complete"
}

# Copy the cached build into the PostgreSQL's directories.  Files already
# there with the same size and modification time (install -p keeps it) are
# left alone; any other is replaced by a new file (install unlinks first),
# never rewritten in place, so a server that has citus.so mapped keeps its
# copy.  Idempotent, and fast: one find and one stat for the 665 files.
# Sets EF_CITUS_INSTALLED to the number of files copied.
ef_citus_install() {
	local root=$EF_CITUS_DIR/root f mode
	if ! ef_citus_ready; then
		echo "no finished Citus build in $EF_CITUS_DIR; run scripts/citus.sh" >&2
		return 1
	fi
	EF_CITUS_INSTALLED=0
	# every line "/path size mtime mode"; the paths hold no blanks
	while read -r f mode; do
		install -D -p -m "$mode" "$root$f" "$f" || return 1
		EF_CITUS_INSTALLED=$((EF_CITUS_INSTALLED + 1))
	done < <(
		cd "$root" &&
			comm -23 <(find . -type f -printf '/%P %s %Ts %m\n' | sort) \
				<(find . -type f -printf '/%P\0' | xargs -0 stat -c '%n %s %Y %a' 2>/dev/null | sort) |
			cut -d ' ' -f 1,4
	)
}

# Build Citus unless a finished build is there (one build at a time), then
# install it
ef_citus() {
	mkdir -p "$(dirname "$EF_CITUS_DIR")"
	(
		flock 9
		ef_citus_ready || ef_citus_build
	) 9>"$EF_CITUS_DIR.lock" || return 1
	ef_citus_install
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	ef_citus
	echo "Citus $EF_CITUS_VERSION from $EF_CITUS_DIR installed into $("$EF_CITUS_PG_CONFIG" --version) ($EF_CITUS_INSTALLED files copied)"
fi

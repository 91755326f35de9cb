#!/bin/sh
# Print the value of encrypted_field.keys that gives the fixed test keys at
# connection start, the way a psql user gives real ones (psql 15 has no
# \bind).  Test keys are fixed so that expected files are stable; a real key
# comes from a CSPRNG and is never written into SQL.
#   test/keys.sh regress [ID...]   key N = sha256("encrypted_field test key N")
#   test/keys.sh tap [ID...]       key N = sha256("tap key N")
#   test/keys.sh hex SET N         the hex of one key
# Without ids: the ids the suites use.
# Copyright (c) 2026, The encrypted_field Authors
set -eu
key() { printf '%s %s' "$1" "$2" | sha256sum | cut -c1-64; }
case "${1:-}" in
regress) label="encrypted_field test key"; default="1 2 3 6 7 9 10 20" ;;
tap) label="tap key"; default="1 2 3 9 10 20 50" ;;
hex)
	[ "$2" = regress ] && key "encrypted_field test key" "$3" || key "tap key" "$3"
	exit 0
	;;
*) echo "usage: test/keys.sh regress|tap [ID...] | hex regress|tap N" >&2; exit 2 ;;
esac
shift
ids=${*:-$default}
out=
for n in $ids; do
	out="$out${out:+,}$n:$(key "$label" "$n")"
done
echo "$out"

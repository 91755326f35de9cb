#!/usr/bin/env bash
#-------------------------------------------------------------------------
#
# run.sh
#		Run the C unit test programs
#
# Converts the Project Wycheproof JSON vectors into TSV files that
# test_crypto reads (one line per vector, hex fields, "-" for an empty
# field), runs test_crypto, then test_envelope if it has been built.
# Exits non-zero if any program fails.
#
# The vectors are in test/unit/vectors (or $EF_WYCHEPROOF_DIR, to try
# another release of them).  Build the programs first:
#	make test/unit/test_crypto test/unit/test_envelope
#
# IDENTIFICATION
#		test/unit/run.sh
#
#-------------------------------------------------------------------------
# shellcheck disable=SC2016	# the single-quoted jq programs use $g and $alg
# Copyright (c) 2026, The encrypted_field Authors
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vectors=${EF_WYCHEPROOF_DIR:-$here/vectors}

if ! command -v jq >/dev/null 2>&1; then
	echo "run.sh: jq is required to read the Wycheproof vectors" >&2
	exit 2
fi
if [ ! -d "$vectors" ]; then
	echo "run.sh: no Wycheproof vectors in $vectors (set EF_WYCHEPROOF_DIR)" >&2
	exit 2
fi
if [ ! -x "$here/test_crypto" ]; then
	echo "run.sh: $here/test_crypto is not built (make test/unit/test_crypto)" >&2
	exit 2
fi

# jq prelude: "-" for an empty hex string, so that no TSV field is empty
prelude='def h: if . == "" then "-" else . end;
def flags: (.flags // []) | join(",") | h;
def expect($alg): if .algorithm != $alg
	then error("expected algorithm \($alg), found \(.algorithm)") else . end;'

# convert NAME ALGORITHM HEADER FILTER: one TSV line per test of NAME.json
convert() {
	local name=$1 alg=$2 header=$3 filter=$4
	local json=$vectors/$name.json tsv=$here/$name.tsv

	if [ ! -r "$json" ]; then
		echo "run.sh: cannot read $json" >&2
		exit 2
	fi
	{
		printf '# %s\n' "$header"
		jq -r --arg alg "$alg" "$prelude"' expect($alg)
			| .testGroups[] as $g | $g.tests[] | '"$filter"' | @tsv' "$json"
	} > "$tsv"
}

convert aes_gcm_test AES-GCM \
	'keySize ivSize tagSize tcId result key iv aad msg ct tag flags' \
	'[$g.keySize, $g.ivSize, $g.tagSize, .tcId, .result,
	  (.key|h), (.iv|h), (.aad|h), (.msg|h), (.ct|h), (.tag|h), flags]'
convert aes_wrap_test AES-WRAP \
	'keySize tcId result key msg ct flags' \
	'[$g.keySize, .tcId, .result, (.key|h), (.msg|h), (.ct|h), flags]'
convert hmac_sha256_test HMACSHA256 \
	'keySize tagSize tcId result key msg tag flags' \
	'[$g.keySize, $g.tagSize, .tcId, .result, (.key|h), (.msg|h), (.tag|h), flags]'
convert hkdf_sha256_test HKDF-SHA-256 \
	'keySize tcId result ikm salt info size okm flags' \
	'[$g.keySize, .tcId, .result, (.ikm|h), (.salt|h), (.info|h), .size, (.okm|h), flags]'

status=0
"$here/test_crypto" "$here/aes_gcm_test.tsv" "$here/aes_wrap_test.tsv" \
	"$here/hmac_sha256_test.tsv" "$here/hkdf_sha256_test.tsv" || status=1

if [ -x "$here/test_envelope" ]; then
	"$here/test_envelope" "$here/envelope_vector.txt" || status=1
else
	echo "run.sh: test_envelope not built, skipped"
fi

# the envelope vector, recomputed by an implementation that shares no code
/usr/bin/python3 "$here/envelope_vector.py" --check "$here/envelope_vector.txt" || status=1

exit $status

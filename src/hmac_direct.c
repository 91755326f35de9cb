/*-------------------------------------------------------------------------
 *
 * hmac_direct.c
 *		HMAC-SHA-256 resumed from an index key's precomputed digest states
 *
 * Every searchable value costs one HMAC under the same index key.  HMAC
 * (RFC 2104) hashes the key's inner pad block, then the message; then the
 * outer pad block, then the inner digest.  The two pad blocks depend only on
 * the key, so their SHA-256 states are computed once per key and each
 * message resumes from copies of them: two memcpy's and the message's own
 * blocks.  OpenSSL 3's EVP_MAC restarts a kept HMAC context by duplicating
 * its inner and outer digest contexts, a free and a malloc each per
 * message, and its parameters are found by name; together that was 40% of
 * the HMAC of a term's message here (bench/floor.c).
 *
 * The SHA-256 code is OpenSSL's, through its SHA256_* functions, which
 * OpenSSL 3 deprecates but keeps and which its default provider itself
 * runs.  They bypass the provider, so they are used only where EVP's HMAC
 * and SHA-256 both come from the default provider, FIPS mode is off and no
 * ENGINE is configured for SHA-256; otherwise (a FIPS provider, any other,
 * an OpenSSL built without deprecated functions) the caller keeps EVP_MAC.
 *
 * The states hold the key in all but name: whoever has them can compute
 * the key's MACs.  They live where the caller puts them (the kept page,
 * locked and left out of core dumps), and the working state of each
 * message is wiped when it is done.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/hmac_direct.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* SHA256_Init and friends, and ENGINE_get_digest_engine: see above */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/err.h>
#include <openssl/evp.h>

#include "hmac_direct.h"

#ifdef EF_HAVE_HMAC_DIRECT
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif
#include <openssl/provider.h>
#endif

#ifdef EF_HAVE_HMAC_DIRECT

#define SHA256_BLOCK	64

/*
 * Would EVP's HMAC-SHA-256 run the same code as SHA256_*?  Only when the
 * HMAC the caller fetched and the SHA-256 EVP fetches both come from
 * OpenSSL's default provider, FIPS mode is off, and no ENGINE is
 * configured for SHA-256 (OpenSSL 3's HMAC does not use one, but a
 * configuration that names one asks for it).  Asked once per backend.
 */
bool
EfHmacDirectUsable(const EVP_MAC *hmac)
{
	EVP_MD	   *md;
	bool		usable;

	if (hmac == NULL || EVP_default_properties_is_fips_enabled(NULL) ||
		strcmp(OSSL_PROVIDER_get0_name(EVP_MAC_get0_provider(hmac)), "default") != 0)
		return false;
	/* a failed fetch leaves errors on OpenSSL's queue: take them off again */
	ERR_set_mark();
	md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ERR_pop_to_mark();
	if (md == NULL)
		return false;
	usable = strcmp(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(md)), "default") == 0;
	EVP_MD_free(md);
#ifndef OPENSSL_NO_ENGINE
	{
		ENGINE	   *engine = ENGINE_get_digest_engine(NID_sha256);

		if (engine != NULL)
		{
			ENGINE_finish(engine);
			usable = false;
		}
	}
#endif
	return usable;
}

/*
 * Compute a key's state (key: EF_KEY_LEN bytes, shorter than a block, so
 * used as it is): SHA-256 with the key's inner pad block absorbed, and
 * with its outer one.  On a failure (none is expected: these functions
 * fail only on a NULL argument) the state is wiped.
 */
bool
EfHmacDirectKey(EfHmacState *state, const uint8 *key)
{
	uint8		pad[SHA256_BLOCK];
	bool		ok;

	StaticAssertStmt(EF_KEY_LEN <= SHA256_BLOCK, "an index key fits a block");
	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < EF_KEY_LEN; i++)
		pad[i] ^= key[i];
	ok = SHA256_Init(&state->inner) == 1 &&
		SHA256_Update(&state->inner, pad, sizeof(pad)) == 1;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && SHA256_Init(&state->outer) == 1 &&
		SHA256_Update(&state->outer, pad, sizeof(pad)) == 1;
	explicit_bzero(pad, sizeof(pad));
	if (!ok)
		explicit_bzero(state, sizeof(*state));
	return ok;
}

/*
 * The MAC of the message made of nparts pieces, into out (32 bytes); work
 * holds the digest states meanwhile and is wiped.  On a failure out is
 * zeroed.
 */
bool
EfHmacDirectMac(const EfHmacState *state, const EfBuf *parts, int nparts,
				EfHmacWork *work, uint8 *out)
{
	bool		ok = true;

	work->ctx = state->inner;
	for (int i = 0; ok && i < nparts; i++)
		ok = parts[i].len == 0 ||
			SHA256_Update(&work->ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && SHA256_Final(work->inner_digest, &work->ctx) == 1;
	work->ctx = state->outer;
	ok = ok && SHA256_Update(&work->ctx, work->inner_digest, sizeof(work->inner_digest)) == 1 &&
		SHA256_Final(out, &work->ctx) == 1;
	explicit_bzero(work, sizeof(*work));
	if (!ok)
		memset(out, 0, SHA256_DIGEST_LENGTH);
	return ok;
}

#endif							/* EF_HAVE_HMAC_DIRECT */

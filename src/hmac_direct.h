/*-------------------------------------------------------------------------
 *
 * hmac_direct.h
 *		HMAC-SHA-256 resumed from an index key's precomputed digest states
 *
 * Included only by files that include OpenSSL's headers (crypto_openssl.c).
 * A key's state is two SHA-256 states, the inner and the outer pad's block
 * absorbed; the caller keeps it where no core dump reaches (the kept page)
 * and wipes it when the key goes.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/hmac_direct.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_HMAC_DIRECT_H
#define EF_HMAC_DIRECT_H

#include <openssl/evp.h>
#include <openssl/sha.h>

#ifndef EF_OPENSSL_INCLUDED
#define EF_OPENSSL_INCLUDED
#endif
#include "compat.h"
#include "crypto.h"

#ifdef EF_HAVE_HMAC_DIRECT
/* An index key's keyed state, and the working space of one message (both secret) */
typedef struct EfHmacState
{
	SHA256_CTX	inner;
	SHA256_CTX	outer;
} EfHmacState;

typedef struct EfHmacWork
{
	SHA256_CTX	ctx;
	uint8		inner_digest[SHA256_DIGEST_LENGTH];
} EfHmacWork;

extern bool EfHmacDirectUsable(const EVP_MAC *hmac);
extern bool EfHmacDirectKey(EfHmacState *state, const uint8 *key);
extern bool EfHmacDirectMac(const EfHmacState *state, const EfBuf *parts,
							int nparts, EfHmacWork *work, uint8 *out);
#endif

#endif							/* EF_HMAC_DIRECT_H */

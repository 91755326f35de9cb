/*-------------------------------------------------------------------------
 *
 * crypto_openssl.c
 *		The provider: AES-256-GCM, AES-256 key wrap, HMAC and HKDF from OpenSSL
 *
 * This is the only file that includes OpenSSL headers.  It never raises a
 * PostgreSQL error and never allocates with palloc, so the C unit tests link
 * it without a server, and a caller always gets control back to wipe its
 * secrets before reporting.
 *
 * The cipher contexts are created once per backend and reused for every row:
 * creating an EVP_CIPHER_CTX and fetching an algorithm per call costs more
 * than encrypting a short value.
 *
 * AES key wrap is OpenSSL's RFC 3394 mode (CRYPTO_128_wrap/unwrap) driven by
 * OpenSSL's AES-256 through an ECB context, one block per call.  OpenSSL 3.0's
 * own "AES-256-WRAP" cipher runs the same mode on a table-based AES without
 * AES-NI, about ten times slower, and every value needs one wrap or unwrap.
 *
 * Key schedules live in OpenSSL's heap, which is not excluded from core
 * dumps.  The key-wrapping context holds a master-derived key, and the HMAC
 * context an index key, so each is re-keyed with zeros after every use.  The AES-GCM context holds only the
 * last value's data key; it is overwritten by the next value, and scrubbed
 * at the end of each transaction and when keys are forgotten
 * (EfCryptoScrub), rather than after every row.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/crypto_openssl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/modes.h>
#include <openssl/rand.h>

#define EF_OPENSSL_INCLUDED
#include "compat.h"
#include "crypto.h"

static EVP_CIPHER *gcm_cipher = NULL;
static EVP_CIPHER *ecb_cipher = NULL;
static EVP_CIPHER_CTX *gcm_ctx = NULL;
static EVP_CIPHER_CTX *ecb_enc_ctx = NULL;	/* wraps */
static EVP_CIPHER_CTX *ecb_dec_ctx = NULL;	/* unwraps */

static const uint8 zero_key[EF_KEY_LEN] = {0};

/*
 * Create a context bound to its cipher once, so that each later call passes
 * only the key and nonce and OpenSSL does not set the algorithm up again.
 */
static EVP_CIPHER_CTX *
NewBoundContext(const EVP_CIPHER *cipher, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) != 1 ||
		EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
	{
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Create the cached contexts on first use */
static bool
EnsureContexts(void)
{
	if (gcm_ctx != NULL && ecb_enc_ctx != NULL && ecb_dec_ctx != NULL)
		return true;

	if (gcm_cipher == NULL)
		gcm_cipher = EF_FETCH_CIPHER("AES-256-GCM", EVP_aes_256_gcm);
	if (ecb_cipher == NULL)
		ecb_cipher = EF_FETCH_CIPHER("AES-256-ECB", EVP_aes_256_ecb);
	if (gcm_cipher == NULL || ecb_cipher == NULL)
		return false;

	if (gcm_ctx == NULL)
		gcm_ctx = NewBoundContext(gcm_cipher, 1);
	if (ecb_enc_ctx == NULL)
		ecb_enc_ctx = NewBoundContext(ecb_cipher, 1);
	if (ecb_dec_ctx == NULL)
		ecb_dec_ctx = NewBoundContext(ecb_cipher, 0);
	return gcm_ctx != NULL && ecb_enc_ctx != NULL && ecb_dec_ctx != NULL;
}

/*
 * Overwrite the key schedule a context holds.  Re-keying in place is cheaper
 * than resetting, which would free and reallocate OpenSSL's state per row.
 */
static void
ScrubContext(EVP_CIPHER_CTX **ctx)
{
	if (EVP_CipherInit_ex(*ctx, NULL, NULL, zero_key, NULL, -1) != 1)
	{
		/* freeing cleanses; the next call binds a new context */
		EVP_CIPHER_CTX_free(*ctx);
		*ctx = NULL;
	}
}

/* Fill buf with bytes from OpenSSL's CSPRNG */
EfCryptoStatus
EfRandomBytes(uint8 *buf, size_t len)
{
	if (len > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
	if (RAND_bytes(buf, (int) len) != 1)
		return EF_CRYPTO_NO_RANDOM;
	return EF_CRYPTO_OK;
}

/* Feed the associated data pieces to an initialised GCM context */
static bool
FeedAad(const EfBuf *aad, int naad)
{
	int			outl;

	for (int i = 0; i < naad; i++)
	{
		if (aad[i].len == 0)
			continue;
		if (aad[i].len > INT_MAX ||
			EVP_CipherUpdate(gcm_ctx, NULL, &outl, aad[i].data, (int) aad[i].len) != 1)
			return false;
	}
	return true;
}

/*
 * Key the GCM context for one value, feed the associated data, and run the
 * cipher over len bytes: the part sealing and opening share.
 */
static bool
GcmRun(const uint8 *key, const uint8 *nonce, const EfBuf *aad, int naad,
	   const uint8 *in, size_t len, uint8 *out, int enc)
{
	int			outl;

	if (EVP_CipherInit_ex(gcm_ctx, NULL, NULL, key, nonce, enc) != 1 ||
		!FeedAad(aad, naad))
		return false;
	return len == 0 ||
		(EVP_CipherUpdate(gcm_ctx, out, &outl, in, (int) len) == 1 &&
		 (size_t) outl == len);
}

/* Encrypt len bytes with AES-256-GCM; out receives len bytes, tag 16 */
EfCryptoStatus
EfAeadSeal(const uint8 *key, const uint8 *nonce, const EfBuf *aad, int naad,
		   const uint8 *in, size_t len, uint8 *out, uint8 *tag)
{
	int			outl;

	if (len > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts() ||
		!GcmRun(key, nonce, aad, naad, in, len, out, 1) ||
		EVP_CipherFinal_ex(gcm_ctx, out + len, &outl) != 1 || outl != 0 ||
		EVP_CIPHER_CTX_ctrl(gcm_ctx, EVP_CTRL_GCM_GET_TAG, EF_TAG_LEN, tag) != 1)
		return EF_CRYPTO_INTERNAL;
	return EF_CRYPTO_OK;
}

/*
 * Decrypt and authenticate.  On any failure the caller must discard out: GCM
 * decrypts before it can check the tag, so out holds unauthenticated bytes.
 */
EfCryptoStatus
EfAeadOpen(const uint8 *key, const uint8 *nonce, const EfBuf *aad, int naad,
		   const uint8 *in, size_t len, const uint8 *tag, uint8 *out)
{
	int			outl;

	if (len > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts() ||
		!GcmRun(key, nonce, aad, naad, in, len, out, 0) ||
		EVP_CIPHER_CTX_ctrl(gcm_ctx, EVP_CTRL_GCM_SET_TAG, EF_TAG_LEN,
							(void *) tag) != 1)
		return EF_CRYPTO_INTERNAL;
	/* only the tag check can fail here, so a failure is an authentication one */
	if (EVP_CipherFinal_ex(gcm_ctx, out + len, &outl) != 1)
		return EF_CRYPTO_AUTH_FAILED;
	return EF_CRYPTO_OK;
}

/* One AES block through an ECB context: the block function of the wrap mode */
static void
EcbBlock(const unsigned char in[16], unsigned char out[16], const void *ctx)
{
	int			outl;

	/*
	 * An ECB update of one block without padding cannot fail once the
	 * context is keyed; were it to, the output is wrong, and an unwrap fails
	 * its integrity check rather than yield a key.
	 */
	if (EVP_CipherUpdate((EVP_CIPHER_CTX *) ctx, out, &outl, in, 16) != 1)
		memset(out, 0, 16);
}

/* Run one key-wrap operation: enc = 1 wraps, enc = 0 unwraps */
static EfCryptoStatus
KeyWrapOp(const uint8 *kek, const uint8 *in, size_t len, uint8 *out, int enc)
{
	EVP_CIPHER_CTX **ctx = enc ? &ecb_enc_ctx : &ecb_dec_ctx;
	size_t		expect = enc ? len + EF_WRAP_OVERHEAD : len - EF_WRAP_OVERHEAD;
	size_t		got;

	/* RFC 3394 takes whole 64-bit blocks, at least two of them */
	if (len % 8 != 0 || len < (enc ? 16 : 24) || len > INT_MAX - EF_WRAP_OVERHEAD)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts())
		return EF_CRYPTO_INTERNAL;
	if (EVP_CipherInit_ex(*ctx, NULL, NULL, kek, NULL, enc) != 1)
	{
		ScrubContext(ctx);
		return EF_CRYPTO_INTERNAL;
	}

	/* a NULL IV is RFC 3394's default initial value, checked on unwrap */
	if (enc)
		got = CRYPTO_128_wrap(*ctx, NULL, out, in, len, EcbBlock);
	else
		got = CRYPTO_128_unwrap(*ctx, NULL, out, in, len, EcbBlock);
	ScrubContext(ctx);

	if (got == expect)
		return EF_CRYPTO_OK;
	if (!enc)
	{
		/* the mode writes before it checks: leave nothing unauthenticated */
		explicit_bzero(out, expect);
		return EF_CRYPTO_AUTH_FAILED;
	}
	return EF_CRYPTO_INTERNAL;
}

/* Wrap len bytes (a multiple of 8, at least 16) under kek; out gets len + 8 */
EfCryptoStatus
EfKeyWrap(const uint8 *kek, const uint8 *in, size_t len, uint8 *out)
{
	return KeyWrapOp(kek, in, len, out, 1);
}

/* Unwrap len bytes under kek and check integrity; out gets len - 8 */
EfCryptoStatus
EfKeyUnwrap(const uint8 *kek, const uint8 *in, size_t len, uint8 *out)
{
	return KeyWrapOp(kek, in, len, out, 0);
}

#ifdef EF_HAVE_EVP_MAC
/* the HMAC-SHA-256 context, its digest set once; keyed per call */
static EVP_MAC *hmac_mac = NULL;
static EVP_MAC_CTX *hmac_ctx = NULL;

static bool
EnsureHmac(void)
{
	OSSL_PARAM	params[2];

	if (hmac_ctx != NULL)
		return true;
	if (hmac_mac == NULL)
		hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac_mac == NULL)
		return false;
	hmac_ctx = EVP_MAC_CTX_new(hmac_mac);
	if (hmac_ctx == NULL)
		return false;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hmac_ctx, params) != 1)
	{
		EVP_MAC_CTX_free(hmac_ctx);
		hmac_ctx = NULL;
		return false;
	}
	return true;
}
#endif

/* HMAC-SHA-256 of msg under key; out receives 32 bytes */
EfCryptoStatus
EfHmacSha256(const uint8 *key, size_t keylen, const uint8 *msg, size_t len,
			 uint8 *out)
{
	static const uint8 empty = 0;

	if (keylen > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
#ifdef EF_HAVE_EVP_MAC
	{
		size_t		outl = 0;
		bool		ok;

		if (!EnsureHmac())
			return EF_CRYPTO_INTERNAL;
		/* a NULL key would mean "keep the previous key": never pass one */
		ok = EVP_MAC_init(hmac_ctx, keylen > 0 ? key : &empty, keylen, NULL) == 1 &&
			EVP_MAC_update(hmac_ctx, len > 0 ? msg : &empty, len) == 1 &&
			EVP_MAC_final(hmac_ctx, out, &outl, EF_SHA256_LEN) == 1 &&
			outl == EF_SHA256_LEN;
		/* the keyed state would otherwise stay in OpenSSL's heap */
		if (EVP_MAC_init(hmac_ctx, zero_key, EF_KEY_LEN, NULL) != 1)
		{
			EVP_MAC_CTX_free(hmac_ctx);
			hmac_ctx = NULL;
		}
		return ok ? EF_CRYPTO_OK : EF_CRYPTO_INTERNAL;
	}
#else
	{
		unsigned int outl = 0;

		/* OpenSSL reads a NULL key as "reuse the previous key": never pass one */
		if (HMAC(EVP_sha256(), keylen > 0 ? key : &empty, (int) keylen,
				 len > 0 ? msg : &empty, len, out, &outl) == NULL ||
			outl != EF_SHA256_LEN)
			return EF_CRYPTO_INTERNAL;
		return EF_CRYPTO_OK;
	}
#endif
}

/* HKDF-SHA-256 (RFC 5869), extract then expand, into outlen bytes */
EfCryptoStatus
EfHkdfSha256(const uint8 *ikm, size_t ikmlen, const uint8 *salt, size_t saltlen,
			 const uint8 *info, size_t infolen, uint8 *out, size_t outlen)
{
	static const uint8 empty = 0;
	EfCryptoStatus status = EF_CRYPTO_INTERNAL;
	EVP_PKEY_CTX *pctx;
	size_t		got = outlen;

	/* RFC 5869 caps the output at 255 hash lengths */
	if (outlen == 0 || outlen > 255 * EF_SHA256_LEN ||
		ikmlen > INT_MAX || saltlen > INT_MAX || infolen > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (pctx == NULL)
		return EF_CRYPTO_INTERNAL;
	if (EVP_PKEY_derive_init(pctx) == 1 &&
		EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) == 1 &&
		EVP_PKEY_CTX_set1_hkdf_key(pctx, ikmlen > 0 ? ikm : &empty, (int) ikmlen) == 1 &&
		(saltlen == 0 || EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, (int) saltlen) == 1) &&
		(infolen == 0 || EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int) infolen) == 1) &&
		EVP_PKEY_derive(pctx, out, &got) == 1 && got == outlen)
		status = EF_CRYPTO_OK;
	EVP_PKEY_CTX_free(pctx);
	return status;
}

/* Compare in constant time, so a check value leaks nothing through timing */
bool
EfCryptoMemEqual(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* Overwrite the data key schedule the AES-GCM context may still hold */
void
EfCryptoScrub(void)
{
	if (gcm_ctx != NULL)
		ScrubContext(&gcm_ctx);
}

/* Free the cached contexts; OpenSSL cleanses them as it frees */
void
EfCryptoShutdown(void)
{
	EVP_CIPHER_CTX_free(gcm_ctx);
	EVP_CIPHER_CTX_free(ecb_enc_ctx);
	EVP_CIPHER_CTX_free(ecb_dec_ctx);
	gcm_ctx = NULL;
	ecb_enc_ctx = NULL;
	ecb_dec_ctx = NULL;
	EF_FREE_CIPHER(gcm_cipher);
	EF_FREE_CIPHER(ecb_cipher);
	gcm_cipher = NULL;
	ecb_cipher = NULL;
#ifdef EF_HAVE_EVP_MAC
	EVP_MAC_CTX_free(hmac_ctx);
	EVP_MAC_free(hmac_mac);
	hmac_ctx = NULL;
	hmac_mac = NULL;
#endif
}

/*-------------------------------------------------------------------------
 *
 * crypto_openssl.c
 *		The provider: AES-256-GCM, AES-256 key wrap, HMAC and HKDF from OpenSSL
 *
 * This file and cipher_direct.c, which calls OpenSSL's provider functions
 * for the ciphers of the hot path, include OpenSSL headers (besides the
 * X25519 of crypto_x25519.c).  It never raises a
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
 * Its 24 dependent blocks, and the AES-GCM calls, go to the provider's
 * cipher function directly where it can be found (cipher_direct.c), else
 * through EVP_Cipher(), never EVP_CipherUpdate(), whose checks and
 * buffering cost several times the AES-NI block itself.
 *
 * Keys used for many values stay keyed for the rest of the transaction: a
 * key-wrapping key (KEK) in an ECB context per direction, an index key as
 * its HMAC's inner and outer SHA-256 states (hmac_direct.c), or in an HMAC
 * context where those cannot be used ("kept" keys).  Keying a context costs
 * as much as wrapping a data key, and re-keying OpenSSL 3's contexts looks
 * its parameters up by name (OSSL_PARAM_locate, strcmp) every time.  The
 * copies that find a kept key, and the index keys' digest states, live in
 * locked pages left out of core dumps (lockedmem.c); the key schedules and
 * HMAC contexts live in OpenSSL's heap, which is not, until EfCryptoScrub()
 * re-keys them with zeros at the end of each transaction and when keys are
 * forgotten.  doc/security.md weighs that.
 * The AES-GCM context holds only the last value's data key; it is
 * overwritten by the next value, and scrubbed at the same times.
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
#include "cipher_direct.h"
#include "compat.h"
#include "crypto.h"
#include "hmac_direct.h"
#include "lockedmem.h"

/* How many KEKs and index keys stay keyed at once */
#define EF_KEPT_KEKS	4
#define EF_KEPT_MACS	4

static EVP_CIPHER *gcm_cipher = NULL;
static EVP_CIPHER *ecb_cipher = NULL;
static EfCipherImpl gcm_impl;
static EfCipherImpl ecb_impl;
static bool impls_found = false;
static bool use_direct = true;	/* EfCryptoSetDirect() */
static EfCipherCtx gcm_ctx;
static bool gcm_ready = false;

/* The copies of the kept keys, in locked pages: what finds their contexts */
typedef struct KeptCopies
{
	uint8		kek[EF_KEPT_KEKS][EF_KEY_LEN];
	uint8		mac_key[EF_KEPT_MACS][EF_KEY_LEN];
#ifdef EF_HAVE_HMAC_DIRECT
	/* the index keys' digest states, when hmac_direct.c computes the MACs */
	EfHmacState mac_state[EF_KEPT_MACS];
	EfHmacWork	mac_work;
#endif
} KeptCopies;

static KeptCopies *kept = NULL;
static size_t kept_mapped = 0;

/* A kept KEK's contexts: [0] unwraps, [1] wraps, each keyed on first use */
typedef struct KeptKek
{
	bool		used;
	bool		keyed[2];
	bool		made[2];
	EfCipherCtx ctx[2];
} KeptKek;

static KeptKek kept_kek[EF_KEPT_KEKS];
static int	kek_victim = 0;		/* the slot a new KEK takes when all are used */

static const uint8 zero_key[EF_KEY_LEN] = {0};

/*
 * Are two 32-byte keys equal?  In constant time, as CRYPTO_memcmp, but a
 * word at a time: it runs once per value.
 */
static inline bool
SameKey(const uint8 *a, const uint8 *b)
{
	uint64		diff = 0;

	for (int i = 0; i < EF_KEY_LEN; i += 8)
	{
		uint64		x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	return diff == 0;
}

/*
 * Fetch the ciphers, create the GCM context and map the kept keys' page on
 * first use
 */
static bool
EnsureContexts(void)
{
	if (gcm_ready && kept != NULL)
		return true;

	if (gcm_cipher == NULL)
		gcm_cipher = EF_FETCH_CIPHER("AES-256-GCM", EVP_aes_256_gcm);
	if (ecb_cipher == NULL)
		ecb_cipher = EF_FETCH_CIPHER("AES-256-ECB", EVP_aes_256_ecb);
	if (gcm_cipher == NULL || ecb_cipher == NULL)
		return false;
	if (!impls_found)
	{
		EfCipherImplInit(&gcm_impl, gcm_cipher, use_direct);
		EfCipherImplInit(&ecb_impl, ecb_cipher, use_direct);
		impls_found = true;
	}

	if (!gcm_ready)
		gcm_ready = EfCipherCtxNew(&gcm_ctx, &gcm_impl, 1);
	if (kept == NULL)
		kept = LockedPagesAlloc(sizeof(KeptCopies), &kept_mapped);
	return gcm_ready && kept != NULL;
}

/*
 * Overwrite the key schedule a context holds.  Re-keying in place is cheaper
 * than resetting, which would free and reallocate OpenSSL's state per row.
 */
static bool
ScrubContext(EfCipherCtx *ctx)
{
	if (EfCipherKey(ctx, zero_key, EF_KEY_LEN, NULL, 0, -1))
		return true;
	/* freeing cleanses; the caller makes a new context when it needs one */
	EfCipherCtxFree(ctx);
	return false;
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

/*
 * Key the GCM context for one value, feed the associated data, and run the
 * cipher over len bytes: the part sealing and opening share.
 *
 * EVP_Cipher() on an AEAD cipher takes associated data when out is NULL,
 * cipher text otherwise, and finishes (computes or checks the tag) when in
 * is NULL; it returns -1 on failure.  That is the call OpenSSL's own TLS
 * record layer makes, without EVP_CipherUpdate()'s checks per call.  The
 * associated data pieces are short (a header, a term, a context), so they
 * are joined and fed in one call unless they are long.
 */
static bool
GcmRun(const uint8 *key, const uint8 *nonce, const EfBuf *aad, int naad,
	   const uint8 *in, size_t len, uint8 *out, int enc)
{
	uint8		joined[256];
	size_t		total = 0;

	if (!EfCipherKey(&gcm_ctx, key, EF_KEY_LEN, nonce, EF_NONCE_LEN, enc))
		return false;
	for (int i = 0; i < naad; i++)
	{
		if (aad[i].len > sizeof(joined) - total)
		{
			total = SIZE_MAX;
			break;
		}
		if (aad[i].len > 0)
			memcpy(joined + total, aad[i].data, aad[i].len);
		total += aad[i].len;
	}
	if (total != SIZE_MAX)
	{
		if (total > 0 && !EfCipherRun(&gcm_ctx, NULL, joined, total))
			return false;
	}
	else
	{
		for (int i = 0; i < naad; i++)
			if (aad[i].len > 0 && !EfCipherRun(&gcm_ctx, NULL, aad[i].data, aad[i].len))
				return false;
	}
	return len == 0 || EfCipherRun(&gcm_ctx, out, in, len);
}

/* Encrypt len bytes with AES-256-GCM; out receives len bytes, tag 16 */
EfCryptoStatus
EfAeadSeal(const uint8 *key, const uint8 *nonce, const EfBuf *aad, int naad,
		   const uint8 *in, size_t len, uint8 *out, uint8 *tag)
{
	if (len > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts() ||
		!GcmRun(key, nonce, aad, naad, in, len, out, 1) ||
		!EfCipherRun(&gcm_ctx, NULL, NULL, 0) ||
		!EfCipherTag(&gcm_ctx, tag, EF_TAG_LEN, false))
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
	if (len > INT_MAX)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts() ||
		!GcmRun(key, nonce, aad, naad, in, len, out, 0) ||
		!EfCipherTag(&gcm_ctx, (uint8 *) tag, EF_TAG_LEN, true))
		return EF_CRYPTO_INTERNAL;
	/* only the tag check can fail here, so a failure is an authentication one */
	if (!EfCipherRun(&gcm_ctx, NULL, NULL, 0))
		return EF_CRYPTO_AUTH_FAILED;
	return EF_CRYPTO_OK;
}

/* One AES block through an ECB context: the block function of the wrap mode */
static void
EcbBlock(const unsigned char in[16], unsigned char out[16], const void *ctx)
{
	/*
	 * One block of a keyed ECB context cannot fail; were it to (a provider
	 * in its error state), the context is marked failed for KeyWrapOp, and
	 * the block zeroed so that the mode carries on with no key material.
	 */
	if (!EfCipherRun((EfCipherCtx *) ctx, out, in, 16))
		memset(out, 0, 16);
}

/* Forget a kept KEK: re-key its contexts with zeros, wipe its copy */
static void
DropKek(int i)
{
	for (int enc = 0; enc < 2; enc++)
		if (kept_kek[i].keyed[enc])
		{
			kept_kek[i].made[enc] = ScrubContext(&kept_kek[i].ctx[enc]);
			kept_kek[i].keyed[enc] = false;
		}
	explicit_bzero(kept->kek[i], EF_KEY_LEN);
	kept_kek[i].used = false;
}

/*
 * Return an ECB context keyed with kek in one direction (enc = 1 encrypts),
 * keying it if this transaction has not used kek that way yet, or NULL
 */
static EfCipherCtx *
KekContext(const uint8 *kek, int enc)
{
	int			i;
	KeptKek    *slot;

	for (i = 0; i < EF_KEPT_KEKS; i++)
		if (kept_kek[i].used && SameKey(kept->kek[i], kek))
			break;
	if (i == EF_KEPT_KEKS)
	{
		for (i = 0; i < EF_KEPT_KEKS && kept_kek[i].used; i++)
			;
		if (i == EF_KEPT_KEKS)
		{
			i = kek_victim;
			kek_victim = (kek_victim + 1) % EF_KEPT_KEKS;
			DropKek(i);
		}
		memcpy(kept->kek[i], kek, EF_KEY_LEN);
		kept_kek[i].used = true;
	}

	slot = &kept_kek[i];
	if (!slot->keyed[enc])
	{
		if (!slot->made[enc])
			slot->made[enc] = EfCipherCtxNew(&slot->ctx[enc], &ecb_impl, enc);
		if (!slot->made[enc])
			return NULL;
		if (!EfCipherKey(&slot->ctx[enc], kek, EF_KEY_LEN, NULL, 0, enc))
		{
			slot->made[enc] = ScrubContext(&slot->ctx[enc]);
			return NULL;
		}
		slot->keyed[enc] = true;
	}
	return &slot->ctx[enc];
}

/* Run one key-wrap operation: enc = 1 wraps, enc = 0 unwraps */
static EfCryptoStatus
KeyWrapOp(const uint8 *kek, const uint8 *in, size_t len, uint8 *out, int enc)
{
	EfCipherCtx *ctx;
	size_t		expect = enc ? len + EF_WRAP_OVERHEAD : len - EF_WRAP_OVERHEAD;
	size_t		got;

	/* RFC 3394 takes whole 64-bit blocks, at least two of them */
	if (len % 8 != 0 || len < (enc ? 16 : 24) || len > INT_MAX - EF_WRAP_OVERHEAD)
		return EF_CRYPTO_BAD_LENGTH;
	if (!EnsureContexts() || (ctx = KekContext(kek, enc)) == NULL)
		return EF_CRYPTO_INTERNAL;

	/* a NULL IV is RFC 3394's default initial value, checked on unwrap */
	ctx->failed = false;
	if (enc)
		got = CRYPTO_128_wrap(ctx, NULL, out, in, len, EcbBlock);
	else
		got = CRYPTO_128_unwrap(ctx, NULL, out, in, len, EcbBlock);

	/* a block that failed makes a wrap nobody can unwrap: never return it */
	if (ctx->failed)
	{
		explicit_bzero(out, expect);
		return EF_CRYPTO_INTERNAL;
	}
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
/*
 * Do kept index keys compute their MACs in hmac_direct.c?  Decided with the
 * fetch of the HMAC, which lasts until EfCryptoShutdown() drops every kept
 * key: a kept key's state is of the one kind, and deciding again while
 * keys are kept would use it as the other.
 */
static bool hmac_direct = false;

static bool
EnsureHmac(void)
{
	OSSL_PARAM	params[2];

	if (hmac_ctx != NULL)
		return true;
	if (hmac_mac == NULL)
	{
		hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (hmac_mac == NULL)
			return false;
#ifdef EF_HAVE_HMAC_DIRECT
		hmac_direct = use_direct && EfHmacDirectUsable(hmac_mac);
#endif
	}
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

#ifdef EF_HAVE_EVP_MAC
/*
 * A kept index key's HMAC context, keyed once, restarted per message; not
 * made when hmac_direct.c computes the key's MACs from its digest states
 */
typedef struct KeptMac
{
	bool		used;
	EVP_MAC_CTX *ctx;
} KeptMac;

static KeptMac kept_mac[EF_KEPT_MACS];
static int	mac_victim = 0;

/* Forget a kept index key: wipe its states, or re-key its context with zeros */
static void
DropMac(int i)
{
#ifdef EF_HAVE_HMAC_DIRECT
	explicit_bzero(&kept->mac_state[i], sizeof(kept->mac_state[i]));
#endif
	if (kept_mac[i].ctx != NULL &&
		EVP_MAC_init(kept_mac[i].ctx, zero_key, EF_KEY_LEN, NULL) != 1)
	{
		/* freeing cleanses; the next use duplicates a new context */
		EVP_MAC_CTX_free(kept_mac[i].ctx);
		kept_mac[i].ctx = NULL;
	}
	explicit_bzero(kept->mac_key[i], EF_KEY_LEN);
	kept_mac[i].used = false;
}

/*
 * Return the slot of a 32-byte index key, keying it if this transaction
 * has not used it yet (its digest states, or a context duplicated from the
 * template, whose digest is set), or -1
 */
static int
MacSlot(const uint8 *key)
{
	int			i;

	for (i = 0; i < EF_KEPT_MACS; i++)
		if (kept_mac[i].used && SameKey(kept->mac_key[i], key))
			return i;

	for (i = 0; i < EF_KEPT_MACS && kept_mac[i].used; i++)
		;
	if (i == EF_KEPT_MACS)
	{
		i = mac_victim;
		mac_victim = (mac_victim + 1) % EF_KEPT_MACS;
		DropMac(i);
	}
#ifdef EF_HAVE_HMAC_DIRECT
	if (hmac_direct)
	{
		if (!EfHmacDirectKey(&kept->mac_state[i], key))
			return -1;
	}
	else
#endif
	{
		if (kept_mac[i].ctx == NULL)
			kept_mac[i].ctx = EVP_MAC_CTX_dup(hmac_ctx);
		if (kept_mac[i].ctx == NULL ||
			EVP_MAC_init(kept_mac[i].ctx, key, EF_KEY_LEN, NULL) != 1)
			return -1;
	}
	memcpy(kept->mac_key[i], key, EF_KEY_LEN);
	kept_mac[i].used = true;
	return i;
}
#endif

/*
 * HMAC-SHA-256 of the message made of nparts pieces under a 32-byte key
 * used for many messages (an index key), whose keyed state stays kept until
 * EfCryptoScrub(); out receives 32 bytes.  The pieces are hashed where they
 * are: no copy of the message is made.
 */
EfCryptoStatus
EfHmacSha256Kept(const uint8 *key, const EfBuf *parts, int nparts, uint8 *out)
{
#ifdef EF_HAVE_EVP_MAC
	EVP_MAC_CTX *ctx;
	size_t		outl = 0;
	int			i;

	if (!EnsureContexts() || !EnsureHmac() || (i = MacSlot(key)) < 0)
		return EF_CRYPTO_INTERNAL;
#ifdef EF_HAVE_HMAC_DIRECT
	if (hmac_direct)
		return EfHmacDirectMac(&kept->mac_state[i], parts, nparts, &kept->mac_work, out) ?
			EF_CRYPTO_OK : EF_CRYPTO_INTERNAL;
#endif
	ctx = kept_mac[i].ctx;
	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1)
		return EF_CRYPTO_INTERNAL;
	for (int p = 0; p < nparts; p++)
		if (parts[p].len > 0 && EVP_MAC_update(ctx, parts[p].data, parts[p].len) != 1)
			return EF_CRYPTO_INTERNAL;
	if (EVP_MAC_final(ctx, out, &outl, EF_SHA256_LEN) != 1 || outl != EF_SHA256_LEN)
		return EF_CRYPTO_INTERNAL;
	return EF_CRYPTO_OK;
#else
	/* OpenSSL 1.1.1: a context per message, as its one-shot HMAC() makes */
	HMAC_CTX   *ctx = HMAC_CTX_new();
	unsigned int outl = 0;
	bool		ok;

	if (ctx == NULL)
		return EF_CRYPTO_INTERNAL;
	ok = HMAC_Init_ex(ctx, key, EF_KEY_LEN, EVP_sha256(), NULL) == 1;
	for (int p = 0; ok && p < nparts; p++)
		ok = parts[p].len == 0 || HMAC_Update(ctx, parts[p].data, parts[p].len) == 1;
	ok = ok && HMAC_Final(ctx, out, &outl) == 1 && outl == EF_SHA256_LEN;
	HMAC_CTX_free(ctx);
	return ok ? EF_CRYPTO_OK : EF_CRYPTO_INTERNAL;
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

/*
 * Overwrite the key schedules and keyed states the contexts hold: the last
 * data key's, the kept KEKs' and index keys'; wipe the copies of the kept
 * keys
 */
void
EfCryptoScrub(void)
{
	if (gcm_ready)
		gcm_ready = ScrubContext(&gcm_ctx);
	if (kept == NULL)
		return;
	for (int i = 0; i < EF_KEPT_KEKS; i++)
		if (kept_kek[i].used)
			DropKek(i);
#ifdef EF_HAVE_EVP_MAC
	for (int i = 0; i < EF_KEPT_MACS; i++)
		if (kept_mac[i].used)
			DropMac(i);
#endif
}

/* Free the cached contexts; OpenSSL cleanses them as it frees */
void
EfCryptoShutdown(void)
{
	EfCryptoScrub();
	if (gcm_ready)
		EfCipherCtxFree(&gcm_ctx);
	gcm_ready = false;
	for (int i = 0; i < EF_KEPT_KEKS; i++)
		for (int enc = 0; enc < 2; enc++)
		{
			if (kept_kek[i].made[enc])
				EfCipherCtxFree(&kept_kek[i].ctx[enc]);
			kept_kek[i].made[enc] = false;
		}
	/* the provider's functions are found again with the ciphers */
	impls_found = false;
	EF_FREE_CIPHER(gcm_cipher);
	EF_FREE_CIPHER(ecb_cipher);
	gcm_cipher = NULL;
	ecb_cipher = NULL;
#ifdef EF_HAVE_EVP_MAC
	for (int i = 0; i < EF_KEPT_MACS; i++)
	{
		EVP_MAC_CTX_free(kept_mac[i].ctx);
		kept_mac[i].ctx = NULL;
	}
	EVP_MAC_CTX_free(hmac_ctx);
	EVP_MAC_free(hmac_mac);
	hmac_ctx = NULL;
	hmac_mac = NULL;
	hmac_direct = false;
#endif
	if (kept != NULL)
		LockedPagesFree(kept, kept_mapped);
	kept = NULL;
}

/*
 * Call the provider's cipher functions directly (the default), or go
 * through EVP, from the next use on; the unit tests run their vectors both
 * ways.  It shuts the contexts down first.
 */
void
EfCryptoSetDirect(bool direct)
{
	EfCryptoShutdown();
	use_direct = direct;
}

/* Do kept index keys compute their MACs from digest states (hmac_direct.c)? */
bool
EfCryptoDirectHmac(void)
{
#ifdef EF_HAVE_EVP_MAC
	return EnsureContexts() && EnsureHmac() && hmac_direct;
#else
	return false;
#endif
}

/* How many of the two ciphers (GCM, ECB) are called directly: 0 to 2 */
int
EfCryptoDirectCiphers(void)
{
	if (!EnsureContexts())
		return 0;
	return (gcm_impl.direct ? 1 : 0) + (ecb_impl.direct ? 1 : 0);
}

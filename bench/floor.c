/*-------------------------------------------------------------------------
 *
 * floor.c
 *		The cost per value of OpenSSL alone: the primitives an encrypted_field
 *		value needs, timed outside PostgreSQL
 *
 * Each line is nanoseconds per 100-byte value, best of three rounds: first
 * the single steps, then the whole sequence of OpenSSL calls per value as
 * src/crypto_openssl.c runs it today (the KEK's schedule kept keyed for the
 * transaction, the wrap blocks and GCM run by the provider's functions
 * called directly, through src/cipher_direct.c itself, the associated data
 * in one call), as commit 435052d ran it (the same through EVP_Cipher), as
 * commit e090323 ran it (the KEK keyed and scrubbed per value,
 * EVP_CipherUpdate per block), and as its first version ran it (OpenSSL's
 * AES-256-WRAP cipher, RAND_bytes per value, both contexts scrubbed after
 * every use).
 * What the SQL functions cost above these lines is PostgreSQL and the
 * extension's own code.
 *
 * Build and run from the project root (bench/run.sh does this):
 *		cc -O2 -I$(pg_config --includedir-server) -Isrc -o floor \
 *			bench/floor.c src/cipher_direct.c src/hmac_direct.c -lcrypto && \
 *			./floor [milliseconds per line]
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		bench/floor.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <openssl/rand.h>

#include "cipher_direct.h"
#include "hmac_direct.h"

/* postgres.h routes these to PostgreSQL's port library, not linked here */
#undef printf
#undef fprintf

#define LEN 100					/* plaintext bytes per value */
#define POOL 4096				/* random bytes drawn at once, as src/randpool.c */

static unsigned char kek[32], secret[44], hdr[8], tag[16];
static unsigned char *dek = secret, *nonce = secret + 32;	/* drawn together */
static unsigned char plain[LEN], ct[LEN], out[LEN], wrapped[40], unwrapped[32];
static const unsigned char zero[32];
static unsigned char pool[POOL];
static size_t pool_left = 0;
static EVP_CIPHER_CTX *gcm, *wrap, *ecb_enc, *ecb_dec, *ecb_kek, *ecb_kek_dec;
static long budget_ms = 300;
static EfCipherImpl gcm_impl, ecb_impl;
static EfCipherCtx gcm_d, kek_enc_d, kek_dec_d;	/* src/cipher_direct.c's */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "floor: %s failed\n", what);
	exit(1);
}
#define CHECK(x) do { if ((x) != 1) die(#x); } while (0)

/* One AES block through an ECB context, as src/crypto_openssl.c's EcbBlock */
static void
ecb_block(const unsigned char in[16], unsigned char o[16], const void *ctx)
{
	int			l;

	if (EVP_CipherUpdate((EVP_CIPHER_CTX *) ctx, o, &l, in, 16) != 1)
		die("EVP_CipherUpdate (ECB)");
}

/* The same block through EVP_Cipher, as src/crypto_openssl.c's EcbBlock at 435052d */
static void
ecb_block_fast(const unsigned char in[16], unsigned char o[16], const void *ctx)
{
	if (EVP_Cipher((EVP_CIPHER_CTX *) ctx, o, in, 16) <= 0)
		die("EVP_Cipher (ECB)");
}

/* The same block as src/crypto_openssl.c's EcbBlock today */
static void
ecb_block_direct(const unsigned char in[16], unsigned char o[16], const void *ctx)
{
	if (!EfCipherRun((EfCipherCtx *) ctx, o, in, 16))
		die("EfCipherRun (ECB)");
}

/* DEK and nonce from a pool refilled by one RAND_bytes call per 4 kB */
static void
rand_pooled(void)
{
	if (pool_left < sizeof(secret))
	{
		CHECK(RAND_bytes(pool, POOL));
		pool_left = POOL;
	}
	pool_left -= sizeof(secret);
	memcpy(secret, pool + pool_left, sizeof(secret));
	memset(pool + pool_left, 0, sizeof(secret));
}

static void
gcm_seal(const unsigned char *key)
{
	int			l;

	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, key, nonce, 1));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, ct, &l, plain, LEN));
	CHECK(EVP_CipherFinal_ex(gcm, ct + LEN, &l));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
}

static void
gcm_open(const unsigned char *key)
{
	int			l;

	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, key, nonce, 0));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, out, &l, ct, LEN));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, tag));
	CHECK(EVP_CipherFinal_ex(gcm, out + LEN, &l));
}

/* GCM as src/crypto_openssl.c ran it at 435052d: EVP_Cipher, one AAD call */
static void
gcm_seal_fast(const unsigned char *key)
{
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, key, nonce, 1));
	if (EVP_Cipher(gcm, NULL, hdr, sizeof(hdr)) < 0 ||
		EVP_Cipher(gcm, ct, plain, LEN) < 0 || EVP_Cipher(gcm, NULL, NULL, 0) < 0)
		die("EVP_Cipher (GCM seal)");
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
}

static void
gcm_open_fast(const unsigned char *key)
{
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, key, nonce, 0));
	if (EVP_Cipher(gcm, NULL, hdr, sizeof(hdr)) < 0 ||
		EVP_Cipher(gcm, out, ct, LEN) < 0)
		die("EVP_Cipher (GCM open)");
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, tag));
	if (EVP_Cipher(gcm, NULL, NULL, 0) < 0)
		die("EVP_Cipher (GCM tag)");
}

/* GCM as src/crypto_openssl.c runs it today: the provider's functions */
static void
gcm_seal_direct(const unsigned char *key)
{
	if (!EfCipherKey(&gcm_d, key, 32, nonce, 12, 1) ||
		!EfCipherRun(&gcm_d, NULL, hdr, sizeof(hdr)) ||
		!EfCipherRun(&gcm_d, ct, plain, LEN) ||
		!EfCipherRun(&gcm_d, NULL, NULL, 0) ||
		!EfCipherTag(&gcm_d, tag, 16, false))
		die("GCM seal, direct");
}

static void
gcm_open_direct(const unsigned char *key)
{
	if (!EfCipherKey(&gcm_d, key, 32, nonce, 12, 0) ||
		!EfCipherRun(&gcm_d, NULL, hdr, sizeof(hdr)) ||
		!EfCipherRun(&gcm_d, out, ct, LEN) ||
		!EfCipherTag(&gcm_d, tag, 16, true) ||
		!EfCipherRun(&gcm_d, NULL, NULL, 0))
		die("GCM open, direct");
}

/* single steps */
static void step_gcm_fixed_key(void) { gcm_seal(NULL); }
static void step_gcm_key_setup(void) { CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, NULL, 1)); }
static void step_rand(void) { CHECK(RAND_bytes(secret, sizeof(secret))); }
static void step_rand_pooled(void) { rand_pooled(); }
static void step_ecb_key_setup(void) { CHECK(EVP_CipherInit_ex(ecb_enc, NULL, NULL, kek, NULL, 1)); }

/*
 * A search term: HMAC-SHA-256 of its 114-byte message (label, type,
 * normalisation, domain length, 100 bytes of text) under an index key kept
 * keyed, as src/crypto_openssl.c's EfHmacSha256Kept does per value
 */
static EVP_MAC_CTX *hmac;
static unsigned char term_msg[114], term_mac[32];

static void
step_term_hmac(void)
{
	size_t		l;

	CHECK(EVP_MAC_init(hmac, NULL, 0, NULL));
	CHECK(EVP_MAC_update(hmac, term_msg, sizeof(term_msg)));
	CHECK(EVP_MAC_final(hmac, term_mac, &l, sizeof(term_mac)));
}

#ifdef EF_HAVE_HMAC_DIRECT
/*
 * The same MAC as src/crypto_openssl.c computes it today: resumed from the
 * index key's inner and outer SHA-256 states (src/hmac_direct.c itself),
 * the message hashed in its pieces (header, empty domain, text)
 */
static EfHmacState term_state;
static EfHmacWork term_work;

static void
step_term_hmac_direct(void)
{
	EfBuf		parts[3] = {{term_msg, 14}, {term_msg + 14, 0}, {term_msg + 14, 100}};

	if (!EfHmacDirectMac(&term_state, parts, 3, &term_work, term_mac))
		die("EfHmacDirectMac");
}
#endif

static void
step_wrap_cipher(void)
{
	int			l, f;

	CHECK(EVP_CipherUpdate(wrap, wrapped, &l, dek, 32));
	CHECK(EVP_CipherFinal_ex(wrap, wrapped + l, &f));
}

static void
step_wrap_ecb(void)
{
	if (CRYPTO_128_wrap(ecb_kek, NULL, wrapped, dek, 32, ecb_block) != 40)
		die("CRYPTO_128_wrap");
}

/* the first version: AES-256-WRAP, RAND_bytes per value, scrub after each use */
static void
seq_encrypt_v1(void)
{
	CHECK(RAND_bytes(secret, sizeof(secret)));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 1));
	step_wrap_cipher();
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, zero, NULL, -1));
	gcm_seal(dek);
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, zero, NULL, -1));
}

static void
seq_decrypt_v1(void)
{
	int			l, f;

	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 0));
	CHECK(EVP_CipherUpdate(wrap, unwrapped, &l, wrapped, 40) == 1 && l > 0);
	CHECK(EVP_CipherFinal_ex(wrap, unwrapped + l, &f));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, zero, NULL, -1));
	gcm_open(unwrapped);
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, zero, NULL, -1));
}

/*
 * Today's: pooled random bytes; RFC 3394 on an AES-256-ECB context keyed with
 * the KEK for each wrap and scrubbed after it; GCM scrubbed per transaction.
 */
static void
seq_encrypt_now(void)
{
	rand_pooled();
	CHECK(EVP_CipherInit_ex(ecb_enc, NULL, NULL, kek, NULL, 1));
	if (CRYPTO_128_wrap(ecb_enc, NULL, wrapped, dek, 32, ecb_block) != 40)
		die("CRYPTO_128_wrap");
	CHECK(EVP_CipherInit_ex(ecb_enc, NULL, NULL, zero, NULL, -1));
	gcm_seal(dek);
}

static void
seq_decrypt_now(void)
{
	CHECK(EVP_CipherInit_ex(ecb_dec, NULL, NULL, kek, NULL, 0));
	if (CRYPTO_128_unwrap(ecb_dec, NULL, unwrapped, wrapped, 40, ecb_block) != 32)
		die("CRYPTO_128_unwrap");
	CHECK(EVP_CipherInit_ex(ecb_dec, NULL, NULL, zero, NULL, -1));
	gcm_open(unwrapped);
}

/* ef_rewrap: unwrap under one KEK, wrap under another, no GCM */
static void
seq_rewrap_now(void)
{
	CHECK(EVP_CipherInit_ex(ecb_dec, NULL, NULL, kek, NULL, 0));
	if (CRYPTO_128_unwrap(ecb_dec, NULL, unwrapped, wrapped, 40, ecb_block) != 32)
		die("CRYPTO_128_unwrap");
	CHECK(EVP_CipherInit_ex(ecb_dec, NULL, NULL, zero, NULL, -1));
	CHECK(EVP_CipherInit_ex(ecb_enc, NULL, NULL, kek, NULL, 1));
	if (CRYPTO_128_wrap(ecb_enc, NULL, wrapped, unwrapped, 32, ecb_block) != 40)
		die("CRYPTO_128_wrap");
	CHECK(EVP_CipherInit_ex(ecb_enc, NULL, NULL, zero, NULL, -1));
}

/*
 * Commit 435052d's: the KEK's schedule kept keyed (ecb_kek, ecb_kek_dec),
 * the wrap blocks and GCM through EVP_Cipher
 */
static void
seq_encrypt_kept(void)
{
	rand_pooled();
	if (CRYPTO_128_wrap(ecb_kek, NULL, wrapped, dek, 32, ecb_block_fast) != 40)
		die("CRYPTO_128_wrap");
	gcm_seal_fast(dek);
}

static void
seq_rewrap_kept(void)
{
	if (CRYPTO_128_unwrap(ecb_kek_dec, NULL, unwrapped, wrapped, 40, ecb_block_fast) != 32)
		die("CRYPTO_128_unwrap");
	if (CRYPTO_128_wrap(ecb_kek, NULL, wrapped, unwrapped, 32, ecb_block_fast) != 40)
		die("CRYPTO_128_wrap");
}

static void
seq_decrypt_kept(void)
{
	if (CRYPTO_128_unwrap(ecb_kek_dec, NULL, unwrapped, wrapped, 40, ecb_block_fast) != 32)
		die("CRYPTO_128_unwrap");
	gcm_open_fast(unwrapped);
}

/* Today's: the same, the provider's functions called directly */
static void
seq_encrypt_direct(void)
{
	rand_pooled();
	if (CRYPTO_128_wrap(&kek_enc_d, NULL, wrapped, dek, 32, ecb_block_direct) != 40)
		die("CRYPTO_128_wrap");
	gcm_seal_direct(dek);
}

#ifdef EF_HAVE_HMAC_DIRECT
/* A searchable value: today's encrypt and the term's MAC from digest states */
static void
seq_encrypt_searchable_direct(void)
{
	step_term_hmac_direct();
	seq_encrypt_direct();
}
#endif

static void
seq_decrypt_direct(void)
{
	if (CRYPTO_128_unwrap(&kek_dec_d, NULL, unwrapped, wrapped, 40, ecb_block_direct) != 32)
		die("CRYPTO_128_unwrap");
	gcm_open_direct(unwrapped);
	if (memcmp(out, plain, LEN) != 0)
		die("decrypt, direct: not the plaintext");
}

static void
seq_rewrap_direct(void)
{
	if (CRYPTO_128_unwrap(&kek_dec_d, NULL, unwrapped, wrapped, 40, ecb_block_direct) != 32)
		die("CRYPTO_128_unwrap");
	if (CRYPTO_128_wrap(&kek_enc_d, NULL, wrapped, unwrapped, 32, ecb_block_direct) != 40)
		die("CRYPTO_128_wrap");
}

static void
time_it(const char *name, void (*fn) (void))
{
	double		best = 1e30;

	for (int round = 0; round < 3; round++)
	{
		long		n = 0;
		double		t0 = now_ns(),
					t;

		do
		{
			for (int i = 0; i < 1000; i++)
				fn();
			n += 1000;
			t = now_ns() - t0;
		} while (t < budget_ms * 1e6 / 3);
		if (t / n < best)
			best = t / n;
	}
	printf("%-66s %8.0f\n", name, best);
}

static EVP_CIPHER_CTX *
bound(const EVP_CIPHER *cipher, int enc, int wrap_allow)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		die("EVP_CIPHER_CTX_new");
	if (wrap_allow)
		EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	CHECK(EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc));
	CHECK(EVP_CIPHER_CTX_set_padding(ctx, 0));
	return ctx;
}

int
main(int argc, char **argv)
{
	EVP_CIPHER *c_gcm, *c_wrap, *c_ecb;
	unsigned char w1[40];

	if (argc > 1)
		budget_ms = atol(argv[1]);
	c_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	c_wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	c_ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
	if (c_gcm == NULL || c_wrap == NULL || c_ecb == NULL)
		die("EVP_CIPHER_fetch");
	gcm = bound(c_gcm, 1, 0);
	wrap = bound(c_wrap, 1, 1);
	ecb_enc = bound(c_ecb, 1, 0);
	ecb_dec = bound(c_ecb, 0, 0);
	ecb_kek = bound(c_ecb, 1, 0);
	ecb_kek_dec = bound(c_ecb, 0, 0);
	CHECK(RAND_bytes(kek, sizeof(kek)));
	CHECK(RAND_bytes(secret, sizeof(secret)));
	CHECK(RAND_bytes(plain, LEN));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 1));
	CHECK(EVP_CipherInit_ex(ecb_kek, NULL, NULL, kek, NULL, 1));
	CHECK(EVP_CipherInit_ex(ecb_kek_dec, NULL, NULL, kek, NULL, 0));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, NULL, 1));
	{
		EVP_MAC   *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM	params[2];

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (mac == NULL || (hmac = EVP_MAC_CTX_new(mac)) == NULL)
			die("EVP_MAC_fetch (HMAC)");
		CHECK(EVP_MAC_init(hmac, kek, sizeof(kek), params));
		EVP_MAC_free(mac);
	}
#ifdef EF_HAVE_HMAC_DIRECT
	{
		unsigned char evp_mac[32];

		/* the direct MAC must give what EVP_MAC gives */
		step_term_hmac();
		memcpy(evp_mac, term_mac, sizeof(evp_mac));
		if (!EfHmacDirectKey(&term_state, kek))
			die("EfHmacDirectKey");
		step_term_hmac_direct();
		if (memcmp(evp_mac, term_mac, sizeof(evp_mac)) != 0)
			die("HMAC from digest states matching EVP_MAC");
	}
#endif
	EfCipherImplInit(&gcm_impl, c_gcm, true);
	EfCipherImplInit(&ecb_impl, c_ecb, true);
	if (!gcm_impl.direct || !ecb_impl.direct)
		die("finding the provider's cipher functions");
	if (!EfCipherCtxNew(&gcm_d, &gcm_impl, 1) ||
		!EfCipherCtxNew(&kek_enc_d, &ecb_impl, 1) ||
		!EfCipherCtxNew(&kek_dec_d, &ecb_impl, 0) ||
		!EfCipherKey(&kek_enc_d, kek, 32, NULL, 0, 1) ||
		!EfCipherKey(&kek_dec_d, kek, 32, NULL, 0, 0))
		die("keying the direct contexts");

	/* the wrap on ECB must give what OpenSSL's AES-256-WRAP gives */
	step_wrap_cipher();
	memcpy(w1, wrapped, sizeof(w1));
	step_wrap_ecb();
	if (memcmp(w1, wrapped, sizeof(w1)) != 0)
		die("RFC 3394 on ECB matching AES-256-WRAP");

	printf("%-66s %8s\n", "OpenSSL per 100-byte value (" OPENSSL_VERSION_TEXT ")", "ns");
	time_it("AES-256-GCM seal, key set once (openssl speed -aead style)", step_gcm_fixed_key);
	time_it("  + GCM key schedule and GHASH setup for a new DEK", step_gcm_key_setup);
	time_it("RAND_bytes, 44 bytes (DEK and nonce), one call per value", step_rand);
	time_it("  drawn 4 kB at a time (src/randpool.c), per value", step_rand_pooled);
	time_it("AES-256 key schedule (the KEK, or a scrub with zeros)", step_ecb_key_setup);
	time_it("HMAC-SHA-256 of a search term's 114-byte message, key kept", step_term_hmac);
#ifdef EF_HAVE_HMAC_DIRECT
	time_it("  from the key's digest states (src/hmac_direct.c, today's)", step_term_hmac_direct);
#endif
	time_it("key wrap of a DEK by OpenSSL's AES-256-WRAP (table-driven AES)", step_wrap_cipher);
	time_it("  by CRYPTO_128_wrap on AES-256-ECB (AES-NI)", step_wrap_ecb);

	/* each sequence leaves a valid value for the next decrypt */
	time_it("encrypt, first version (AES-256-WRAP, RAND per value, scrubs)", seq_encrypt_v1);
	time_it("decrypt, first version", seq_decrypt_v1);
	time_it("encrypt, e090323 (KEK keyed and scrubbed per value)", seq_encrypt_now);
	time_it("decrypt, e090323", seq_decrypt_now);
	time_it("rewrap (unwrap and wrap), e090323", seq_rewrap_now);
	time_it("encrypt, 435052d (KEK kept, EVP_Cipher)", seq_encrypt_kept);
	time_it("decrypt, 435052d", seq_decrypt_kept);
	time_it("rewrap (unwrap and wrap), 435052d", seq_rewrap_kept);
	time_it("encrypt, today's src/crypto_openssl.c (provider functions)", seq_encrypt_direct);
	time_it("decrypt, today's src/crypto_openssl.c", seq_decrypt_direct);
	time_it("rewrap (unwrap and wrap), today's src/crypto_openssl.c", seq_rewrap_direct);
#ifdef EF_HAVE_HMAC_DIRECT
	time_it("searchable encrypt (and the term's MAC), today's", seq_encrypt_searchable_direct);
#endif

	EVP_MAC_CTX_free(hmac);
	EfCipherCtxFree(&gcm_d);
	EfCipherCtxFree(&kek_enc_d);
	EfCipherCtxFree(&kek_dec_d);
	EVP_CIPHER_CTX_free(gcm);
	EVP_CIPHER_CTX_free(wrap);
	EVP_CIPHER_CTX_free(ecb_enc);
	EVP_CIPHER_CTX_free(ecb_dec);
	EVP_CIPHER_CTX_free(ecb_kek);
	EVP_CIPHER_CTX_free(ecb_kek_dec);
	EVP_CIPHER_free(c_gcm);
	EVP_CIPHER_free(c_wrap);
	EVP_CIPHER_free(c_ecb);
	return 0;
}

/*-------------------------------------------------------------------------
 *
 * floor.c
 *		The cost per value of OpenSSL alone: the primitives an encrypted_field
 *		value needs, timed outside PostgreSQL
 *
 * Each line is nanoseconds per 100-byte value, best of three rounds, for one
 * step of the sequence src/crypto_openssl.c runs per row, and for the whole
 * sequence as the extension runs it (a key schedule per call, contexts
 * scrubbed with a zero key after each use) and as it could run (the KEK's
 * schedule kept per held key, no scrubbing).  What the SQL functions cost
 * above these lines is PostgreSQL and the extension's own code.
 *
 * Build and run (bench/run.sh does this):
 *		cc -O2 -o floor bench/floor.c -lcrypto && ./floor [milliseconds per line]
 *
 * IDENTIFICATION
 *		bench/floor.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define LEN 100					/* plaintext bytes per value */

static unsigned char kek[32], secret[44], hdr[8], tag[16];
static unsigned char *dek = secret, *nonce = secret + 32;	/* drawn together */
static unsigned char plain[LEN], ct[LEN], out[LEN], wrapped[40], unwrapped[32];
static const unsigned char zero[32];
static EVP_CIPHER_CTX *gcm, *wrap, *wrap_kek, *ecb_kek;
static unsigned char pool[44 * 64];	/* RAND_bytes drawn for 64 values at once */
static int	pool_left = 0;
static long budget_ms = 300;

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

/* GCM seal of one value under the key gcm is set to, with a new nonce */
static void
gcm_seal_keyed(void)
{
	int			l;

	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, NULL, nonce, 1));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, ct, &l, plain, LEN));
	CHECK(EVP_CipherFinal_ex(gcm, ct + LEN, &l));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
}

static void step_rand(void) { CHECK(RAND_bytes(secret, sizeof(secret))); }
static void step_gcm_fixed_key(void) { gcm_seal_keyed(); }
static void step_gcm_key_setup(void) { CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, NULL, 1)); }
static void step_wrap_key_setup(void) { CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 1)); }
static void
step_wrap_cached(void)
{
	int			l, f;

	CHECK(EVP_CipherUpdate(wrap_kek, wrapped, &l, dek, 32));
	CHECK(EVP_CipherFinal_ex(wrap_kek, wrapped + l, &f));
}

/* DEK and nonce from a pool refilled by one RAND_bytes call per 64 values */
static void
step_rand_pooled(void)
{
	if (pool_left == 0)
	{
		CHECK(RAND_bytes(pool, sizeof(pool)));
		pool_left = 64;
	}
	pool_left--;
	memcpy(secret, pool + 44 * pool_left, 44);
}

/*
 * RFC 3394 key wrap of a 32-byte key written on AES-256-ECB, whose EVP
 * implementation uses AES-NI, with the KEK's schedule kept (ecb_kek).  The
 * AES-256-WRAP cipher of OpenSSL 3.0 runs the table-driven AES_encrypt.
 */
static void
wrap_on_ecb(const unsigned char *in, unsigned char *wout)
{
	unsigned char b[16];
	unsigned char *r = wout + 8;
	int			l;

	memset(b, 0xA6, 8);
	memcpy(r, in, 32);
	for (int j = 0; j < 6; j++)
		for (int i = 0; i < 4; i++)
		{
			unsigned long t = 4 * j + i + 1;

			memcpy(b + 8, r + 8 * i, 8);
			CHECK(EVP_EncryptUpdate(ecb_kek, b, &l, b, 16));
			for (int k = 7; k >= 0 && t != 0; k--, t >>= 8)
				b[k] ^= (unsigned char) t;
			memcpy(r + 8 * i, b + 8, 8);
		}
	memcpy(wout, b, 8);
}
static void step_wrap_ecb(void) { wrap_on_ecb(dek, wrapped); }

/* The lean sequence with both: pooled random, wrap on AES-NI ECB */
static void
seq_encrypt_leanest(void)
{
	int			l;

	step_rand_pooled();
	wrap_on_ecb(dek, wrapped);
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, nonce, 1));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, ct, &l, plain, LEN));
	CHECK(EVP_CipherFinal_ex(gcm, ct + LEN, &l));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
}

/* ef_encrypt's sequence today: RAND, wrap (keyed, scrubbed), GCM (keyed, scrubbed) */
static void
seq_encrypt_now(void)
{
	int			l, f;

	CHECK(RAND_bytes(secret, sizeof(secret)));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 1));
	CHECK(EVP_CipherUpdate(wrap, wrapped, &l, dek, 32));
	CHECK(EVP_CipherFinal_ex(wrap, wrapped + l, &f));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, zero, NULL, -1));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, nonce, 1));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, ct, &l, plain, LEN));
	CHECK(EVP_CipherFinal_ex(gcm, ct + LEN, &l));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, zero, NULL, -1));
}

/* ef_decrypt's sequence today: unwrap (keyed, scrubbed), GCM open (keyed, scrubbed) */
static void
seq_decrypt_now(void)
{
	int			l, f;

	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, kek, NULL, 0));
	CHECK(EVP_CipherUpdate(wrap, unwrapped, &l, wrapped, 40) == 1 && l > 0);
	CHECK(EVP_CipherFinal_ex(wrap, unwrapped + l, &f));
	CHECK(EVP_CipherInit_ex(wrap, NULL, NULL, zero, NULL, -1));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, unwrapped, nonce, 0));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, out, &l, ct, LEN));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, tag));
	CHECK(EVP_CipherFinal_ex(gcm, out + LEN, &l));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, zero, NULL, -1));
}

/* The same without scrubbing and with the KEK's schedule kept (wrap_kek) */
static void
seq_encrypt_lean(void)
{
	int			l;

	CHECK(RAND_bytes(secret, sizeof(secret)));
	step_wrap_cached();
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, nonce, 1));
	CHECK(EVP_CipherUpdate(gcm, NULL, &l, hdr, sizeof(hdr)));
	CHECK(EVP_CipherUpdate(gcm, ct, &l, plain, LEN));
	CHECK(EVP_CipherFinal_ex(gcm, ct + LEN, &l));
	CHECK(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag));
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
	printf("%-62s %8.0f\n", name, best);
}

int
main(int argc, char **argv)
{
	EVP_CIPHER *c_gcm, *c_wrap;
	if (argc > 1)
		budget_ms = atol(argv[1]);
	c_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	c_wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	if (c_gcm == NULL || c_wrap == NULL)
		die("EVP_CIPHER_fetch");
	gcm = EVP_CIPHER_CTX_new();
	wrap = EVP_CIPHER_CTX_new();
	wrap_kek = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(wrap, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	EVP_CIPHER_CTX_set_flags(wrap_kek, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	CHECK(EVP_CipherInit_ex(gcm, c_gcm, NULL, NULL, NULL, 1));
	CHECK(EVP_CipherInit_ex(wrap, c_wrap, NULL, NULL, NULL, 1));
	CHECK(EVP_CipherInit_ex(wrap_kek, c_wrap, NULL, NULL, NULL, 1));
	CHECK(RAND_bytes(kek, 32));
	CHECK(RAND_bytes(secret, sizeof(secret)));
	CHECK(RAND_bytes(plain, LEN));
	CHECK(EVP_CipherInit_ex(wrap_kek, NULL, NULL, kek, NULL, 1));
	CHECK(EVP_CipherInit_ex(gcm, NULL, NULL, dek, NULL, 1));
	ecb_kek = EVP_CIPHER_CTX_new();
	CHECK(EVP_EncryptInit_ex(ecb_kek, EVP_aes_256_ecb(), NULL, kek, NULL));
	EVP_CIPHER_CTX_set_padding(ecb_kek, 0);

	/* the ECB-based wrap must give OpenSSL's AES-256-WRAP output */
	{
		unsigned char w1[40], w2[40];
		int			l, f;

		step_wrap_cached();
		memcpy(w1, wrapped, 40);
		wrap_on_ecb(dek, w2);
		if (memcmp(w1, w2, 40) != 0)
			die("RFC 3394 on ECB matching AES-256-WRAP");
		(void) l;
		(void) f;
	}

	printf("%-62s %8s\n", "OpenSSL per 100-byte value (" OPENSSL_VERSION_TEXT ")", "ns");
	time_it("AES-256-GCM seal, key set once (openssl speed -aead style)", step_gcm_fixed_key);
	time_it("  + GCM key schedule and GHASH setup for a new DEK", step_gcm_key_setup);
	time_it("RAND_bytes, 44 bytes (DEK and nonce)", step_rand);
	time_it("AES-256 key schedule of the KEK (wrap context re-keyed)", step_wrap_key_setup);
	time_it("AES key wrap of a 32-byte DEK, KEK schedule kept", step_wrap_cached);
	time_it("  the same wrap written on AES-256-ECB (AES-NI), schedule kept", step_wrap_ecb);
	time_it("RAND_bytes drawn for 64 values at once, per value", step_rand_pooled);

	/* leaves a valid value (wrapped, ct, tag) for the decrypt sequence */
	seq_encrypt_now();

	time_it("encrypt sequence as src/crypto_openssl.c runs it", seq_encrypt_now);
	time_it("decrypt sequence as src/crypto_openssl.c runs it", seq_decrypt_now);
	time_it("encrypt sequence, KEK schedule kept, no scrub re-keys", seq_encrypt_lean);
	time_it("  and wrap on ECB, random pooled", seq_encrypt_leanest);

	EVP_CIPHER_CTX_free(gcm);
	EVP_CIPHER_CTX_free(wrap);
	EVP_CIPHER_CTX_free(wrap_kek);
	EVP_CIPHER_CTX_free(ecb_kek);
	EVP_CIPHER_free(c_gcm);
	EVP_CIPHER_free(c_wrap);
	return 0;
}

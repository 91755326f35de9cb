/*-------------------------------------------------------------------------
 *
 * test_crypto.c
 *		Known-answer tests of the crypto provider against Project Wycheproof
 *
 * Usage: test_crypto GCM.tsv WRAP.tsv HMAC.tsv HKDF.tsv
 *
 * run.sh turns the Wycheproof JSON files into one TSV line per vector (hex
 * fields, "-" for an empty one; lines starting with '#' are comments), so
 * that this program needs no JSON parser.  Each vector is one case.  Vectors
 * with parameters the provider does not offer are counted as skipped.  A few
 * direct checks follow the vectors.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		test/unit/test_crypto.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/opensslconf.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/evp.h>
#endif

#include "crypto.h"
#include "unit.h"

#define MAX_FIELDS	16

/* What a vector's "result" says about it */
typedef enum Expect
{
	EXPECT_VALID,
	EXPECT_INVALID,
	EXPECT_ACCEPTABLE,
	EXPECT_UNKNOWN
} Expect;

/* A decoded hex field */
typedef struct Hex
{
	uint8	   *p;
	size_t		len;
} Hex;

typedef void (*VectorFn) (char **field);

static const char *
status_name(EfCryptoStatus status)
{
	switch (status)
	{
		case EF_CRYPTO_OK:
			return "EF_CRYPTO_OK";
		case EF_CRYPTO_AUTH_FAILED:
			return "EF_CRYPTO_AUTH_FAILED";
		case EF_CRYPTO_BAD_LENGTH:
			return "EF_CRYPTO_BAD_LENGTH";
		case EF_CRYPTO_NO_RANDOM:
			return "EF_CRYPTO_NO_RANDOM";
		case EF_CRYPTO_INTERNAL:
			return "EF_CRYPTO_INTERNAL";
	}
	return "unknown status";
}

static Expect
parse_expect(const char *result)
{
	if (strcmp(result, "valid") == 0)
		return EXPECT_VALID;
	if (strcmp(result, "invalid") == 0)
		return EXPECT_INVALID;
	if (strcmp(result, "acceptable") == 0)
		return EXPECT_ACCEPTABLE;
	return EXPECT_UNKNOWN;
}

/* Parse a non-negative decimal field; -1 if it is not one */
static long
parse_num(const char *s)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	return v;
}

static void *
xmalloc(size_t len)
{
	void	   *p = malloc(len > 0 ? len : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* Decode one hex field of the open case; a bad one fails the case */
static bool
get_hex(const char *field, const char *what, Hex *h)
{
	h->p = unit_hex_decode(field, &h->len);
	return UNIT_CHECK(h->p != NULL, "field %s is not hex: \"%.40s\"", what, field);
}

/* Check that got equals want; on a difference say where, without a dump */
static bool
check_bytes(const char *what, const uint8 *got, size_t gotlen,
			const uint8 *want, size_t wantlen)
{
	size_t		i = 0;

	while (i < gotlen && i < wantlen && got[i] == want[i])
		i++;
	if (gotlen == wantlen && i == wantlen)
		return true;
	if (i < gotlen && i < wantlen)
		return UNIT_CHECK(false, "%s differs: %zu bytes, expected %zu; first difference at byte %zu (got %02x, expected %02x)",
						  what, gotlen, wantlen, i, got[i], want[i]);
	return UNIT_CHECK(false, "%s differs: %zu bytes, expected %zu; equal up to byte %zu",
					  what, gotlen, wantlen, i);
}

/* Split a TSV line in place on tabs, keeping empty fields */
static int
split_tabs(char *line, char **field, int max)
{
	int			n = 0;

	field[n++] = line;
	for (char *p = line; *p != '\0'; p++)
	{
		if (*p != '\t')
			continue;
		*p = '\0';
		if (n == max)
			return max + 1;
		field[n++] = p + 1;
	}
	return n;
}

/*
 * Feed every vector line of a TSV file with nfields columns to fn.  A file
 * that cannot be read, a malformed line or a file without vectors counts as
 * a failed case; checks that pass here count nothing.
 */
static void
run_tsv(const char *path, int nfields, VectorFn fn)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		got;
	int			lineno = 0;
	int			vectors = 0;

	if (f == NULL)
	{
		UNIT_CHECK(false, "cannot open %s: %s", path, strerror(errno));
		return;
	}
	while ((got = getline(&line, &cap, f)) != -1)
	{
		char	   *field[MAX_FIELDS];
		int			n;

		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0 || line[0] == '#')
			continue;
		n = split_tabs(line, field, MAX_FIELDS);
		if (n != nfields)
		{
			UNIT_CHECK(false, "%s:%d: %d fields, expected %d",
					   path, lineno, n, nfields);
			continue;
		}
		fn(field);
		vectors++;
	}
	if (ferror(f))
		UNIT_CHECK(false, "error reading %s", path);
	else if (vectors == 0)
		UNIT_CHECK(false, "no vectors in %s", path);
	free(line);
	fclose(f);
}

/*
 * Give the AAD as one piece for even tcIds and as two pieces (first half,
 * second half) for odd ones, to prove that pieces are concatenated.
 */
static int
aad_pieces(int tcid, const Hex *aad, EfBuf *piece)
{
	size_t		half = aad->len / 2;

	if (tcid % 2 == 0)
	{
		piece[0].data = aad->p;
		piece[0].len = aad->len;
		return 1;
	}
	piece[0].data = aad->p;
	piece[0].len = half;
	piece[1].data = aad->p + half;
	piece[1].len = aad->len - half;
	return 2;
}

/* Seal and open one AES-256-GCM vector with the sizes the provider takes */
static void
gcm_check(int tcid, Expect expect, const Hex *key, const Hex *iv,
		  const Hex *aad, const Hex *msg, const Hex *ct, const Hex *tag)
{
	EfBuf		piece[2];
	int			npieces = aad_pieces(tcid, aad, piece);
	uint8	   *out = xmalloc(ct->len + EF_TAG_LEN);
	uint8		gottag[EF_TAG_LEN];
	EfCryptoStatus st;

	if (expect == EXPECT_VALID)
	{
		st = EfAeadSeal(key->p, iv->p, piece, npieces, msg->p, msg->len,
						out, gottag);
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "seal returned %s", status_name(st)))
		{
			check_bytes("sealed ciphertext", out, msg->len, ct->p, ct->len);
			check_bytes("sealed tag", gottag, EF_TAG_LEN, tag->p, tag->len);
		}
	}

	st = EfAeadOpen(key->p, iv->p, piece, npieces, ct->p, ct->len, tag->p, out);
	if (expect == EXPECT_INVALID)
		UNIT_CHECK(st != EF_CRYPTO_OK, "open accepted an invalid vector");
	else if (expect == EXPECT_VALID)
	{
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "open returned %s", status_name(st)))
			check_bytes("opened plaintext", out, ct->len, msg->p, msg->len);
	}
	else if (st == EF_CRYPTO_OK)
		check_bytes("opened plaintext", out, ct->len, msg->p, msg->len);
	free(out);
}

/* keySize ivSize tagSize tcId result key iv aad msg ct tag flags */
static void
gcm_vector(char **f)
{
	long		tcid = parse_num(f[3]);
	Expect		expect = parse_expect(f[4]);
	Hex			key = {0},
				iv = {0},
				aad = {0},
				msg = {0},
				ct = {0},
				tag = {0};

	if (parse_num(f[0]) != 256 || parse_num(f[1]) != 96 || parse_num(f[2]) != 128)
	{
		unit_skip();
		return;
	}
	unit_case_begin("aes-gcm tcId %s (%s, %s)", f[3], f[4], f[11]);
	if (UNIT_CHECK(tcid >= 0 && expect != EXPECT_UNKNOWN, "bad tcId or result") &&
		get_hex(f[5], "key", &key) && get_hex(f[6], "iv", &iv) &&
		get_hex(f[7], "aad", &aad) && get_hex(f[8], "msg", &msg) &&
		get_hex(f[9], "ct", &ct) && get_hex(f[10], "tag", &tag) &&
		UNIT_CHECK(key.len == EF_KEY_LEN && iv.len == EF_NONCE_LEN &&
				   tag.len == EF_TAG_LEN && ct.len == msg.len,
				   "vector sizes do not match its group"))
		gcm_check((int) tcid, expect, &key, &iv, &aad, &msg, &ct, &tag);
	free(key.p);
	free(iv.p);
	free(aad.p);
	free(msg.p);
	free(ct.p);
	free(tag.p);
	unit_case_end();
}

/*
 * Wrap and unwrap one AES-256 key wrap vector.  The invalid vectors probe:
 * a ciphertext whose integrity block (IV) was modified, a wrapped key of a
 * size that is no whole number of blocks or too short, and a "key" that is
 * empty, 8 bytes or not a multiple of 8 bytes (those come with no or a bogus
 * ciphertext).  Unwrapping must fail for all of them, and wrapping must be
 * refused too when the key has a size RFC 3394 does not wrap.
 */
static void
wrap_check(Expect expect, const Hex *key, const Hex *msg, const Hex *ct)
{
	uint8	   *out = xmalloc(Max(msg->len, ct->len) + 2 * EF_WRAP_OVERHEAD);
	bool		wrap_refuses = msg->len % 8 != 0 || msg->len < 16;
	size_t		unwrapped_len = ct->len >= EF_WRAP_OVERHEAD ? ct->len - EF_WRAP_OVERHEAD : 0;
	EfCryptoStatus st;

	st = EfKeyUnwrap(key->p, ct->p, ct->len, out);
	if (expect == EXPECT_INVALID)
		UNIT_CHECK(st != EF_CRYPTO_OK, "unwrap accepted an invalid %zu-byte wrapped key",
				   ct->len);
	else if (expect == EXPECT_VALID)
	{
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "unwrap returned %s", status_name(st)))
			check_bytes("unwrapped key", out, unwrapped_len, msg->p, msg->len);
	}
	else if (st == EF_CRYPTO_OK)
		check_bytes("unwrapped key", out, unwrapped_len, msg->p, msg->len);

	if (expect == EXPECT_INVALID && !wrap_refuses)
	{
		/* a wrappable key with a tampered ciphertext: nothing to wrap */
		free(out);
		return;
	}
	st = EfKeyWrap(key->p, msg->p, msg->len, out);
	if (expect == EXPECT_INVALID)
		UNIT_CHECK(st != EF_CRYPTO_OK, "wrap accepted a %zu-byte key", msg->len);
	else if (expect == EXPECT_VALID)
	{
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "wrap returned %s", status_name(st)))
			check_bytes("wrapped key", out, msg->len + EF_WRAP_OVERHEAD,
						ct->p, ct->len);
	}
	else if (st == EF_CRYPTO_OK)
		check_bytes("wrapped key", out, msg->len + EF_WRAP_OVERHEAD,
					ct->p, ct->len);
	free(out);
}

/* keySize tcId result key msg ct flags */
static void
wrap_vector(char **f)
{
	Expect		expect = parse_expect(f[2]);
	Hex			key = {0},
				msg = {0},
				ct = {0};

	if (parse_num(f[0]) != 256)
	{
		unit_skip();
		return;
	}
	unit_case_begin("aes-wrap tcId %s (%s, %s)", f[1], f[2], f[6]);
	if (UNIT_CHECK(parse_num(f[1]) >= 0 && expect != EXPECT_UNKNOWN, "bad tcId or result") &&
		get_hex(f[3], "key", &key) && get_hex(f[4], "msg", &msg) &&
		get_hex(f[5], "ct", &ct) &&
		UNIT_CHECK(key.len == EF_KEY_LEN, "key is %zu bytes", key.len))
		wrap_check(expect, &key, &msg, &ct);
	free(key.p);
	free(msg.p);
	free(ct.p);
	unit_case_end();
}

/* A computed MAC against a vector's (maybe truncated) tag */
static void
check_hmac_tag(const char *what, const uint8 *mac, Expect expect, const Hex *tag)
{
	if (expect == EXPECT_VALID)
		check_bytes(what, mac, tag->len, tag->p, tag->len);
	else if (expect == EXPECT_INVALID)
		UNIT_CHECK(memcmp(mac, tag->p, tag->len) != 0,
				   "%s: computed tag matches an invalid vector's tag", what);
}

/* keySize tagSize tcId result key msg tag flags; the tag may be truncated */
static void
hmac_vector(char **f)
{
	long		tagbits = parse_num(f[1]);
	Expect		expect = parse_expect(f[3]);
	Hex			key = {0},
				msg = {0},
				tag = {0};
	uint8		mac[EF_SHA256_LEN];
	EfCryptoStatus st;

	unit_case_begin("hmac-sha256 tcId %s (%s, %s)", f[2], f[3], f[7]);
	if (UNIT_CHECK(parse_num(f[2]) >= 0 && expect != EXPECT_UNKNOWN, "bad tcId or result") &&
		get_hex(f[4], "key", &key) && get_hex(f[5], "msg", &msg) &&
		get_hex(f[6], "tag", &tag) &&
		UNIT_CHECK(tagbits > 0 && tagbits % 8 == 0 && tag.len == (size_t) tagbits / 8 &&
				   tag.len <= EF_SHA256_LEN, "tag is %zu bytes, tagSize %ld bits",
				   tag.len, tagbits))
	{
		st = EfHmacSha256(key.p, key.len, msg.p, msg.len, mac);
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "hmac returned %s", status_name(st)))
			check_hmac_tag("tag prefix", mac, expect, &tag);

		/*
		 * An index key's size: the kept path too, the message in three
		 * pieces (the middle one empty when the message is short), as a
		 * term's header, domain and plaintext are hashed
		 */
		if (key.len == EF_KEY_LEN)
		{
			size_t		cut1 = msg.len / 3;
			size_t		cut2 = msg.len < 3 ? cut1 : 2 * msg.len / 3;
			EfBuf		parts[3] = {
				{msg.p, cut1}, {msg.p + cut1, cut2 - cut1}, {msg.p + cut2, msg.len - cut2}
			};

			memset(mac, 0, sizeof(mac));
			st = EfHmacSha256Kept(key.p, parts, lengthof(parts), mac);
			if (UNIT_CHECK(st == EF_CRYPTO_OK, "kept hmac returned %s", status_name(st)))
				check_hmac_tag("kept tag prefix", mac, expect, &tag);
		}
	}
	free(key.p);
	free(msg.p);
	free(tag.p);
	unit_case_end();
}

/* keySize tcId result ikm salt info size okm flags */
static void
hkdf_vector(char **f)
{
	long		size = parse_num(f[6]);
	Expect		expect = parse_expect(f[2]);
	Hex			ikm = {0},
				salt = {0},
				info = {0},
				okm = {0};
	uint8	   *out = NULL;
	EfCryptoStatus st;

	unit_case_begin("hkdf-sha256 tcId %s (%s, %s)", f[1], f[2], f[8]);
	if (UNIT_CHECK(parse_num(f[1]) >= 0 && expect != EXPECT_UNKNOWN && size >= 0,
				   "bad tcId, result or size") &&
		get_hex(f[3], "ikm", &ikm) && get_hex(f[4], "salt", &salt) &&
		get_hex(f[5], "info", &info) && get_hex(f[7], "okm", &okm))
	{
		out = xmalloc((size_t) size);
		st = EfHkdfSha256(ikm.p, ikm.len, salt.p, salt.len, info.p, info.len,
						  out, (size_t) size);
		if (expect == EXPECT_INVALID)
			UNIT_CHECK(st != EF_CRYPTO_OK, "derived %ld bytes for an invalid vector",
					   size);
		else if (expect == EXPECT_VALID)
		{
			if (UNIT_CHECK(st == EF_CRYPTO_OK, "hkdf of %zu-byte ikm, %zu-byte salt, %ld bytes returned %s",
						   ikm.len, salt.len, size, status_name(st)))
				check_bytes("okm", out, (size_t) size, okm.p, okm.len);
		}
		else if (st == EF_CRYPTO_OK)
			check_bytes("okm", out, (size_t) size, okm.p, okm.len);
	}
	free(out);
	free(ikm.p);
	free(salt.p);
	free(info.p);
	free(okm.p);
	unit_case_end();
}

/* Two draws from the CSPRNG succeed and differ */
static void
check_random(void)
{
	uint8		a[32];
	uint8		b[32];
	EfCryptoStatus st1;
	EfCryptoStatus st2;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	unit_case_begin("direct: EfRandomBytes");
	st1 = EfRandomBytes(a, sizeof(a));
	st2 = EfRandomBytes(b, sizeof(b));
	if (UNIT_CHECK(st1 == EF_CRYPTO_OK && st2 == EF_CRYPTO_OK, "returned %s, %s",
				   status_name(st1), status_name(st2)))
		UNIT_CHECK(memcmp(a, b, sizeof(a)) != 0, "two 32-byte draws are equal");
	unit_case_end();
}

static void
check_mem_equal(void)
{
	uint8		a[33];
	uint8		b[33];

	for (int i = 0; i < 33; i++)
		a[i] = b[i] = (uint8) (i * 7 + 1);
	unit_case_begin("direct: EfCryptoMemEqual");
	UNIT_CHECK(EfCryptoMemEqual(a, b, sizeof(a)), "equal buffers compare unequal");
	UNIT_CHECK(EfCryptoMemEqual(a, b, 0), "empty buffers compare unequal");
	b[32] ^= 0x80;
	UNIT_CHECK(!EfCryptoMemEqual(a, b, sizeof(a)), "last byte differs but compares equal");
	UNIT_CHECK(EfCryptoMemEqual(a, b, sizeof(a) - 1), "equal prefixes compare unequal");
	b[32] ^= 0x80;
	b[0] ^= 0x01;
	UNIT_CHECK(!EfCryptoMemEqual(a, b, sizeof(a)), "first byte differs but compares equal");
	unit_case_end();
}

/* Empty plaintext and no AAD still give a tag that opens */
static void
check_gcm_empty(void)
{
	uint8		key[EF_KEY_LEN];
	uint8		nonce[EF_NONCE_LEN];
	uint8		tag[EF_TAG_LEN];
	uint8		buf[1] = {0};
	EfCryptoStatus st;

	memset(key, 0x42, sizeof(key));
	memset(nonce, 0x24, sizeof(nonce));
	memset(tag, 0, sizeof(tag));
	unit_case_begin("direct: AES-GCM empty plaintext, no AAD");
	st = EfAeadSeal(key, nonce, NULL, 0, buf, 0, buf, tag);
	if (UNIT_CHECK(st == EF_CRYPTO_OK, "seal returned %s", status_name(st)))
	{
		st = EfAeadOpen(key, nonce, NULL, 0, buf, 0, tag, buf);
		UNIT_CHECK(st == EF_CRYPTO_OK, "open returned %s", status_name(st));
		tag[0] ^= 0x01;
		st = EfAeadOpen(key, nonce, NULL, 0, buf, 0, tag, buf);
		UNIT_CHECK(st == EF_CRYPTO_AUTH_FAILED, "open with flipped tag bit returned %s",
				   status_name(st));
	}
	unit_case_end();
}

/* Open a tampered copy and require an authentication failure */
static void
expect_auth_failure(const char *what, const uint8 *key, const uint8 *nonce,
					const EfBuf *aad, int naad, const uint8 *ct, size_t len,
					const uint8 *tag)
{
	uint8		out[64];
	EfCryptoStatus st = EfAeadOpen(key, nonce, aad, naad, ct, len, tag, out);

	UNIT_CHECK(st == EF_CRYPTO_AUTH_FAILED, "open with %s returned %s",
			   what, status_name(st));
}

/* Each tampered input must fail to open, and the intact one must still open */
static void
check_gcm_tamper(void)
{
	static const uint8 aad1[] = "table:public.customers";
	static const uint8 aad2[] = "column:ssn";
	static const uint8 msg[] = "a value of thirty-seven bytes or so..";
	size_t		len = sizeof(msg);
	uint8		key[EF_KEY_LEN];
	uint8		nonce[EF_NONCE_LEN];
	uint8		ct[64];
	uint8		tag[EF_TAG_LEN];
	uint8		out[64];
	uint8		whole[sizeof(aad1) + sizeof(aad2)];
	uint8		bad[sizeof(aad2)];
	EfBuf		aad[2] = {{aad1, sizeof(aad1)}, {aad2, sizeof(aad2)}};
	EfBuf		one[1] = {{whole, sizeof(whole)}};
	EfBuf		tampered[2] = {{aad1, sizeof(aad1)}, {bad, sizeof(bad)}};
	EfCryptoStatus st;

	for (int i = 0; i < EF_KEY_LEN; i++)
		key[i] = (uint8) (0xa0 + i);
	for (int i = 0; i < EF_NONCE_LEN; i++)
		nonce[i] = (uint8) (0x10 + i);
	memcpy(whole, aad1, sizeof(aad1));
	memcpy(whole + sizeof(aad1), aad2, sizeof(aad2));
	memcpy(bad, aad2, sizeof(aad2));
	bad[3] ^= 0x04;

	unit_case_begin("direct: AES-GCM tampering");
	st = EfAeadSeal(key, nonce, aad, 2, msg, len, ct, tag);
	if (!UNIT_CHECK(st == EF_CRYPTO_OK, "seal returned %s", status_name(st)))
	{
		unit_case_end();
		return;
	}
	st = EfAeadOpen(key, nonce, one, 1, ct, len, tag, out);
	if (UNIT_CHECK(st == EF_CRYPTO_OK, "open with the AAD as one piece returned %s",
				   status_name(st)))
		check_bytes("opened plaintext", out, len, msg, len);

	ct[5] ^= 0x10;
	expect_auth_failure("a flipped ciphertext bit", key, nonce, aad, 2, ct, len, tag);
	ct[5] ^= 0x10;
	tag[15] ^= 0x01;
	expect_auth_failure("a flipped tag bit", key, nonce, aad, 2, ct, len, tag);
	tag[15] ^= 0x01;
	expect_auth_failure("a flipped AAD bit", key, nonce, tampered, 2, ct, len, tag);
	expect_auth_failure("no AAD", key, nonce, NULL, 0, ct, len, tag);
	nonce[11] ^= 0x01;
	expect_auth_failure("a wrong nonce", key, nonce, aad, 2, ct, len, tag);
	nonce[11] ^= 0x01;
	key[0] ^= 0x01;
	expect_auth_failure("a wrong key", key, nonce, aad, 2, ct, len, tag);
	key[0] ^= 0x01;

	/* the cached context must not keep any state from the failures */
	memset(out, 0, sizeof(out));
	st = EfAeadOpen(key, nonce, aad, 2, ct, len, tag, out);
	if (UNIT_CHECK(st == EF_CRYPTO_OK, "open after failures returned %s",
				   status_name(st)))
		check_bytes("plaintext after failures", out, len, msg, len);
	unit_case_end();
}

/* Round trip, integrity failure and refused lengths of the key wrap */
static void
check_wrap(void)
{
	uint8		kek[EF_KEY_LEN];
	uint8		dek[EF_KEY_LEN];
	uint8		wrapped[EF_KEY_LEN + EF_WRAP_OVERHEAD];
	uint8		out[EF_KEY_LEN + EF_WRAP_OVERHEAD];
	EfCryptoStatus st;

	for (int i = 0; i < EF_KEY_LEN; i++)
	{
		kek[i] = (uint8) i;
		dek[i] = (uint8) (0xff - i);
	}
	unit_case_begin("direct: AES key wrap");
	st = EfKeyWrap(kek, dek, sizeof(dek), wrapped);
	if (!UNIT_CHECK(st == EF_CRYPTO_OK, "wrap returned %s", status_name(st)))
	{
		unit_case_end();
		return;
	}
	st = EfKeyUnwrap(kek, wrapped, sizeof(wrapped), out);
	if (UNIT_CHECK(st == EF_CRYPTO_OK, "unwrap returned %s", status_name(st)))
		check_bytes("unwrapped key", out, sizeof(dek), dek, sizeof(dek));
	wrapped[20] ^= 0x02;
	st = EfKeyUnwrap(kek, wrapped, sizeof(wrapped), out);
	UNIT_CHECK(st == EF_CRYPTO_AUTH_FAILED, "unwrap of a flipped bit returned %s",
			   status_name(st));
	wrapped[20] ^= 0x02;
	kek[31] ^= 0x01;
	st = EfKeyUnwrap(kek, wrapped, sizeof(wrapped), out);
	UNIT_CHECK(st == EF_CRYPTO_AUTH_FAILED, "unwrap under a wrong kek returned %s",
			   status_name(st));
	kek[31] ^= 0x01;
	st = EfKeyWrap(kek, dek, 20, out);
	UNIT_CHECK(st == EF_CRYPTO_BAD_LENGTH, "wrap of 20 bytes returned %s",
			   status_name(st));
	st = EfKeyUnwrap(kek, wrapped, 16, out);
	UNIT_CHECK(st == EF_CRYPTO_BAD_LENGTH, "unwrap of 16 bytes returned %s",
			   status_name(st));
	st = EfKeyUnwrap(kek, wrapped, sizeof(wrapped), out);
	UNIT_CHECK(st == EF_CRYPTO_OK, "unwrap after failures returned %s",
			   status_name(st));
	unit_case_end();
}

/* After EfCryptoShutdown the provider sets itself up again on next use */
static void
check_shutdown(void)
{
	uint8		key[EF_KEY_LEN] = {1};
	uint8		nonce[EF_NONCE_LEN] = {2};
	uint8		msg[5] = {'h', 'e', 'l', 'l', 'o'};
	uint8		ct[5];
	uint8		out[5];
	uint8		tag[EF_TAG_LEN];
	EfCryptoStatus st;

	unit_case_begin("direct: use after EfCryptoShutdown");
	EfCryptoShutdown();
	st = EfAeadSeal(key, nonce, NULL, 0, msg, sizeof(msg), ct, tag);
	if (UNIT_CHECK(st == EF_CRYPTO_OK, "seal returned %s", status_name(st)))
	{
		st = EfAeadOpen(key, nonce, NULL, 0, ct, sizeof(ct), tag, out);
		if (UNIT_CHECK(st == EF_CRYPTO_OK, "open returned %s", status_name(st)))
			check_bytes("plaintext", out, sizeof(out), msg, sizeof(msg));
	}
	unit_case_end();
}

/*
 * Kept keys: more KEKs and index keys than stay keyed at once, used in turn
 * and again after a scrub, give what keying per call gives
 */
static void
check_kept(void)
{
	uint8		keys[6][EF_KEY_LEN];
	uint8		dek[EF_KEY_LEN] = {7};
	uint8		wrapped[6][EF_KEY_LEN + EF_WRAP_OVERHEAD];
	uint8		out[EF_KEY_LEN];
	uint8		mac[EF_SHA256_LEN];
	uint8		kept_mac[EF_SHA256_LEN];
	const uint8 msg[] = "ef1-term message";
	const EfBuf whole = {msg, sizeof(msg)};
	EfCryptoStatus st;

	unit_case_begin("direct: kept KEKs and index keys, evicted and scrubbed");
	for (int i = 0; i < 6; i++)
		memset(keys[i], 0x11 * (i + 1), EF_KEY_LEN);
	for (int round = 0; round < 3; round++)
	{
		for (int i = 0; i < 6; i++)
		{
			st = EfKeyWrap(keys[i], dek, sizeof(dek), wrapped[i]);
			UNIT_CHECK(st == EF_CRYPTO_OK, "wrap returned %s", status_name(st));
			st = EfHmacSha256(keys[i], EF_KEY_LEN, msg, sizeof(msg), mac);
			UNIT_CHECK(st == EF_CRYPTO_OK, "hmac returned %s", status_name(st));
			st = EfHmacSha256Kept(keys[i], &whole, 1, kept_mac);
			UNIT_CHECK(st == EF_CRYPTO_OK, "kept hmac returned %s", status_name(st));
			check_bytes("kept hmac", kept_mac, sizeof(kept_mac), mac, sizeof(mac));
			/* twice: the second restarts the kept state */
			st = EfHmacSha256Kept(keys[i], &whole, 1, kept_mac);
			UNIT_CHECK(st == EF_CRYPTO_OK, "kept hmac returned %s", status_name(st));
			check_bytes("kept hmac again", kept_mac, sizeof(kept_mac), mac, sizeof(mac));
		}
		for (int i = 5; i >= 0; i--)
		{
			st = EfKeyUnwrap(keys[i], wrapped[i], sizeof(wrapped[i]), out);
			if (UNIT_CHECK(st == EF_CRYPTO_OK, "unwrap returned %s", status_name(st)))
				check_bytes("unwrapped", out, sizeof(out), dek, sizeof(dek));
			/* under another key it must fail, kept or not */
			st = EfKeyUnwrap(keys[(i + 1) % 6], wrapped[i], sizeof(wrapped[i]), out);
			UNIT_CHECK(st == EF_CRYPTO_AUTH_FAILED, "unwrap under another key returned %s",
					   status_name(st));
		}
		if (round == 1)
			EfCryptoScrub();
	}
	unit_case_end();
}

/*
 * Kept index keys against keying per call, on many messages: lengths from
 * 0 to 299 bytes (several SHA-256 blocks, and every place a block boundary
 * can fall) cut into three pieces at random, seven keys taking turns in
 * four kept slots, a scrub now and then
 */
static void
check_kept_random(void)
{
	uint8		keys[7][EF_KEY_LEN];
	uint8		msg[300];
	uint8		mac[EF_SHA256_LEN];
	uint8		kept_mac[EF_SHA256_LEN];
	uint64		x = UINT64CONST(0x9E3779B97F4A7C15);
	int			bad = 0;

	/* xorshift64: the same messages every run */
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	unit_case_begin("direct: kept index keys on 3000 messages in random pieces");
	for (int i = 0; i < 7; i++)
		for (int j = 0; j < EF_KEY_LEN; j++)
			keys[i][j] = (uint8) NEXT();
	for (int n = 0; n < 3000 && bad < 5; n++)
	{
		size_t		len = NEXT() % sizeof(msg);
		size_t		cut1 = len == 0 ? 0 : NEXT() % (len + 1);
		size_t		cut2 = cut1 + (len == cut1 ? 0 : NEXT() % (len - cut1 + 1));
		const uint8 *key = keys[NEXT() % 7];
		EfBuf		parts[3] = {
			{msg, cut1}, {msg + cut1, cut2 - cut1}, {msg + cut2, len - cut2}
		};
		EfCryptoStatus st;

		for (size_t j = 0; j < len; j++)
			msg[j] = (uint8) NEXT();
		if (n % 700 == 699)
			EfCryptoScrub();
		st = EfHmacSha256(key, EF_KEY_LEN, msg, len, mac);
		if (!UNIT_CHECK(st == EF_CRYPTO_OK, "hmac returned %s", status_name(st)))
			bad++;
		memset(kept_mac, 0, sizeof(kept_mac));
		st = EfHmacSha256Kept(key, parts, lengthof(parts), kept_mac);
		if (!UNIT_CHECK(st == EF_CRYPTO_OK, "kept hmac returned %s", status_name(st)) ||
			!UNIT_CHECK(memcmp(mac, kept_mac, sizeof(mac)) == 0,
						"message %d (%zu bytes, cut at %zu and %zu): kept MAC differs",
						n, len, cut1, cut2))
			bad++;
	}
#undef NEXT
	unit_case_end();
}

/* Print the counts of one part of the program as a comment line */
static void
report_part(const char *name, UnitCounts before)
{
	UnitCounts	now = unit_counts();

	printf("# %-12s %d passed, %d failed, %d skipped\n", name,
		   now.passed - before.passed, now.failed - before.failed,
		   now.skipped - before.skipped);
}

/* The vector files, in the order of the command line */
static const struct
{
	const char *name;
	int			nfields;
	VectorFn	fn;
}			vector_files[] = {
	{"aes-gcm", 12, gcm_vector},
	{"aes-wrap", 7, wrap_vector},
	{"hmac-sha256", 8, hmac_vector},
	{"hkdf-sha256", 9, hkdf_vector},
};

int
main(int argc, char **argv)
{
	UnitCounts	before;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s GCM.tsv WRAP.tsv HMAC.tsv HKDF.tsv\n", argv[0]);
		return 2;
	}

	/*
	 * Everything twice: with the provider's cipher functions called directly
	 * (what the extension does on OpenSSL 3), then through EVP (what it
	 * falls back to)
	 */
	for (int pass = 0; pass < 2; pass++)
	{
		bool		direct = (pass == 0);
		const char *way = direct ? "" : ", via EVP";
		char		name[32];

		EfCryptoSetDirect(direct);
		unit_case_begin("cipher calls: %s", direct ? "direct" : "through EVP");
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
		UNIT_CHECK(EfCryptoDirectCiphers() == (direct ? 2 : 0),
				   "%d of the two ciphers are called directly", EfCryptoDirectCiphers());
#ifdef OPENSSL_NO_DEPRECATED_3_0
		UNIT_CHECK(!EfCryptoDirectHmac(), "a build without SHA256_Init keeps EVP_MAC");
#else
		/* a FIPS configuration keeps EVP_MAC: SHA256_* would bypass it */
		UNIT_CHECK(EfCryptoDirectHmac() == (direct && !EVP_default_properties_is_fips_enabled(NULL)),
				   "index keys' MACs %s from digest states",
				   EfCryptoDirectHmac() ? "are computed" : "are not computed");
#endif
#else
		UNIT_CHECK(EfCryptoDirectCiphers() == 0, "OpenSSL 1.1.1 has no provider functions to call");
		UNIT_CHECK(!EfCryptoDirectHmac(), "OpenSSL 1.1.1 keeps HMAC_CTX");
#endif
		unit_case_end();

		for (size_t i = 0; i < lengthof(vector_files); i++)
		{
			before = unit_counts();
			run_tsv(argv[i + 1], vector_files[i].nfields, vector_files[i].fn);
			snprintf(name, sizeof(name), "%s%s", vector_files[i].name, way);
			report_part(name, before);
		}

		before = unit_counts();
		check_random();
		check_mem_equal();
		check_gcm_empty();
		check_gcm_tamper();
		check_wrap();
		check_kept();
		check_kept_random();
		check_shutdown();
		snprintf(name, sizeof(name), "checks%s", way);
		report_part(name, before);
	}
	EfCryptoShutdown();
	return unit_report("test_crypto");
}

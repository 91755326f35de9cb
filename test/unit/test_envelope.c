/*-------------------------------------------------------------------------
 *
 * test_envelope.c
 *		Known-answer and tamper tests of the envelope and key derivation
 *
 * Reads test/unit/envelope_vector.txt, whose derived fields an independent
 * Python implementation recomputes (envelope_vector.py), and checks that
 * fixed inputs give exactly those bytes.  Then flips every bit of the
 * envelope and checks that none still opens.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		test/unit/test_envelope.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "unit.h"

#include "crypto.h"
#include "envelope.h"
#include "kdf.h"

#define MAX_FIELDS 16

typedef struct Vector
{
	char		names[MAX_FIELDS][32];
	char		values[MAX_FIELDS][512];
	int			n;
} Vector;

/* Read "name value" lines */
static bool
ReadVector(const char *path, Vector *v)
{
	FILE	   *f = fopen(path, "r");

	if (f == NULL)
		return false;
	v->n = 0;
	while (v->n < MAX_FIELDS &&
		   fscanf(f, "%31s %511s", v->names[v->n], v->values[v->n]) == 2)
		v->n++;
	fclose(f);
	return v->n > 0;
}

/* Return a field decoded from hex; exits if the file lacks it */
static uint8 *
Field(const Vector *v, const char *name, size_t *len)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return unit_hex_decode(v->values[i], len);
	printf("FAIL vector: field %s missing\n", name);
	exit(1);
}

/* Return an integer field */
static int
IntField(const Vector *v, const char *name)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return atoi(v->values[i]);
	printf("FAIL vector: field %s missing\n", name);
	exit(1);
}

static bool
Same(const uint8 *a, size_t alen, const uint8 *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "test/unit/envelope_vector.txt";
	Vector		v;
	size_t		master_len, dek_len, nonce_len, plain_len, ctx_len, env_len,
				kek_len, check_len;
	uint8	   *master, *dek, *nonce, *plain, *ctx, *expect_env, *expect_kek,
			   *expect_check;
	int32		key_id;
	uint8		kek[EF_KEY_LEN];
	uint8		kek2[EF_KEY_LEN];
	uint8		check[EF_CHECK_VALUE_LEN];
	uint8	   *env, *out, *rewrapped;
	size_t		total;
	EnvelopeView view;
	EnvelopeContext context;
	EnvelopeContext none = {false, NULL, 0};
	EnvelopeContext empty = {true, (const uint8 *) "", 0};
	int			opened = 0;

	if (!ReadVector(path, &v))
	{
		printf("FAIL cannot read %s\n", path);
		return 1;
	}
	master = Field(&v, "master_key", &master_len);
	dek = Field(&v, "dek", &dek_len);
	nonce = Field(&v, "nonce", &nonce_len);
	plain = Field(&v, "plaintext", &plain_len);
	ctx = Field(&v, "context", &ctx_len);
	expect_env = Field(&v, "envelope", &env_len);
	expect_kek = Field(&v, "kek", &kek_len);
	expect_check = Field(&v, "check_value", &check_len);
	key_id = IntField(&v, "key_id");
	context = (EnvelopeContext) {true, ctx, ctx_len};

	/* derivation */
	UNIT_CHECK(EfDeriveKek(master, key_id, kek) == EF_CRYPTO_OK &&
			   Same(kek, sizeof(kek), expect_kek, kek_len),
			   "KEK differs from the vector");
	UNIT_CHECK(EfKeyCheckValue(master, key_id, NULL, check) == EF_CRYPTO_OK &&
			   Same(check, sizeof(check), expect_check, check_len),
			   "check value differs from the vector");
	UNIT_CHECK(EfKeyCheckValue(master, key_id, "default", check) == EF_CRYPTO_OK &&
			   Same(check, sizeof(check), expect_check, check_len),
			   "check value in the group \"default\" differs from the vector (0.2.0's)");
	UNIT_CHECK(EfKeyCheckValue(master, key_id + 1, NULL, check) == EF_CRYPTO_OK &&
			   !Same(check, sizeof(check), expect_check, check_len),
			   "check value does not depend on the key id");
	{
		uint8		in_a[EF_CHECK_VALUE_LEN];
		uint8		in_b[EF_CHECK_VALUE_LEN];
		char		too_long[EF_GROUP_MAX_LEN + 2];

		UNIT_CHECK(EfKeyCheckValue(master, key_id, "tenant_a", in_a) == EF_CRYPTO_OK &&
				   EfKeyCheckValue(master, key_id, "tenant_b", in_b) == EF_CRYPTO_OK &&
				   !Same(in_a, sizeof(in_a), expect_check, check_len) &&
				   !Same(in_a, sizeof(in_a), in_b, sizeof(in_b)),
				   "check value does not depend on the index-key group");
		memset(too_long, 'g', sizeof(too_long) - 1);
		too_long[sizeof(too_long) - 1] = '\0';
		UNIT_CHECK(EfKeyCheckValue(master, key_id, too_long, in_a) == EF_CRYPTO_BAD_LENGTH,
				   "a group name longer than EF_GROUP_MAX_LEN is refused");
	}

	/* sealing with fixed inputs gives the vector's bytes */
	total = plain_len + EF_ENVELOPE_OVERHEAD;
	env = malloc(total);
	out = malloc(plain_len + EF_TERM_LEN + 1);	/* room for a misread term envelope */
	rewrapped = malloc(total);
	UNIT_CHECK(EnvelopeSeal(env, key_id, (uint8) IntField(&v, "type_code"), 0, NULL, kek,
							dek, nonce, plain, plain_len, &context) == EF_CRYPTO_OK,
			   "seal failed");
	UNIT_CHECK(Same(env, total, expect_env, env_len),
			   "sealed envelope differs from the vector");

	/* parse and open */
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_OK &&
			   view.key_id == key_id && view.ciphertext_len == plain_len,
			   "parse of the vector failed");
	UNIT_CHECK(EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_OK &&
			   Same(out, plain_len, plain, plain_len),
			   "open of the vector failed");
	UNIT_CHECK(EnvelopeOpen(&view, kek, &none, out) == EF_CRYPTO_AUTH_FAILED,
			   "opened without its context");
	UNIT_CHECK(EnvelopeOpen(&view, kek, &empty, out) == EF_CRYPTO_AUTH_FAILED,
			   "opened with an empty context instead of its own");
	memcpy(kek2, kek, sizeof(kek2));
	kek2[31] ^= 1;
	UNIT_CHECK(EnvelopeOpen(&view, kek2, &context, out) == EF_CRYPTO_AUTH_FAILED,
			   "opened under a wrong KEK");

	/* the header alone gives the key id; short or bad headers are refused */
	{
		int32		head_id = 0;

		UNIT_CHECK(EnvelopeParseHead(env, EF_HEAD_LEN, &head_id) == ENVELOPE_OK &&
				   head_id == key_id, "header parse lost the key id");
		UNIT_CHECK(EnvelopeParseHead(env, EF_HEAD_LEN - 1, &head_id) == ENVELOPE_TOO_SHORT,
				   "a 7-byte header was accepted");
	}

	/* re-wrap changes the key id and wrapped DEK only */
	UNIT_CHECK(EnvelopeRewrap(&view, kek, kek2, key_id + 1, rewrapped) == EF_CRYPTO_OK,
			   "rewrap failed");
	UNIT_CHECK(memcmp(rewrapped + EF_HEAD_LEN + EF_WRAPPED_LEN,
					  env + EF_HEAD_LEN + EF_WRAPPED_LEN,
					  total - EF_HEAD_LEN - EF_WRAPPED_LEN) == 0 &&
			   memcmp(rewrapped, env, EF_OFF_KEY_ID) == 0,
			   "rewrap changed the content bytes");
	UNIT_CHECK(EnvelopeParse(rewrapped, total, &view) == ENVELOPE_OK &&
			   view.key_id == key_id + 1 &&
			   EnvelopeOpen(&view, kek2, &context, out) == EF_CRYPTO_OK &&
			   Same(out, plain_len, plain, plain_len),
			   "rewrapped value does not open under the new key");
	UNIT_CHECK(EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_AUTH_FAILED,
			   "rewrapped value still opens under the old key");

	/* every single-bit change is refused by the parser or the cipher */
	for (size_t i = 0; i < total * 8; i++)
	{
		env[i / 8] ^= (uint8) (1 << (i % 8));
		if (EnvelopeParse(env, total, &view) == ENVELOPE_OK &&
			EnvelopeOpen(&view, kek, &context, out) != EF_CRYPTO_AUTH_FAILED &&
			(i / 8 < EF_OFF_KEY_ID || i / 8 >= EF_HEAD_LEN))
			opened++;
		env[i / 8] ^= (uint8) (1 << (i % 8));
	}
	UNIT_CHECK(opened == 0, "%d bit flips outside the key id still opened", opened);

	/* truncation at every length is refused */
	opened = 0;
	for (size_t len = 0; len < total; len++)
		if (EnvelopeParse(env, len, &view) == ENVELOPE_OK &&
			EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_OK)
			opened++;
	UNIT_CHECK(opened == 0, "%d truncations still opened", opened);

	/* parse statuses */
	env[0] = 2;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_VERSION, "version 2 accepted");
	env[0] = 0;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_NO_VERSION, "version 0 accepted");
	env[0] = 1;
	env[EF_OFF_FLAGS] = 0x80;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_FLAGS, "unknown flag accepted");
	env[EF_OFF_FLAGS] = EF_FLAG_PGLZ | EF_FLAG_LZ4;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_FLAGS, "both compression flags accepted");
	env[EF_OFF_FLAGS] = EF_FLAG_LZ4;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_OK, "lz4 flag refused");
	env[EF_OFF_FLAGS] = 0;
	env[EF_OFF_RESERVED] = 1;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_RESERVED, "reserved byte accepted");
	env[EF_OFF_RESERVED] = 0;
	env[EF_OFF_TYPE] = EF_TYPE_MAX + 1;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_TYPE, "unknown type accepted");
	env[EF_OFF_TYPE] = 0;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_TYPE, "type 0 accepted");
	env[EF_OFF_TYPE] = EF_TYPE_ARRAY;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_TYPE, "array of type 0 accepted");
	env[EF_OFF_TYPE] = EF_TYPE_ARRAY | EF_TYPE_MAX;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_OK, "array type refused");
	env[EF_OFF_TYPE] = 1;
	env[EF_OFF_KEY_ID] = 0x80;
	UNIT_CHECK(EnvelopeParse(env, total, &view) == ENVELOPE_BAD_KEY_ID, "negative key id accepted");
	env[EF_OFF_KEY_ID] = 0;
	UNIT_CHECK(EnvelopeParse(env, EF_ENVELOPE_OVERHEAD - 1, &view) == ENVELOPE_TOO_SHORT,
			   "short envelope accepted");
	UNIT_CHECK(EnvelopeParse(env, 0, &view) == ENVELOPE_TOO_SHORT, "empty envelope accepted");

	/* an empty plaintext seals and opens */
	UNIT_CHECK(EnvelopeSeal(env, 1, EF_TYPE_BYTEA, 0, NULL, kek, dek, nonce, NULL, 0, &none) == EF_CRYPTO_OK &&
			   EnvelopeParse(env, EF_ENVELOPE_OVERHEAD, &view) == ENVELOPE_OK &&
			   EnvelopeOpen(&view, kek, &none, out) == EF_CRYPTO_OK,
			   "empty plaintext does not round-trip");

	/* a term is bound: it opens with its term, and a changed term fails */
	{
		uint8		term[EF_TERM_LEN];
		size_t		ttotal = EF_ENVELOPE_SIZE(plain_len, true);
		uint8	   *tenv = malloc(ttotal);

		memset(term, 0xab, sizeof(term));
		UNIT_CHECK(EnvelopeSeal(tenv, key_id, 1, 0, term, kek, dek, nonce, plain,
								plain_len, &context) == EF_CRYPTO_OK &&
				   EnvelopeParse(tenv, ttotal, &view) == ENVELOPE_OK &&
				   view.term != NULL && memcmp(view.term, term, EF_TERM_LEN) == 0 &&
				   EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_OK &&
				   Same(out, plain_len, plain, plain_len),
				   "an envelope with a term does not round-trip");
		UNIT_CHECK(EnvelopeParse(tenv, ttotal - 1, &view) == ENVELOPE_OK &&
				   EnvelopeParse(tenv, EF_ENVELOPE_SIZE(0, true) - 1, &view) == ENVELOPE_TOO_SHORT,
				   "a term envelope shorter than its fixed fields was accepted");
		tenv[EF_OFF_TERM + 3] ^= 1;
		UNIT_CHECK(EnvelopeParse(tenv, ttotal, &view) == ENVELOPE_OK &&
				   EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_AUTH_FAILED,
				   "a changed term still opened");
		tenv[EF_OFF_TERM + 3] ^= 1;
		tenv[EF_OFF_FLAGS] &= ~EF_FLAG_TERM;
		UNIT_CHECK(EnvelopeParse(tenv, ttotal, &view) != ENVELOPE_OK ||
				   EnvelopeOpen(&view, kek, &context, out) == EF_CRYPTO_AUTH_FAILED,
				   "a term envelope read without its term flag opened");
		free(tenv);
	}

	free(env);
	free(out);
	free(rewrapped);
	return unit_report("test_envelope");
}

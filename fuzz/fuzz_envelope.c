/*-------------------------------------------------------------------------
 *
 * fuzz_envelope.c
 *		libFuzzer harness: parse arbitrary envelope bytes, and open the ones
 *		that parse under a fixed key, with and without a context
 *
 * An envelope that opens must be one sealed under the fixed KEK: the seed
 * corpus holds such envelopes, so mutations around valid ones are explored.
 * Anything else must fail authentication, never crash or read out of
 * bounds (run under AddressSanitizer).
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		fuzz/fuzz_envelope.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "crypto.h"
#include "envelope.h"
#include "kdf.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the fixed master key of the seed corpus, key id 1: bytes 0x00 .. 0x1f */
static uint8 kek[EF_KEY_LEN];
static bool kek_ready = false;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EnvelopeView view;
	EnvelopeContext none = {false, NULL, 0};
	EnvelopeContext ctx = {true, (const uint8 *) "fuzz.context", 12};
	uint8	   *plain;
	int32		key_id;
	EnvelopeHead head;
	EfCryptoStatus s1;
	EfCryptoStatus s2;

	if (!kek_ready)
	{
		uint8		master[EF_KEY_LEN];

		for (int i = 0; i < EF_KEY_LEN; i++)
			master[i] = (uint8) i;
		if (EfDeriveKek(master, 1, kek) != EF_CRYPTO_OK)
			abort();
		kek_ready = true;
	}

	(void) EnvelopeParseHead(data, size, &key_id);
	(void) EnvelopeReadHead(data, size, &head);
	if (EnvelopeParse(data, size, &view) != ENVELOPE_OK)
		return 0;

	plain = malloc(view.ciphertext_len + 1);
	s1 = EnvelopeOpen(&view, kek, &none, plain);
	s2 = EnvelopeOpen(&view, kek, &ctx, plain);
	/* one envelope cannot authenticate under two different contexts */
	if (s1 == EF_CRYPTO_OK && s2 == EF_CRYPTO_OK)
		abort();
	if ((s1 != EF_CRYPTO_OK && s1 != EF_CRYPTO_AUTH_FAILED) ||
		(s2 != EF_CRYPTO_OK && s2 != EF_CRYPTO_AUTH_FAILED))
		abort();
	free(plain);
	return 0;
}

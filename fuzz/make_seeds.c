/*-------------------------------------------------------------------------
 *
 * make_seeds.c
 *		Write the seed corpora: valid envelopes under the fuzzers' fixed key
 *		(with and without context, term and compression flags), and their
 *		text forms
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		fuzz/make_seeds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/base64.h"
#include "compat.h"
#include "crypto.h"
#include "envelope.h"
#include "kdf.h"

#undef fopen
#undef fprintf
#undef snprintf

/* Write one file */
static void
WriteFile(const char *dir, const char *name, const void *data, size_t len)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		fprintf(stderr, "make_seeds: cannot write %s\n", path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	uint8		master[EF_KEY_LEN];
	uint8		kek[EF_KEY_LEN];
	uint8		dek[EF_KEY_LEN];
	uint8		nonce[EF_NONCE_LEN];
	uint8		term[EF_TERM_LEN];
	EnvelopeContext none = {false, NULL, 0};
	EnvelopeContext ctx = {true, (const uint8 *) "fuzz.context", 12};
	const char *plains[] = {"", "a", "hello, world", "a longer plaintext for the fuzzer seeds"};

	if (argc != 3)
	{
		fprintf(stderr, "usage: make_seeds ENVELOPE_DIR TEXT_DIR\n");
		return 2;
	}
	for (int i = 0; i < EF_KEY_LEN; i++)
		master[i] = (uint8) i;
	memset(dek, 0x40, sizeof(dek));
	memset(nonce, 0x60, sizeof(nonce));
	memset(term, 0xab, sizeof(term));
	if (EfDeriveKek(master, 1, kek) != EF_CRYPTO_OK)
		return 1;

	for (int p = 0; p < 4; p++)
		for (int variant = 0; variant < 4; variant++)
		{
			size_t		len = strlen(plains[p]);
			bool		with_term = variant & 1;
			size_t		total = EF_ENVELOPE_SIZE(len, with_term);
			uint8	   *env = malloc(total);
			char	   *text = malloc(pg_b64_enc_len(total) + 5);
			char		name[64];
			int			n;

			if (EnvelopeSeal(env, 1, (uint8) (1 + variant), 0,
							 with_term ? term : NULL, kek, dek, nonce,
							 (const uint8 *) plains[p], len,
							 (variant & 2) ? &ctx : &none) != EF_CRYPTO_OK)
				return 1;
			snprintf(name, sizeof(name), "seed-%d-%d", p, variant);
			WriteFile(argv[1], name, env, total);
			memcpy(text, "ef1:", 4);
			n = EfB64Encode(env, (int) total, text + 4, pg_b64_enc_len(total));
			WriteFile(argv[2], name, text, 4 + n);
			free(env);
			free(text);
		}
	return 0;
}

/*-------------------------------------------------------------------------
 *
 * fuzz_text.c
 *		libFuzzer harness: the text input path, from "ef1:..." to a parsed
 *		envelope
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		fuzz/fuzz_text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "envelope.h"
#include "textform.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *bytes = malloc(TextFormMaxBytes(size));
	char	   *scratch = malloc(size + 1);
	int			len = -1;
	EnvelopeView view;

	if (TextFormDecode((const char *) data, size, bytes, &len, scratch) == NULL)
	{
		if (len < 0 || (size_t) len > TextFormMaxBytes(size))
			abort();
		if (EnvelopeParse((const uint8 *) bytes, len, &view) == ENVELOPE_OK &&
			view.ciphertext + view.ciphertext_len + EF_TAG_LEN !=
			(const uint8 *) bytes + len)
			abort();
	}
	free(bytes);
	free(scratch);
	return 0;
}

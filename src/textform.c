/*-------------------------------------------------------------------------
 *
 * textform.c
 *		Decode the text form of an envelope: "ef1:" and canonical base64
 *
 * Pure C over PostgreSQL's common base64 code, so that the fuzzers link it
 * without a server.  Only the canonical encoding is accepted (padding, no
 * whitespace, no stray bits), so that a value has exactly one text form.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/textform.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "compat.h"
#include "textform.h"

/* The room TextFormDecode needs for the bytes of a text of this length */
size_t
TextFormMaxBytes(size_t textlen)
{
	return textlen / 4 * 3 + 3;
}

/*
 * Decode str (textlen bytes, no terminator needed) into bytes, which has
 * TextFormMaxBytes(textlen) room; scratch needs textlen + 1.  Returns NULL
 * on success, else an errdetail sentence.
 */
const char *
TextFormDecode(const char *str, size_t textlen, char *bytes, int *len,
			   char *scratch)
{
	const char *b64 = str + EF_TEXT_PREFIX_LEN;
	size_t		b64len;

	if (textlen < EF_TEXT_PREFIX_LEN ||
		memcmp(str, EF_TEXT_PREFIX, EF_TEXT_PREFIX_LEN) != 0)
		return "The value must start with \"" EF_TEXT_PREFIX "\".";

	b64len = textlen - EF_TEXT_PREFIX_LEN;
	if (b64len == 0 || b64len % 4 != 0 || b64len > PG_INT32_MAX / 2)
		return "The text after the prefix is not base64 of a whole envelope.";

	*len = EfB64Decode(b64, (int) b64len, (uint8 *) bytes,
					   (int) TextFormMaxBytes(b64len));
	if (*len < 0)
		return "The text after the prefix is not valid base64.";

	if (EfB64Encode((const uint8 *) bytes, *len, scratch, (int) b64len + 1) != (int) b64len ||
		memcmp(scratch, b64, b64len) != 0)
		return "The text after the prefix is not canonical base64.";
	return NULL;
}

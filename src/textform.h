/*-------------------------------------------------------------------------
 *
 * textform.h
 *		The text form of an envelope: "ef1:" and canonical base64
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/textform.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_TEXTFORM_H
#define EF_TEXTFORM_H

#define EF_TEXT_PREFIX		"ef1:"
#define EF_TEXT_PREFIX_LEN	4

extern size_t TextFormMaxBytes(size_t textlen);
extern const char *TextFormDecode(const char *str, size_t textlen,
								  char *bytes, int *len, char *scratch);

#endif							/* EF_TEXTFORM_H */

/*-------------------------------------------------------------------------
 *
 * envelope.h
 *		The encrypted_field envelope: byte layout, parsing and sealing
 *
 * Layout of format version 1 (all integers big-endian; doc/envelope.md):
 *
 *	offset	size	field
 *	0		1		version (1)
 *	1		1		flags (EF_FLAG_*; unknown bits are rejected)
 *	2		1		plaintext type code (EF_TYPE_*, high bit for arrays)
 *	3		1		reserved, always 0
 *	4		4		master key id (> 0)
 *	[8		16		search term, only with EF_FLAG_TERM; t = 16, else 0]
 *	8+t		40		DEK wrapped with AES-256 key wrap under the key's KEK
 *	48+t	12		AES-GCM nonce
 *	60+t	n		ciphertext (n = plaintext length)
 *	60+t+n	16		AES-GCM tag
 *
 * The associated data is bytes 0-3, the search term if any, then one byte
 * saying whether a context was given, then the context.  The key id and the
 * wrapped DEK are left out on purpose: a re-wrap replaces them without
 * touching the content or the term.
 *
 * This file is pure C: no fmgr and no OpenSSL, only crypto.h.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/envelope.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_ENVELOPE_H
#define EF_ENVELOPE_H

#include "crypto.h"

#define EF_FORMAT_VERSION		1

#define EF_OFF_VERSION			0
#define EF_OFF_FLAGS			1
#define EF_OFF_TYPE				2
#define EF_OFF_RESERVED			3
#define EF_OFF_KEY_ID			4
#define EF_HEAD_LEN				8	/* the fixed fields, up to the key id */
#define EF_OFF_TERM				EF_HEAD_LEN
#define EF_TERM_LEN				16
#define EF_WRAPPED_LEN			(EF_KEY_LEN + EF_WRAP_OVERHEAD)
#define EF_HEADER_AAD_LEN		4	/* version, flags, type, reserved */

/* bytes an envelope adds to its plaintext: 76, and 16 more with a term */
#define EF_ENVELOPE_OVERHEAD	(EF_HEAD_LEN + EF_WRAPPED_LEN + EF_NONCE_LEN + EF_TAG_LEN)

/* flag bits; readers reject any other bit, and both compression bits */
#define EF_FLAG_PGLZ			0x01	/* plaintext compressed with pglz */
#define EF_FLAG_LZ4				0x02	/* plaintext compressed with lz4 */
#define EF_FLAG_TERM			0x04	/* a search term follows the key id */
#define EF_FLAGS_KNOWN			(EF_FLAG_PGLZ | EF_FLAG_LZ4 | EF_FLAG_TERM)

/*
 * The largest envelope whose text form can be made: PostgreSQL's base64
 * length computes (len + 2) * 4 in an int (before 18), so a larger one
 * could be stored but never output, nor dumped by pg_dump
 */
#define EF_ENVELOPE_MAX_LEN		(PG_INT32_MAX / 4 - 2)

/* the size of an envelope holding len bytes of plaintext */
#define EF_ENVELOPE_SIZE(len, has_term) \
	((len) + EF_ENVELOPE_OVERHEAD + ((has_term) ? EF_TERM_LEN : 0))

/* plaintext type codes: project-assigned, never a type OID (plaintext.c) */
#define EF_TYPE_TEXT			1
#define EF_TYPE_BYTEA			2
#define EF_TYPE_MAX				24
#define EF_TYPE_ARRAY			0x80	/* an array of the code's type */

typedef enum EnvelopeStatus
{
	ENVELOPE_OK = 0,
	ENVELOPE_TOO_SHORT,
	ENVELOPE_NO_VERSION,		/* version byte 0: never written */
	ENVELOPE_BAD_VERSION,		/* a version newer than this code reads */
	ENVELOPE_BAD_FLAGS,
	ENVELOPE_BAD_RESERVED,
	ENVELOPE_BAD_TYPE,
	ENVELOPE_BAD_KEY_ID
} EnvelopeStatus;

/* A parsed envelope: pointers into the caller's buffer, nothing copied */
typedef struct EnvelopeView
{
	uint8		version;
	uint8		flags;
	uint8		type_code;
	int32		key_id;
	const uint8 *header;		/* the bytes bound as associated data */
	const uint8 *term;			/* EF_TERM_LEN bytes, or NULL */
	const uint8 *wrapped;
	const uint8 *nonce;
	const uint8 *ciphertext;
	size_t		ciphertext_len;
	const uint8 *tag;
} EnvelopeView;

/*
 * The fixed header of a stored value, from its first bytes only, so that
 * metadata, comparisons and ANALYZE read little of a large value
 */
typedef struct EnvelopeHead
{
	uint8		flags;
	uint8		type_code;
	int32		key_id;
	bool		has_term;
	int32		index_key_id;	/* the term's index key; 0 without a term */
	const uint8 *term;			/* EF_TERM_LEN bytes, or NULL if not all read */
} EnvelopeHead;

/* The caller's optional context; present = false differs from empty */
typedef struct EnvelopeContext
{
	bool		present;
	const uint8 *data;
	size_t		len;
} EnvelopeContext;

extern EnvelopeStatus EnvelopeParse(const uint8 *buf, size_t len,
									EnvelopeView *view);
extern EnvelopeStatus EnvelopeParseHead(const uint8 *buf, size_t len,
										int32 *key_id);
extern EnvelopeStatus EnvelopeReadHead(const uint8 *buf, size_t len,
									   EnvelopeHead *head);
extern const char *EnvelopeStatusDetail(EnvelopeStatus status);
extern int32 EnvelopeReadKeyId(const uint8 *buf);
extern int32 EnvelopeTermIndexKeyId(const uint8 *term);
extern void EnvelopeTermSetIndexKeyId(uint8 *term, int32 index_key_id);

extern EfCryptoStatus EnvelopeSeal(uint8 *out, int32 key_id, uint8 type_code,
								   uint8 flags, const uint8 *term,
								   const uint8 *kek, const uint8 *dek,
								   const uint8 *nonce,
								   const uint8 *plain, size_t len,
								   const EnvelopeContext *context);
extern EfCryptoStatus EnvelopeOpen(const EnvelopeView *view, const uint8 *kek,
								   const EnvelopeContext *context,
								   uint8 *plain);
extern EfCryptoStatus EnvelopeRewrap(const EnvelopeView *view,
									 const uint8 *old_kek,
									 const uint8 *new_kek, int32 new_key_id,
									 uint8 *out);

#endif							/* EF_ENVELOPE_H */

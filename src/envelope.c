/*-------------------------------------------------------------------------
 *
 * envelope.c
 *		Parse, validate, seal, open and re-wrap encrypted_field envelopes
 *
 * The layout is described in envelope.h and doc/envelope.md.  Parsing is
 * strict: text input, binary receive and every function that reads a value
 * go through EnvelopeParse, so there is one definition of a valid envelope.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/envelope.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "crypto.h"
#include "envelope.h"
#include "port/pg_bswap.h"
#include "secure.h"

/* Write the big-endian master key id field */
static void
WriteKeyId(uint8 *buf, int32 key_id)
{
	uint32		be = pg_hton32((uint32) key_id);

	memcpy(buf + EF_OFF_KEY_ID, &be, sizeof(be));
}

/* Return the master key id of an envelope whose first 8 bytes are valid */
int32
EnvelopeReadKeyId(const uint8 *buf)
{
	uint32		be;

	memcpy(&be, buf + EF_OFF_KEY_ID, sizeof(be));
	return (int32) pg_ntoh32(be);
}

/* Return the index key id a search term names (its first two bytes) */
int32
EnvelopeTermIndexKeyId(const uint8 *term)
{
	uint16		be;

	memcpy(&be, term, sizeof(be));
	return (int32) pg_ntoh16(be);
}

/* Write the index key id a search term names into its first two bytes */
void
EnvelopeTermSetIndexKeyId(uint8 *term, int32 index_key_id)
{
	uint16		be = pg_hton16((uint16) index_key_id);

	memcpy(term, &be, sizeof(be));
}

/*
 * Check an envelope's structure and describe its parts.
 *
 * The version is checked before the length, so that a value from a newer
 * format is reported as such rather than as malformed.
 */
EnvelopeStatus
EnvelopeParse(const uint8 *buf, size_t len, EnvelopeView *view)
{
	EnvelopeStatus status = EnvelopeParseHead(buf, len, &view->key_id);
	size_t		t;

	if (status != ENVELOPE_OK && status != ENVELOPE_BAD_KEY_ID)
		return status;
	if (len < EF_ENVELOPE_OVERHEAD)
		return ENVELOPE_TOO_SHORT;
	t = (buf[EF_OFF_FLAGS] & EF_FLAG_TERM) ? EF_TERM_LEN : 0;
	if (len < EF_ENVELOPE_OVERHEAD + t)
		return ENVELOPE_TOO_SHORT;
	if ((buf[EF_OFF_FLAGS] & ~EF_FLAGS_KNOWN) != 0 ||
		(buf[EF_OFF_FLAGS] & (EF_FLAG_PGLZ | EF_FLAG_LZ4)) == (EF_FLAG_PGLZ | EF_FLAG_LZ4))
		return ENVELOPE_BAD_FLAGS;
	if (buf[EF_OFF_RESERVED] != 0)
		return ENVELOPE_BAD_RESERVED;
	if ((buf[EF_OFF_TYPE] & ~EF_TYPE_ARRAY) == 0 ||
		(buf[EF_OFF_TYPE] & ~EF_TYPE_ARRAY) > EF_TYPE_MAX)
		return ENVELOPE_BAD_TYPE;
	if (status == ENVELOPE_BAD_KEY_ID)
		return status;

	view->version = buf[EF_OFF_VERSION];
	view->flags = buf[EF_OFF_FLAGS];
	view->type_code = buf[EF_OFF_TYPE];
	view->header = buf;
	view->term = t ? buf + EF_OFF_TERM : NULL;
	view->wrapped = buf + EF_HEAD_LEN + t;
	view->nonce = view->wrapped + EF_WRAPPED_LEN;
	view->ciphertext = view->nonce + EF_NONCE_LEN;
	view->ciphertext_len = len - EF_ENVELOPE_OVERHEAD - t;
	view->tag = buf + len - EF_TAG_LEN;
	return ENVELOPE_OK;
}

/*
 * Check only the fixed header of an envelope (its first EF_HEAD_LEN bytes)
 * and return its key id.  Metadata queries use this to read the key id of a
 * large value without fetching the rest of it.
 */
EnvelopeStatus
EnvelopeParseHead(const uint8 *buf, size_t len, int32 *key_id)
{
	if (len < 1)
		return ENVELOPE_TOO_SHORT;
	if (buf[EF_OFF_VERSION] == 0)
		return ENVELOPE_NO_VERSION;
	if (buf[EF_OFF_VERSION] != EF_FORMAT_VERSION)
		return ENVELOPE_BAD_VERSION;
	if (len < EF_HEAD_LEN)
		return ENVELOPE_TOO_SHORT;
	*key_id = EnvelopeReadKeyId(buf);
	if (*key_id <= 0)
		return ENVELOPE_BAD_KEY_ID;
	return ENVELOPE_OK;
}

/*
 * Check the fixed header of a stored value, of which only the first len
 * bytes were fetched, and describe it: the term is set only if all of it
 * was fetched, its index key id if its first two bytes were.  A value whose
 * flags promise a term shorter than those two bytes is too short.
 */
EnvelopeStatus
EnvelopeReadHead(const uint8 *buf, size_t len, EnvelopeHead *head)
{
	EnvelopeStatus status = EnvelopeParseHead(buf, len, &head->key_id);

	if (status != ENVELOPE_OK)
		return status;
	head->flags = buf[EF_OFF_FLAGS];
	head->type_code = buf[EF_OFF_TYPE];
	head->has_term = (head->flags & EF_FLAG_TERM) != 0;
	head->term = NULL;
	head->index_key_id = 0;
	if (!head->has_term)
		return ENVELOPE_OK;
	if (len < EF_OFF_TERM + 2)
		return ENVELOPE_TOO_SHORT;
	head->index_key_id = EnvelopeTermIndexKeyId(buf + EF_OFF_TERM);
	if (len >= EF_OFF_TERM + EF_TERM_LEN)
		head->term = buf + EF_OFF_TERM;
	return ENVELOPE_OK;
}

/* Describe a parse failure as an errdetail sentence */
const char *
EnvelopeStatusDetail(EnvelopeStatus status)
{
	switch (status)
	{
		case ENVELOPE_OK:
			return "The envelope is valid.";
		case ENVELOPE_TOO_SHORT:
			return "The envelope is shorter than its fixed fields.";
		case ENVELOPE_NO_VERSION:
			return "The envelope's format version byte is zero.";
		case ENVELOPE_BAD_VERSION:
			return "The envelope has an unknown format version.";
		case ENVELOPE_BAD_FLAGS:
			return "The envelope has flag bits this version does not define, or both compression flags.";
		case ENVELOPE_BAD_RESERVED:
			return "The envelope's reserved byte is not zero.";
		case ENVELOPE_BAD_TYPE:
			return "The envelope has an unknown plaintext type code.";
		case ENVELOPE_BAD_KEY_ID:
			return "The envelope's master key id is not positive.";
	}
	return "The envelope is malformed.";
}

/*
 * Build the associated data: the header bytes, the term if any, a context
 * marker, the context
 */
static int
BuildAad(EfBuf *aad, const uint8 *header, const uint8 *term,
		 const EnvelopeContext *context, uint8 *marker)
{
	*marker = context->present ? 1 : 0;
	aad[0].data = header;
	aad[0].len = EF_HEADER_AAD_LEN;
	aad[1].data = term;
	aad[1].len = term ? EF_TERM_LEN : 0;
	aad[2].data = marker;
	aad[2].len = 1;
	aad[3].data = context->data;
	aad[3].len = context->present ? context->len : 0;
	return 4;
}

/*
 * Seal a plaintext into out, which has room for EF_ENVELOPE_SIZE(len, term)
 * bytes.  flags are the compression flags; a non-NULL term adds the term
 * flag and field.  The caller draws the DEK and nonce, so that tests can fix
 * them.
 */
EfCryptoStatus
EnvelopeSeal(uint8 *out, int32 key_id, uint8 type_code, uint8 flags,
			 const uint8 *term, const uint8 *kek,
			 const uint8 *dek, const uint8 *nonce, const uint8 *plain,
			 size_t len, const EnvelopeContext *context)
{
	EfBuf		aad[4];
	uint8		marker;
	int			naad;
	uint8	   *wrapped = out + EF_HEAD_LEN + (term ? EF_TERM_LEN : 0);
	uint8	   *ciphertext = wrapped + EF_WRAPPED_LEN + EF_NONCE_LEN;
	EfCryptoStatus status;

	out[EF_OFF_VERSION] = EF_FORMAT_VERSION;
	out[EF_OFF_FLAGS] = flags | (term ? EF_FLAG_TERM : 0);
	out[EF_OFF_TYPE] = type_code;
	out[EF_OFF_RESERVED] = 0;
	WriteKeyId(out, key_id);
	if (term)
		memcpy(out + EF_OFF_TERM, term, EF_TERM_LEN);
	memcpy(wrapped + EF_WRAPPED_LEN, nonce, EF_NONCE_LEN);

	status = EfKeyWrap(kek, dek, EF_KEY_LEN, wrapped);
	if (status != EF_CRYPTO_OK)
		return status;

	naad = BuildAad(aad, out, term, context, &marker);
	return EfAeadSeal(dek, nonce, aad, naad, plain, len,
					  ciphertext, ciphertext + len);
}

/*
 * Open a parsed envelope into plain (view->ciphertext_len bytes).  On failure
 * plain has been wiped, as it may hold unauthenticated bytes.
 */
EfCryptoStatus
EnvelopeOpen(const EnvelopeView *view, const uint8 *kek,
			 const EnvelopeContext *context, uint8 *plain)
{
	uint8		dek[EF_KEY_LEN];
	EfBuf		aad[4];
	uint8		marker;
	int			naad;
	EfCryptoStatus status;

	status = EfKeyUnwrap(kek, view->wrapped, EF_WRAPPED_LEN, dek);
	if (status == EF_CRYPTO_OK)
	{
		naad = BuildAad(aad, view->header, view->term, context, &marker);
		status = EfAeadOpen(dek, view->nonce, aad, naad, view->ciphertext,
							view->ciphertext_len, view->tag, plain);
	}
	ef_secure_wipe(dek, sizeof(dek));
	if (status != EF_CRYPTO_OK)
		ef_secure_wipe(plain, view->ciphertext_len);
	return status;
}

/*
 * Copy a parsed envelope into out with its DEK wrapped under another key.
 * The content bytes are copied unchanged: the DEK never changes.
 */
EfCryptoStatus
EnvelopeRewrap(const EnvelopeView *view, const uint8 *old_kek,
			   const uint8 *new_kek, int32 new_key_id, uint8 *out)
{
	uint8		dek[EF_KEY_LEN];
	size_t		total = EF_ENVELOPE_SIZE(view->ciphertext_len, view->term != NULL);
	EfCryptoStatus status;

	status = EfKeyUnwrap(old_kek, view->wrapped, EF_WRAPPED_LEN, dek);
	if (status == EF_CRYPTO_OK)
	{
		memcpy(out, view->header, total);
		WriteKeyId(out, new_key_id);
		status = EfKeyWrap(new_kek, dek, EF_KEY_LEN,
						   out + (view->wrapped - view->header));
	}
	ef_secure_wipe(dek, sizeof(dek));
	return status;
}

/*-------------------------------------------------------------------------
 *
 * ef_type.c
 *		Text and binary I/O of the encrypted_field type
 *
 * Input in either form ends in EnvelopeParse, so a value that gets into a
 * table is always a structurally valid envelope.  Whether it decrypts is
 * only known with the key.  Errors never echo the input: it may be a value
 * someone is probing with.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_type.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "compat.h"
#include "ef_report.h"
#include "ef_type.h"
#include "envelope.h"
#include "libpq/pqformat.h"
#include "textform.h"
#include "utils/memutils.h"

/*
 * Copy up to want leading bytes of a stored value into out; return how many
 * it has.  An inline value is read in place; only a toasted one is fetched,
 * as a slice that is freed at once, since comparisons run per row in
 * contexts that live for a whole sort.
 */
size_t
EfReadHead(Datum value, uint8 *out, size_t want)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	struct varlena *head = v;
	size_t		len;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		head = PG_DETOAST_DATUM_SLICE(value, 0, want);
	len = Min(VARSIZE_ANY_EXHDR(head), want);
	memcpy(out, VARDATA_ANY(head), len);
	if (head != v)
		pfree(head);
	return len;
}

/* Validate envelope bytes from input and wrap them in a new value */
static EncryptedField *
MakeValidated(const char *bytes, int len, EfEnvelopeSource source)
{
	EnvelopeView view;
	EnvelopeStatus status;
	EncryptedField *result;

	/* what this version stores can always be output and dumped as text */
	if (len > EF_ENVELOPE_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("encrypted value is too large"),
				 errdetail("The envelope is %d bytes long; a value holds at most %d, so that its text form can be output and dumped.",
						   len, EF_ENVELOPE_MAX_LEN)));
	status = EnvelopeParse((const uint8 *) bytes, len, &view);
	if (status != ENVELOPE_OK)
		ef_envelope_report(status, len > 0 ? (uint8) bytes[0] : 0, source);

	result = palloc(EF_SIZE(len));
	SET_VARSIZE(result, EF_SIZE(len));
	memcpy(result->data, bytes, len);
	return result;
}

/* Raise the error for text input that is not ef1: and canonical base64 */
static void
BadTextInput(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type encrypted_field"),
			 errdetail_internal("%s", detail)));
}

PG_FUNCTION_INFO_V1(ef_in);
/* Convert the text form to internal representation */
Datum
ef_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	size_t		textlen = strlen(str);
	char	   *bytes;
	char	   *scratch;
	const char *problem;
	int			len = 0;

	if (textlen > MaxAllocSize / 2)
		BadTextInput("The value is too long.");
	bytes = palloc(TextFormMaxBytes(textlen));
	scratch = palloc(textlen + 1);
	problem = TextFormDecode(str, textlen, bytes, &len, scratch);
	if (problem != NULL)
		BadTextInput(problem);
	pfree(scratch);
	PG_RETURN_ENCRYPTED_FIELD_P(MakeValidated(bytes, len, EF_SOURCE_TEXT));
}

PG_FUNCTION_INFO_V1(ef_out);
/* Convert internal representation to the text form */
Datum
ef_out(PG_FUNCTION_ARGS)
{
	EncryptedField *value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	int			len = (int) EF_LEN(value);
	int			enclen;
	char	   *out;
	int			n;

	/* only a value stored by an earlier version is larger */
	if (len > EF_ENVELOPE_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("encrypted value is too large for its text form"),
				 errdetail("The value's envelope is %d bytes long; the text form holds at most %d.",
						   len, EF_ENVELOPE_MAX_LEN),
				 errhint("Copy it in binary format, or decrypt it and encrypt it again in smaller parts.")));
	enclen = pg_b64_enc_len(len);
	out = palloc(EF_TEXT_PREFIX_LEN + enclen + 1);
	memcpy(out, EF_TEXT_PREFIX, EF_TEXT_PREFIX_LEN);
	n = EfB64Encode(EF_DATA(value), len, out + EF_TEXT_PREFIX_LEN, enclen);
	if (n < 0)
		elog(ERROR, "could not encode encrypted_field value as base64");
	out[EF_TEXT_PREFIX_LEN + n] = '\0';
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(ef_recv);
/* Convert external binary representation to internal representation */
Datum
ef_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *bytes = pq_getmsgbytes(buf, len);

	PG_RETURN_ENCRYPTED_FIELD_P(MakeValidated(bytes, len, EF_SOURCE_BINARY));
}

PG_FUNCTION_INFO_V1(ef_send);
/* Convert internal representation to the external binary representation */
Datum
ef_send(PG_FUNCTION_ARGS)
{
	EncryptedField *value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) EF_DATA(value), (int) EF_LEN(value));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

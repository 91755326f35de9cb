/*-------------------------------------------------------------------------
 *
 * ef_report.c
 *		Turn provider and envelope statuses into PostgreSQL errors
 *
 * The provider and the envelope code never raise errors themselves; callers
 * wipe their secrets, then call here.  Every failure the cipher cannot tell
 * apart (a wrong key, an altered byte, a wrong context) is one message, so
 * that the error reveals nothing about which it was.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ef_report.h"

/* Raise the error for a failed provider call */
void
ef_crypto_report(EfCryptoStatus status)
{
	switch (status)
	{
		case EF_CRYPTO_AUTH_FAILED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not decrypt value"),
					 errdetail("The value was altered, or the key or context does not match the one it was encrypted with.")));
			break;
		case EF_CRYPTO_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("value is too large to encrypt")));
			break;
		case EF_CRYPTO_NO_RANDOM:
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
			break;
		case EF_CRYPTO_OK:
		case EF_CRYPTO_INTERNAL:
			break;
	}
	elog(ERROR, "OpenSSL cipher operation failed");
}

/* Raise the error for an envelope that did not parse */
void
ef_envelope_report(EnvelopeStatus status, int version, EfEnvelopeSource source)
{
	if (status == ENVELOPE_BAD_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported encrypted_field format version %d", version),
				 errhint("The value was written by a newer version of encrypted_field; update the extension to read it.")));

	switch (source)
	{
		case EF_SOURCE_TEXT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type encrypted_field"),
					 errdetail_internal("%s", EnvelopeStatusDetail(status))));
			break;
		case EF_SOURCE_BINARY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary representation for type encrypted_field"),
					 errdetail_internal("%s", EnvelopeStatusDetail(status))));
			break;
		case EF_SOURCE_STORED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid encrypted_field value"),
					 errdetail_internal("%s", EnvelopeStatusDetail(status))));
			break;
	}
	pg_unreachable();
}

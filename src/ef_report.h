/*-------------------------------------------------------------------------
 *
 * ef_report.h
 *		Turn provider and envelope statuses into PostgreSQL errors
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REPORT_H
#define EF_REPORT_H

#include "compat.h"
#include "crypto.h"
#include "envelope.h"

/*
 * A master key was given where it may be exposed (in a statement's text, or
 * a statement logged before the library loaded): refused.  Class 28, invalid
 * authorization specification, with a subclass of our own.
 */
#define ERRCODE_EF_KEY_EXPOSED	MAKE_SQLSTATE('2','8','E','F','1')

/*
 * Raise an error while a master key argument is in play, keeping the
 * statement out of the server log (errhidestmt): the statement may hold the
 * key as a literal, and log_min_error_statement would otherwise write it
 * next to the error
 */
#define KEY_ERROR(code, ...) \
	ereport(ERROR, (errcode(code), errhidestmt(true), __VA_ARGS__))

/* Where an envelope came from decides how a malformed one is reported */
typedef enum EfEnvelopeSource
{
	EF_SOURCE_TEXT,				/* text input: invalid_text_representation */
	EF_SOURCE_BINARY,			/* binary receive: invalid_binary_representation */
	EF_SOURCE_STORED			/* a stored value: data_corrupted */
} EfEnvelopeSource;

EF_NORETURN extern void ef_crypto_report(EfCryptoStatus status);
EF_NORETURN extern void ef_envelope_report(EnvelopeStatus status, int version,
										   EfEnvelopeSource source);

#endif							/* EF_REPORT_H */

/*-------------------------------------------------------------------------
 *
 * ef_report.h
 *		Turn provider and envelope statuses into PostgreSQL errors
 *
 * IDENTIFICATION
 *		src/ef_report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REPORT_H
#define EF_REPORT_H

#include "crypto.h"
#include "envelope.h"

/* Where an envelope came from decides how a malformed one is reported */
typedef enum EfEnvelopeSource
{
	EF_SOURCE_TEXT,				/* text input: invalid_text_representation */
	EF_SOURCE_BINARY,			/* binary receive: invalid_binary_representation */
	EF_SOURCE_STORED			/* a stored value: data_corrupted */
} EfEnvelopeSource;

extern void ef_crypto_report(EfCryptoStatus status) pg_attribute_noreturn();
extern void ef_envelope_report(EnvelopeStatus status, int version,
							   EfEnvelopeSource source) pg_attribute_noreturn();

#endif							/* EF_REPORT_H */

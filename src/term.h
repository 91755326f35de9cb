/*-------------------------------------------------------------------------
 *
 * term.h
 *		Blind-index search terms: keyed MACs of normalised plaintext
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/term.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_TERM_H
#define EF_TERM_H

#include "envelope.h"
#include "keystore.h"

/* How text is normalised before its term is computed */
typedef enum TermNormalize
{
	TERM_EXACT = 0,
	TERM_LOWER = 1,
	TERM_LOWER_TRIM = 2,
	TERM_NFKC_LOWER_TRIM = 3
} TermNormalize;

/* A search term as SQL sees it: the type encrypted_field_term */
typedef struct EncryptedFieldTerm
{
	uint8		bytes[EF_TERM_LEN];
} EncryptedFieldTerm;

/* the most terms ef_terms() returns: one per distinct index key held */
#define EF_TERMS_MAX			(EF_MAX_HELD_KEYS * EF_INDEX_KEYS_HELD)

extern TermNormalize TermNormalizeByName(const char *name, size_t len);
extern void TermCheckBeforeCopy(TermNormalize normalize, uint8 type_code);
extern void TermCompute(const char *domain, size_t domain_len,
						TermNormalize normalize, uint8 type_code,
						const char *data, size_t len, uint8 *term,
						const HeldKey *holder);
extern int	TermComputeAll(const char *domain, size_t domain_len,
						   TermNormalize normalize, uint8 type_code,
						   const char *data, size_t len,
						   uint8 (*terms)[EF_TERM_LEN], int max);

#endif							/* EF_TERM_H */

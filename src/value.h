/*-------------------------------------------------------------------------
 *
 * value.h
 *		Sealing and opening encrypted values: envelope, type, compression, term
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/value.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_VALUE_H
#define EF_VALUE_H

#include "envelope.h"
#include "keystore.h"
#include "term.h"

/*
 * A stored value: a varlena holding one envelope (envelope.h).  Values are
 * read with the packed macros: short values keep their one-byte header and
 * are not copied, so use EF_DATA and EF_LEN, never VARDATA.
 */
typedef struct EncryptedField
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		data[FLEXIBLE_ARRAY_MEMBER];	/* the envelope */
} EncryptedField;

#define EF_DATA(x)						((const uint8 *) VARDATA_ANY(x))
#define EF_LEN(x)						VARSIZE_ANY_EXHDR(x)
#define EF_SIZE(envlen)					add_size(VARHDRSZ, (envlen))

extern void EnvelopeParseStored(const EncryptedField *value,
								EnvelopeView *view);
extern const HeldKey *KeyForWrapping(bool chosen, int32 key_id);
extern EncryptedField *SealCompressed(const HeldKey *key, uint8 type_code,
									  const uint8 *term, const char *plain,
									  size_t len, const EnvelopeContext *context);
extern struct varlena *OpenValue(const EncryptedField *value,
								 const EnvelopeContext *context,
								 uint8 *type_code);
extern EncryptedField *RewrapValue(const EncryptedField *value,
								   bool to_chosen, int32 to_key_id);
extern EncryptedField *RetermValue(const EncryptedField *value,
								   const EnvelopeContext *context,
								   const char *domain, size_t domain_len,
								   TermNormalize normalize);

#endif							/* EF_VALUE_H */

/*-------------------------------------------------------------------------
 *
 * ef_type.h
 *		The encrypted_field SQL type: a varlena holding one envelope
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_type.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_TYPE_H
#define EF_TYPE_H

#include "envelope.h"
#include "fmgr.h"
#include "textform.h"

/*
 * The envelope bytes follow the varlena header; envelope.h defines their
 * layout.  Values are read with the packed macros: short values keep their
 * one-byte header and are not copied, so use EF_DATA and EF_LEN, never
 * VARDATA.
 */
typedef struct EncryptedField
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		data[FLEXIBLE_ARRAY_MEMBER];	/* the envelope */
} EncryptedField;

#define DatumGetEncryptedFieldPP(x)		((EncryptedField *) PG_DETOAST_DATUM_PACKED(x))
#define PG_GETARG_ENCRYPTED_FIELD_PP(n)	DatumGetEncryptedFieldPP(PG_GETARG_DATUM(n))
#define PG_RETURN_ENCRYPTED_FIELD_P(x)	PG_RETURN_POINTER(x)
#define EF_DATA(x)						((const uint8 *) VARDATA_ANY(x))
#define EF_LEN(x)						VARSIZE_ANY_EXHDR(x)
#define EF_SIZE(envlen)					add_size(VARHDRSZ, (envlen))

extern void EnvelopeParseStored(const EncryptedField *value,
								EnvelopeView *view);
extern size_t EfReadHead(Datum value, uint8 *out, size_t want);

#endif							/* EF_TYPE_H */

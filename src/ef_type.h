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
#include "value.h"

#define DatumGetEncryptedFieldPP(x)		((EncryptedField *) PG_DETOAST_DATUM_PACKED(x))
#define PG_GETARG_ENCRYPTED_FIELD_PP(n)	DatumGetEncryptedFieldPP(PG_GETARG_DATUM(n))
#define PG_RETURN_ENCRYPTED_FIELD_P(x)	PG_RETURN_POINTER(x)

extern size_t EfReadHead(Datum value, uint8 *out, size_t want);

#endif							/* EF_TYPE_H */

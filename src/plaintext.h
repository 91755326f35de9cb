/*-------------------------------------------------------------------------
 *
 * plaintext.h
 *		Which SQL types can be encrypted, and their bytes inside an envelope
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/plaintext.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_PLAINTEXT_H
#define EF_PLAINTEXT_H

#include "envelope.h"
#include "fmgr.h"

/*
 * The text types' codes, which search normalisation applies to, beside
 * envelope.h's EF_TYPE_TEXT; the other codes are only in plaintext.c's table
 */
#define EF_TYPE_VARCHAR			3
#define EF_TYPE_BPCHAR			20

/*
 * What a call site needs to turn values of one type into bytes and back,
 * looked up once and kept in fn_extra, so the per-row path reads no catalog.
 */
typedef struct PlaintextIO
{
	Oid			typid;			/* the SQL type (a domain's base type) */
	uint8		type_code;		/* its envelope type code */
	int			rep;			/* how its bytes are made: see plaintext.c */
	Oid			ioparam;
	int16		typlen;			/* to wipe a decoded value's bytes */
	bool		typbyval;
	FmgrInfo	to_bytes;		/* send or output function */
	FmgrInfo	from_bytes;		/* receive or input function */
	FmgrInfo	output;			/* text output, for ef_decrypt */
} PlaintextIO;

extern uint8 PlaintextTypeCode(Oid typid);
extern Oid	PlaintextVectorElement(Oid typid);
extern Oid	PlaintextTypeOid(uint8 type_code);
extern PlaintextIO *PlaintextLookup(FmgrInfo *flinfo, Oid typid);
extern PlaintextIO *PlaintextLookupCode(FmgrInfo *flinfo, uint8 type_code);
extern struct varlena *PlaintextToBytes(PlaintextIO *io, Datum value,
										bool *is_copy);
extern Datum PlaintextFromBytes(PlaintextIO *io, struct varlena *bytes);
extern bool PlaintextIsTextForm(PlaintextIO *io);
extern void PlaintextValidateText(PlaintextIO *io, struct varlena *bytes);
extern char *PlaintextToCString(PlaintextIO *io, struct varlena *bytes);

#endif							/* EF_PLAINTEXT_H */

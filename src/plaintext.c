/*-------------------------------------------------------------------------
 *
 * plaintext.c
 *		Map SQL types to the envelope's plaintext type codes and back
 *
 * The envelope records a project-assigned code, never a type OID: OIDs of
 * anything but built-in types differ between clusters, and a value must
 * decrypt to the same type after a dump and restore.  Text and bytea are
 * stored as their raw bytes (text in the database encoding).
 *
 * IDENTIFICATION
 *		src/plaintext.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "envelope.h"
#include "plaintext.h"
#include "utils/lsyscache.h"

/*
 * Return the type code for a SQL type, or 0 if it cannot be encrypted.  A
 * domain is encrypted as its base type: its constraints held on the way in,
 * and decrypting gives the base type.
 */
uint8
PlaintextTypeCode(Oid typid)
{
	switch (getBaseType(typid))
	{
		case TEXTOID:
			return EF_TYPE_TEXT;
		case BYTEAOID:
			return EF_TYPE_BYTEA;
		default:
			return 0;
	}
}

/* Return the SQL type of a valid type code */
Oid
PlaintextTypeOid(uint8 type_code)
{
	switch (type_code)
	{
		case EF_TYPE_TEXT:
			return TEXTOID;
		case EF_TYPE_BYTEA:
			return BYTEAOID;
		default:
			elog(ERROR, "unexpected plaintext type code %d", type_code);
	}
	return InvalidOid;			/* keep compiler quiet */
}

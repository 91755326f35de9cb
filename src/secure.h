/*-------------------------------------------------------------------------
 *
 * secure.h
 *		Wiping secrets from memory before it is released
 *
 * explicit_bzero() cannot be optimised away; PostgreSQL supplies a portable
 * one in src/port where the C library lacks it.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/secure.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_SECURE_H
#define EF_SECURE_H

#include <string.h>

/* Wipe a buffer that held a secret */
static inline void
ef_secure_wipe(void *ptr, size_t len)
{
	if (ptr != NULL && len > 0)
		explicit_bzero(ptr, len);
}

/* Wipe a palloc'd buffer that held a secret, then free it */
static inline void
ef_secure_pfree(void *ptr, size_t len)
{
	if (ptr == NULL)
		return;
	explicit_bzero(ptr, len);
	pfree(ptr);
}

/*
 * Wipe and free a detoasted copy of a varlena argument.  The original datum
 * belongs to the caller (a plan constant, a tuple), so it is left alone; only
 * a copy made for us is ours to wipe.
 */
#define EF_WIPE_IF_COPY(ptr, n) \
	do { \
		if ((Pointer) (ptr) != PG_GETARG_POINTER(n)) \
			ef_secure_pfree((ptr), VARSIZE_ANY(ptr)); \
	} while (0)

#endif							/* EF_SECURE_H */

/*-------------------------------------------------------------------------
 *
 * randpool.c
 *		Random bytes for data keys and nonces, drawn from OpenSSL in bulk
 *
 * Every encryption needs 44 fresh random bytes (a data key and a nonce).
 * OpenSSL 3.0's RAND_bytes costs about as much per call for 44 bytes as for
 * 4 kB, more than the rest of an encryption together, so the backend draws
 * 4 kB at a time and hands out slices.  The pool lives in locked pages
 * (lockedmem.c), like the key store, and every slice is wiped as it is
 * handed out.  It belongs to one process: a pool seen from another PID (a
 * fork) is discarded, never reused.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/randpool.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "crypto.h"
#include "lockedmem.h"
#include "miscadmin.h"
#include "randpool.h"
#include "storage/ipc.h"

#define POOL_SIZE	4096

static uint8 *pool = NULL;
static size_t pool_mapped = 0;
static size_t pool_left = 0;
static int	pool_pid = 0;

/* Wipe and unmap the pool when the backend exits */
static void
RandPoolAtExit(int code, Datum arg)
{
	if (pool == NULL)
		return;
	LockedPagesFree(pool, pool_mapped);
	pool = NULL;
}

/* Map the pool's page once per process */
static bool
RandPoolEnsure(void)
{
	void	   *page;

	if (pool != NULL)
		return true;
	page = LockedPagesAlloc(POOL_SIZE, &pool_mapped);
	if (page == NULL)
		return false;
	pool = page;
	pool_left = 0;
	pool_pid = MyProcPid;
	on_proc_exit(RandPoolAtExit, (Datum) 0);
	return true;
}

/* Fill out with len random bytes; large requests go to OpenSSL directly */
EfCryptoStatus
RandPoolBytes(uint8 *out, size_t len)
{
	uint8	   *slice;

	if (len > POOL_SIZE / 8 || !RandPoolEnsure())
		return EfRandomBytes(out, len);

	if (pool_pid != MyProcPid)
	{
		explicit_bzero(pool, POOL_SIZE);
		pool_left = 0;
		pool_pid = MyProcPid;
	}
	if (pool_left < len)
	{
		EfCryptoStatus status = EfRandomBytes(pool, POOL_SIZE);

		if (status != EF_CRYPTO_OK)
		{
			explicit_bzero(pool, POOL_SIZE);
			pool_left = 0;
			return status;
		}
		pool_left = POOL_SIZE;
	}
	slice = pool + POOL_SIZE - pool_left;
	memcpy(out, slice, len);
	explicit_bzero(slice, len);
	pool_left -= len;
	return EF_CRYPTO_OK;
}

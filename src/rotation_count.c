/*-------------------------------------------------------------------------
 *
 * rotation_count.c
 *		A count of index key rotations, shared by every backend
 *
 * A session holds the index keys it read when it unlocked its master keys.
 * When another session's rotation commits, this count goes up, and a session
 * that sees it changed reads the registry again before it computes a term,
 * so that it does not go on writing terms under the old index key.  The
 * count lives in shared memory, which only a library in
 * shared_preload_libraries can have; without it, sessions must unlock again
 * after a rotation.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/rotation_count.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "rotation_count.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

static pg_atomic_uint64 *rotation_count = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
RotationCountShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(pg_atomic_uint64)));
}

static void
RotationCountShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	/* the segment's name since 0.3.0, as pg_shmem_allocations shows it */
	rotation_count = ShmemInitStruct("encrypted_field index key generation",
								 sizeof(pg_atomic_uint64), &found);
	if (!found)
		pg_atomic_init_u64(rotation_count, 0);
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the shared count, when loaded by shared_preload_libraries */
void
RotationCountInstallHooks(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RotationCountShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = RotationCountShmemStartup;
}

/* Read the count; false if there is none (the library was not preloaded) */
bool
RotationCountRead(uint64 *value)
{
	if (rotation_count == NULL)
		return false;
	*value = pg_atomic_read_u64(rotation_count);
	return true;
}

/* Count a rotation that has committed */
void
RotationCountBump(void)
{
	if (rotation_count != NULL)
		pg_atomic_fetch_add_u64(rotation_count, 1);
}

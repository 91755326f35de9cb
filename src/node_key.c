/*-------------------------------------------------------------------------
 *
 * node_key.c
 *		This server's own X25519 key, and the forwarded key sets it has seen
 *		end
 *
 * On Citus, the coordinator seals the keys it forwards for one transaction
 * to each worker's public key (citus_forward.c).  The private key is made
 * at server start, in shared memory, and never leaves it through SQL: no
 * file holds it, so a restart makes every earlier sealed set useless, and
 * a role that can read files or settings cannot get it.
 *
 * A sealed set travels in statement text, which the worker's log may keep.
 * So that a copy read from the log cannot be used again, the worker
 * remembers the ids of the sets whose transactions have ended (the first
 * worker backend to finish the transaction that used a set records it) and
 * refuses them; when the ring of remembered ids is full, the oldest goes
 * and every set made before it is refused too.
 *
 * Shared memory needs shared_preload_libraries: without it this node has
 * no key, and cannot receive forwarded keys.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/node_key.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "crypto_x25519.h"
#include "lockedmem.h"
#include "miscadmin.h"
#include "node_key.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#define EF_ENDED_MAX	16384
/* a set made this far ahead of this server's clock is refused */
#define EF_FORWARD_SKEW_USECS	(60 * USECS_PER_SEC)

typedef struct EndedSet
{
	uint8		id[EF_FORWARD_ID_LEN];
	TimestampTz created;
} EndedSet;

typedef struct NodeKeyShared
{
	LWLock	   *lock;
	bool		ready;
	uint8		pub[EF_NODE_KEY_LEN];
	/* sets made at or before this time are refused: their ids were dropped */
	TimestampTz horizon;
	int			count;
	EndedSet	ended[EF_ENDED_MAX];
} NodeKeyShared;

static NodeKeyShared *node_key = NULL;

/*
 * The private key: in a page of its own, made by the postmaster, that no
 * core dump holds; backends inherit it when they are forked
 */
static uint8 *node_priv = NULL;
static size_t node_priv_mapped = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
NodeKeyShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(NodeKeyShared)));
	RequestNamedLWLockTranche("encrypted_field node key", 1);
}

static void
NodeKeyShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	node_key = ShmemInitStruct("encrypted_field node key",
							   sizeof(NodeKeyShared), &found);
	if (!found)
	{
		memset(node_key, 0, sizeof(NodeKeyShared));
		node_key->lock = &(GetNamedLWLockTranche("encrypted_field node key"))->lock;
		node_key->horizon = DT_NOBEGIN;
		/* without a key the node simply cannot receive forwarded keys */
		if (node_priv == NULL)
			node_priv = LockedPagesAlloc(EF_NODE_KEY_LEN, &node_priv_mapped);
		node_key->ready = node_priv != NULL &&
			EfX25519Keypair(node_priv, node_key->pub) == EF_CRYPTO_OK;
		if (!node_key->ready)
			ereport(LOG,
					(errmsg("encrypted_field: could not make this server's key; it cannot receive keys forwarded by a Citus coordinator")));
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the shared key, when loaded by shared_preload_libraries */
void
NodeKeyInstallHooks(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = NodeKeyShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = NodeKeyShmemStartup;
}

/* Has this server a key? */
bool
NodeKeyAvailable(void)
{
	return node_key != NULL && node_key->ready;
}

/* Copy this server's public key; false without one */
bool
NodeKeyPublic(uint8 *pub)
{
	if (!NodeKeyAvailable())
		return false;
	memcpy(pub, node_key->pub, EF_NODE_KEY_LEN);
	return true;
}

/*
 * The secret this server shares with the holder of a peer's key: the
 * private key is copied to the stack for the one computation and wiped
 */
bool
NodeKeyAgree(const uint8 *peer_pub, uint8 *shared)
{
	uint8		priv[EF_NODE_KEY_LEN];
	bool		ok;

	if (!NodeKeyAvailable())
		return false;
	if (node_priv == NULL)
		return false;
	memcpy(priv, node_priv, EF_NODE_KEY_LEN);
	ok = EfX25519(priv, peer_pub, shared) == EF_CRYPTO_OK;
	explicit_bzero(priv, sizeof(priv));
	return ok;
}

/*
 * May a set made at this time, with this id, still be opened?  Not if it is
 * older than max_age seconds or made in this server's future, not if its
 * transaction has ended here, and not if it is no newer than the newest set
 * whose id had to be dropped from the ring while it was still young
 */
NodeKeySetState
NodeKeyForwardState(const uint8 *id, TimestampTz created, int max_age)
{
	TimestampTz now = GetCurrentTimestamp();
	NodeKeySetState state = NODE_KEY_SET_OPEN;

	if (node_key == NULL)
		return NODE_KEY_SET_UNRECORDED;
	if (created < now - (TimestampTz) max_age * USECS_PER_SEC)
		return NODE_KEY_SET_AGED;
	if (created > now + EF_FORWARD_SKEW_USECS)
		return NODE_KEY_SET_FUTURE;
	LWLockAcquire(node_key->lock, LW_SHARED);
	for (int i = 0; state == NODE_KEY_SET_OPEN && i < node_key->count; i++)
		if (memcmp(node_key->ended[i].id, id, EF_FORWARD_ID_LEN) == 0)
			state = NODE_KEY_SET_ENDED;
	if (state == NODE_KEY_SET_OPEN && created <= node_key->horizon)
		state = NODE_KEY_SET_DROPPED;
	LWLockRelease(node_key->lock);
	return state;
}

/*
 * Remember that the transaction that received this set has ended.  When
 * the ring is full, the oldest entry goes; if it was still young enough to
 * be opened, every set made up to it is refused from then on, but never one
 * made after now, so that sets made in the future cannot stop this server
 * from taking keys.  Called from transaction callbacks: it must not fail.
 */
void
NodeKeyForwardEnd(const uint8 *id, TimestampTz created, int max_age)
{
	TimestampTz now = GetCurrentTimestamp();
	int			slot = -1;

	if (node_key == NULL || created > now + EF_FORWARD_SKEW_USECS ||
		created < now - (TimestampTz) max_age * USECS_PER_SEC)
		return;					/* refused by its age anyway */
	LWLockAcquire(node_key->lock, LW_EXCLUSIVE);
	for (int i = 0; i < node_key->count; i++)
	{
		if (memcmp(node_key->ended[i].id, id, EF_FORWARD_ID_LEN) == 0)
		{
			LWLockRelease(node_key->lock);
			return;
		}
		if (slot < 0 || node_key->ended[i].created < node_key->ended[slot].created)
			slot = i;
	}
	if (node_key->count < EF_ENDED_MAX)
		slot = node_key->count++;
	else if (node_key->ended[slot].created >= now - (TimestampTz) max_age * USECS_PER_SEC)
		node_key->horizon = Max(node_key->horizon,
								Min(node_key->ended[slot].created, now));
	memcpy(node_key->ended[slot].id, id, EF_FORWARD_ID_LEN);
	node_key->ended[slot].created = created;
	LWLockRelease(node_key->lock);
}

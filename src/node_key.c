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
#include "miscadmin.h"
#include "node_key.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#define EF_ENDED_MAX	4096

typedef struct EndedSet
{
	uint8		id[EF_FORWARD_ID_LEN];
	TimestampTz created;
} EndedSet;

typedef struct NodeKeyShared
{
	LWLock	   *lock;
	bool		ready;
	uint8		priv[EF_NODE_KEY_LEN];
	uint8		pub[EF_NODE_KEY_LEN];
	/* sets made at or before this time are refused: their ids were dropped */
	TimestampTz horizon;
	int			next;
	int			count;
	EndedSet	ended[EF_ENDED_MAX];
} NodeKeyShared;

static NodeKeyShared *node_key = NULL;
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
		node_key->ready = EfX25519Keypair(node_key->priv, node_key->pub) == EF_CRYPTO_OK;
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
	memcpy(priv, node_key->priv, EF_NODE_KEY_LEN);
	ok = EfX25519(priv, peer_pub, shared) == EF_CRYPTO_OK;
	explicit_bzero(priv, sizeof(priv));
	return ok;
}

/* Has the transaction that used this forwarded set ended? */
bool
NodeKeyForwardEnded(const uint8 *id, TimestampTz created)
{
	bool		ended;

	if (node_key == NULL)
		return true;
	LWLockAcquire(node_key->lock, LW_SHARED);
	ended = created <= node_key->horizon;
	for (int i = 0; !ended && i < node_key->count; i++)
		ended = memcmp(node_key->ended[i].id, id, EF_FORWARD_ID_LEN) == 0;
	LWLockRelease(node_key->lock);
	return ended;
}

/*
 * Remember that the transaction that used this set has ended.  Called from
 * transaction callbacks: it must not fail.
 */
void
NodeKeyForwardEnd(const uint8 *id, TimestampTz created)
{
	EndedSet   *slot;

	if (node_key == NULL)
		return;
	LWLockAcquire(node_key->lock, LW_EXCLUSIVE);
	for (int i = 0; i < node_key->count; i++)
		if (memcmp(node_key->ended[i].id, id, EF_FORWARD_ID_LEN) == 0)
		{
			LWLockRelease(node_key->lock);
			return;
		}
	slot = &node_key->ended[node_key->next];
	if (node_key->count == EF_ENDED_MAX && slot->created > node_key->horizon)
		node_key->horizon = slot->created;
	memcpy(slot->id, id, EF_FORWARD_ID_LEN);
	slot->created = created;
	node_key->next = (node_key->next + 1) % EF_ENDED_MAX;
	if (node_key->count < EF_ENDED_MAX)
		node_key->count++;
	LWLockRelease(node_key->lock);
}

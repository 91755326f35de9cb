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
 * refuses them.  They are kept in a hash table in shared memory, of
 * encrypted_field.citus_ended_sets entries, until the set is older than
 * encrypted_field.forwarded_keys_max_age and refused by its age anyway.
 * Only when the table is full of sets still young does this server forget
 * some: the oldest, and every set made up to the newest of those is
 * refused from then on (the horizon).
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
#include "utils/guc.h"
#include "utils/hsearch.h"

/* a set made this far ahead of this server's clock is refused */
#define EF_FORWARD_SKEW_USECS	(60 * USECS_PER_SEC)
/* a full table of young sets forgets this fraction of them at once */
#define EF_ENDED_EVICT_SHARE	16
/* the time slices in which the oldest young sets are counted */
#define EF_ENDED_BINS	64
/* at most one log line a minute says that sets are forgotten young */
#define EF_ENDED_LOG_USECS	(60 * USECS_PER_SEC)

/* An ended set: the hash key is its id */
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
	/*
	 * sets made at or before this time are refused as aged: entries older
	 * than the maximum age were dropped up to it.  So a backend whose
	 * maximum age or clock reading differs (a reload not yet read, a clock
	 * stepped back) cannot take a set whose entry another one dropped.
	 */
	TimestampTz aged_upto;
	/* no entry of the table was made before this time */
	TimestampTz oldest;
	/* when a log line last said that young sets were forgotten */
	TimestampTz logged;
} NodeKeyShared;

/* encrypted_field.citus_ended_sets */
static int	ended_sets_max = 16384;

static NodeKeyShared *node_key = NULL;
static HTAB *ended_sets = NULL;

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
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(NodeKeyShared)),
									hash_estimate_size(ended_sets_max, sizeof(EndedSet))));
	RequestNamedLWLockTranche("encrypted_field node key", 1);
}

static void
NodeKeyShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

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
		node_key->aged_upto = DT_NOBEGIN;
		node_key->oldest = DT_NOEND;
		node_key->logged = 0;	/* long ago: now - DT_NOBEGIN would overflow */
		/* without a key the node simply cannot receive forwarded keys */
		if (node_priv == NULL)
			node_priv = LockedPagesAlloc(EF_NODE_KEY_LEN, &node_priv_mapped);
		node_key->ready = node_priv != NULL &&
			EfX25519Keypair(node_priv, node_key->pub) == EF_CRYPTO_OK;
		if (!node_key->ready)
			ereport(LOG,
					(errmsg("encrypted_field: could not make this server's key; it cannot receive keys forwarded by a Citus coordinator")));
	}
	/* every entry is made now: entering one never takes more memory */
	info.keysize = EF_FORWARD_ID_LEN;
	info.entrysize = sizeof(EndedSet);
	ended_sets = ShmemInitHash("encrypted_field ended sets",
							   ended_sets_max, ended_sets_max, &info,
							   HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Define the size of the record of ended sets.  A server setting can only
 * be made by shared_preload_libraries: a library loaded later has no
 * record anyway.
 */
void
NodeKeyDefine(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("encrypted_field.citus_ended_sets",
							gettext_noop("How many ended key sets forwarded by a Citus coordinator this server remembers."),
							gettext_noop("Each takes about 48 bytes of shared memory. Make it at least the number of "
										 "distributed transactions in encrypted_field.forwarded_keys_max_age."),
							&ended_sets_max,
							16384, 128, 16777216,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
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
 * older than max_age seconds, or than the entries dropped as aged, or made
 * in this server's future; not if its transaction has ended here, and not
 * if it is no newer than the newest set whose id had to be dropped while it
 * was still young (the horizon).  The clock is read under the lock, after
 * any entry that a concurrent end dropped.
 */
NodeKeySetState
NodeKeyForwardState(const uint8 *id, TimestampTz created, int max_age)
{
	TimestampTz now;
	NodeKeySetState state = NODE_KEY_SET_OPEN;

	if (node_key == NULL)
		return NODE_KEY_SET_UNRECORDED;
	LWLockAcquire(node_key->lock, LW_SHARED);
	now = GetCurrentTimestamp();
	if (created < now - (TimestampTz) max_age * USECS_PER_SEC ||
		created <= node_key->aged_upto)
		state = NODE_KEY_SET_AGED;
	else if (created > now + EF_FORWARD_SKEW_USECS)
		state = NODE_KEY_SET_FUTURE;
	else if (hash_search(ended_sets, id, HASH_FIND, NULL) != NULL)
		state = NODE_KEY_SET_ENDED;
	else if (created <= node_key->horizon)
		state = NODE_KEY_SET_DROPPED;
	LWLockRelease(node_key->lock);
	return state;
}

/*
 * Drop every entry made at or before this time, and every entry older than
 * the maximum age; note when the oldest one left was made.  Returns how
 * many were dropped.  The caller holds the lock exclusively.
 */
static long
DropEnded(TimestampTz upto, TimestampTz aged_before)
{
	HASH_SEQ_STATUS scan;
	EndedSet   *entry;
	TimestampTz oldest = DT_NOEND;
	long		dropped = 0;

	hash_seq_init(&scan, ended_sets);
	while ((entry = hash_seq_search(&scan)) != NULL)
	{
		if (entry->created <= upto || entry->created < aged_before)
		{
			if (entry->created > upto)
				node_key->aged_upto = Max(node_key->aged_upto, entry->created);
			/* dynahash allows removing the entry just returned by a scan */
			(void) hash_search(ended_sets, entry->id, HASH_REMOVE, NULL);
			dropped++;
		}
		else
			oldest = Min(oldest, entry->created);
	}
	node_key->oldest = oldest;
	return dropped;
}

/*
 * When the newest of the oldest want entries was made, counted
 * in slices of the time they span; DT_NOBEGIN when there is none
 */
static TimestampTz
EvictionHorizon(long want)
{
	HASH_SEQ_STATUS scan;
	EndedSet   *entry;
	TimestampTz lo = DT_NOEND;
	TimestampTz hi = DT_NOBEGIN;
	TimestampTz width;
	long		bins[EF_ENDED_BINS] = {0};
	long		sum = 0;

	hash_seq_init(&scan, ended_sets);
	while ((entry = hash_seq_search(&scan)) != NULL)
	{
		lo = Min(lo, entry->created);
		hi = Max(hi, entry->created);
	}
	if (lo > hi)
		return DT_NOBEGIN;
	width = (hi - lo) / EF_ENDED_BINS + 1;
	hash_seq_init(&scan, ended_sets);
	while ((entry = hash_seq_search(&scan)) != NULL)
		bins[(entry->created - lo) / width]++;
	for (int i = 0; i < EF_ENDED_BINS; i++)
	{
		sum += bins[i];
		if (sum >= want)
			return Min(hi, lo + (i + 1) * width - 1);
	}
	return hi;
}

/* How many entries a making of room frees at least: a share of those there */
static long
EvictShare(void)
{
	return Max(1, hash_get_num_entries(ended_sets) / EF_ENDED_EVICT_SHARE);
}

/*
 * Make room in a full table, a sixteenth of it at least, so that the scans
 * stay rare however the table is filled: drop the sets refused already (by
 * their age, or by the horizon); if that frees too few, forget the oldest
 * young ones as well, and refuse every set made up to the newest of them.
 * The horizon passes now by at most the clock skew allowed, as far as a set
 * can be dated and still be recorded: a flood of sets dated in this
 * server's future refuses sets for at most that long after it stops.
 * Returns whether the horizon moved.  The caller holds the lock
 * exclusively.
 */
static bool
MakeRoom(TimestampTz now, int max_age)
{
	TimestampTz aged_before = now - (TimestampTz) max_age * USECS_PER_SEC;
	TimestampTz refused = Max(node_key->horizon, node_key->aged_upto);
	TimestampTz before = node_key->horizon;
	TimestampTz upto;

	/* no scan unless the oldest entry is refused already */
	if ((node_key->oldest < aged_before || node_key->oldest <= refused) &&
		DropEnded(refused, aged_before) >= EvictShare())
		return false;
	/* the share of what the drop above left */
	upto = EvictionHorizon(EvictShare());
	if (upto == DT_NOBEGIN)
		return false;			/* empty: the aged ones are gone */
	node_key->horizon = Max(node_key->horizon,
							Min(upto, now + EF_FORWARD_SKEW_USECS));
	(void) DropEnded(Max(node_key->horizon, node_key->aged_upto), aged_before);
	return node_key->horizon != before;
}

/*
 * Remember that the transaction that received this set has ended.  When
 * the table is full, make room (above).  Called from transaction
 * callbacks: it must not fail.
 */
void
NodeKeyForwardEnd(const uint8 *id, TimestampTz created, int max_age)
{
	TimestampTz now;
	EndedSet   *entry;
	bool		raised = false;
	TimestampTz horizon;

	if (node_key == NULL)
		return;
	LWLockAcquire(node_key->lock, LW_EXCLUSIVE);
	now = GetCurrentTimestamp();
	/*
	 * A set dated further ahead is refused when opened, so any set that
	 * opened here is dated no later than this: recorded at this time, its
	 * entry outlives it, whatever time a copy of its header claims
	 */
	created = Min(created, now + EF_FORWARD_SKEW_USECS);
	if (created < now - (TimestampTz) max_age * USECS_PER_SEC)
	{
		/* aged: no entry, but refused whatever another backend's maximum */
		node_key->aged_upto = Max(node_key->aged_upto, created);
		LWLockRelease(node_key->lock);
		return;
	}
	if (created <= node_key->horizon || created <= node_key->aged_upto)
	{
		/* refused already */
		LWLockRelease(node_key->lock);
		return;
	}
	entry = hash_search(ended_sets, id, HASH_FIND, NULL);
	if (entry != NULL)
	{
		/*
		 * Recorded already, maybe from a copy of the set's header with
		 * another time (a header is read before the set is opened, and
		 * anyone may send one): keep the later time, so that the entry
		 * outlives the set
		 */
		entry->created = Max(entry->created, created);
		LWLockRelease(node_key->lock);
		return;
	}
	if (hash_get_num_entries(ended_sets) >= ended_sets_max)
		raised = MakeRoom(now, max_age);
	/* not found above, under this lock: a new entry */
	entry = hash_search(ended_sets, id, HASH_ENTER_NULL, NULL);
	if (entry == NULL)
	{
		/* cannot happen: room was made; refuse the set by the horizon */
		node_key->horizon = Max(node_key->horizon, created);
		raised = true;
	}
	else
	{
		entry->created = created;
		node_key->oldest = Min(node_key->oldest, created);
	}
	horizon = node_key->horizon;
	if (raised && now - node_key->logged >= EF_ENDED_LOG_USECS)
		node_key->logged = now;
	else
		raised = false;
	LWLockRelease(node_key->lock);
	if (raised)
		ereport(LOG,
				(errmsg("encrypted_field: more Citus transactions ended within encrypted_field.forwarded_keys_max_age than encrypted_field.citus_ended_sets can record; keys forwarded up to %s are refused",
						timestamptz_to_str(horizon)),
				 errhint("Raise encrypted_field.citus_ended_sets and restart this server.")));
}

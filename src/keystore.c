/*-------------------------------------------------------------------------
 *
 * keystore.c
 *		Hold master keys in backend memory we control, and forget them
 *
 * The held keys live in one page of anonymous memory mapped for the purpose,
 * not in a palloc context: it is locked against swapping where the limits
 * allow, excluded from core dumps where the kernel offers MADV_DONTDUMP, and
 * never handed to another allocation.  Every slot is wiped when forgotten.
 *
 * Unlocking is transactional, like a SET: a key unlocked in a transaction or
 * subtransaction that rolls back is forgotten.  Transaction-scoped keys are
 * forgotten at commit, prepare or abort; session keys at ef_lock(), DISCARD
 * ALL and backend exit.
 *
 * IDENTIFICATION
 *		src/keystore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#include <unistd.h>

#include "access/xact.h"
#include "audit.h"
#include "generation.h"
#include "keystore.h"
#include "secure.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

static HeldKey *held = NULL;
static size_t held_bytes = 0;
static uint64 unlock_seq = 0;

/*
 * An index key this session created with ef_rotate_index_key() in a
 * transaction still open, and the (sub)transaction that did.  The held keys
 * take it when that transaction commits; if it rolls back, the key never
 * existed.  Its bytes wait in the key page, after the slots.
 */
static int32 pending_id = 0;
static SubTransactionId pending_subid = InvalidSubTransactionId;
static uint8 *pending_key = NULL;
static uint64 pending_seq = 0;	/* keys unlocked later read it themselves */

/*
 * Did this transaction register a master key or rotate the index key?  A
 * key unlocked after that read rows that a prepared transaction could still
 * roll back, so such a transaction cannot be prepared.
 */
static bool index_keys_changed = false;

static void KeystoreXactCallback(XactEvent event, void *arg);
static void KeystoreSubXactCallback(SubXactEvent event,
									SubTransactionId mySubid,
									SubTransactionId parentSubid, void *arg);
static void KeystoreAtExit(int code, Datum arg);
static void DropPendingRotation(bool rolled_back);

/*
 * Map the key page and register the callbacks that forget keys, once per
 * backend.  Failing to lock or to exclude from dumps is not fatal: those are
 * defences in depth, and unprivileged backends often lack the limits.
 */
static void
KeystoreEnsure(void)
{
	static bool callbacks_registered = false;
	void	   *page;
	long		pagesize;

	if (held != NULL)
		return;

	/* first, so that no key is ever held without them */
	if (!callbacks_registered)
	{
		RegisterXactCallback(KeystoreXactCallback, NULL);
		RegisterSubXactCallback(KeystoreSubXactCallback, NULL);
		on_proc_exit(KeystoreAtExit, (Datum) 0);
		callbacks_registered = true;
	}

	pagesize = sysconf(_SC_PAGESIZE);
	held_bytes = TYPEALIGN(pagesize > 0 ? pagesize : 4096,
						   sizeof(HeldKey) * EF_MAX_HELD_KEYS + EF_KEY_LEN);
	page = mmap(NULL, held_bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate memory for master keys: %m")));
#ifdef MADV_DONTDUMP
	(void) madvise(page, held_bytes, MADV_DONTDUMP);
#endif
	(void) mlock(page, held_bytes);
	memset(page, 0, held_bytes);

	pending_key = (uint8 *) page + sizeof(HeldKey) * EF_MAX_HELD_KEYS;
	held = (HeldKey *) page;
}

/* Wipe one slot */
static void
Forget(HeldKey *key)
{
	explicit_bzero(key, sizeof(HeldKey));
}

/* Hold a key; unlocking a key id again updates its slot */
void
KeystoreAdd(int32 key_id, EfKeyScope scope, bool retired, const uint8 *kek,
			const int32 *index_key_ids, const uint8 (*index_keys)[EF_KEY_LEN])
{
	HeldKey    *slot = NULL;
	SubTransactionId subid;

	KeystoreEnsure();
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
	{
		if (held[i].in_use && held[i].key_id == key_id)
		{
			slot = &held[i];
			break;
		}
		if (!held[i].in_use && slot == NULL)
			slot = &held[i];
	}
	if (slot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot hold more than %d master keys in one session",
						EF_MAX_HELD_KEYS),
				 errhint("Call ef_lock() to forget the keys this session no longer needs.")));

	/*
	 * A key held before keeps the (sub)transaction it was unlocked in, so
	 * that rolling back a repeated unlock does not forget a key the session
	 * already had.  The new scope and the new unlock order do take effect.
	 */
	subid = slot->in_use ? slot->subid : GetCurrentSubTransactionId();
	Forget(slot);
	slot->in_use = true;
	slot->retired = retired;
	slot->scope = scope;
	slot->key_id = key_id;
	slot->subid = subid;
	slot->seq = ++unlock_seq;
	slot->unlocked_at = GetCurrentTimestamp();
	memcpy(slot->kek, kek, EF_KEY_LEN);
	for (int i = 0; i < EF_INDEX_KEYS_HELD; i++)
	{
		slot->index_key_id[i] = index_key_ids[i];
		if (index_key_ids[i] > 0)
			memcpy(slot->index_key[i], index_keys[i], EF_KEY_LEN);
	}
}

/* Replace a held key's index keys with those the registry now has */
void
KeystoreSetIndexKeys(int32 key_id, const int32 *index_key_ids,
					 const uint8 (*index_keys)[EF_KEY_LEN])
{
	HeldKey    *key = (HeldKey *) KeystoreFind(key_id);

	if (key == NULL)
		return;
	for (int i = 0; i < EF_INDEX_KEYS_HELD; i++)
	{
		key->index_key_id[i] = index_key_ids[i];
		if (index_key_ids[i] > 0)
			memcpy(key->index_key[i], index_keys[i], EF_KEY_LEN);
		else
			explicit_bzero(key->index_key[i], EF_KEY_LEN);
	}
}

/*
 * Hold a new index key, which the caller has just wrapped under every held
 * key, from the commit of this transaction on
 */
void
KeystoreRotateIndexKey(int32 index_key_id, const uint8 *index_key)
{
	Assert(pending_id == 0);
	KeystoreEnsure();
	memcpy(pending_key, index_key, EF_KEY_LEN);
	pending_seq = unlock_seq;
	pending_id = index_key_id;
	pending_subid = GetCurrentSubTransactionId();
	index_keys_changed = true;
}

/* Has this transaction rotated the index key? */
bool
KeystoreRotationPending(void)
{
	return pending_id != 0;
}

/* Note that this transaction registered a master key */
void
KeystoreNoteRegistration(void)
{
	index_keys_changed = true;
}

/* Forget a held key that took an index key of a rotation rolled back */
static void
ForgetIfHolding(HeldKey *key, int32 index_key_id, const char *why)
{
	for (int j = 0; key->in_use && j < EF_INDEX_KEYS_HELD; j++)
		if (key->index_key_id[j] == index_key_id)
		{
			AuditForget(key->key_id, KeystoreScopeName(key->scope), why);
			Forget(key);
		}
}

/*
 * Forget a rotation once it commits or rolls back.  If it rolled back, a
 * key unlocked again after the rotation read its index key from the
 * registry, and must go: that index key never existed.
 */
static void
DropPendingRotation(bool rolled_back)
{
	for (int i = 0; rolled_back && i < EF_MAX_HELD_KEYS; i++)
		ForgetIfHolding(&held[i], pending_id, "index key rotation rolled back");
	explicit_bzero(pending_key, EF_KEY_LEN);
	pending_seq = 0;
	pending_id = 0;
	pending_subid = InvalidSubTransactionId;
}

/*
 * The rotation committed: every key held when it ran takes the new index
 * key, wrapped under each of them, as its newest, the oldest it held
 * dropping out.  A key unlocked since read its index keys from the registry.
 */
static void
ApplyPendingRotation(void)
{
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use || key->seq > pending_seq)
			continue;
		for (int j = EF_INDEX_KEYS_HELD - 1; j > 0; j--)
		{
			key->index_key_id[j] = key->index_key_id[j - 1];
			memcpy(key->index_key[j], key->index_key[j - 1], EF_KEY_LEN);
		}
		key->index_key_id[0] = pending_id;
		memcpy(key->index_key[0], pending_key, EF_KEY_LEN);
	}
	DropPendingRotation(false);
}

/*
 * Collect the distinct index keys held, newest first, up to max; return how
 * many.  The pointers are valid until a key is forgotten.
 */
int
KeystoreIndexKeys(int32 *ids, const uint8 **keys, int max)
{
	int			n = 0;

	for (int32 floor = PG_INT32_MAX; held != NULL && n < max;)
	{
		int32		best = 0;
		const uint8 *best_key = NULL;

		for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
			for (int j = 0; held[i].in_use && j < EF_INDEX_KEYS_HELD; j++)
				if (held[i].index_key_id[j] > best && held[i].index_key_id[j] < floor)
				{
					best = held[i].index_key_id[j];
					best_key = held[i].index_key[j];
				}
		if (best == 0)
			break;
		ids[n] = best;
		keys[n++] = best_key;
		floor = best;
	}
	return n;
}

/* Return the held key that carries the newest index key, or NULL */
const HeldKey *
KeystoreIndexKey(void)
{
	const HeldKey *best = NULL;

	if (held == NULL)
		return NULL;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
		if (held[i].in_use && held[i].index_key_id[0] > 0 &&
			(best == NULL || held[i].index_key_id[0] > best->index_key_id[0]))
			best = &held[i];
	return best;
}

/* Return the held key with this id, or NULL */
const HeldKey *
KeystoreFind(int32 key_id)
{
	if (held == NULL)
		return NULL;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
		if (held[i].in_use && held[i].key_id == key_id)
			return &held[i];
	return NULL;
}

/* Return the key that encrypts new values: the newest unlocked, not retired */
const HeldKey *
KeystoreCurrent(void)
{
	const HeldKey *best = NULL;

	if (held == NULL)
		return NULL;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
		if (held[i].in_use && !held[i].retired &&
			(best == NULL || held[i].seq > best->seq))
			best = &held[i];
	return best;
}

/* Count the held keys */
int
KeystoreCount(void)
{
	int			n = 0;

	if (held == NULL)
		return 0;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
		if (held[i].in_use)
			n++;
	return n;
}

/* Return the index-th held key in slot order, or NULL past the end */
const HeldKey *
KeystoreGet(int index)
{
	if (held == NULL)
		return NULL;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
		if (held[i].in_use && index-- == 0)
			return &held[i];
	return NULL;
}

/* Forget every held key; return how many there were */
int
KeystoreForgetAll(void)
{
	int			n = 0;

	EfCryptoScrub();
	if (held == NULL)
		return 0;
	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
	{
		if (held[i].in_use)
			n++;
		Forget(&held[i]);
	}
	/*
	 * Keys unlocked from here on read a rotation from the registry; its id
	 * stays, so that a rollback can still forget them
	 */
	explicit_bzero(pending_key, EF_KEY_LEN);
	return n;
}

/* Name a scope as ef_unlock() spells it */
const char *
KeystoreScopeName(EfKeyScope scope)
{
	return scope == EF_SCOPE_TRANSACTION ? "transaction" : "session";
}

/*
 * At the end of a top-level transaction, forget the transaction-scoped keys,
 * and on abort also the keys this transaction unlocked.  Session keys that
 * survive a commit are marked committed.
 */
static void
KeystoreXactCallback(XactEvent event, void *arg)
{
	bool		abort;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			/* it could yet roll back, after this session moved on */
			if (index_keys_changed)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that registered a master key or rotated the index key")));
			return;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			abort = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			abort = true;
			break;
		default:
			return;
	}

	/* the last data key's schedule goes with the transaction */
	EfCryptoScrub();
	index_keys_changed = false;
	if (held == NULL)
		return;

	if (pending_id != 0 && !abort)
	{
		ApplyPendingRotation();
		GenerationBump();
	}
	else if (pending_id != 0)
		DropPendingRotation(true);

	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use)
			continue;
		if (key->scope == EF_SCOPE_TRANSACTION ||
			(abort && key->subid != InvalidSubTransactionId))
		{
			AuditForget(key->key_id, KeystoreScopeName(key->scope),
						abort ? "transaction aborted" : "transaction ended");
			Forget(key);
		}
		else
			key->subid = InvalidSubTransactionId;
	}
}

/* Forget keys unlocked in an aborted subtransaction; hand the rest up */
static void
KeystoreSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (held == NULL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;

	if (pending_id != 0 && pending_subid == mySubid)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			pending_subid = parentSubid;
		else
			DropPendingRotation(true);
	}

	for (int i = 0; i < EF_MAX_HELD_KEYS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use || key->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			key->subid = parentSubid;
		else
		{
			AuditForget(key->key_id, KeystoreScopeName(key->scope),
						"subtransaction aborted");
			Forget(key);
		}
	}
}

/*
 * Wipe and unmap the key page when the backend exits, and free the cipher
 * contexts, which OpenSSL cleanses as it frees them
 */
static void
KeystoreAtExit(int code, Datum arg)
{
	EfCryptoShutdown();
	if (held == NULL)
		return;
	explicit_bzero(held, held_bytes);
	(void) munlock(held, held_bytes);
	(void) munmap(held, held_bytes);
	held = NULL;
	pending_key = NULL;
	pending_id = 0;
}

/*-------------------------------------------------------------------------
 *
 * keystore.c
 *		Hold master keys in backend memory we control, and forget them
 *
 * The held keys live in locked pages (lockedmem.c), not in a palloc
 * context.  Every slot is wiped when forgotten.
 *
 * Unlocking is transactional, like a SET: a key unlocked in a transaction or
 * subtransaction that rolls back is forgotten, and a key unlocked again
 * there (another scope, another role) is as it was before.  A prepared
 * transaction may yet roll back after this session has moved on, so its
 * unlocks end at PREPARE TRANSACTION.  Transaction-scoped keys are
 * forgotten at commit, prepare or abort; session keys at ef_lock(), DISCARD
 * ALL and backend exit.
 *
 * A held key serves the role that unlocked it and the roles that have its
 * privileges (has_privs_of_role), never code running as another role: a
 * SECURITY DEFINER function of another owner, or SET ROLE to a role that is
 * not a member.  Lookups skip keys that do not serve the current user.
 *
 * Keys given at connection start (encrypted_field.keys) wait here, not yet
 * checked against the registry, until ef_unlock() or ef_register_key() is
 * called without a key; they are forgotten with the held keys.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/keystore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "audit.h"
#include "citus_plan.h"
#include "keystore.h"
#include "lockedmem.h"
#include "miscadmin.h"
#include "rotation_count.h"
#include "secure.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

/* A master key given at connection start, not yet checked */
typedef struct SuppliedKey
{
	int32		key_id;			/* 0: free */
	Oid			role;			/* the login role that gave it */
	uint8		master[EF_KEY_LEN];
} SuppliedKey;

static HeldKey *held = NULL;
static SuppliedKey *supplied = NULL;
static size_t held_bytes = 0;
static uint64 unlock_seq = 0;
/*
 * changes whenever a key is held or forgotten, or a held key's index keys
 * change (citus_forward.c resends, citus_plan.c refuses plans stamped
 * before)
 */
static uint64 generation = 0;

/*
 * Every slot from held_top on is free: the lookups each value makes scan
 * only the slots ever used since the keys were last all forgotten
 */
static int	held_top = 0;

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
static int32 pending_replaces = 0;	/* the group's newest index key before */
static char pending_group[NAMEDATALEN];	/* the group rotated */

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

/* Map the key page and register the callbacks that forget keys, once per backend */
static void
KeystoreEnsure(void)
{
	static bool callbacks_registered = false;
	void	   *page;

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

	page = LockedPagesAlloc(sizeof(HeldKey) * EF_KEY_SLOTS + EF_KEY_LEN +
							sizeof(SuppliedKey) * EF_MAX_SUPPLIED_KEYS, &held_bytes);
	if (page == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate memory for master keys: %m")));

	pending_key = (uint8 *) page + sizeof(HeldKey) * EF_KEY_SLOTS;
	supplied = (SuppliedKey *) (pending_key + EF_KEY_LEN);
	held = (HeldKey *) page;
}

/*
 * The keys held changed: what was sent to Citus workers or computed into
 * plans with the keys before is stale.  Must not fail: called as keys are
 * forgotten and rotations applied at the end of transactions.
 */
static void
KeysChanged(void)
{
	generation++;
	CitusPlanKeysChanged();
}

/* Wipe one slot */
static void
Forget(HeldKey *key)
{
	if (key->in_use)
	{
		KeysChanged();
		/* the kept contexts may hold this key's KEK and index key schedules */
		EfCryptoScrub();
	}
	explicit_bzero(key, sizeof(HeldKey));
}

/*
 * Let the newest slot of a key id be the one lookups find, after a slot of
 * that id was added or forgotten
 */
static void
Unshadow(int32 key_id)
{
	HeldKey    *newest = NULL;

	for (int i = 0; i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && held[i].key_id == key_id)
		{
			held[i].shadowed = true;
			if (newest == NULL || held[i].seq > newest->seq)
				newest = &held[i];
		}
	if (newest != NULL)
		newest->shadowed = false;
}

/* Wipe a slot, and bring back the unlock it shadowed, if any */
static void
ForgetSlot(HeldKey *key)
{
	int32		key_id = key->key_id;

	Forget(key);
	Unshadow(key_id);
}

/* Does a held key serve the current user? */
static bool
Serves(const HeldKey *key)
{
	Oid			user = GetUserId();

	return key->role == user || has_privs_of_role(user, key->role);
}

/* Is a slot the key lookups find for the current user? */
static bool
Usable(const HeldKey *key)
{
	return key->in_use && !key->shadowed && Serves(key);
}

/* Count the distinct key ids held, whoever they serve */
static int
CountHeld(void)
{
	int			n = 0;

	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed)
			n++;
	return n;
}

/*
 * Hold a key.  Unlocking a key id again in the (sub)transaction that
 * unlocked it updates its slot; in a later one, it takes a new slot that
 * shadows the earlier until the transaction commits, so that rolling back
 * restores the earlier unlock as it was (its scope, its role).
 */
void
KeystoreAdd(int32 key_id, EfKeyScope scope, bool retired, Oid role,
			const char *index_group, const uint8 *kek, const int32 *index_key_ids,
			const uint8 (*index_keys)[EF_KEY_LEN])
{
	HeldKey    *slot = NULL;
	HeldKey    *earlier = NULL;
	SubTransactionId subid = GetCurrentSubTransactionId();

	KeystoreEnsure();
	for (int i = 0; i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed && held[i].key_id == key_id)
			earlier = &held[i];
	if (earlier != NULL && earlier->subid == subid)
		slot = earlier;
	for (int i = 0; slot == NULL && i < EF_KEY_SLOTS; i++)
		if (!held[i].in_use)
			slot = &held[i];
	if (slot == NULL || (earlier == NULL && CountHeld() >= EF_MAX_HELD_KEYS))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot hold more than %d master keys in one session",
						EF_MAX_HELD_KEYS),
				 errhint("Call ef_lock() to forget the keys this session no longer needs.")));

	Forget(slot);
	KeysChanged();
	held_top = Max(held_top, (int) (slot - held) + 1);
	slot->in_use = true;
	slot->retired = retired;
	slot->role = role;
	slot->scope = scope;
	slot->key_id = key_id;
	slot->subid = subid;
	slot->seq = ++unlock_seq;
	slot->unlocked_at = GetCurrentTimestamp();
	strlcpy(slot->index_group, index_group, NAMEDATALEN);
	memcpy(slot->kek, kek, EF_KEY_LEN);
	for (int i = 0; i < EF_INDEX_KEYS_HELD; i++)
	{
		slot->index_key_id[i] = index_key_ids[i];
		if (index_key_ids[i] > 0)
			memcpy(slot->index_key[i], index_keys[i], EF_KEY_LEN);
	}
	Unshadow(key_id);
}

/*
 * Is a key with this id (any id: 0) held, but for a role the current user
 * does not have the privileges of?
 */
bool
KeystoreHeldForOtherRole(int32 key_id)
{
	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed &&
			(key_id == 0 || held[i].key_id == key_id) && !Serves(&held[i]))
			return true;
	return false;
}

/*
 * Raise the error that a held key (key id 0: any) serves another role, if
 * one does
 */
void
KeystoreRefuseOtherRole(int32 key_id)
{
	if (key_id == 0 && KeystoreHeldForOtherRole(0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use the master keys this session holds"),
				 errdetail("They were unlocked by a role whose privileges the current role does not have."),
				 errhint("A held key serves the role that unlocked it and the roles with its privileges; code running as another role (SET ROLE, a SECURITY DEFINER function) cannot use it.")));
	if (key_id != 0 && KeystoreHeldForOtherRole(key_id))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use master key %d", key_id),
				 errdetail("The key was unlocked by a role whose privileges the current role does not have."),
				 errhint("A held key serves the role that unlocked it and the roles with its privileges; code running as another role (SET ROLE, a SECURITY DEFINER function) cannot use it.")));
}

/*
 * Keep a master key given at connection start until it is unlocked or
 * registered.  Giving a key id twice keeps the last.
 */
void
KeystoreSupply(int32 key_id, const uint8 *master, Oid role)
{
	SuppliedKey *slot = NULL;

	KeystoreEnsure();
	for (int i = 0; i < EF_MAX_SUPPLIED_KEYS; i++)
		if (supplied[i].key_id == key_id ||
			(slot == NULL && supplied[i].key_id == 0))
			slot = &supplied[i];
	if (slot == NULL)
		elog(ERROR, "too many master keys given at connection start");
	slot->key_id = key_id;
	slot->role = role;
	memcpy(slot->master, master, EF_KEY_LEN);
}

/* Copy out a master key given at connection start; false if none was */
bool
KeystoreSupplied(int32 key_id, uint8 *master, Oid *role)
{
	for (int i = 0; supplied != NULL && i < EF_MAX_SUPPLIED_KEYS; i++)
		if (supplied[i].key_id == key_id)
		{
			memcpy(master, supplied[i].master, EF_KEY_LEN);
			*role = supplied[i].role;
			return true;
		}
	return false;
}

/* Write the ids of the keys given at connection start and still kept */
void
KeystoreSuppliedIds(char *buf, size_t size)
{
	buf[0] = '\0';
	for (int i = 0; supplied != NULL && i < EF_MAX_SUPPLIED_KEYS; i++)
		if (supplied[i].key_id != 0 && strlen(buf) + 12 < size)
			sprintf(buf + strlen(buf), "%s%d", buf[0] ? "," : "", supplied[i].key_id);
}

/*
 * Replace a held key's index keys with those the registry now has.  When
 * they differ, the keys count as changed: Citus workers sent the ones
 * before get these with the next statement, and plans whose terms were
 * computed with those are made again or refused.
 */
void
KeystoreSetIndexKeys(int32 key_id, const int32 *index_key_ids,
					 const uint8 (*index_keys)[EF_KEY_LEN])
{
	HeldKey    *key = NULL;
	bool		changed = false;

	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed && held[i].key_id == key_id)
			key = &held[i];
	if (key == NULL)
		return;
	for (int i = 0; i < EF_INDEX_KEYS_HELD; i++)
	{
		if (key->index_key_id[i] != index_key_ids[i] ||
			(index_key_ids[i] > 0 &&
			 !EfCryptoMemEqual(key->index_key[i], index_keys[i], EF_KEY_LEN)))
			changed = true;
		key->index_key_id[i] = index_key_ids[i];
		if (index_key_ids[i] > 0)
			memcpy(key->index_key[i], index_keys[i], EF_KEY_LEN);
		else
			explicit_bzero(key->index_key[i], EF_KEY_LEN);
	}
	if (changed)
		KeysChanged();
}

/*
 * Hold a new index key, which the caller has just wrapped under every held
 * key of its group, from the commit of this transaction on.  The keys that
 * take it are those whose newest index key it replaces: that one belongs to
 * the group alone.
 */
void
KeystoreRotateIndexKey(int32 index_key_id, int32 replaced_id, const char *group,
					   const uint8 *index_key)
{
	Assert(pending_id == 0);
	KeystoreEnsure();
	memcpy(pending_key, index_key, EF_KEY_LEN);
	pending_seq = unlock_seq;
	pending_id = index_key_id;
	pending_replaces = replaced_id;
	strlcpy(pending_group, group, NAMEDATALEN);
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
			ForgetSlot(key);
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
	for (int i = 0; rolled_back && i < EF_KEY_SLOTS; i++)
		ForgetIfHolding(&held[i], pending_id, "index key rotation rolled back");
	explicit_bzero(pending_key, EF_KEY_LEN);
	pending_seq = 0;
	pending_id = 0;
	pending_replaces = 0;
	pending_subid = InvalidSubTransactionId;
}

/*
 * The rotation committed: every key of the group held when it ran takes the
 * new index key, wrapped under each of them, as its newest, the oldest it
 * held dropping out.  A key unlocked since read its index keys from the
 * registry.  Called at commit: must not fail.
 */
static void
ApplyPendingRotation(void)
{
	bool		changed = false;

	for (int i = 0; i < EF_KEY_SLOTS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use || key->seq > pending_seq ||
			key->index_key_id[0] != pending_replaces ||
			strcmp(key->index_group, pending_group) != 0)
			continue;
		for (int j = EF_INDEX_KEYS_HELD - 1; j > 0; j--)
		{
			key->index_key_id[j] = key->index_key_id[j - 1];
			memcpy(key->index_key[j], key->index_key[j - 1], EF_KEY_LEN);
		}
		key->index_key_id[0] = pending_id;
		memcpy(key->index_key[0], pending_key, EF_KEY_LEN);
		changed = true;
	}
	DropPendingRotation(false);
	if (changed)
		KeysChanged();
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

		for (int i = 0; i < held_top; i++)
			for (int j = 0; Usable(&held[i]) && j < EF_INDEX_KEYS_HELD; j++)
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

/*
 * Return the held master key whose newest index key new terms use, or
 * NULL: the current
 * key's (the group of the key that encrypts), else, with only retired keys
 * held, the last unlocked of them
 */
const HeldKey *
KeystoreTermKeyHolder(void)
{
	const HeldKey *best = KeystoreCurrent();

	if (held == NULL)
		return NULL;
	if (best != NULL && best->index_key_id[0] > 0)
		return best;
	best = NULL;
	for (int i = 0; i < held_top; i++)
		if (Usable(&held[i]) && held[i].index_key_id[0] > 0 &&
			(best == NULL || held[i].seq > best->seq))
			best = &held[i];
	return best;
}

/*
 * Return a held key of an index-key group whose newest index key is this
 * one, or NULL.  The group is the one the key's check value was verified
 * with when it was unlocked: a registry row relabelled since does not move
 * a held key into another group.
 */
const HeldKey *
KeystoreHolderOf(int32 index_key_id, const char *group)
{
	for (int i = 0; held != NULL && i < held_top; i++)
		if (Usable(&held[i]) && held[i].index_key_id[0] == index_key_id &&
			strcmp(held[i].index_group, group) == 0)
			return &held[i];
	return NULL;
}

/* Return the held key with this id, or NULL */
const HeldKey *
KeystoreFind(int32 key_id)
{
	if (held == NULL)
		return NULL;
	for (int i = 0; i < held_top; i++)
		if (held[i].in_use && !held[i].shadowed && held[i].key_id == key_id)
			return Serves(&held[i]) ? &held[i] : NULL;
	return NULL;
}

/* Return the key that encrypts new values: the newest unlocked, not retired */
const HeldKey *
KeystoreCurrent(void)
{
	const HeldKey *best = NULL;

	if (held == NULL)
		return NULL;
	for (int i = 0; i < held_top; i++)
		if (Usable(&held[i]) && !held[i].retired &&
			(best == NULL || held[i].seq > best->seq))
			best = &held[i];
	return best;
}

/* Count the held keys that serve the current user */
int
KeystoreCount(void)
{
	int			n = 0;

	for (int i = 0; held != NULL && i < held_top; i++)
		if (Usable(&held[i]))
			n++;
	return n;
}

/*
 * Return the index-th held key that serves the current user, in slot order,
 * or NULL past the end
 */
const HeldKey *
KeystoreGet(int index)
{
	for (int i = 0; held != NULL && i < held_top; i++)
		if (Usable(&held[i]) && index-- == 0)
			return &held[i];
	return NULL;
}

/*
 * Return the index-th held key whichever role it serves, for upkeep that
 * reads nothing out of it (refreshing its index keys)
 */
const HeldKey *
KeystoreGetAny(int index)
{
	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed && index-- == 0)
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
	for (int i = 0; i < EF_KEY_SLOTS; i++)
	{
		if (held[i].in_use && !held[i].shadowed)
			n++;
		Forget(&held[i]);
	}
	held_top = 0;
	explicit_bzero(supplied, sizeof(SuppliedKey) * EF_MAX_SUPPLIED_KEYS);
	/*
	 * Keys unlocked from here on read a rotation from the registry; its id
	 * stays, so that a rollback can still forget them
	 */
	explicit_bzero(pending_key, EF_KEY_LEN);
	return n;
}

/* Mark the newest slot of a key id as forwarded by a Citus coordinator */
void
KeystoreMarkForwarded(int32 key_id)
{
	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && !held[i].shadowed && held[i].key_id == key_id)
			held[i].forwarded = true;
}

/*
 * Forget the keys a Citus coordinator forwarded, bringing back what they
 * shadowed; return how many there were.  Called from a setting's assign
 * hook: it must not fail.
 */
int
KeystoreForgetForwarded(void)
{
	int			n = 0;

	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && held[i].forwarded)
		{
			n++;
			ForgetSlot(&held[i]);
		}
	return n;
}

/*
 * A number that changes whenever a key is held or forgotten, or a held
 * key's index keys change
 */
uint64
KeystoreGeneration(void)
{
	return generation;
}

/* Name a scope as ef_unlock() spells it */
const char *
KeystoreScopeName(EfKeyScope scope)
{
	return scope == EF_SCOPE_TRANSACTION ? "transaction" : "session";
}

/*
 * Forget a slot at the end of its (sub)transaction, with an audit line when
 * its key id is then no longer held
 */
static void
EndSlot(HeldKey *key, const char *why)
{
	int32		key_id = key->key_id;
	const char *scope = KeystoreScopeName(key->scope);
	bool		shadowing = !key->shadowed && !key->forwarded;

	ForgetSlot(key);
	if (shadowing)
	{
		for (int i = 0; i < EF_KEY_SLOTS; i++)
			if (held[i].in_use && held[i].key_id == key_id)
				return;
		AuditForget(key_id, scope, why);
	}
}

/*
 * At the end of a top-level transaction, end its unlocks.  On abort, and on
 * PREPARE (the prepared transaction may yet roll back, and this session
 * cannot know), the keys it unlocked go and the unlocks they shadowed come
 * back; on commit, the shadowed unlocks go.  Then transaction-scoped keys
 * go; the session keys left are marked committed.
 */
static void
KeystoreXactCallback(XactEvent event, void *arg)
{
	bool		undo;

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
			undo = false;
			break;
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			undo = true;
			break;
		default:
			return;
	}

	/* the last data key's schedule goes with the transaction */
	EfCryptoScrub();
	index_keys_changed = false;
	if (held == NULL)
		return;

	if (pending_id != 0 && event != XACT_EVENT_PREPARE && !undo)
	{
		ApplyPendingRotation();
		RotationCountBump();
	}
	else if (pending_id != 0)
		DropPendingRotation(true);

	for (int i = 0; i < EF_KEY_SLOTS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use)
			continue;
		if (undo && key->subid != InvalidSubTransactionId)
			EndSlot(key, event == XACT_EVENT_PREPARE ? "transaction prepared" :
					"transaction aborted");
		else if (!undo && key->shadowed)
			Forget(key);
	}
	for (int i = 0; i < EF_KEY_SLOTS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use)
			continue;
		if (key->scope == EF_SCOPE_TRANSACTION)
			EndSlot(key, undo ? "transaction ended" : "transaction ended");
		else
			key->subid = InvalidSubTransactionId;
	}
}

/*
 * Forget keys unlocked in an aborted subtransaction, bringing back what
 * they shadowed; hand the rest up
 */
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

	for (int i = 0; i < EF_KEY_SLOTS; i++)
	{
		HeldKey    *key = &held[i];

		if (!key->in_use || key->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			EndSlot(key, "subtransaction aborted");
		else
		{
			/* a slot of the parent with this id is shadowed: it goes */
			for (int j = 0; j < EF_KEY_SLOTS; j++)
				if (held[j].in_use && held[j].shadowed &&
					held[j].key_id == key->key_id && held[j].subid == parentSubid)
					Forget(&held[j]);
			key->subid = parentSubid;
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
	LockedPagesFree(held, held_bytes);
	held = NULL;
	pending_key = NULL;
	pending_id = 0;
}

/*
 * Does a slot, shadowed or not, hold the unlock of this sequence number?
 * (decrypt_audit.c keeps unlock reasons by it)
 */
bool
KeystoreSeqHeld(uint64 seq)
{
	for (int i = 0; held != NULL && i < EF_KEY_SLOTS; i++)
		if (held[i].in_use && held[i].seq == seq)
			return true;
	return false;
}

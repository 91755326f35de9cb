/*-------------------------------------------------------------------------
 *
 * indexkey.c
 *		The index keys behind search terms: creation, unwrapping, rotation
 *
 * An index key is a random key that exists nowhere in clear: the registry
 * (registry.c, table ef_index_keys) keeps it wrapped under each master key
 * of its index-key group, and a session that unlocks a master key unwraps
 * the newest two into the held key's slot (keystore.c, locked memory).
 * Registering the first master key of a group creates its index key;
 * registering another wraps the group's existing one, which only a session
 * holding a key of the group can do.  Rotation creates a new one, wrapped
 * under every held master key of the group; keystore.c keeps it pending
 * until the transaction commits, and the shared rotation count
 * (rotation_count.c) tells other sessions to unwrap again (IndexKeysRefresh).
 * This file owns those decisions; the others only store what it decides.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/indexkey.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "audit.h"
#include "citus_forward.h"
#include "crypto.h"
#include "ef_report.h"
#include "indexkey.h"
#include "keystore.h"
#include "miscadmin.h"
#include "registry.h"
#include "rotation_count.h"
#include "secure.h"

/* The rotation count this session's index keys were last read at */
static uint64 seen_rotation_count = 0;
/* IndexKeysRefresh() is reading the registry: the statements it runs refresh nothing */
static bool refreshing = false;

/*
 * Return the held master key whose index key new terms use, or raise the
 * error that none is held
 */
const HeldKey *
IndexKeyForNewTerms(void)
{
	const HeldKey *key = KeystoreTermKeyHolder();

	if (key == NULL)
		KeystoreRefuseOtherRole(0);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no index key is held in this session"),
				 errdetail("Search terms are computed with the index key of a master key's group, which unlocking a registered master key provides."),
				 errhint("%s", CitusForwardHint("Call ef_unlock() with a registered master key first."))));
	if (key->index_key_id[0] > PG_UINT16_MAX)
		elog(ERROR, "index key id %d does not fit a search term", key->index_key_id[0]);
	return key;
}

/*
 * Read the newest index keys wrapped under a master key and unwrap them with
 * its KEK; then hold the key with them, or, for a key held already (refresh),
 * give it them anew
 */
static void
UnwrapIndexKeys(int32 key_id, const uint8 *kek, bool refresh, EfKeyScope scope,
				bool retired, const char *group)
{
	uint8		wrapped[EF_INDEX_KEYS_HELD][EF_WRAPPED_LEN];
	uint8		index_keys[EF_INDEX_KEYS_HELD][EF_KEY_LEN];
	int32		ids[EF_INDEX_KEYS_HELD] = {0};
	int			n = RegistryLookupIndexKeys(key_id, ids, wrapped, EF_INDEX_KEYS_HELD);
	int			bad = -1;

	PG_TRY();
	{
		for (int i = 0; i < n && bad < 0; i++)
			if (EfKeyUnwrap(kek, wrapped[i], EF_WRAPPED_LEN, index_keys[i]) != EF_CRYPTO_OK)
				bad = i;
		if (bad < 0 && refresh)
			KeystoreSetIndexKeys(key_id, ids, (const uint8 (*)[EF_KEY_LEN]) index_keys);
		else if (bad < 0)
			KeystoreAdd(key_id, scope, retired, GetUserId(), group, kek, ids,
						(const uint8 (*)[EF_KEY_LEN]) index_keys);
	}
	PG_FINALLY();
	{
		ef_secure_wipe(index_keys, sizeof(index_keys));
	}
	PG_END_TRY();
	if (bad >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("index key %d wrapped under master key %d is damaged", ids[bad], key_id),
				 errdetail("It does not unwrap under the key that matched its fingerprint.")));
}

/*
 * After a rotation committed anywhere (the shared count says so), read the
 * index keys of every held master key again, so that this session computes
 * terms with the newest index key without unlocking again.  Only with the
 * library preloaded; not while this transaction's own rotation is pending.
 */
void
IndexKeysRefresh(void)
{
	uint64		now;
	const HeldKey *held;

	/* the latest snapshot cannot be taken in parallel mode: next time */
	if (refreshing || !RotationCountRead(&now) || now == seen_rotation_count ||
		KeystoreRotationPending() || IsInParallelMode())
		return;
	refreshing = true;
	PG_TRY();
	{
		for (int i = 0; (held = KeystoreGetAny(i)) != NULL; i++)
		{
			/* a Citus coordinator's keys come with their index keys */
			if (held->forwarded)
				continue;
			UnwrapIndexKeys(held->key_id, held->kek, true, held->scope, held->retired,
							held->index_group);
		}
	}
	PG_FINALLY();
	{
		refreshing = false;
	}
	PG_END_TRY();
	seen_rotation_count = now;
}

/*
 * Is IndexKeysRefresh() under way?  Its held keys are then part refreshed,
 * so citus_forward.c sends none until it is done.
 */
bool
IndexKeysRefreshing(void)
{
	return refreshing;
}

/*
 * Unwrap the index keys wrapped under a master key that has just been
 * checked, and hold the key with them
 */
void
IndexKeysHold(int32 key_id, const uint8 *kek, EfKeyScope scope, bool retired,
			  const char *group)
{
	UnwrapIndexKeys(key_id, kek, false, scope, retired, group);
}

/*
 * Wrap the index key of a new master key's group under its KEK, creating a
 * new index key if the group has none yet.  An existing index key can only
 * come from this session's held keys of that group: it exists nowhere in
 * clear, so a holder of another group's keys cannot join it.
 */
static int32
WrapIndexKey(const uint8 *kek, const char *group, uint8 *wrapped)
{
	int32		newest = RegistryNewestIndexKey(group);
	int32		last = RegistryNewestIndexKey(NULL);
	uint8		fresh[EF_KEY_LEN];
	const HeldKey *holder;
	EfCryptoStatus status;

	if (newest == 0)
	{
		/* index key ids are the database's, so a term names its group's */
		if (last >= PG_UINT16_MAX)
			KEY_ERROR(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					  errmsg("no index key id is left"),
					  errdetail("A search term records its index key id in 2 bytes, and id %d is the last.",
								PG_UINT16_MAX));
		status = EfRandomBytes(fresh, sizeof(fresh));
		if (status == EF_CRYPTO_OK)
			status = EfKeyWrap(kek, fresh, EF_KEY_LEN, wrapped);
		ef_secure_wipe(fresh, sizeof(fresh));
		if (status != EF_CRYPTO_OK)
			ef_crypto_report(status);
		return last + 1;
	}

	IndexKeysRefresh();
	holder = KeystoreHolderOf(newest, group);
	if (holder == NULL)
		KEY_ERROR(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
				  errmsg("cannot register a master key in index-key group \"%s\" without its index key", group),
				  errdetail("Search terms of the group use index key %d, which every master key of the group must wrap, and this session does not hold it.", newest),
				  errhint("Unlock a registered master key of the group in this session, then register the new one; or name a new group with index_group."));
	status = EfKeyWrap(kek, holder->index_key[0], EF_KEY_LEN, wrapped);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
	return newest;
}

/*
 * After a rotation, also wrap the index key before the newest under a new
 * master key, so that sessions holding only the new key can still match
 * terms not yet re-encrypted (ef_terms)
 */
static void
WrapPreviousIndexKey(const uint8 *kek, int32 key_id, const char *group, int32 newest)
{
	const HeldKey *held;
	uint8		wrapped[EF_WRAPPED_LEN];
	EfCryptoStatus status;

	/* a key of the group holding its newest holds the one before it too */
	for (int i = 0; (held = KeystoreGet(i)) != NULL; i++)
		if (held->index_key_id[0] == newest && held->index_key_id[1] != 0 &&
			strcmp(held->index_group, group) == 0)
			break;
	if (held == NULL)
		return;
	status = EfKeyWrap(kek, held->index_key[1], EF_KEY_LEN, wrapped);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
	RegistryInsertIndexKey(held->index_key_id[1], key_id, wrapped);
}

/*
 * Record the index keys of its group wrapped under a new master key: the
 * group's newest, created if the group has none, and the one before it
 */
void
IndexKeysWrapForNewMasterKey(int32 key_id, const uint8 *kek, const char *group)
{
	uint8		wrapped[EF_WRAPPED_LEN];
	int32		index_key_id = WrapIndexKey(kek, group, wrapped);

	RegistryInsertIndexKey(index_key_id, key_id, wrapped);
	WrapPreviousIndexKey(kek, key_id, group, index_key_id);
}

/*
 * Check that this session holds every master key of the group that is not
 * retired (a session holds at most EF_MAX_HELD_KEYS), so that each gets the
 * new index key, and that each of the group it holds has the group's newest
 * index key, so that all move on from the same two
 */
static void
CheckRotationKeys(const char *group, int32 newest)
{
	int32		active[EF_MAX_HELD_KEYS + 1];
	int			n = RegistryActiveKeys(group, active, lengthof(active));
	const HeldKey *held;

	IndexKeysRefresh();

	if (KeystoreCount() == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot rotate the index key without a master key held"),
				 errdetail("The new index key is stored only wrapped under the master keys this session holds."),
				 errhint("Call ef_unlock() with the master keys first.")));
	if (n > EF_MAX_HELD_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot rotate the index key while more than %d master keys of its group are not retired",
						EF_MAX_HELD_KEYS),
				 errdetail("A session holds at most %d master keys, and every key that is not retired must be held to rotate.",
						   EF_MAX_HELD_KEYS),
				 errhint("Retire the keys no longer in use, then rotate.")));
	for (int i = 0; i < n; i++)
		if (KeystoreFind(active[i]) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot rotate the index key without every master key of its group that is not retired"),
					 errdetail("Master key %d is registered in index-key group \"%s\", not retired, and not held in this session.",
							   active[i], group),
					 errhint("Unlock every master key that is not retired, or retire the keys no longer in use, then rotate.")));
	for (int i = 0; (held = KeystoreGet(i)) != NULL; i++)
		if (strcmp(held->index_group, group) == 0 && held->index_key_id[0] != newest)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("this session does not hold the newest index key of group \"%s\"", group),
					 errdetail("Master key %d was unlocked before index key %d was created.",
							   held->key_id, newest),
					 errhint("Unlock the master keys again, then rotate.")));
	if (KeystoreHolderOf(newest, group) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot rotate the index key of group \"%s\" without one of its master keys held", group),
				 errdetail("The new index key is stored only wrapped under the group's master keys this session holds, with the group's newest index key."),
				 errhint("Unlock a master key of the group, then rotate.")));
}

/*
 * Check that this session can rotate the index key of a group, with the
 * registry's index keys locked until the transaction ends; return the new
 * id, and in *replaced the group's newest before it
 */
static int32
CheckRotation(const char *group, int32 *replaced)
{
	int32		newest;
	int32		last;

	if (KeystoreRotationPending())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the index key was already rotated in this transaction"),
				 errhint("Commit, then rotate again if another index key is needed.")));
	RegistryLockIndexKeys();
	newest = RegistryNewestIndexKey(group);
	last = RegistryNewestIndexKey(NULL);
	if (newest == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index-key group \"%s\" has no index key to rotate", group),
				 errhint("Register a master key in the group first: its registration creates the index key.")));
	if (last >= PG_UINT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("no index key id is left"),
				 errdetail("A search term records its index key id in 2 bytes, and id %d is the last.",
						   PG_UINT16_MAX)));
	CheckRotationKeys(group, newest);
	*replaced = newest;
	return last + 1;
}

/*
 * Wrap a new index key under every held master key of its group (those of
 * the group holding the index key it replaces) and record each
 */
static int
WrapUnderHeldKeys(int32 index_key_id, int32 replaced, const char *group,
				  const uint8 *index_key)
{
	const HeldKey *key;
	uint8		wrapped[EF_WRAPPED_LEN];
	EfCryptoStatus status;
	int			n = 0;

	for (int i = 0; (key = KeystoreGet(i)) != NULL; i++)
	{
		if (key->index_key_id[0] != replaced || strcmp(key->index_group, group) != 0)
			continue;
		status = EfKeyWrap(key->kek, index_key, EF_KEY_LEN, wrapped);
		if (status != EF_CRYPTO_OK)
			ef_crypto_report(status);
		RegistryInsertIndexKey(index_key_id, key->key_id, wrapped);
		n++;
	}
	return n;
}

/*
 * Create a new index key for the search terms of an index-key group,
 * wrapped under every master key of the group held; return its id.  New
 * terms use it once the transaction commits, in this session, and in other
 * sessions once they read the index keys again; lookups can match terms of
 * the previous index key too, with ef_terms(), until values are
 * re-encrypted.
 */
int32
IndexKeyRotate(const char *group)
{
	int32		replaced;
	int32		index_key_id = CheckRotation(group, &replaced);
	uint8		fresh[EF_KEY_LEN];
	int			wrapped_under = 0;

	PG_TRY();
	{
		EfCryptoStatus status = EfRandomBytes(fresh, sizeof(fresh));

		if (status != EF_CRYPTO_OK)
			ef_crypto_report(status);
		KeystoreRotateIndexKey(index_key_id, replaced, group, fresh);
		wrapped_under = WrapUnderHeldKeys(index_key_id, replaced, group, fresh);
	}
	PG_FINALLY();
	{
		explicit_bzero(fresh, sizeof(fresh));
	}
	PG_END_TRY();
	AuditIndexKeyRotated(index_key_id, wrapped_under);
	return index_key_id;
}

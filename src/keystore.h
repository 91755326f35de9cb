/*-------------------------------------------------------------------------
 *
 * keystore.h
 *		The master keys this backend holds, and when it forgets them
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/keystore.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEYSTORE_H
#define EF_KEYSTORE_H

#include "access/xact.h"
#include "crypto.h"
#include "utils/timestamp.h"

#define EF_MAX_HELD_KEYS	64

/*
 * Slots: a key unlocked again in a later (sub)transaction takes a slot of its
 * own, shadowing the one before until the transaction commits, so that a
 * rollback brings the earlier unlock back exactly
 */
#define EF_KEY_SLOTS		(2 * EF_MAX_HELD_KEYS)

/* Master keys a connection may give at its start (encrypted_field.keys) */
#define EF_MAX_SUPPLIED_KEYS	32

/*
 * Index keys held per master key: the newest wrapped under it and the one
 * before, so that lookups can probe both while values move to a rotated key
 */
#define EF_INDEX_KEYS_HELD	2

typedef enum EfKeyScope
{
	EF_SCOPE_SESSION,
	EF_SCOPE_TRANSACTION
} EfKeyScope;

/*
 * One held key.  Only the key-wrapping key derived from the master key is
 * kept; the master key itself is wiped as soon as ef_unlock() returns.
 */
typedef struct HeldKey
{
	bool		in_use;
	bool		shadowed;		/* unlocked again since, in a transaction
								 * still open */
	bool		retired;		/* registry mark at unlock: decrypt only */
	bool		forwarded;		/* sent by a Citus coordinator for this
								 * transaction (citus_forward.c) */
	Oid			role;			/* the role that unlocked it: the key serves
								 * roles with its privileges */
	EfKeyScope	scope;
	int32		key_id;
	SubTransactionId subid;		/* unlocked in this (sub)transaction, or
								 * InvalidSubTransactionId once committed */
	uint64		seq;			/* unlock order: the newest encrypts */
	TimestampTz unlocked_at;
	char		index_group[NAMEDATALEN];	/* the group whose index keys
											 * it holds */
	uint8		kek[EF_KEY_LEN];
	/* index keys wrapped under this key, newest first; id 0: none */
	int32		index_key_id[EF_INDEX_KEYS_HELD];
	uint8		index_key[EF_INDEX_KEYS_HELD][EF_KEY_LEN];
} HeldKey;

extern void KeystoreAdd(int32 key_id, EfKeyScope scope, bool retired,
						Oid role, const char *index_group, const uint8 *kek,
						const int32 *index_key_ids,
						const uint8 (*index_keys)[EF_KEY_LEN]);
extern const HeldKey *KeystoreTermKeyHolder(void);
extern const HeldKey *KeystoreHolderOf(int32 index_key_id, const char *group);
extern bool KeystoreHeldForOtherRole(int32 key_id);
extern void KeystoreRefuseOtherRole(int32 key_id);
extern void KeystoreSupply(int32 key_id, const uint8 *master, Oid role);
extern bool KeystoreSupplied(int32 key_id, uint8 *master, Oid *role);
extern void KeystoreSuppliedIds(char *buf, size_t size);
extern void KeystoreSetIndexKeys(int32 key_id, const int32 *index_key_ids,
								 const uint8 (*index_keys)[EF_KEY_LEN]);
extern void KeystoreRotateIndexKey(int32 index_key_id, int32 replaced_id,
								   const char *group, const uint8 *index_key);
extern bool KeystoreRotationPending(void);
extern void KeystoreNoteRegistration(void);
extern int	KeystoreIndexKeys(int32 *ids, const uint8 **keys, int max);
extern const HeldKey *KeystoreFind(int32 key_id);
extern const HeldKey *KeystoreCurrent(void);
extern int	KeystoreCount(void);
extern const HeldKey *KeystoreGet(int index);
extern const HeldKey *KeystoreGetAny(int index);
extern int	KeystoreForgetAll(void);
extern const char *KeystoreScopeName(EfKeyScope scope);
extern void KeystoreMarkForwarded(int32 key_id);
extern int	KeystoreForgetForwarded(void);
extern uint64 KeystoreGeneration(void);
extern bool KeystoreSeqHeld(uint64 seq);

#endif							/* EF_KEYSTORE_H */

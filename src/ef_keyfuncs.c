/*-------------------------------------------------------------------------
 *
 * ef_keyfuncs.c
 *		SQL functions that register, unlock, list and forget master keys
 *
 * A master key arrives as a bytea argument.  It is used only to derive the
 * key-wrapping key and the check value, then every copy made here is wiped.
 * Errors raised while a key argument is in play hide the statement from the
 * server log (errhidestmt): the statement may hold the key as a literal, and
 * log_min_error_statement would otherwise write it next to the error.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_keyfuncs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "audit.h"
#include "compat.h"
#include "crypto.h"
#include "ef_keyfuncs.h"
#include "ef_report.h"
#include "funcapi.h"
#include "generation.h"
#include "kdf.h"
#include "key_channel.h"
#include "key_source.h"
#include "keystore.h"
#include "miscadmin.h"
#include "redact.h"
#include "registry.h"
#include "secure.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* Raise an error about a key argument, keeping the statement out of the log */
#define KEY_ERROR(code, ...) \
	ereport(ERROR, (errcode(code), errhidestmt(true), __VA_ARGS__))

EF_NORETURN static void ArgumentError(bool audit, int32 key_id, const char *reason,
									  int code, const char *message);

/* Raise an error about an argument, auditing it as a failed unlock if asked */
static void
ArgumentError(bool audit, int32 key_id, const char *reason, int code,
			  const char *message)
{
	if (audit)
		AuditUnlockFailed(key_id, reason);
	KEY_ERROR(code, errmsg_internal("%s", message));
}

/*
 * Take the master key given at connection start for this key id, for a
 * call made without a key.  It serves the role that connected and the roles
 * with its privileges, like a held key.
 */
static void
TakeSuppliedKey(int32 key_id, uint8 *master, bool audit)
{
	Oid			role;

	if (!KeystoreSupplied(key_id, master, &role))
	{
		if (audit)
			AuditUnlockFailed(key_id, "no key given");
		if (KeyChannelRefused())
			KEY_ERROR(ERRCODE_EF_KEY_EXPOSED,
					  errmsg("master keys given at connection start were refused"),
					  errdetail("The keys did not come from the connection's startup options while encrypted_field was loaded: they waited in a setting that SQL can read, or were set in a file or with ALTER ROLE or ALTER DATABASE, and may be exposed."),
					  errhint("Load encrypted_field with session_preload_libraries or shared_preload_libraries, and replace the keys given on this connection."));
		KEY_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
				  errmsg("no master key given for key %d", key_id),
				  errdetail("Called without a key, the function takes the key given at connection start in \"encrypted_field.keys\", and none was given for this key id."),
				  errhint("Pass the key as a bind parameter, or connect with the option \"-c encrypted_field.keys=%d:HEX\".", key_id));
	}
	if (role != GetUserId() && !has_privs_of_role(GetUserId(), role))
	{
		explicit_bzero(master, EF_KEY_LEN);
		if (audit)
			AuditUnlockFailed(key_id, "key given at connection start serves another role");
		KEY_ERROR(ERRCODE_INSUFFICIENT_PRIVILEGE,
				  errmsg("permission denied to use the master key given at connection start"),
				  errdetail("A key given at connection start serves the role that connected and the roles that have its privileges."));
	}
}

/*
 * Refuse a master key argument that did not come from a bind parameter of
 * the client's statement: it was in the statement's text, which PostgreSQL
 * has shown to other sessions and may have logged
 */
static void
CheckKeySource(int32 key_id, uint8 *master, bool audit)
{
	const char *logged = RedactLoggedBeforeLoad();

	if (KeyFromBindParameter(master) && logged == NULL)
		return;
	explicit_bzero(master, EF_KEY_LEN);
	if (audit)
		AuditUnlockFailed(key_id, logged ? "statement logged before the library was loaded" :
						  "key not given as a bind parameter");
	RedactActivity();
	if (logged != NULL)
		KEY_ERROR(ERRCODE_EF_KEY_EXPOSED,
				  errmsg("master key %d may have been written to the server log", key_id),
				  errdetail("The server logs statements (%s), and encrypted_field was loaded by this statement, too late to keep its parameters out of the log.",
							logged),
				  errhint("Add encrypted_field to session_preload_libraries or shared_preload_libraries, and replace the key if the log may have kept it."));
	KEY_ERROR(ERRCODE_EF_KEY_EXPOSED,
			  errmsg("master key %d was not given as a bind parameter", key_id),
			  errdetail("A key written into a statement's text (a literal, an expression, a DO block, EXECUTE or an argument of a wrapper function) is shown to other sessions in pg_stat_activity and may be logged, so it may already be exposed."),
			  errhint("Pass the key as a bind parameter, or give it at connection start with the option \"-c encrypted_field.keys=ID:HEX\", and replace a key that appeared in statement text."));
}

/*
 * Check the key id and key arguments common to register and unlock, and copy
 * the key into the caller's buffer: the argument, which must come from a
 * bind parameter, or without one the key given at connection start.  A
 * detoasted copy of the argument is wiped at once, so from here on the only
 * copy of the key the extension made is the caller's.
 */
static void
TakeMasterKey(FunctionCallInfo fcinfo, int32 *key_id, uint8 *master,
			  bool audit)
{
	bytea	   *key;
	size_t		len;

	RedactMarkKeyStatement();
	*key_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
	if (PG_ARGISNULL(0))
		ArgumentError(audit, 0, "key id is null",
					  ERRCODE_NULL_VALUE_NOT_ALLOWED, "key id must not be null");
	if (*key_id <= 0)
		ArgumentError(audit, *key_id, "key id is not positive",
					  ERRCODE_INVALID_PARAMETER_VALUE, "key id must be positive");
	if (PG_ARGISNULL(1))
	{
		TakeSuppliedKey(*key_id, master, audit);
		return;
	}

	key = PG_GETARG_BYTEA_PP(1);
	len = VARSIZE_ANY_EXHDR(key);
	if (len == EF_KEY_LEN)
		memcpy(master, VARDATA_ANY(key), EF_KEY_LEN);
	EF_WIPE_IF_COPY(key, 1);
	if (len != EF_KEY_LEN && audit)
		AuditUnlockFailed(*key_id, "key is not 32 bytes long");
	if (len != EF_KEY_LEN)
		KEY_ERROR(ERRCODE_INVALID_PARAMETER_VALUE,
				  errmsg("master key must be %d bytes long", EF_KEY_LEN),
				  errdetail("The key given is %zu bytes long.", len),
				  errhint("Generate a key outside the database, for example with \"openssl rand -hex 32\", and keep it there."));
	CheckKeySource(*key_id, master, audit);
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

	/* a key of the group holding its newest holds the one before it too */
	for (int i = 0; (held = KeystoreGet(i)) != NULL; i++)
		if (held->index_key_id[0] == newest && held->index_key_id[1] != 0 &&
			strcmp(held->index_group, group) == 0)
			break;
	if (held == NULL)
		return;
	if (EfKeyWrap(kek, held->index_key[1], EF_KEY_LEN, wrapped) != EF_CRYPTO_OK)
		elog(ERROR, "could not wrap the index key");
	RegistryInsertIndexKey(held->index_key_id[1], key_id, wrapped);
}

/* Register a master key whose KEK and check value are derived */
static void
RegisterWith(int32 key_id, const char *comment, const char *group,
			 const uint8 *master, uint8 *kek)
{
	uint8		check[EF_CHECK_VALUE_LEN];
	uint8		wrapped[EF_WRAPPED_LEN];
	int32		index_key_id;

	if (EfKeyCheckValue(master, key_id, group, check) != EF_CRYPTO_OK ||
		EfDeriveKek(master, key_id, kek) != EF_CRYPTO_OK)
		elog(ERROR, "could not derive keys from master key");

	RegistryLockIndexKeys();
	KeystoreNoteRegistration();
	if (!RegistryInsert(key_id, check, comment, group))
		KEY_ERROR(ERRCODE_DUPLICATE_OBJECT,
				  errmsg("master key %d is already registered", key_id),
				  errhint("Choose another key id; a registered key is never replaced."));
	index_key_id = WrapIndexKey(kek, group, wrapped);
	RegistryInsertIndexKey(index_key_id, key_id, wrapped);
	WrapPreviousIndexKey(kek, key_id, group, index_key_id);
	AuditRegistry("registered", key_id);
}

/*
 * The index-key group argument (argno) of a function: 'default' when
 * absent, as 0.2.0 had one group; a name of 1 to EF_GROUP_MAX_LEN bytes.
 * Its errors keep the statement out of the log, like a key argument's: in
 * ef_register_key it sits beside the key.
 */
static char *
GetIndexGroup(FunctionCallInfo fcinfo, int argno)
{
	char	   *group;

	if (PG_NARGS() <= argno)
		return pstrdup("default");
	if (PG_ARGISNULL(argno))
		KEY_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
				  errmsg("index-key group must not be null"),
				  errhint("Leave index_group out for the group \"default\"."));
	group = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (group[0] == '\0' || strlen(group) > EF_GROUP_MAX_LEN)
		KEY_ERROR(ERRCODE_INVALID_PARAMETER_VALUE,
				  errmsg("index-key group name must be 1 to %d bytes long", EF_GROUP_MAX_LEN));
	return group;
}

/*
 * Record a master key's check value in the registry, in an index-key group
 * (argument 3), and the group's index key wrapped under it
 */
static Datum
RegisterKey(FunctionCallInfo fcinfo)
{
	int32		key_id;
	uint8		master[EF_KEY_LEN];
	uint8		kek[EF_KEY_LEN];
	char	   *comment = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));

	TakeMasterKey(fcinfo, &key_id, master, false);
	PG_TRY();
	{
		RegisterWith(key_id, comment, GetIndexGroup(fcinfo, 3), master, kek);
	}
	PG_FINALLY();
	{
		explicit_bzero(master, sizeof(master));
		explicit_bzero(kek, sizeof(kek));
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * 0.3.0 declares ef_register_key(key_id, master_key, comment, index_group)
 * with its own symbol, so that a backend still running an earlier library,
 * which would ignore the group, fails to call it; 0.2.0's declaration,
 * until ALTER EXTENSION UPDATE replaces it, registers in "default".
 */
PG_FUNCTION_INFO_V1(ef_register_key_in_group);
Datum
ef_register_key_in_group(PG_FUNCTION_ARGS)
{
	return RegisterKey(fcinfo);
}

PG_FUNCTION_INFO_V1(ef_register_key);
Datum
ef_register_key(PG_FUNCTION_ARGS)
{
	return RegisterKey(fcinfo);
}

/* Parse the scope argument of ef_unlock() */
static EfKeyScope
GetScope(FunctionCallInfo fcinfo)
{
	char	   *scope;

	int32		key_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);

	RedactMarkKeyStatement();
	if (PG_ARGISNULL(2))
		ArgumentError(true, key_id, "scope is null",
					  ERRCODE_NULL_VALUE_NOT_ALLOWED, "scope must not be null");
	scope = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(scope, "session") == 0)
		return EF_SCOPE_SESSION;
	if (strcmp(scope, "transaction") == 0)
		return EF_SCOPE_TRANSACTION;
	AuditUnlockFailed(key_id, "invalid scope");
	KEY_ERROR(ERRCODE_INVALID_PARAMETER_VALUE,
			  errmsg("invalid scope \"%s\"", scope),
			  errhint("The scope is \"session\" or \"transaction\"."));
	return EF_SCOPE_SESSION;	/* keep compiler quiet */
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

/* The rotation count this session's index keys were last read at */
static uint64 seen_generation = 0;

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
	if (!GenerationRead(&now) || now == seen_generation ||
		KeystoreRotationPending() || IsInParallelMode())
		return;
	for (int i = 0; (held = KeystoreGetAny(i)) != NULL; i++)
		UnwrapIndexKeys(held->key_id, held->kek, true, held->scope, held->retired,
						held->index_group);
	seen_generation = now;
}

/*
 * Check a master key against its registered check value and hold its KEK.
 * Every error here may leave secrets in the caller's buffers, which the
 * caller wipes whether this returns or not.
 */
static void
UnlockWith(int32 key_id, EfKeyScope scope, const uint8 *master, uint8 *kek)
{
	uint8		expected[EF_CHECK_VALUE_LEN];
	uint8		check[EF_CHECK_VALUE_LEN];
	bool		retired;
	char		group[NAMEDATALEN];

	if (!RegistryLookup(key_id, expected, &retired, group))
	{
		AuditUnlockFailed(key_id, "not registered");
		KEY_ERROR(ERRCODE_UNDEFINED_OBJECT,
				  errmsg("master key %d is not registered", key_id),
				  errhint("Register the key with ef_register_key() first."));
	}

	if (EfKeyCheckValue(master, key_id, group, check) != EF_CRYPTO_OK ||
		EfDeriveKek(master, key_id, kek) != EF_CRYPTO_OK)
		elog(ERROR, "could not derive keys from master key");

	/* a row relabelled into another group fails here too */
	if (!EfCryptoMemEqual(check, expected, EF_CHECK_VALUE_LEN))
	{
		AuditUnlockFailed(key_id, "key does not match its fingerprint");
		KEY_ERROR(ERRCODE_INVALID_PASSWORD,
				  errmsg("master key does not match the fingerprint registered for key %d", key_id),
				  errhint("Check that the key supplied is the one registered under this key id."));
	}

	UnwrapIndexKeys(key_id, kek, false, scope, retired, group);
	AuditUnlock(key_id, KeystoreScopeName(scope));
}

PG_FUNCTION_INFO_V1(ef_unlock);
/* Check a master key against the registry and hold it in this backend */
Datum
ef_unlock(PG_FUNCTION_ARGS)
{
	int32		key_id;
	EfKeyScope	scope = GetScope(fcinfo);
	uint8		master[EF_KEY_LEN];
	uint8		kek[EF_KEY_LEN];

	TakeMasterKey(fcinfo, &key_id, master, true);
	PG_TRY();
	{
		UnlockWith(key_id, scope, master, kek);
	}
	PG_FINALLY();
	{
		explicit_bzero(master, sizeof(master));
		explicit_bzero(kek, sizeof(kek));
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(ef_lock);
/* Forget every key this backend holds; return how many there were */
Datum
ef_lock(PG_FUNCTION_ARGS)
{
	int			n = KeystoreForgetAll();

	AuditLock(n, "ef_lock()");
	PG_RETURN_INT32(n);
}

PG_FUNCTION_INFO_V1(ef_retire_key);
/* Mark a key retired: it still decrypts, but encrypts nothing new */
Datum
ef_retire_key(PG_FUNCTION_ARGS)
{
	int32		key_id = PG_GETARG_INT32(0);

	if (!RegistryRetire(key_id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("master key %d is not registered", key_id)));
	AuditRegistry("retired", key_id);
	PG_RETURN_VOID();
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
	int			n = 0;

	for (int i = 0; (key = KeystoreGet(i)) != NULL; i++)
	{
		if (key->index_key_id[0] != replaced || strcmp(key->index_group, group) != 0)
			continue;
		if (EfKeyWrap(key->kek, index_key, EF_KEY_LEN, wrapped) != EF_CRYPTO_OK)
			elog(ERROR, "could not wrap the index key");
		RegistryInsertIndexKey(index_key_id, key->key_id, wrapped);
		n++;
	}
	return n;
}

/*
 * Create a new index key for the search terms of an index-key group
 * (argument 0), wrapped under every master key of the group held; return
 * its id.  New terms use it once the transaction commits, in this session,
 * and in other sessions once they unlock again; lookups can match terms of
 * the previous index key too, with ef_terms(), until values are
 * re-encrypted.
 */
static Datum
RotateIndexKey(FunctionCallInfo fcinfo)
{
	char	   *group = GetIndexGroup(fcinfo, 0);
	int32		replaced;
	int32		index_key_id = CheckRotation(group, &replaced);
	uint8		fresh[EF_KEY_LEN];
	int			wrapped_under = 0;

	PG_TRY();
	{
		if (EfRandomBytes(fresh, sizeof(fresh)) != EF_CRYPTO_OK)
			elog(ERROR, "could not generate random bytes");
		KeystoreRotateIndexKey(index_key_id, replaced, group, fresh);
		wrapped_under = WrapUnderHeldKeys(index_key_id, replaced, group, fresh);
	}
	PG_FINALLY();
	{
		explicit_bzero(fresh, sizeof(fresh));
	}
	PG_END_TRY();
	AuditIndexKeyRotated(index_key_id, wrapped_under);
	PG_RETURN_INT32(index_key_id);
}

/* 0.3.0's ef_rotate_index_key(index_group), a symbol of its own as above */
PG_FUNCTION_INFO_V1(ef_rotate_index_key_of_group);
Datum
ef_rotate_index_key_of_group(PG_FUNCTION_ARGS)
{
	return RotateIndexKey(fcinfo);
}

PG_FUNCTION_INFO_V1(ef_rotate_index_key);
Datum
ef_rotate_index_key(PG_FUNCTION_ARGS)
{
	return RotateIndexKey(fcinfo);
}

PG_FUNCTION_INFO_V1(ef_held_keys);
/* List the keys this backend holds: ids and state, never key material */
Datum
ef_held_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const HeldKey *current = KeystoreCurrent();
	const HeldKey *key;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; (key = KeystoreGet(i)) != NULL; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = Int32GetDatum(key->key_id);
		values[1] = CStringGetTextDatum(KeystoreScopeName(key->scope));
		values[2] = BoolGetDatum(key == current);
		values[3] = BoolGetDatum(key->retired);
		values[4] = TimestampTzGetDatum(key->unlocked_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

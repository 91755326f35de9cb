/*-------------------------------------------------------------------------
 *
 * ef_keyfuncs.c
 *		SQL functions that register, unlock, list and forget master keys,
 *		and rotate index keys
 *
 * A master key arrives as a bytea argument.  It is used only to derive the
 * key-wrapping key and the check value, then every copy made here is wiped.
 * Errors raised while a key argument is in play hide the statement from the
 * server log (KEY_ERROR).  What happens to index keys is indexkey.c's.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_keyfuncs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit.h"
#include "citus_forward.h"
#include "parallel_keys.h"
#include "crypto.h"
#include "decrypt_audit.h"
#include "ef_report.h"
#include "funcapi.h"
#include "indexkey.h"
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
	if (PG_ARGISNULL(0) && audit)
		AuditUnlockFailed(0, "key id is null");
	if (PG_ARGISNULL(0))
		KEY_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
				  errmsg("key id must not be null"));
	if (*key_id <= 0 && audit)
		AuditUnlockFailed(*key_id, "key id is not positive");
	if (*key_id <= 0)
		KEY_ERROR(ERRCODE_INVALID_PARAMETER_VALUE,
				  errmsg("key id must be positive"));
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
 * Derive a master key's check value and KEK into the caller's buffers,
 * which the caller wipes whether this returns or not
 */
static void
DeriveKeys(const uint8 *master, int32 key_id, const char *group,
		   uint8 *check, uint8 *kek)
{
	EfCryptoStatus status = EfKeyCheckValue(master, key_id, group, check);

	if (status == EF_CRYPTO_OK)
		status = EfDeriveKek(master, key_id, kek);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
}

/* Register a master key whose KEK and check value are derived */
static void
RegisterWith(int32 key_id, const char *comment, const char *group,
			 const uint8 *master, uint8 *kek)
{
	uint8		check[EF_CHECK_VALUE_LEN];

	DeriveKeys(master, key_id, group, check, kek);

	RegistryLockIndexKeys();
	KeystoreNoteRegistration();
	if (!RegistryInsert(key_id, check, comment, group))
		KEY_ERROR(ERRCODE_DUPLICATE_OBJECT,
				  errmsg("master key %d is already registered", key_id),
				  errhint("Choose another key id; a registered key is never replaced."));
	IndexKeysWrapForNewMasterKey(key_id, kek, group);
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
	{
		AuditUnlockFailed(key_id, "scope is null");
		KEY_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
				  errmsg("scope must not be null"));
	}
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
 * Check a master key against its registered check value and hold its KEK.
 * Every error here may leave secrets in the caller's buffers, which the
 * caller wipes whether this returns or not.
 */
static void
UnlockWith(int32 key_id, EfKeyScope scope, const char *reason,
		   const uint8 *master, uint8 *kek)
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

	DeriveKeys(master, key_id, group, check, kek);

	/* a row relabelled into another group fails here too */
	if (!EfCryptoMemEqual(check, expected, EF_CHECK_VALUE_LEN))
	{
		AuditUnlockFailed(key_id, "key does not match its fingerprint");
		KEY_ERROR(ERRCODE_INVALID_PASSWORD,
				  errmsg("master key does not match the fingerprint registered for key %d", key_id),
				  errhint("Check that the key supplied is the one registered under this key id."));
	}

	IndexKeysHold(key_id, kek, scope, retired, group);
	DecryptAuditNoteUnlock(key_id, reason);
	AuditUnlock(key_id, KeystoreScopeName(scope), reason);
}

/*
 * Check a master key against the registry and hold it in this backend,
 * with the reason (argument 3, where declared) the audit lines give
 */
static Datum
Unlock(FunctionCallInfo fcinfo)
{
	int32		key_id;
	uint8		master[EF_KEY_LEN];
	uint8		kek[EF_KEY_LEN];

	TakeMasterKey(fcinfo, &key_id, master, true);
	PG_TRY();
	{
		/*
		 * The other arguments after the key's source is checked and the
		 * statement hidden: an exposed key is the news, whatever else is wrong
		 */
		EfKeyScope	scope = GetScope(fcinfo);
		char	   *reason = DecryptAuditReasonArgument(fcinfo, 3);

		DecryptAuditCheckReason(key_id, reason);
		UnlockWith(key_id, scope, reason, master, kek);
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
 * 0.3.0 declares ef_unlock(key_id, master_key, scope, reason) with its own
 * symbol, so that a backend still running an earlier library, which would
 * drop the reason, fails to call it; 0.2.0's declaration, until ALTER
 * EXTENSION UPDATE replaces it, unlocks without one.
 */
PG_FUNCTION_INFO_V1(ef_unlock_with_reason);
Datum
ef_unlock_with_reason(PG_FUNCTION_ARGS)
{
	return Unlock(fcinfo);
}

PG_FUNCTION_INFO_V1(ef_unlock);
Datum
ef_unlock(PG_FUNCTION_ARGS)
{
	return Unlock(fcinfo);
}

PG_FUNCTION_INFO_V1(ef_lock);
/* Forget every key this backend holds; return how many there were */
Datum
ef_lock(PG_FUNCTION_ARGS)
{
	int			n = KeystoreForgetAll();

	AuditLock(n, "ef_lock()");
	/* parallel workers of later statements get none */
	ParallelKeysRevoke();
	/* Citus workers serving this transaction forget them too */
	CitusForwardRevoke();
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
 * Create a new index key for the search terms of an index-key group
 * (argument 0, 'default' when absent); return its id
 */
static Datum
RotateIndexKey(FunctionCallInfo fcinfo)
{
	PG_RETURN_INT32(IndexKeyRotate(GetIndexGroup(fcinfo, 0)));
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

PG_FUNCTION_INFO_V1(ef_term_index_key_id);
/*
 * The id of the index key new search terms use in this session: the newest
 * of the current key's index-key group, read again after a rotation
 */
Datum
ef_term_index_key_id(PG_FUNCTION_ARGS)
{
	IndexKeysRefresh();
	PG_RETURN_INT32(IndexKeyForNewTerms()->index_key_id[0]);
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

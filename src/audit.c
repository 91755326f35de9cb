/*-------------------------------------------------------------------------
 *
 * audit.c
 *		Server-log lines for every use of a master key
 *
 * Each line says who (role, database, client address, application) did
 * what with which key id.  Lines go to the server log only (LOG_SERVER_ONLY),
 * never to the client, and hide the statement and context: the statement
 * that unlocks a key may hold the key as a literal.  No key material is
 * ever passed here, only ids.
 *
 * Some lines are written from transaction callbacks, where the catalogs may
 * not be read, so the role is the login role from the connection, plus the
 * current role when a transaction is running.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "audit.h"
#include "decrypt_audit.h"
#include "lib/stringinfo.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "utils/guc.h"

/*
 * Append name=value; a value that could pass for more of the line (spaces,
 * parentheses, =, quotes, control characters) is written as a JSON string,
 * so that no application name or role name can forge another field
 */
static void
AppendField(StringInfo buf, const char *name, const char *value)
{
	bool		plain = value[0] != '\0';

	for (const char *c = value; plain && *c; c++)
		plain = !(*c == ' ' || *c == '(' || *c == ')' || *c == '=' || *c == '"' ||
				  *c == '\\' || *c == ',' || (unsigned char) *c < 0x20 || *c == 0x7f);
	appendStringInfo(buf, "%s=", name);
	if (plain)
		appendStringInfoString(buf, value);
	else
		DecryptAuditAppendJsonString(buf, value);
}

/* Describe who is acting, for the end of an audit line */
static char *
Who(void)
{
	StringInfoData buf;
	const char *login = (MyProcPort && MyProcPort->user_name) ?
	MyProcPort->user_name : "unknown";
	const char *db = (MyProcPort && MyProcPort->database_name) ?
	MyProcPort->database_name : "unknown";
	const char *client = (MyProcPort && MyProcPort->remote_host) ?
	MyProcPort->remote_host : "local";

	initStringInfo(&buf);
	AppendField(&buf, "user", login);
	if (IsTransactionState() && OidIsValid(GetUserId()))
	{
		const char *role = GetUserNameFromId(GetUserId(), true);

		if (role != NULL && strcmp(role, login) != 0)
			AppendField(&buf, " role", role);
	}
	AppendField(&buf, " database", db);
	AppendField(&buf, " client", client);
	AppendField(&buf, " application",
				(application_name && application_name[0]) ? application_name : "none");
	return buf.data;
}

/* Write one audit line, unless encrypted_field.audit is off */
#define AUDIT(...) \
	do { \
		if (ef_audit != EF_AUDIT_OFF) \
			ereport(LOG_SERVER_ONLY, \
					(errmsg(__VA_ARGS__), errhidestmt(true), errhidecontext(true))); \
	} while (0)

/*
 * Log a successful unlock, with its reason (NULL: none) quoted as a JSON
 * string, so that no reason can forge the rest of the line
 */
void
AuditUnlock(int32 key_id, const char *scope, const char *reason)
{
	StringInfoData quoted;

	if (reason == NULL)
	{
		AUDIT("encrypted_field: master key %d unlocked, scope %s (%s)",
			  key_id, scope, Who());
		return;
	}
	initStringInfo(&quoted);
	DecryptAuditAppendJsonString(&quoted, reason);
	AUDIT("encrypted_field: master key %d unlocked, scope %s, reason %s (%s)",
		  key_id, scope, quoted.data, Who());
}

/* Log a refused unlock */
void
AuditUnlockFailed(int32 key_id, const char *reason)
{
	AUDIT("encrypted_field: master key %d unlock failed: %s (%s)",
		  key_id, reason, Who());
}

/* Log ef_lock() or DISCARD ALL forgetting every key */
void
AuditLock(int count, const char *how)
{
	AUDIT("encrypted_field: locked by %s; master keys forgotten: %d (%s)",
		  how, count, Who());
}

/* Log a key forgotten at the end of its scope */
void
AuditForget(int32 key_id, const char *scope, const char *reason)
{
	AUDIT("encrypted_field: master key %d forgotten, scope %s: %s (%s)",
		  key_id, scope, reason, Who());
}

/* Log a change to the key registry */
void
AuditRegistry(const char *action, int32 key_id)
{
	AUDIT("encrypted_field: master key %d %s (%s)", key_id, action, Who());
}

/* Record a new index key and how many master keys wrap it */
void
AuditIndexKeyRotated(int32 index_key_id, int wrapped_under)
{
	AUDIT("encrypted_field: index key %d created, wrapped under %d master key(s) (%s)",
		  index_key_id, wrapped_under, Who());
}

/* Record keys a Citus coordinator forwarded to this worker backend */
void
AuditForwarded(const char *key_ids, int32 initiator, int64 transaction)
{
	AUDIT("encrypted_field: master keys %s forwarded by the Citus coordinator (group %d) for distributed transaction " INT64_FORMAT " (%s)",
		  key_ids, initiator, transaction, Who());
}

/* Record the Citus workers' public keys a coordinator session seals to */
void
AuditNodeKeys(const char *keys)
{
	AUDIT("encrypted_field: Citus worker keys read: %s (%s)", keys, Who());
}

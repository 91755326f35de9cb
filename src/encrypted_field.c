/*-------------------------------------------------------------------------
 *
 * encrypted_field.c
 *		Module entry point: module magic and the hooks installed at load
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/encrypted_field.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "audit.h"
#include "citus_forward.h"
#include "citus_plan.h"
#include "compress.h"
#include "compat.h"
#include "crypto.h"
#include "decrypt_audit.h"
#include "hook_chain.h"
#include "key_channel.h"
#include "key_plan.h"
#include "key_source.h"
#include "node_key.h"
#include "keystore.h"
#include "nodes/parsenodes.h"
#include "parallel_keys.h"
#include "redact.h"
#include "rotation_count.h"
#include "tcop/utility.h"
#include "utils/guc.h"

EF_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Note the utility statement's text while it runs (key_source.c), and forget
 * every key after DISCARD ALL: connection poolers send it when they
 * hand a server connection to another client, and that client must not
 * inherit the previous one's keys.  The keys go only once the command has
 * succeeded, as DISCARD ALL refuses to run inside a transaction block.
 */
static void
EfProcessUtility(PlannedStmt *pstmt, const char *queryString,
				 bool readOnlyTree, ProcessUtilityContext context,
				 ParamListInfo params, QueryEnvironment *queryEnv,
				 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	/* a key must not come from the text of a DO block or CALL it runs */
	KeySourceEnter(queryString);
	PG_TRY();
	{
		EfNextProcessUtility(prev_ProcessUtility, pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		KeySourceLeave();
	}
	PG_END_TRY();

	if (IsA(parsetree, DiscardStmt) &&
		((DiscardStmt *) parsetree)->target == DISCARD_ALL)
	{
		int			n = KeystoreForgetAll();

		ParallelKeysRevoke();

		if (n > 0)
			AuditLock(n, "DISCARD ALL");
	}
}

static const struct config_enum_entry compression_options[] = {
	{"off", EF_COMPRESSION_OFF, false},
	{"pglz", EF_COMPRESSION_PGLZ, false},
#ifdef USE_LZ4
	{"lz4", EF_COMPRESSION_LZ4, false},
#endif
	{NULL, 0, false}
};

/* Define the settings */
static void
DefineSettings(void)
{
	DefineCustomEnumVariable("encrypted_field.compression",
							 gettext_noop("Compression applied to plaintext before encryption."),
							 gettext_noop("TOAST cannot compress ciphertext, so large values are compressed first."),
							 &ef_compression,
#ifdef USE_LZ4
							 EF_COMPRESSION_LZ4,
#else
							 EF_COMPRESSION_PGLZ,
#endif
							 compression_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("encrypted_field.compression_threshold",
							gettext_noop("Plaintext of at least this many bytes is compressed before encryption."),
							gettext_noop("-1 turns compression off."),
							&ef_compression_threshold,
							256, -1, INT_MAX,
							PGC_USERSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
}

/* Install the hooks when the library is loaded */
void
_PG_init(void)
{
	RedactInstallHooks();
	KeyPlanInstallHook();
	/* after: it runs first, with the parameters' values */
	CitusPlanInstallHook();
	KeySourceInstallHooks();
	DefineSettings();
	DecryptAuditDefine();
	KeyChannelDefine(RedactLoadedByStatement());
	/*
	 * The forwarded keys' hook after the parallel hand-over's: it runs
	 * first, so that a Citus worker backend opens the set a statement
	 * brings before it hands its keys to that statement's parallel workers
	 */
	ParallelKeysInstall();
	CitusForwardInstallHooks();
	NodeKeyDefine();
	/* last: it drops placeholders, and the key channel reads its own */
	MarkGUCPrefixReserved("encrypted_field");
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = EfProcessUtility;
	RotationCountInstallHooks();
	NodeKeyInstallHooks();
	DecryptAuditInstallHooks();
	/* last: its ExecutorStart hook runs before any other that may fail */
	CitusPlanInstallExecutorHook();
}

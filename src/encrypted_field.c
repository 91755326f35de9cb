/*-------------------------------------------------------------------------
 *
 * encrypted_field.c
 *		Module entry point: module magic and the hooks installed at load
 *
 * IDENTIFICATION
 *		src/encrypted_field.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit.h"
#include "compat.h"
#include "crypto.h"
#include "keystore.h"
#include "nodes/parsenodes.h"
#include "redact.h"
#include "tcop/utility.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Forget every key after DISCARD ALL: connection poolers send it when they
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

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (IsA(parsetree, DiscardStmt) &&
		((DiscardStmt *) parsetree)->target == DISCARD_ALL)
	{
		int			n = KeystoreForgetAll();

		if (n > 0)
			AuditLock(n, "DISCARD ALL");
	}
}

/* Install the hooks when the library is loaded */
void
_PG_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = EfProcessUtility;
	RedactInstallHooks();
}

/*-------------------------------------------------------------------------
 *
 * key_source.c
 *		Tell whether a master key came from a bind parameter of the client
 *
 * PostgreSQL publishes a statement's text in pg_stat_activity before any
 * extension code runs, and may log it, so a key written into the text (as a
 * literal, an expression such as decode(...), an EXECUTE argument, a DO
 * block, or a literal passed to the application's own wrapper function)
 * may already be exposed when ef_unlock() sees it.  Such a key is refused.
 *
 * A key is accepted when its bytes are the value of a bind parameter of the
 * statement the client sent, and its hex or base64 form is in neither that
 * statement's text nor the text of any statement running inside it (dynamic
 * SQL a wrapper builds, a DO block: pg_stat_statements and the log may keep
 * those texts): the portal the protocol is running, found as
 * ActivePortal, visible (the portal of an SQL-level EXECUTE is not, and its
 * parameters come from the text) and running the statement being run (a
 * cursor's FETCH is not).  A bytea parameter must equal the key; a text
 * parameter may carry it in hex or base64, for wrappers that decode it.
 * This follows the key through any function the application writes,
 * whatever language, since it compares values, not expressions.
 *
 * The matching parameter is wiped when its portal is dropped: its datum and
 * the string PostgreSQL built of the parameters for error messages.  Other
 * copies PostgreSQL made (the protocol message buffer, a custom plan's
 * folded constant) are its own; doc/security.md lists them.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_source.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "common/base64.h"
#include "compat.h"
#include "crypto.h"
#include "executor/executor.h"
#include "hook_chain.h"
#include "key_source.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/portal.h"

/* The texts of the statements running, outermost first */
#define MAX_RUNNING_TEXTS 64
static const char *running_texts[MAX_RUNNING_TEXTS];
static int	running_depth = 0;

static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;

/* A parameter to wipe when its portal goes */
typedef struct ParamWipe
{
	MemoryContextCallback cb;
	ParamListInfo params;
	int			index;
} ParamWipe;

/* Wipe a parameter's value and the parameters' log string */
static void
WipeParam(void *arg)
{
	ParamWipe  *wipe = (ParamWipe *) arg;
	ParamExternData *prm = &wipe->params->params[wipe->index];

	if (!prm->isnull)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(prm->value);

		explicit_bzero(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	}
	if (wipe->params->paramValuesStr != NULL)
		explicit_bzero(wipe->params->paramValuesStr,
					   strlen(wipe->params->paramValuesStr));
}

/* Does a buffer hold a string, in any letter case if asked? */
static bool
Holds(const char *text, size_t len, const char *what, size_t whatlen,
	  bool any_case)
{
	for (size_t i = 0; whatlen <= len && i <= len - whatlen; i++)
		if (any_case ? pg_strncasecmp(text + i, what, whatlen) == 0 :
			memcmp(text + i, what, whatlen) == 0)
			return true;
	return false;
}

/* Does a buffer hold the key's bytes' hex (any letter case) or base64 form? */
static bool
TextCarriesKey(const char *text, size_t len, const uint8 *key)
{
	char		hex[2 * EF_KEY_LEN + 1];
	char		b64[64];
	int			b64len;
	bool		found;

	for (int i = 0; i < EF_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	b64len = EfB64Encode(key, EF_KEY_LEN, b64, sizeof(b64) - 1);
	found = Holds(text, len, hex, 2 * EF_KEY_LEN, true) ||
		(b64len > 0 && Holds(text, len, b64, b64len, false));
	explicit_bzero(hex, sizeof(hex));
	explicit_bzero(b64, sizeof(b64));
	return found;
}

/* Does one parameter's value carry the key? */
static bool
ParamCarriesKey(ParamExternData *prm, const uint8 *key)
{
	struct varlena *v;

	if (prm->isnull)
		return false;
	switch (prm->ptype)
	{
		case BYTEAOID:
			v = (struct varlena *) DatumGetPointer(prm->value);
			return !VARATT_IS_EXTENDED(v) &&
				VARSIZE_ANY_EXHDR(v) == EF_KEY_LEN &&
				EfCryptoMemEqual(VARDATA_ANY(v), key, EF_KEY_LEN);
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			v = (struct varlena *) DatumGetPointer(prm->value);
			return !VARATT_IS_EXTENDED(v) &&
				TextCarriesKey(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), key);
		default:
			return false;
	}
}

/* Note the text of a statement that starts to run inside this one */
void
KeySourceEnter(const char *text)
{
	if (running_depth < MAX_RUNNING_TEXTS)
		running_texts[running_depth] = text;
	running_depth++;
}

/* Forget it as it ends, by error too */
void
KeySourceLeave(void)
{
	if (running_depth > 0)
		running_depth--;
}

/* Does the text of a statement running carry the key? */
static bool
RunningTextCarriesKey(const uint8 *key)
{
	for (int i = 0; i < Min(running_depth, MAX_RUNNING_TEXTS); i++)
		if (running_texts[i] != NULL &&
			TextCarriesKey(running_texts[i], strlen(running_texts[i]), key))
			return true;
	return false;
}

/* Run a query, its text noted while it runs */
static void
EfExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
			  uint64 count EF_EXECUTE_ONCE_PARAM)
{
	KeySourceEnter(queryDesc->sourceText);
	PG_TRY();
	{
		EfNextExecutorRun(prev_ExecutorRun, queryDesc, direction, count EF_EXECUTE_ONCE_ARG);
	}
	PG_FINALLY();
	{
		KeySourceLeave();
	}
	PG_END_TRY();
}

/* Finish a query (its AFTER triggers run here), its text noted */
static void
EfExecutorFinish(QueryDesc *queryDesc)
{
	KeySourceEnter(queryDesc->sourceText);
	PG_TRY();
	{
		EfNextExecutorFinish(prev_ExecutorFinish, queryDesc);
	}
	PG_FINALLY();
	{
		KeySourceLeave();
	}
	PG_END_TRY();
}

/* Install the executor hooks that note running statements' texts */
void
KeySourceInstallHooks(void)
{
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = EfExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = EfExecutorFinish;
}

/*
 * Did this master key come from a bind parameter of the statement the
 * client sent?  If so, arrange for that parameter to be wiped with its
 * portal.
 */
bool
KeyFromBindParameter(const uint8 *key)
{
	Portal		portal = ActivePortal;
	ParamListInfo params;

	if (portal == NULL || !portal->visible || portal->portalParams == NULL ||
		debug_query_string == NULL || portal->sourceText == NULL ||
		strcmp(portal->sourceText, debug_query_string) != 0 ||
		TextCarriesKey(debug_query_string, strlen(debug_query_string), key) ||
		RunningTextCarriesKey(key))
		return false;
	params = portal->portalParams;
	if (params->paramFetch != NULL)
		return false;			/* not the protocol's parameters */
	for (int i = 0; i < params->numParams; i++)
		if (ParamCarriesKey(&params->params[i], key))
		{
			/* the protocol keeps the parameters in the portal's memory */
			MemoryContext owner = GetMemoryChunkContext(params);
			ParamWipe  *wipe = MemoryContextAllocZero(owner, sizeof(ParamWipe));

			wipe->params = params;
			wipe->index = i;
			wipe->cb.func = WipeParam;
			wipe->cb.arg = wipe;
			MemoryContextRegisterResetCallback(owner, &wipe->cb);
			return true;
		}
	return false;
}

/*-------------------------------------------------------------------------
 *
 * key_plan.c
 *		Plan statements that call a key function without folding parameters
 *
 * A custom plan folds bind parameter values into constants, so the plan of
 * SELECT ef_unlock(1, $1) would carry the key wherever plans are shown:
 * EXPLAIN VERBOSE, auto_explain, debug_print_plan.  A statement whose query
 * tree calls ef_unlock() or ef_register_key() is planned as a generic plan
 * instead, in which the key stays "$1".  Key statements are few and their
 * plans trivial, so nothing is lost.
 *
 * The functions are recognised by what they are (C functions of this
 * library with those symbols), not by their names in the text.  A wrapper
 * function written in another language is not seen through; its statement
 * is hidden from the log once the key function runs (redact.c).
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "hook_chain.h"
#include "key_plan.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"

/* A small direct-mapped cache of functions already looked at */
#define FUNC_CACHE_SIZE 64

typedef struct FuncCacheEntry
{
	Oid			funcid;
	bool		is_key_function;
} FuncCacheEntry;

static FuncCacheEntry func_cache[FUNC_CACHE_SIZE];
static planner_hook_type prev_planner_hook = NULL;

/* Forget the cache when pg_proc changes */
static void
InvalidateFuncCache(Datum arg, int cacheid, uint32 hashvalue)
{
	memset(func_cache, 0, sizeof(func_cache));
}

/*
 * The C symbol of a function of this library, palloc'd, or NULL for any
 * other function: functions are known by what they are, not their names
 */
char *
KeyPlanLibrarySymbol(Oid funcid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	char	   *result = NULL;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	if (((Form_pg_proc) GETSTRUCT(tuple))->prolang == ClanguageId)
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull);
		Datum		bin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &isnull);

		if (!isnull)
		{
			char	   *library = TextDatumGetCString(bin);

			if (strstr(library, "encrypted_field") != NULL)
				result = TextDatumGetCString(src);
			pfree(library);
		}
	}
	ReleaseSysCache(tuple);
	return result;
}

/* Is this function ef_unlock() or ef_register_key() of this library? */
static bool
LookupKeyFunction(Oid funcid)
{
	char	   *symbol = KeyPlanLibrarySymbol(funcid);
	bool		result;

	if (symbol == NULL)
		return false;
	result = strcmp(symbol, "ef_unlock") == 0 ||
		strcmp(symbol, "ef_unlock_with_reason") == 0 ||
		strcmp(symbol, "ef_register_key") == 0 ||
		strcmp(symbol, "ef_register_key_in_group") == 0;
	pfree(symbol);
	return result;
}

/* Is this function a key function?  Cached */
static bool
IsKeyFunction(Oid funcid)
{
	FuncCacheEntry *entry = &func_cache[funcid % FUNC_CACHE_SIZE];

	if (entry->funcid != funcid)
	{
		entry->is_key_function = LookupKeyFunction(funcid);
		entry->funcid = funcid;
	}
	return entry->is_key_function;
}

/* Does an expression or query, at any depth, call a key function? */
static bool
CallsKeyFunction(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && IsKeyFunction(((FuncExpr *) node)->funcid))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, CallsKeyFunction, context, 0);
	return expression_tree_walker(node, CallsKeyFunction, context);
}

/* Plan a key statement without its parameters' values */
static PlannedStmt *
EfPlanner(Query *parse, const char *query_string, int cursorOptions,
		  ParamListInfo boundParams)
{
	if (boundParams != NULL && CallsKeyFunction((Node *) parse, NULL))
		boundParams = NULL;
	return EfNextPlanner(prev_planner_hook, parse, query_string, cursorOptions, boundParams);
}

/* Install the planner hook */
void
KeyPlanInstallHook(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = EfPlanner;
	CacheRegisterSyscacheCallback(PROCOID, InvalidateFuncCache, (Datum) 0);
}

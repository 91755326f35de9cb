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
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
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
	EfFunction	function;
} FuncCacheEntry;

static FuncCacheEntry func_cache[FUNC_CACHE_SIZE];
static planner_hook_type prev_planner_hook = NULL;
static uint32 term_mark = 0;	/* KeyPlanTermMark() */
static uint32 unresolved_mark = 0;
static uint32 index_keys_mark = 0;

/* Forget the cache when pg_proc changes */
static void
InvalidateFuncCache(Datum arg, int cacheid, uint32 hashvalue)
{
	/* citus_plan.c dropping the plans that hold terms: no function changed */
	if (KeyPlanIsMark(hashvalue))
		return;
	memset(func_cache, 0, sizeof(func_cache));
}

/*
 * Marks that citus_plan.c puts on plans as invalidation items on pg_proc:
 * "holds a computed term", "a term waits for a parameter's value" and
 * "computes terms with the index keys".  Each is the hash of a pg_proc row that
 * cannot exist: the oid of a catalog (pg_proc's own, pg_class's,
 * pg_type's), which no function shares, as
 * built-in oids are unique across catalogs and a user's start at
 * FirstNormalObjectId.  The hash of an oid is a bijection (murmurhash32),
 * never 0 (which means every row) but for oid 0, so no real invalidation
 * carries a mark, and no mark drops a real function's plans or caches.
 * citus_plan.c drops the plans that hold a term by calling the pg_proc
 * callbacks with the term mark.  (Its stamp of the role and the keys a
 * term was computed with is made of items no invalidation matches: see
 * there.)
 */
static void
MakeMarks(void)
{
	/* the first call, from a planner hook, may read pg_proc's descriptor */
	if (term_mark == 0)
	{
		unresolved_mark = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(RelationRelationId));
		index_keys_mark = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(TypeRelationId));
		term_mark = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(ProcedureRelationId));
		Assert(term_mark != 0 && unresolved_mark != 0 && index_keys_mark != 0 &&
			   term_mark != unresolved_mark && index_keys_mark != term_mark &&
			   index_keys_mark != unresolved_mark);
	}
}

uint32
KeyPlanTermMark(void)
{
	MakeMarks();
	return term_mark;
}

uint32
KeyPlanUnresolvedMark(void)
{
	MakeMarks();
	return unresolved_mark;
}

uint32
KeyPlanIndexKeysMark(void)
{
	MakeMarks();
	return index_keys_mark;
}

/* Has this backend marked a plan yet?  Without reading any catalog */
bool
KeyPlanMarksMade(void)
{
	return term_mark != 0;
}

/*
 * Is a pg_proc invalidation one of the marks?  Without reading any
 * catalog: called from invalidation callbacks
 */
bool
KeyPlanIsMark(uint32 hashvalue)
{
	return term_mark != 0 && (hashvalue == term_mark || hashvalue == unresolved_mark ||
							  hashvalue == index_keys_mark);
}

/*
 * The C symbol of a function of this library, palloc'd, or NULL for any
 * other function: functions are known by what they are, not their names
 */
static char *
LibrarySymbol(Oid funcid)
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

/* What a function is, looked up in pg_proc */
static EfFunction
LookupFunction(Oid funcid)
{
	static const struct
	{
		const char *symbol;
		EfFunction	function;
	}			known[] = {
		{"ef_unlock", EF_FUNCTION_UNLOCK},
		{"ef_unlock_with_reason", EF_FUNCTION_UNLOCK},
		{"ef_register_key", EF_FUNCTION_REGISTER_KEY},
		{"ef_register_key_in_group", EF_FUNCTION_REGISTER_KEY},
		{"ef_encrypt", EF_FUNCTION_ENCRYPT},
		{"ef_decrypt", EF_FUNCTION_DECRYPT},
		{"ef_decrypt_as", EF_FUNCTION_DECRYPT},
		{"ef_term", EF_FUNCTION_TERM},
		{"ef_terms", EF_FUNCTION_TERMS},
		{"ef_rewrap", EF_FUNCTION_REWRAP},
		{"ef_reterm", EF_FUNCTION_RETERM},
	};
	char	   *symbol = LibrarySymbol(funcid);
	EfFunction	result = EF_FUNCTION_OTHER;

	if (symbol == NULL)
		return EF_FUNCTION_OTHER;
	for (size_t i = 0; i < lengthof(known) && result == EF_FUNCTION_OTHER; i++)
		if (strcmp(symbol, known[i].symbol) == 0)
			result = known[i].function;
	pfree(symbol);
	return result;
}

/*
 * What a function is: the one cache of the planner hooks and the decrypt
 * audit, which ask for every function call of every statement they plan or
 * run, forgotten when pg_proc changes
 */
EfFunction
KeyPlanFunction(Oid funcid)
{
	FuncCacheEntry *entry = &func_cache[funcid % FUNC_CACHE_SIZE];

	if (entry->funcid != funcid)
	{
		entry->function = LookupFunction(funcid);
		entry->funcid = funcid;
	}
	return entry->function;
}

/* Add the kinds of the functions an expression or query calls, at any depth */
static bool
AddKindsCalled(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
		*(uint32 *) context |= KEY_PLAN_KIND(KeyPlanFunction(((FuncExpr *) node)->funcid));
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, AddKindsCalled, context, 0);
	return expression_tree_walker(node, AddKindsCalled, context);
}

/*
 * The kinds of this library's functions that an expression or query calls,
 * at any depth: a bit each (KEY_PLAN_KIND), one walk for every question
 */
uint32
KeyPlanKindsCalled(Node *node)
{
	uint32		kinds = 0;

	(void) AddKindsCalled(node, &kinds);
	return kinds;
}

/* Plan a key statement without its parameters' values */
static PlannedStmt *
EfPlanner(Query *parse, const char *query_string, int cursorOptions,
		  ParamListInfo boundParams)
{
	if (boundParams != NULL &&
		(KeyPlanKindsCalled((Node *) parse) &
		 (KEY_PLAN_KIND(EF_FUNCTION_UNLOCK) | KEY_PLAN_KIND(EF_FUNCTION_REGISTER_KEY))) != 0)
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

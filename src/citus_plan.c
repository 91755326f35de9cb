/*-------------------------------------------------------------------------
 *
 * citus_plan.c
 *		Statements on Citus tables: what runs on the coordinator, what on
 *		the workers
 *
 * Citus ships each statement on a distributed table to the workers as
 * text, with bind parameters replaced by their values; in a SELECT it
 * evaluates nothing else on the coordinator, and in an UPDATE it refuses
 * VOLATILE functions, and STABLE ones over columns.  Before Citus plans a
 * statement that reads or writes a Citus table, this hook:
 *
 *	- computes ef_term() and ef_terms() over constants and bind parameters
 *	  here, on the coordinator, so that the plaintext searched for never
 *	  reaches a worker, its log or Citus's log_remote_commands, and the
 *	  workers need no index key to search;
 *	- in an UPDATE of a Citus table, calls ef_encrypt() over constants and
 *	  bind parameters through a STABLE twin, which Citus evaluates on the
 *	  coordinator (the plaintext stays here; every row the statement
 *	  updates gets that one value), and ef_encrypt(), ef_rewrap() and
 *	  ef_reterm() over columns through IMMUTABLE twins, which Citus lets
 *	  run on the workers with the keys the coordinator forwarded
 *	  (citus_forward.c).  On a reference table, whose placements Citus
 *	  updates one by one, only ef_rewrap() may run there: it gives the
 *	  same bytes on every placement, while a fresh encryption would not.
 *
 * Citus does not run the INSTEAD OF triggers of a view over its tables
 * for UPDATE or DELETE (it ships the statement to the workers, where the
 * view has no trigger), so those are refused here with an error that says
 * so; SELECT and INSERT through views from ef_create_view work.
 *
 * A term over a bind parameter can only be computed in a plan made for
 * the parameter's value (a custom plan), so a generic plan of such a
 * statement is given a prohibitive cost, and plan_cache_mode =
 * force_generic_plan is refused.  A plan holding a computed term serves
 * one run: as it starts, and whenever a key is held or forgotten, a held
 * key's index keys change or SET ROLE runs, every cached plan holding a
 * term is made again before its next run, so that no term outlives the
 * keys and the role it was computed with.  Such a plan is marked with an
 * invalidation item of its own, so that the plan cache drops it and only
 * it (plans without a term stay, however many terms the session
 * computes; see KeyPlanTermMark()).
 * It is also stamped with the role and the key store's generation its
 * terms were computed with (the generation changes when a key is held or
 * forgotten, and when a held key's index keys are read again after a
 * rotation), and refused as it starts, EXPLAIN too, when they are not
 * those of now: a plan run again outside the plan cache (on PostgreSQL 15
 * to 17, a SQL function's statement, planned once per call site and
 * transaction), or made before a change of keys or role within its own
 * statement, would use a term of the keys or the role before.
 * A plan that computes terms (ef_term, ef_terms, ef_encrypt, ef_reterm,
 * here or on the shards) reads the index keys again when it is planned,
 * and is marked to do so again as it starts, since a cached plan is not
 * planned again: the keys sent before it must carry a rotation committed
 * meanwhile.
 * A plan whose term waits for a parameter's value is marked too, and
 * refused when it starts (a cached generic plan; on PostgreSQL 15 to 17 a
 * SQL function's statement, planned without its arguments' values):
 * running it would ship the parameter's plaintext to the workers.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/citus_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "citus_forward.h"
#include "citus_plan.h"
#include "hook_chain.h"
#include "indexkey.h"
#include "key_plan.h"
#include "keystore.h"
#include "registry.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* The twins the hook calls instead, by kind */
typedef struct Twins
{
	bool		valid;
	Oid			encrypt_on_coordinator;
	Oid			encrypt_on_shard;
	Oid			rewrap_on_shard;
	Oid			reterm_on_shard;
} Twins;

/*
 * A plan holding a computed term carries a stamp: the role (GetUserId())
 * and the key store's generation (KeystoreGeneration()) its terms were
 * computed with, as three invalidation items whose cache ids are
 * negative.  The catalog caches are numbered from 0 up, and
 * CallSyscacheCallbacks() takes no other id, so no invalidation ever
 * carries one of these: the plan cache, which drops a plan when an
 * invalidation's cache id and hash match an item's, never drops one for
 * its stamp (the term mark does that).  PostgreSQL 15 to 18 put only
 * pg_proc and pg_type items on plans (setrefs.c), and Citus 13 none.
 * The generation goes whole, in two items, so no number of key changes
 * brings a stamp back to a match.  A plan passes only if it has items of
 * all three ids and every one equals the role or the generation of now:
 * an item of these ids that some other code put on a plan can only add a
 * value that differs, a refusal at worst, never a match, since a term
 * mark comes with a stamp of ours (a plan with the mark and no stamp is
 * refused).
 */
#define STAMP_ROLE				(-0x45460001)	/* hash: the role's oid */
#define STAMP_GENERATION_LOW	(-0x45460002)	/* hash: its low 32 bits */
#define STAMP_GENERATION_HIGH	(-0x45460003)	/* hash: its high 32 bits */

typedef struct PlanStamp
{
	Oid			role;
	uint64		generation;
} PlanStamp;

typedef struct RewriteContext
{
	ParamListInfo params;
	bool		unresolved;		/* a term waits for a parameter's value */
	int			nstamps;		/* the terms' stamps (none: no term was
								 * computed): the first, and one that
								 * differs from it, if any */
	PlanStamp	stamps[2];
} RewriteContext;

/* What a plan's invalidation items say, read as it starts */
typedef struct PlanMarks
{
	bool		term;			/* it holds a computed term */
	bool		unresolved;		/* a term waits for a parameter's value */
	bool		index_keys;		/* its terms, here or on the shards, need
								 * the newest index keys */
	bool		stamped;		/* it has items of each stamp id */
	bool		other_role;		/* a stamp names a role not current */
	bool		other_keys;		/* a stamp names a generation not current */
} PlanMarks;



static ExecutorStart_hook_type prev_ExecutorStart = NULL;

static Twins twins;
static planner_hook_type prev_planner_hook = NULL;

/* Forget the twins' OIDs when pg_proc changes */
static void
InvalidateTwins(Datum arg, int cacheid, uint32 hashvalue)
{
	/* CitusPlanKeysChanged() dropping plans: no function changed */
	if (KeyPlanIsMark(hashvalue))
		return;
	twins.valid = false;
}

/*
 * The functions this hook moves, and ef_decrypt (which marks a view
 * ef_create_view made)
 */
#define MOVABLE_KINDS	(KEY_PLAN_KIND(EF_FUNCTION_TERM) | KEY_PLAN_KIND(EF_FUNCTION_TERMS) | \
						 KEY_PLAN_KIND(EF_FUNCTION_ENCRYPT) | KEY_PLAN_KIND(EF_FUNCTION_REWRAP) | \
						 KEY_PLAN_KIND(EF_FUNCTION_RETERM) | KEY_PLAN_KIND(EF_FUNCTION_DECRYPT))

/*
 * The functions that compute terms with the index keys (ef_encrypt may be
 * searchable): wherever Citus runs them, on the coordinator or the shards,
 * they need the newest index keys; ef_decrypt and ef_rewrap do not
 */
#define INDEX_KEY_KINDS	(KEY_PLAN_KIND(EF_FUNCTION_TERM) | KEY_PLAN_KIND(EF_FUNCTION_TERMS) | \
						 KEY_PLAN_KIND(EF_FUNCTION_ENCRYPT) | KEY_PLAN_KIND(EF_FUNCTION_RETERM))

/* Is a relation a Citus table?  Its kind in *reference */
static bool
IsCitusTable(Oid relid, bool *reference)
{
	Oid			catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	Oid			index = get_relname_relid("pg_dist_partition_logical_relid_index",
										  PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;

	*reference = false;
	if (!OidIsValid(catalog) || !OidIsValid(index))
		return false;
	rel = table_open(catalog, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, index, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		AttrNumber	method_att = attnameAttNum(rel, "partmethod", false);
		AttrNumber	repmodel_att = attnameAttNum(rel, "repmodel", false);
		bool		isnull;
		char		method = DatumGetChar(heap_getattr(tuple, method_att,
													   RelationGetDescr(rel), &isnull));
		char		repmodel = DatumGetChar(heap_getattr(tuple, repmodel_att,
														 RelationGetDescr(rel), &isnull));

		found = true;
		*reference = method == 'n' && repmodel == 't';
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Does a query read or write a Citus table, at any depth? */
static bool
TouchesCitus(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		bool		reference;

		return rte->rtekind == RTE_RELATION && IsCitusTable(rte->relid, &reference);
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, TouchesCitus, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, TouchesCitus, context);
}

/* Find one twin by name, with the argument types of the function it stands for */
static Oid
TwinOid(Oid schema, const char *name, int nargs, const Oid *argtypes)
{
	List	   *qualified = list_make2(makeString(get_namespace_name(schema)),
									   makeString(pstrdup(name)));

	return LookupFuncName(qualified, nargs, argtypes, false);
}

static void
EnsureTwins(void)
{
	Oid			schema;
	Oid			encrypt_args[6] = {ANYELEMENTOID, TEXTOID, BOOLOID, INT4OID, TEXTOID, TEXTOID};
	Oid			rewrap_args[2];
	Oid			reterm_args[4];

	if (twins.valid)
		return;
	schema = ExtensionSchema();
	rewrap_args[0] = reterm_args[0] =
		GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						CStringGetDatum("encrypted_field"), ObjectIdGetDatum(schema));
	rewrap_args[1] = INT4OID;
	reterm_args[1] = reterm_args[2] = reterm_args[3] = TEXTOID;
	twins.encrypt_on_coordinator = TwinOid(schema, "ef_encrypt_on_coordinator", 6, encrypt_args);
	twins.encrypt_on_shard = TwinOid(schema, "ef_encrypt_on_shard", 6, encrypt_args);
	twins.rewrap_on_shard = TwinOid(schema, "ef_rewrap_on_shard", 2, rewrap_args);
	twins.reterm_on_shard = TwinOid(schema, "ef_reterm_on_shard", 4, reterm_args);
	twins.valid = true;
}

/* Can an expression be computed before the scan: no columns, no subqueries? */
static bool
NotConstantWalker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, Aggref) || IsA(node, WindowFunc) ||
		IsA(node, SubLink) || IsA(node, SubPlan) || IsA(node, GroupingFunc) ||
		IsA(node, CurrentOfExpr) || IsA(node, NextValueExpr))
		return true;
	if (IsA(node, Param) && ((Param *) node)->paramkind != PARAM_EXTERN)
		return true;
	return expression_tree_walker(node, NotConstantWalker, context);
}

/* Does an expression hold a bind parameter without a value here? */
static bool
UnboundParamWalker(Node *node, void *context)
{
	ParamListInfo params = (ParamListInfo) context;

	if (node == NULL)
		return false;
	if (IsA(node, Param))
	{
		Param	   *param = (Param *) node;

		return params == NULL || param->paramid <= 0 ||
			param->paramid > params->numParams;
	}
	return expression_tree_walker(node, UnboundParamWalker, context);
}

/* Compute an expression now, into a constant of the planner's memory */
static Const *
Evaluate(Expr *expr, ParamListInfo params)
{
	EState	   *estate = CreateExecutorState();
	MemoryContext old;
	ExprState  *state;
	Datum		value;
	bool		isnull;
	Oid			type = exprType((Node *) expr);
	int16		typlen;
	bool		typbyval;

	estate->es_param_list_info = params;
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	state = ExecInitExpr(expr, NULL);
	value = ExecEvalExprSwitchContext(state, GetPerTupleExprContext(estate), &isnull);
	MemoryContextSwitchTo(old);
	get_typlenbyval(type, &typlen, &typbyval);
	if (!isnull)
		value = datumCopy(value, typbyval, typlen);
	FreeExecutorState(estate);
	return makeConst(type, exprTypmod((Node *) expr), exprCollation((Node *) expr),
					 typlen, value, isnull, typbyval);
}

/* The role and the keys of now */
static PlanStamp
CurrentStamp(void)
{
	PlanStamp	stamp = {GetUserId(), KeystoreGeneration()};

	return stamp;
}

/*
 * Note the role and the keys a term was just computed with (reading the
 * index keys again may have changed the keys as it was computed).  Terms
 * of one plan computed with different ones (a function in an argument
 * changed them) leave two stamps, which cannot both match: the plan is
 * refused.
 */
static void
NoteStamp(RewriteContext *context)
{
	PlanStamp	now = CurrentStamp();

	if (context->nstamps == 0)
		context->stamps[context->nstamps++] = now;
	else if (now.role != context->stamps[0].role ||
			 now.generation != context->stamps[0].generation)
	{
		context->stamps[1] = now;
		context->nstamps = 2;
	}
}

/* Compute the search terms over constants and parameters */
static Node *
FoldTerms(Node *node, RewriteContext *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, FoldTerms, context, 0);
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *func = (FuncExpr *) node;
		EfFunction	kind = KeyPlanFunction(func->funcid);

		if ((kind == EF_FUNCTION_TERM || kind == EF_FUNCTION_TERMS) && !func->funcretset &&
			!NotConstantWalker((Node *) func->args, NULL) &&
			!contain_volatile_functions((Node *) func->args))
		{
			Node	   *term;

			if (UnboundParamWalker((Node *) func->args, context->params))
			{
				context->unresolved = true;
				return node;
			}
			term = (Node *) Evaluate((Expr *) func, context->params);
			NoteStamp(context);
			return term;
		}
	}
	return expression_tree_mutator(node, FoldTerms, context);
}

/* Put the twin Citus accepts in place of each call in an UPDATE's SET list */
static Node *
UseTwins(Node *node, void *context)
{
	bool		reference = *(bool *) context;

	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *func = (FuncExpr *) copyObject(node);
		EfFunction	kind = KeyPlanFunction(func->funcid);
		bool		over_columns = NotConstantWalker((Node *) func->args, NULL);

		func->args = (List *) expression_tree_mutator((Node *) func->args, UseTwins, context);
		if (kind == EF_FUNCTION_ENCRYPT || kind == EF_FUNCTION_REWRAP || kind == EF_FUNCTION_RETERM)
			EnsureTwins();
		if (kind == EF_FUNCTION_ENCRYPT && !over_columns)
			func->funcid = twins.encrypt_on_coordinator;
		else if (kind == EF_FUNCTION_REWRAP && over_columns)
			func->funcid = twins.rewrap_on_shard;
		else if ((kind == EF_FUNCTION_ENCRYPT || kind == EF_FUNCTION_RETERM) && over_columns)
		{
			if (reference)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("%s over a column cannot update a Citus reference table",
								kind == EF_FUNCTION_ENCRYPT ? "ef_encrypt()" : "ef_reterm()"),
						 errdetail("Citus updates each placement of a reference table on its own, and each would get a different encryption of the same value."),
						 errhint("Encrypt on the coordinator: compute the values with a SELECT and write them with UPDATE ... SET c = $1.")));
			func->funcid = kind == EF_FUNCTION_ENCRYPT ? twins.encrypt_on_shard : twins.reterm_on_shard;
		}
		return (Node *) func;
	}
	return expression_tree_mutator(node, UseTwins, context);
}

EF_NORETURN static void RefuseGenericTerm(bool starting);
EF_NORETURN static void RefuseStaleTerm(const PlanMarks *marks);

/*
 * A plan without the parameter's value would ship it to the workers:
 * refused when planned under force_generic_plan, and when such a plan
 * starts (a generic plan cached earlier; on PostgreSQL 15 to 17, a SQL
 * function's statement, which is planned without its arguments' values)
 */
static void
RefuseGenericTerm(bool starting)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("a search term over a bind parameter needs a custom plan on a Citus table"),
			 errdetail("The term is computed on the coordinator from the parameter's value, so that the value never reaches a worker."),
			 starting ?
			 errhint("Set plan_cache_mode to auto or force_custom_plan; in a SQL function, search from PL/pgSQL instead.") :
			 errhint("Set plan_cache_mode to auto or force_custom_plan.")));
}

/*
 * A plan whose term was computed with other keys or for another role than
 * those of now, or that does not say which: refused as it starts, EXPLAIN
 * too (it would show that term, and Citus sends it to a worker to explain
 * its part).  On PostgreSQL 15 to 17 a SQL function's statement is planned
 * once per call site and transaction, outside the plan cache, and its
 * next call runs that plan again; and a plan can be made before a change
 * of keys or role within its own statement.
 */
static void
RefuseStaleTerm(const PlanMarks *marks)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot run a plan whose search term was computed with other keys or for another role"),
			 !marks->stamped ?
			 errdetail("The plan does not record the keys and the role its search term was computed with.") :
			 marks->other_role ?
			 errdetail("The current role is not the role the plan computed its search term for.") :
			 errdetail("The keys held in this session changed after the plan computed its search term."),
			 errhint("Search from PL/pgSQL rather than from a SQL function, or run the statement again in a new transaction.")));
}

/* Put an invalidation item on a plan */
static void
AddItem(PlannedStmt *stmt, int cache_id, uint32 hash)
{
	PlanInvalItem *item = makeNode(PlanInvalItem);

	item->cacheId = cache_id;
	item->hashValue = hash;
	stmt->invalItems = lappend(stmt->invalItems, item);
}

/* Put a mark of KeyPlanTermMark()'s on a plan */
static void
Mark(PlannedStmt *stmt, uint32 mark)
{
	AddItem(stmt, PROCOID, mark);
}

/* Put a stamp on a plan holding a term */
static void
Stamp(PlannedStmt *stmt, const PlanStamp *stamp)
{
	AddItem(stmt, STAMP_ROLE, (uint32) stamp->role);
	AddItem(stmt, STAMP_GENERATION_LOW, (uint32) stamp->generation);
	AddItem(stmt, STAMP_GENERATION_HIGH, (uint32) (stamp->generation >> 32));
}

/*
 * Which marks a plan carries, and whether its stamps match the role and
 * the keys of now: one walk of its items, at every start
 */
static void
MarksOf(const PlannedStmt *stmt, PlanMarks *marks)
{
	ListCell   *lc;
	uint32		term_mark = KeyPlanTermMark();
	uint32		unresolved_mark = KeyPlanUnresolvedMark();
	uint32		index_keys_mark = KeyPlanIndexKeysMark();
	PlanStamp	now = CurrentStamp();
	bool		role = false;
	bool		low = false;
	bool		high = false;

	memset(marks, 0, sizeof(PlanMarks));
	foreach(lc, stmt->invalItems)
	{
		PlanInvalItem *item = lfirst_node(PlanInvalItem, lc);

		switch (item->cacheId)
		{
			case PROCOID:
				marks->term |= item->hashValue == term_mark;
				marks->unresolved |= item->hashValue == unresolved_mark;
				marks->index_keys |= item->hashValue == index_keys_mark;
				break;
			case STAMP_ROLE:
				role = true;
				marks->other_role |= item->hashValue != (uint32) now.role;
				break;
			case STAMP_GENERATION_LOW:
				low = true;
				marks->other_keys |= item->hashValue != (uint32) now.generation;
				break;
			case STAMP_GENERATION_HIGH:
				high = true;
				marks->other_keys |= item->hashValue != (uint32) (now.generation >> 32);
				break;
			default:
				break;
		}
	}
	marks->stamped = role && low && high;
}

static PlannedStmt *
CitusPlanner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	RewriteContext context = {.params = boundParams};
	uint32		kinds = 0;
	bool		index_keys = false;
	PlannedStmt *result;

	if (CitusLoaded() && ((kinds = KeyPlanKindsCalled((Node *) parse)) & MOVABLE_KINDS) != 0 &&
		TouchesCitus((Node *) parse, NULL))
	{
		/*
		 * Read the index keys again if another session rotated them: the
		 * terms folded here, the set forwarded before this statement and the
		 * terms the shards compute then all use the newest.  Before the
		 * terms are folded, so that their stamp names the keys after it.
		 * Such a plan is marked, and does it again as it starts: a cached
		 * plan is not planned again.
		 */
		index_keys = (kinds & INDEX_KEY_KINDS) != 0;
		if (index_keys)
			IndexKeysRefresh();
		if ((parse->commandType == CMD_UPDATE || parse->commandType == CMD_DELETE) &&
			parse->resultRelation > 0 &&
			rt_fetch(parse->resultRelation, parse->rtable)->relkind == RELKIND_VIEW)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot %s through view \"%s\", which reads a Citus table",
							parse->commandType == CMD_UPDATE ? "update" : "delete",
							get_rel_name(rt_fetch(parse->resultRelation, parse->rtable)->relid)),
					 errdetail("Citus does not run the INSTEAD OF triggers of views over its tables for UPDATE and DELETE."),
					 errhint("Update or delete in the table itself, encrypting with the context the view's trigger uses; INSERT and SELECT through the view work.")));
		if (parse->commandType == CMD_UPDATE && parse->resultRelation > 0)
		{
			RangeTblEntry *target = rt_fetch(parse->resultRelation, parse->rtable);
			bool		reference;

			if (target->rtekind == RTE_RELATION &&
				IsCitusTable(target->relid, &reference))
				parse->targetList = (List *) UseTwins((Node *) parse->targetList, &reference);
		}
		parse = (Query *) FoldTerms((Node *) parse, &context);
		if (context.unresolved && plan_cache_mode == PLAN_CACHE_MODE_FORCE_GENERIC_PLAN)
			RefuseGenericTerm(false);
	}

	result = EfNextPlanner(prev_planner_hook, parse, query_string, cursorOptions, boundParams);

	if (context.unresolved && result->planTree != NULL)
	{
		/* never chosen over a custom plan, which computes the term */
		result->planTree->startup_cost = 1.0e30;
		result->planTree->total_cost = 1.0e30;
		Mark(result, KeyPlanUnresolvedMark());
	}
	if (index_keys)
		Mark(result, KeyPlanIndexKeysMark());
	if (context.nstamps > 0)		/* a term was computed into the plan */
	{
		result->transientPlan = true;
		Mark(result, KeyPlanTermMark());
		for (int i = 0; i < context.nstamps; i++)
			Stamp(result, &context.stamps[i]);
	}
	return result;
}

/*
 * Start a query: refuse a plan whose term waits for a parameter's value,
 * for EXPLAIN too (Citus sends the bound values to the workers to explain
 * their part); drop every cached plan holding a term, this one included,
 * from its next run on, whether or not this run reaches its end (an error
 * skips ExecutorEnd); read the index keys again for a plan whose terms
 * need them; then refuse this one, EXPLAIN too, if its term was
 * computed with other keys or for another role than those of now.  The
 * plan that runs stays: the plan cache counts its users.  Installed after
 * the other ExecutorStart hooks, so that it runs before them and an error
 * in theirs cannot leave such a plan cached, and no key goes to a worker
 * for a plan refused.
 */
static void
CitusPlanExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (KeyPlanMarksMade())
	{
		PlanMarks	marks;

		MarksOf(queryDesc->plannedstmt, &marks);
		if (marks.unresolved)
			RefuseGenericTerm(true);
		if (marks.term)
			CallSyscacheCallbacks(PROCOID, KeyPlanTermMark());
		if (marks.index_keys)
		{
			uint64		generation = KeystoreGeneration();

			/*
			 * A cached plan is not planned again, so CitusPlanner has not
			 * read a rotation committed since: read it before the keys go to
			 * the shards.  Only for such plans: the registry read can fail (a
			 * damaged row), and no other statement should.
			 */
			IndexKeysRefresh();
			if (KeystoreGeneration() != generation)
				MarksOf(queryDesc->plannedstmt, &marks);
		}
		if (marks.term && (!marks.stamped || marks.other_role || marks.other_keys))
			RefuseStaleTerm(&marks);
	}
	EfNextExecutorStart(prev_ExecutorStart, queryDesc, eflags);
}

/*
 * The keys held or the current role changed: a cached plan may hold a term
 * computed with the keys before, for the role before, so every cached plan
 * marked as holding one is made again before it next runs.  Must not fail:
 * called as keys are forgotten at the end of transactions.  The plan
 * cache's callback only marks plans invalid; it neither allocates nor
 * reads the catalogs.
 */
void
CitusPlanKeysChanged(void)
{
	/* the marks are made by then: no catalog is read */
	if (KeyPlanMarksMade())
		CallSyscacheCallbacks(PROCOID, KeyPlanTermMark());
}

/* Install the ExecutorStart hook: last, so that it runs first */
void
CitusPlanInstallExecutorHook(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = CitusPlanExecutorStart;
}

/* Install the planner hook */
void
CitusPlanInstallHook(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = CitusPlanner;

	CacheRegisterSyscacheCallback(PROCOID, InvalidateTwins, (Datum) 0);
}

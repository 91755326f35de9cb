/*-------------------------------------------------------------------------
 *
 * hook_chain.h
 *		Call the hook installed before ours, or PostgreSQL's own function
 *
 * Every executor and utility hook of the extension ends by passing the
 * call on; these say it once.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/hook_chain.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_HOOK_CHAIN_H
#define EF_HOOK_CHAIN_H

#include "compat.h"
#include "executor/executor.h"
#include "optimizer/planner.h"
#include "tcop/utility.h"

static inline void
EfNextExecutorStart(ExecutorStart_hook_type prev, QueryDesc *queryDesc, int eflags)
{
	if (prev)
		prev(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static inline void
EfNextExecutorRun(ExecutorRun_hook_type prev, QueryDesc *queryDesc,
				  ScanDirection direction, uint64 count EF_EXECUTE_ONCE_PARAM)
{
	if (prev)
		prev(queryDesc, direction, count EF_EXECUTE_ONCE_ARG);
	else
		standard_ExecutorRun(queryDesc, direction, count EF_EXECUTE_ONCE_ARG);
}

static inline void
EfNextExecutorFinish(ExecutorFinish_hook_type prev, QueryDesc *queryDesc)
{
	if (prev)
		prev(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

static inline void
EfNextExecutorEnd(ExecutorEnd_hook_type prev, QueryDesc *queryDesc)
{
	if (prev)
		prev(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static inline void
EfNextProcessUtility(ProcessUtility_hook_type prev, PlannedStmt *pstmt,
					 const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest,
					 QueryCompletion *qc)
{
	if (prev)
		prev(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static inline PlannedStmt *
EfNextPlanner(planner_hook_type prev, Query *parse, const char *query_string,
			  int cursorOptions, ParamListInfo boundParams)
{
	if (prev)
		return prev(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

#endif							/* EF_HOOK_CHAIN_H */

/*-------------------------------------------------------------------------
 *
 * citus_plan.h
 *		Statements on Citus tables: what runs on the coordinator, what on
 *		the workers
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/citus_plan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_CITUS_PLAN_H
#define EF_CITUS_PLAN_H

extern void CitusPlanInstallHook(void);
extern void CitusPlanInstallExecutorHook(void);
extern void CitusPlanKeysChanged(void);

#endif							/* EF_CITUS_PLAN_H */

/*-------------------------------------------------------------------------
 *
 * key_plan.h
 *		Plan statements that call a key function without folding parameters
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_plan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEY_PLAN_H
#define EF_KEY_PLAN_H

extern void KeyPlanInstallHook(void);
extern char *KeyPlanLibrarySymbol(Oid funcid);

#endif							/* EF_KEY_PLAN_H */

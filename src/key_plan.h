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

#include "nodes/nodes.h"

/* What a function is, by its C symbol in this library (overloads alike) */
typedef enum EfFunction
{
	EF_FUNCTION_OTHER = 0,		/* not a function of this library, or not these */
	EF_FUNCTION_UNLOCK,			/* ef_unlock, ef_unlock_with_reason */
	EF_FUNCTION_REGISTER_KEY,	/* ef_register_key, ef_register_key_in_group */
	EF_FUNCTION_ENCRYPT,
	EF_FUNCTION_DECRYPT,		/* ef_decrypt, ef_decrypt_as */
	EF_FUNCTION_TERM,
	EF_FUNCTION_TERMS,
	EF_FUNCTION_REWRAP,
	EF_FUNCTION_RETERM
} EfFunction;

extern void KeyPlanInstallHook(void);
extern EfFunction KeyPlanFunction(Oid funcid);
extern uint32 KeyPlanTermMark(void);
extern uint32 KeyPlanUnresolvedMark(void);
extern uint32 KeyPlanIndexKeysMark(void);
extern bool KeyPlanMarksMade(void);
extern bool KeyPlanIsMark(uint32 hashvalue);

/* A set of EfFunction kinds, a bit each, as KeyPlanKindsCalled() returns */
#define KEY_PLAN_KIND(kind)	(1U << (kind))
extern uint32 KeyPlanKindsCalled(Node *node);

#endif							/* EF_KEY_PLAN_H */

/*-------------------------------------------------------------------------
 *
 * citus_forward.h
 *		Held keys forwarded to the Citus worker backends of one transaction
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/citus_forward.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_CITUS_FORWARD_H
#define EF_CITUS_FORWARD_H

extern bool CitusLoaded(void);
extern void CitusForwardInstallHooks(void);
extern void CitusForwardRevoke(void);
extern const char *CitusForwardHint(const char *usual);
extern bool CitusForwardServing(void);
extern bool CitusForwardHolding(void);

#endif							/* EF_CITUS_FORWARD_H */

/*-------------------------------------------------------------------------
 *
 * redact.h
 *		Keep master keys and bind parameters out of the server log
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/redact.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REDACT_H
#define EF_REDACT_H

extern void RedactInstallHooks(void);
extern bool RedactLoadedByStatement(void);
extern const char *RedactLoggedBeforeLoad(void);
extern void RedactMarkKeyStatement(void);
extern void RedactActivity(void);

#endif							/* EF_REDACT_H */

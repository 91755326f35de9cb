/*-------------------------------------------------------------------------
 *
 * redact.h
 *		Keep master keys out of the server log and pg_stat_activity
 *
 * IDENTIFICATION
 *		src/redact.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REDACT_H
#define EF_REDACT_H

extern void RedactInstallHooks(void);
extern void RedactWarnIfLogged(void);
extern void RedactMarkKeyStatement(void);

#endif							/* EF_REDACT_H */

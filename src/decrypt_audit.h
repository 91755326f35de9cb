/*-------------------------------------------------------------------------
 *
 * decrypt_audit.h
 *		Per-statement audit lines of what was decrypted, and unlock reasons
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/decrypt_audit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_DECRYPT_AUDIT_H
#define EF_DECRYPT_AUDIT_H

#include "executor/execdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

/* encrypted_field.audit */
typedef enum EfAuditLevel
{
	EF_AUDIT_OFF,				/* no audit line at all */
	EF_AUDIT_UNLOCK,			/* unlock, lock and registry lines */
	EF_AUDIT_STATEMENT			/* those, and a line per decrypting statement */
} EfAuditLevel;

/* What a call of an audited function did with a value */
typedef enum EfAuditOp
{
	EF_AUDIT_DECRYPT = 1,		/* ef_decrypt, ef_decrypt_as: plaintext out */
	EF_AUDIT_SEARCH,			/* ef_term, ef_terms: a probe's term */
	EF_AUDIT_REWRAP,			/* ef_rewrap: a data key unwrapped */
	EF_AUDIT_RETERM				/* ef_reterm: decrypted to compute a term */
} EfAuditOp;

/* The longest reason ef_unlock() takes, in bytes */
#define EF_REASON_MAX_LEN	200

extern PGDLLIMPORT int ef_audit;

/*
 * Count one value an audited function handled.  This is the whole per-row
 * cost: a test of the level, then counters (DecryptAuditCount).
 */
#define DECRYPT_AUDIT_COUNT(flinfo, op, key_id) \
	do { \
		if (ef_audit == EF_AUDIT_STATEMENT) \
			DecryptAuditCount((flinfo), (op), (key_id)); \
	} while (0)

extern void DecryptAuditCount(FmgrInfo *flinfo, EfAuditOp op, int32 key_id);
extern void DecryptAuditDefine(void);
extern void DecryptAuditInstallHooks(void);
extern char *DecryptAuditReasonArgument(FunctionCallInfo fcinfo, int argno);
extern void DecryptAuditCheckReason(int32 key_id, const char *reason);
extern void DecryptAuditNoteUnlock(int32 key_id, const char *reason);
extern const char *DecryptAuditReasonOf(int32 key_id);
extern void DecryptAuditAppendJsonString(StringInfo buf, const char *str);

/* parallel workers' counts, in the leader's hand-over segment */
extern Size DecryptAuditShareSize(void);
extern void DecryptAuditShareInit(void *share);
extern void DecryptAuditShareAttach(void *share);
extern void DecryptAuditWorkerEnd(void);
extern void DecryptAuditShareMerge(void *share, QueryDesc *queryDesc, bool query_ended);

#endif							/* EF_DECRYPT_AUDIT_H */

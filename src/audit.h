/*-------------------------------------------------------------------------
 *
 * audit.h
 *		Server-log lines for every use of a master key
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/audit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_AUDIT_H
#define EF_AUDIT_H

extern void AuditUnlock(int32 key_id, const char *scope, const char *reason);
extern void AuditUnlockFailed(int32 key_id, const char *reason);
extern void AuditLock(int count, const char *how);
extern void AuditForget(int32 key_id, const char *scope, const char *reason);
extern void AuditRegistry(const char *action, int32 key_id);
extern void AuditIndexKeyRotated(int32 index_key_id, int wrapped_under);
extern void AuditNodeKeys(const char *keys);
extern void AuditForwarded(const char *key_ids, int32 initiator, int64 transaction);

#endif							/* EF_AUDIT_H */

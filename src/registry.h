/*-------------------------------------------------------------------------
 *
 * registry.h
 *		The key registry table: check values, never keys
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/registry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REGISTRY_H
#define EF_REGISTRY_H

#include "envelope.h"
#include "kdf.h"

extern bool RegistryLookup(int32 key_id, uint8 *check, bool *retired,
						   char *group);
extern bool RegistryInsert(int32 key_id, const uint8 *check,
						   const char *comment, const char *group);
extern bool RegistryRetire(int32 key_id);
extern int32 RegistryNewestIndexKey(const char *group);
extern int	RegistryLookupIndexKeys(int32 key_id, int32 *ids,
									uint8 (*wrapped)[EF_WRAPPED_LEN], int max);
extern int	RegistryActiveKeys(const char *group, int32 *ids, int max);
extern void RegistryLockIndexKeys(void);
extern void RegistryInsertIndexKey(int32 index_key_id, int32 key_id,
								   const uint8 *wrapped);

extern Oid	ExtensionSchema(void);

#endif							/* EF_REGISTRY_H */

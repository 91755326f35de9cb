/*-------------------------------------------------------------------------
 *
 * registry.h
 *		The key registry table: check values, never keys
 *
 * IDENTIFICATION
 *		src/registry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_REGISTRY_H
#define EF_REGISTRY_H

#include "kdf.h"

extern bool RegistryLookup(int32 key_id, uint8 *check, bool *retired);
extern bool RegistryInsert(int32 key_id, const uint8 *check,
						   const char *comment);
extern bool RegistryRetire(int32 key_id);

#endif							/* EF_REGISTRY_H */

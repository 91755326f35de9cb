/*-------------------------------------------------------------------------
 *
 * indexkey.h
 *		The index keys behind search terms: creation, unwrapping, rotation
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/indexkey.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_INDEXKEY_H
#define EF_INDEXKEY_H

#include "keystore.h"

extern const HeldKey *IndexKeyForNewTerms(void);
extern void IndexKeysRefresh(void);
extern bool IndexKeysRefreshing(void);
extern void IndexKeysHold(int32 key_id, const uint8 *kek, EfKeyScope scope,
						  bool retired, const char *group);
extern void IndexKeysWrapForNewMasterKey(int32 key_id, const uint8 *kek,
										 const char *group);
extern int32 IndexKeyRotate(const char *group);

#endif							/* EF_INDEXKEY_H */

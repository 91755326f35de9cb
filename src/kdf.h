/*-------------------------------------------------------------------------
 *
 * kdf.h
 *		Keys derived from a master key: the key-wrapping key and the check value
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/kdf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KDF_H
#define EF_KDF_H

#include "crypto.h"

#define EF_CHECK_VALUE_LEN	16	/* registry fingerprint: truncated HMAC */

extern EfCryptoStatus EfDeriveKek(const uint8 *master, int32 key_id,
								  uint8 *kek);
/* the longest index-key group name, in bytes (NAMEDATALEN - 1) */
#define EF_GROUP_MAX_LEN		63

extern EfCryptoStatus EfKeyCheckValue(const uint8 *master, int32 key_id,
									  const char *group, uint8 *check);

#endif							/* EF_KDF_H */

/*-------------------------------------------------------------------------
 *
 * ef_value.h
 *		Opening and sealing values, shared by the SQL functions that do it
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_value.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_VALUE_H
#define EF_VALUE_H

#include "ef_type.h"
#include "envelope.h"
#include "fmgr.h"
#include "keystore.h"

extern EnvelopeContext GetContext(FunctionCallInfo fcinfo, int argno);
extern const HeldKey *KeyForWrapping(FunctionCallInfo fcinfo, int argno);
extern void CheckHeldForOtherRole(int32 key_id);
extern EncryptedField *SealCompressed(const HeldKey *key, uint8 type_code,
									  const uint8 *term, const char *plain,
									  size_t len, const EnvelopeContext *context);
extern struct varlena *OpenValue(const EncryptedField *value,
								 const EnvelopeContext *context,
								 uint8 *type_code);

#endif							/* EF_VALUE_H */

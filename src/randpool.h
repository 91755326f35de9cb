/*-------------------------------------------------------------------------
 *
 * randpool.h
 *		Random bytes for data keys and nonces, drawn from OpenSSL in bulk
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/randpool.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_RANDPOOL_H
#define EF_RANDPOOL_H

#include "crypto.h"

extern EfCryptoStatus RandPoolBytes(uint8 *out, size_t len);

#endif							/* EF_RANDPOOL_H */

/*-------------------------------------------------------------------------
 *
 * crypto_x25519.h
 *		X25519 key agreement, through OpenSSL
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/crypto_x25519.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_CRYPTO_X25519_H
#define EF_CRYPTO_X25519_H

#include "crypto.h"

#define EF_X25519_LEN	32

extern EfCryptoStatus EfX25519Keypair(uint8 *priv, uint8 *pub);
extern EfCryptoStatus EfX25519(const uint8 *priv, const uint8 *peer_pub,
							   uint8 *shared);

#endif							/* EF_CRYPTO_X25519_H */

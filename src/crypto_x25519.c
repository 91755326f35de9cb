/*-------------------------------------------------------------------------
 *
 * crypto_x25519.c
 *		X25519 key agreement, through OpenSSL
 *
 * Keys travel as their 32 raw bytes.  OpenSSL holds a private key in its
 * own allocation for the length of one call and cleanses it when the
 * EVP_PKEY is freed; the raw bytes stay in the caller's memory.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/crypto_x25519.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "crypto_x25519.h"

/* A fresh key pair */
EfCryptoStatus
EfX25519Keypair(uint8 *priv, uint8 *pub)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	EVP_PKEY   *pkey = NULL;
	size_t		privlen = EF_X25519_LEN;
	size_t		publen = EF_X25519_LEN;
	EfCryptoStatus status = EF_CRYPTO_INTERNAL;

	if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
		EVP_PKEY_keygen(ctx, &pkey) == 1 &&
		EVP_PKEY_get_raw_private_key(pkey, priv, &privlen) == 1 &&
		EVP_PKEY_get_raw_public_key(pkey, pub, &publen) == 1 &&
		privlen == EF_X25519_LEN && publen == EF_X25519_LEN)
		status = EF_CRYPTO_OK;
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	if (status != EF_CRYPTO_OK)
		explicit_bzero(priv, EF_X25519_LEN);
	return status;
}

/*
 * The shared secret of a private key and a peer's public key.  A peer key
 * of low order gives an all-zero secret, which OpenSSL refuses: that is an
 * authentication failure, not an internal one.
 */
EfCryptoStatus
EfX25519(const uint8 *priv, const uint8 *peer_pub, uint8 *shared)
{
	EVP_PKEY   *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
													priv, EF_X25519_LEN);
	EVP_PKEY   *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
												   peer_pub, EF_X25519_LEN);
	EVP_PKEY_CTX *ctx = NULL;
	size_t		len = EF_X25519_LEN;
	EfCryptoStatus status = EF_CRYPTO_INTERNAL;

	if (mine != NULL && peer != NULL &&
		(ctx = EVP_PKEY_CTX_new(mine, NULL)) != NULL &&
		EVP_PKEY_derive_init(ctx) == 1)
	{
		if (EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
			EVP_PKEY_derive(ctx, shared, &len) == 1 && len == EF_X25519_LEN)
			status = EF_CRYPTO_OK;
		else
			status = EF_CRYPTO_AUTH_FAILED;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(mine);
	if (status != EF_CRYPTO_OK)
		explicit_bzero(shared, EF_X25519_LEN);
	return status;
}

/*-------------------------------------------------------------------------
 *
 * cipher_direct.h
 *		Cipher contexts that call the OpenSSL provider's functions directly
 *
 * Included only by files that include OpenSSL's headers (crypto_openssl.c).
 * The calls mirror EVP's: a context is keyed, then runs (associated data
 * when out is NULL, text otherwise, the tag's computation or check when in
 * is NULL), and its tag is read or set.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/cipher_direct.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_CIPHER_DIRECT_H
#define EF_CIPHER_DIRECT_H

#include <openssl/evp.h>

#ifndef EF_OPENSSL_INCLUDED
#define EF_OPENSSL_INCLUDED
#endif
#include "compat.h"

#ifdef EF_HAVE_PROVIDER_CALLS
#include <openssl/core_dispatch.h>
#endif

/* A cipher: OpenSSL's fetched algorithm and, where found, its functions */
typedef struct EfCipherImpl
{
	const EVP_CIPHER *cipher;
	bool		aead;			/* EVP_Cipher reports success as >= 0, not > 0 */
	bool		direct;			/* the functions below are used */
#ifdef EF_HAVE_PROVIDER_CALLS
	void	   *provctx;
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_cipher_fn *run;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_params;
	OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
#endif
} EfCipherImpl;

/* A context of one cipher: the provider's own, or an EVP one */
typedef struct EfCipherCtx
{
	const EfCipherImpl *impl;
	void	   *alg;
	EVP_CIPHER_CTX *evp;
	int			enc;			/* the direction it was last keyed for */
	bool		failed;			/* a run failed since the caller cleared it */
} EfCipherCtx;

extern void EfCipherImplInit(EfCipherImpl *impl, const EVP_CIPHER *cipher,
							 bool direct);
extern bool EfCipherCtxNew(EfCipherCtx *ctx, const EfCipherImpl *impl, int enc);
extern void EfCipherCtxFree(EfCipherCtx *ctx);
extern bool EfCipherKey(EfCipherCtx *ctx, const uint8 *key, size_t keylen,
						const uint8 *iv, size_t ivlen, int enc);
extern bool EfCipherTag(EfCipherCtx *ctx, uint8 *tag, size_t len, bool set);

/*
 * Run the cipher over len bytes, as EVP_Cipher() does: associated data when
 * out is NULL, the tag's computation or check when in is NULL.  Inline: the
 * key wrap calls it for each of its 24 blocks.
 */
static inline bool
EfCipherRun(EfCipherCtx *ctx, uint8 *out, const uint8 *in, size_t len)
{
	bool		ok;

#ifdef EF_HAVE_PROVIDER_CALLS
	if (ctx->alg != NULL)
	{
		size_t		outl = 0;

		ok = ctx->impl->run(ctx->alg, out, &outl, len, in, len) == 1;
	}
	else
#endif
	if (len > INT_MAX)
		ok = false;
	else
	{
		int			r = EVP_Cipher(ctx->evp, out, in, (unsigned int) len);

		ok = ctx->impl->aead ? r >= 0 : r > 0;
	}
	if (!ok)
		ctx->failed = true;
	return ok;
}

#endif							/* EF_CIPHER_DIRECT_H */

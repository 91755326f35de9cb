/*-------------------------------------------------------------------------
 *
 * cipher_direct.c
 *		Cipher contexts that call the OpenSSL provider's functions directly
 *
 * Every value is sealed or opened under its own data key, so the hot path
 * keys an AES-256-GCM context, runs it over a hundred bytes, and runs an
 * AES-256 block 24 times for the key wrap.  Through OpenSSL 3's EVP layer
 * that costs half again what the cipher work does: EVP_CipherInit_ex asks
 * the provider for the key and IV lengths by name (OSSL_PARAM_locate and
 * strcmp) at each keying, and each EVP_Cipher passes its checks before it
 * reaches the provider.
 *
 * A provider publishes each algorithm as a table of functions
 * (provider-cipher(7)), and EVP does nothing but call them.  Here the table
 * of the very algorithm EVP fetched is looked up once per backend
 * (OSSL_PROVIDER_query_operation), and its functions are called with the
 * arguments EVP would pass.  The code that runs is OpenSSL's provider code,
 * with its own checks (self-test state, buffer and key lengths); the fetched
 * EVP_CIPHER holds the provider loaded for as long as the table is used.
 * Where no table is found (OpenSSL 1.1.1, a provider without one of the
 * functions, or listing the algorithm twice), or an ENGINE is configured
 * for the cipher (EVP would hand the work to it), the same calls go through
 * EVP.  The unit tests run the Wycheproof vectors both ways.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/cipher_direct.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

/* ENGINE_get_cipher_engine, deprecated in OpenSSL 3 but what EVP still obeys */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/evp.h>

#include "cipher_direct.h"

#ifdef EF_HAVE_PROVIDER_CALLS
#include <openssl/core_names.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif
#include <openssl/params.h>
#include <openssl/provider.h>
#endif

#ifdef EF_HAVE_PROVIDER_CALLS
/* Is one of the colon-separated names of an algorithm the cipher's? */
static bool
NamesCipher(const EVP_CIPHER *cipher, const char *names)
{
	char		one[128];

	while (*names != '\0')
	{
		size_t		len = strcspn(names, ":");

		if (len < sizeof(one))
		{
			memcpy(one, names, len);
			one[len] = '\0';
			if (EVP_CIPHER_is_a(cipher, one))
				return true;
		}
		names += len;
		if (*names == ':')
			names++;
	}
	return false;
}

/*
 * Would EVP give the cipher to an ENGINE?  EVP_CipherInit_ex does when one
 * is configured for it (openssl.cnf's default_algorithms, an HSM): then
 * only EVP is the same as EVP.
 */
static bool
EngineTakesCipher(const EVP_CIPHER *cipher)
{
#ifndef OPENSSL_NO_ENGINE
	ENGINE	   *engine = ENGINE_get_cipher_engine(EVP_CIPHER_get_nid(cipher));

	if (engine != NULL)
	{
		ENGINE_finish(engine);
		return true;
	}
#endif
	return false;
}

/*
 * Find the functions of the provider's implementation of the cipher: the
 * only entry of its provider with one of the cipher's names.  Two entries
 * (differing in properties) would leave unknown which one EVP fetched.
 */
static bool
FindFunctions(EfCipherImpl *impl)
{
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(impl->cipher);
	const OSSL_ALGORITHM *algs;
	const OSSL_ALGORITHM *found = NULL;
	int			matches = 0;
	int			no_store = 0;

	if (prov == NULL || EngineTakesCipher(impl->cipher))
		return false;
	algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
	if (algs == NULL)
		return false;
	for (const OSSL_ALGORITHM *alg = algs; alg->algorithm_names != NULL; alg++)
		if (NamesCipher(impl->cipher, alg->algorithm_names))
		{
			found = alg;
			matches++;
		}
	if (matches != 1)
	{
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
		return false;
	}

	for (const OSSL_DISPATCH *f = found->implementation; f->function_id != 0; f++)
	{
		switch (f->function_id)
		{
			case OSSL_FUNC_CIPHER_NEWCTX:
				impl->newctx = OSSL_FUNC_cipher_newctx(f);
				break;
			case OSSL_FUNC_CIPHER_FREECTX:
				impl->freectx = OSSL_FUNC_cipher_freectx(f);
				break;
			case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
				impl->einit = OSSL_FUNC_cipher_encrypt_init(f);
				break;
			case OSSL_FUNC_CIPHER_DECRYPT_INIT:
				impl->dinit = OSSL_FUNC_cipher_decrypt_init(f);
				break;
			case OSSL_FUNC_CIPHER_CIPHER:
				impl->run = OSSL_FUNC_cipher_cipher(f);
				break;
			case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
				impl->get_params = OSSL_FUNC_cipher_get_ctx_params(f);
				break;
			case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
				impl->set_params = OSSL_FUNC_cipher_set_ctx_params(f);
				break;
		}
	}
	OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	impl->provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	return impl->newctx != NULL && impl->freectx != NULL &&
		impl->einit != NULL && impl->dinit != NULL && impl->run != NULL &&
		impl->get_params != NULL && impl->set_params != NULL;
}
#endif

/*
 * Describe a fetched cipher; with direct, call its provider's functions if
 * they can be found
 */
void
EfCipherImplInit(EfCipherImpl *impl, const EVP_CIPHER *cipher, bool direct)
{
	memset(impl, 0, sizeof(*impl));
	impl->cipher = cipher;
	impl->aead = (EVP_CIPHER_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) != 0;
#ifdef EF_HAVE_PROVIDER_CALLS
	impl->direct = direct && FindFunctions(impl);
#endif
}

/*
 * Create a context of the cipher.  An EVP context is bound to its cipher
 * once, so that each keying passes only the key and IV.
 */
bool
EfCipherCtxNew(EfCipherCtx *ctx, const EfCipherImpl *impl, int enc)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->impl = impl;
	ctx->enc = enc;
#ifdef EF_HAVE_PROVIDER_CALLS
	if (impl->direct)
		return (ctx->alg = impl->newctx(impl->provctx)) != NULL;
#endif
	ctx->evp = EVP_CIPHER_CTX_new();
	if (ctx->evp == NULL)
		return false;
	if (EVP_CipherInit_ex(ctx->evp, impl->cipher, NULL, NULL, NULL, enc) != 1 ||
		EVP_CIPHER_CTX_set_padding(ctx->evp, 0) != 1)
	{
		EVP_CIPHER_CTX_free(ctx->evp);
		ctx->evp = NULL;
		return false;
	}
	return true;
}

/* Free a context; OpenSSL cleanses the key schedule as it frees */
void
EfCipherCtxFree(EfCipherCtx *ctx)
{
#ifdef EF_HAVE_PROVIDER_CALLS
	if (ctx->alg != NULL)
		ctx->impl->freectx(ctx->alg);
#endif
	EVP_CIPHER_CTX_free(ctx->evp);
	ctx->alg = NULL;
	ctx->evp = NULL;
}

/*
 * Key a context (and set its IV, if iv is not NULL) for a direction: 1
 * encrypts, 0 decrypts, -1 keeps the last one.  keylen and ivlen are the
 * cipher's own; EVP takes them from the cipher.
 */
bool
EfCipherKey(EfCipherCtx *ctx, const uint8 *key, size_t keylen,
			const uint8 *iv, size_t ivlen, int enc)
{
	bool		ok;

	if (enc == -1)
		enc = ctx->enc;
#ifdef EF_HAVE_PROVIDER_CALLS
	if (ctx->alg != NULL)
		ok = (enc ? ctx->impl->einit : ctx->impl->dinit)
			(ctx->alg, key, keylen, iv, iv != NULL ? ivlen : 0, NULL) == 1;
	else
#endif
		ok = EVP_CipherInit_ex(ctx->evp, NULL, NULL, key, iv, enc) == 1;
	if (ok)
		ctx->enc = enc;
	return ok;
}

/* Read (set = false) or set an AEAD context's tag of len bytes */
bool
EfCipherTag(EfCipherCtx *ctx, uint8 *tag, size_t len, bool set)
{
#ifdef EF_HAVE_PROVIDER_CALLS
	if (ctx->alg != NULL)
	{
		OSSL_PARAM	params[2];

		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
													  tag, len);
		params[1] = OSSL_PARAM_construct_end();
		if (set)
			return ctx->impl->set_params(ctx->alg, params) == 1;
		return ctx->impl->get_params(ctx->alg, params) == 1 &&
			params[0].return_size == len;
	}
#endif
	if (len > INT_MAX)
		return false;
	return EVP_CIPHER_CTX_ctrl(ctx->evp,
							   set ? EVP_CTRL_AEAD_SET_TAG : EVP_CTRL_AEAD_GET_TAG,
							   (int) len, tag) == 1;
}

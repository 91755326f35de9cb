/*-------------------------------------------------------------------------
 *
 * crypto.h
 *		The provider interface: the only primitives the extension uses
 *
 * Every function returns an EfCryptoStatus and never raises an error, so
 * that callers can wipe their secrets before reporting (see ef_report.c).
 * Key, nonce and tag sizes are fixed by the envelope format.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/crypto.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_CRYPTO_H
#define EF_CRYPTO_H

#define EF_KEY_LEN			32	/* AES-256 keys, master keys, DEKs */
#define EF_NONCE_LEN		12	/* AES-GCM nonce */
#define EF_TAG_LEN			16	/* AES-GCM tag */
#define EF_WRAP_OVERHEAD	8	/* AES key wrap integrity block */
#define EF_SHA256_LEN		32

typedef enum EfCryptoStatus
{
	EF_CRYPTO_OK = 0,
	EF_CRYPTO_AUTH_FAILED,		/* tag or key-wrap integrity check failed */
	EF_CRYPTO_BAD_LENGTH,		/* an input length the primitive refuses */
	EF_CRYPTO_NO_RANDOM,		/* the CSPRNG could not deliver */
	EF_CRYPTO_INTERNAL			/* OpenSSL failed where it should not */
} EfCryptoStatus;

/* One piece of associated data; AEAD calls take a list of them */
typedef struct EfBuf
{
	const uint8 *data;
	size_t		len;
} EfBuf;

extern EfCryptoStatus EfRandomBytes(uint8 *buf, size_t len);

extern EfCryptoStatus EfAeadSeal(const uint8 *key, const uint8 *nonce,
								 const EfBuf *aad, int naad,
								 const uint8 *in, size_t len,
								 uint8 *out, uint8 *tag);
extern EfCryptoStatus EfAeadOpen(const uint8 *key, const uint8 *nonce,
								 const EfBuf *aad, int naad,
								 const uint8 *in, size_t len,
								 const uint8 *tag, uint8 *out);

extern EfCryptoStatus EfKeyWrap(const uint8 *kek, const uint8 *in, size_t len,
								uint8 *out);
extern EfCryptoStatus EfKeyUnwrap(const uint8 *kek, const uint8 *in, size_t len,
								  uint8 *out);

extern EfCryptoStatus EfHmacSha256(const uint8 *key, size_t keylen,
								   const uint8 *msg, size_t len, uint8 *out);
extern EfCryptoStatus EfHmacSha256Kept(const uint8 *key, const EfBuf *parts,
									   int nparts, uint8 *out);
extern EfCryptoStatus EfHkdfSha256(const uint8 *ikm, size_t ikmlen,
								   const uint8 *salt, size_t saltlen,
								   const uint8 *info, size_t infolen,
								   uint8 *out, size_t outlen);

extern bool EfCryptoMemEqual(const void *a, const void *b, size_t len);
extern void EfCryptoScrub(void);
extern void EfCryptoShutdown(void);
/* for the unit tests: both ways of calling the ciphers */
extern void EfCryptoSetDirect(bool direct);
extern int	EfCryptoDirectCiphers(void);
extern bool EfCryptoDirectHmac(void);

#endif							/* EF_CRYPTO_H */

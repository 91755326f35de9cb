/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL and OpenSSL version test of the project lives here
 *
 * IDENTIFICATION
 *		src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_COMPAT_H
#define EF_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "encrypted_field requires PostgreSQL 15 or later"
#endif

/*
 * A GUC check hook that replaces a string value allocates it as the GUC
 * code frees it: with malloc before PostgreSQL 16, in the GUC memory context
 * from 16 on
 */
#if PG_VERSION_NUM >= 160000
#define EF_GUC_STRDUP(s)	guc_strdup(ERROR, (s))
#define EF_GUC_FREE(p)		guc_free(p)
#else
#define EF_GUC_STRDUP(s)	strdup(s)
#define EF_GUC_FREE(p)		free(p)
#endif

/*
 * OpenSSL 3 fetches algorithm implementations explicitly; fetching once and
 * keeping the handle avoids a provider lookup per row.  OpenSSL 1.1.1 only
 * has the static getters, which cost nothing.
 */
#ifdef EF_OPENSSL_INCLUDED
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EF_FETCH_CIPHER(name, legacy)	EVP_CIPHER_fetch(NULL, (name), NULL)
#define EF_FREE_CIPHER(c)				EVP_CIPHER_free(c)
#else
#define EF_FETCH_CIPHER(name, legacy)	((EVP_CIPHER *) (legacy)())
#define EF_FREE_CIPHER(c)				((void) (c))
#endif
#endif							/* EF_OPENSSL_INCLUDED */

#endif							/* EF_COMPAT_H */

/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL and OpenSSL version test of the project lives here
 *
 * Copyright (c) 2026, The encrypted_field Authors
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

#include "common/base64.h"

/*
 * Module magic: PostgreSQL 18 also records the library's name and version,
 * which the Makefile passes as EF_EXTVERSION
 */
#if PG_VERSION_NUM >= 180000
#define EF_MODULE_MAGIC \
	PG_MODULE_MAGIC_EXT(.name = "encrypted_field", .version = EF_EXTVERSION)
#else
#define EF_MODULE_MAGIC			PG_MODULE_MAGIC
#endif

/* PostgreSQL 16 moved the varlena macros (VARDATA ...) out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * A function that never returns, marked before its declaration: PostgreSQL
 * 18 replaced the attribute pg_attribute_noreturn() with pg_noreturn
 */
#if PG_VERSION_NUM >= 180000
#define EF_NORETURN		pg_noreturn
#else
#define EF_NORETURN		pg_attribute_noreturn()
#endif

/*
 * ANALYZE: PostgreSQL 17 moved the statistics target out of the
 * pg_attribute row (stats->attr, gone) into VacAttrStats; 18 asks
 * vacuum_delay_point() whether ANALYZE calls it
 */
#if PG_VERSION_NUM >= 170000
#define EF_STATS_TARGET(stats)		((stats)->attstattarget)
#else
#define EF_STATS_TARGET(stats)		((stats)->attr->attstattarget)
#endif
#if PG_VERSION_NUM >= 180000
#define EF_ANALYZE_DELAY_POINT()	vacuum_delay_point(true)
#else
#define EF_ANALYZE_DELAY_POINT()	vacuum_delay_point()
#endif

/*
 * ExecutorRun_hook and standard_ExecutorRun lost their execute_once
 * argument in PostgreSQL 18: write the parameter and the argument as
 * "count EF_EXECUTE_ONCE_PARAM" and "count EF_EXECUTE_ONCE_ARG"
 */
#if PG_VERSION_NUM >= 180000
#define EF_EXECUTE_ONCE_PARAM
#define EF_EXECUTE_ONCE_ARG
#else
#define EF_EXECUTE_ONCE_PARAM	, bool execute_once
#define EF_EXECUTE_ONCE_ARG		, execute_once
#endif

/*
 * Base64 of bytes: PostgreSQL 18's pg_b64_encode() and pg_b64_decode() take
 * the bytes as uint8, earlier versions as char
 */
static inline int
EfB64Encode(const uint8 *src, int len, char *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_encode(src, len, dst, dstlen);
#else
	return pg_b64_encode((const char *) src, len, dst, dstlen);
#endif
}

static inline int
EfB64Decode(const char *src, int len, uint8 *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_decode(src, len, dst, dstlen);
#else
	return pg_b64_decode(src, len, (char *) dst, dstlen);
#endif
}

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


/* query jumbling's header moved from utils/ to nodes/ in PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define EF_QUERYJUMBLE_H	"nodes/queryjumble.h"
#else
#define EF_QUERYJUMBLE_H	"utils/queryjumble.h"
#endif

/* the local id of this backend's transaction: PGPROC keeps it in vxid from 17 */
#if PG_VERSION_NUM >= 170000
#define EF_MY_LXID			(MyProc->vxid.lxid)
#else
#define EF_MY_LXID			(MyProc->lxid)
#endif

#endif							/* EF_COMPAT_H */

/*
 * The OpenSSL part has a guard of its own: a file may include compat.h
 * before OpenSSL's headers, and the part must still expand when a file
 * that includes them (and defines EF_OPENSSL_INCLUDED) includes it again.
 */
#if defined(EF_OPENSSL_INCLUDED) && !defined(EF_COMPAT_OPENSSL_H)
#define EF_COMPAT_OPENSSL_H

/*
 * OpenSSL 3 fetches algorithm implementations explicitly; fetching once and
 * keeping the handle avoids a provider lookup per row.  OpenSSL 1.1.1 only
 * has the static getters, which cost nothing.
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EF_FETCH_CIPHER(name, legacy)	EVP_CIPHER_fetch(NULL, (name), NULL)
#define EF_FREE_CIPHER(c)				EVP_CIPHER_free(c)
#else
#define EF_FETCH_CIPHER(name, legacy)	((EVP_CIPHER *) (legacy)())
#define EF_FREE_CIPHER(c)				((void) (c))
#endif
/*
 * OpenSSL 3's EVP_MAC keeps a fetched HMAC and a context to re-key per
 * call; its one-shot HMAC() fetches the MAC and digest by name every call.
 * 1.1.1 has only the one-shot, which fetches nothing.
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EF_HAVE_EVP_MAC 1
#endif
/*
 * OpenSSL 3's providers publish each algorithm as a table of functions,
 * which cipher_direct.c calls without EVP in between
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EF_HAVE_PROVIDER_CALLS 1
#endif
/*
 * SHA-256's own functions, which hmac_direct.c resumes from an index key's
 * states, are deprecated in OpenSSL 3 but not removed; a build without
 * them (no-deprecated) keeps EVP_MAC for every message
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(OPENSSL_NO_DEPRECATED_3_0)
#define EF_HAVE_HMAC_DIRECT 1
#endif
#endif							/* EF_COMPAT_OPENSSL_H */

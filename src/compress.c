/*-------------------------------------------------------------------------
 *
 * compress.c
 *		Compress plaintext before it is encrypted
 *
 * TOAST cannot compress ciphertext, so large values are compressed before
 * encryption, with PostgreSQL's own pglz or with lz4 where the server was
 * built with it.  A compressed plaintext is the raw length as 4 big-endian
 * bytes, then the compressed stream; the envelope's flags say which method.
 * A value that does not shrink is stored as it is.  Compression leaks,
 * through the length, how compressible the content is: see the README.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/compress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef USE_LZ4
#include <lz4.h>
#endif

#include "common/pg_lzcompress.h"
#include "compat.h"
#include "compress.h"
#include "envelope.h"
#include "port/pg_bswap.h"
#include "secure.h"
#include "utils/memutils.h"

#define RAWLEN_BYTES 4

int			ef_compression = EF_COMPRESSION_PGLZ;
int			ef_compression_threshold = 256;

/* Compress into dest (room for bound bytes); return the length or -1 */
static int32
RunCompressor(const char *data, int32 len, char *dest, int32 bound)
{
#ifdef USE_LZ4
	if (ef_compression == EF_COMPRESSION_LZ4)
	{
		int			n = LZ4_compress_default(data, dest, len, bound);

		return n > 0 ? n : -1;
	}
#endif
	return pglz_compress(data, len, dest, PGLZ_strategy_always);
}

/*
 * Return the compressed form of a plaintext and set *flag, or return NULL
 * when compression is off, the value is below the threshold, or it did not
 * shrink.  The result holds plaintext: the caller wipes it.
 */
struct varlena *
CompressPlaintext(const char *data, size_t len, uint8 *flag)
{
	int32		bound;
	struct varlena *out;
	char	   *dest;
	uint32		be_len;
	int32		n;

	*flag = 0;
	if (ef_compression == EF_COMPRESSION_OFF || ef_compression_threshold < 0 ||
		len < (size_t) ef_compression_threshold || len > PG_INT32_MAX / 2)
		return NULL;

#ifdef USE_LZ4
	bound = ef_compression == EF_COMPRESSION_LZ4 ?
		LZ4_compressBound((int) len) : PGLZ_MAX_OUTPUT((int32) len);
#else
	bound = PGLZ_MAX_OUTPUT((int32) len);
#endif
	out = palloc(VARHDRSZ + RAWLEN_BYTES + bound);
	dest = VARDATA(out);
	be_len = pg_hton32((uint32) len);
	memcpy(dest, &be_len, RAWLEN_BYTES);

	n = RunCompressor(data, (int32) len, dest + RAWLEN_BYTES, bound);
	if (n < 0 || (size_t) n + RAWLEN_BYTES >= len)
	{
		ef_secure_pfree(out, VARHDRSZ + RAWLEN_BYTES + bound);
		return NULL;
	}
	SET_VARSIZE(out, VARHDRSZ + RAWLEN_BYTES + n);
	*flag = ef_compression == EF_COMPRESSION_LZ4 ?
		EF_FLAG_LZ4 : EF_FLAG_PGLZ;
	return out;
}

/* Raise the error for a compressed plaintext that does not decompress */
static void
BadCompressedData(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("compressed plaintext of an encrypted value is corrupt")));
}

/* Decompress an authenticated plaintext whose envelope had a flag set */
struct varlena *
DecompressPlaintext(const struct varlena *stored, uint8 flags)
{
	const char *src = VARDATA(stored);
	int32		srclen = VARSIZE(stored) - VARHDRSZ - RAWLEN_BYTES;
	uint32		rawlen;
	struct varlena *out;
	int32		n;

	if (srclen < 0)
		BadCompressedData();
	memcpy(&rawlen, src, RAWLEN_BYTES);
	rawlen = pg_ntoh32(rawlen);
	if (rawlen > MaxAllocSize - VARHDRSZ)
		BadCompressedData();

	out = palloc(VARHDRSZ + rawlen);
	SET_VARSIZE(out, VARHDRSZ + rawlen);
	if (flags & EF_FLAG_LZ4)
	{
#ifdef USE_LZ4
		n = LZ4_decompress_safe(src + RAWLEN_BYTES, VARDATA(out), srclen, (int) rawlen);
#else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("value was compressed with lz4, which this server was built without")));
#endif
	}
	else
		n = pglz_decompress(src + RAWLEN_BYTES, srclen, VARDATA(out), (int32) rawlen, true);
	if (n < 0 || (uint32) n != rawlen)
	{
		ef_secure_pfree(out, VARHDRSZ + rawlen);
		BadCompressedData();
	}
	return out;
}

/*-------------------------------------------------------------------------
 *
 * compress.h
 *		Compress plaintext before it is encrypted
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/compress.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_COMPRESS_H
#define EF_COMPRESS_H

/* values of the encrypted_field.compression setting */
typedef enum EfCompression
{
	EF_COMPRESSION_OFF,
	EF_COMPRESSION_PGLZ,
	EF_COMPRESSION_LZ4
} EfCompression;

extern int	ef_compression;
extern int	ef_compression_threshold;

extern struct varlena *CompressPlaintext(const char *data, size_t len,
										 uint8 *flag);
extern struct varlena *DecompressPlaintext(const struct varlena *stored,
										   uint8 flags);

#endif							/* EF_COMPRESS_H */

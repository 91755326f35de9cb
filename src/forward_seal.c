/*-------------------------------------------------------------------------
 *
 * forward_seal.c
 *		Held keys sealed to the public keys of Citus workers
 *
 * A set is made for one transaction: a fresh X25519 key pair of the
 * coordinator's, whose private half is wiped as soon as the set is sealed,
 * agrees a secret with each worker's key (node_key.c); HKDF-SHA256 of that
 * secret, salted with the set's random id and bound to both public keys,
 * keys AES-256-GCM over the keys, with the clear header and the worker's
 * key fingerprint as associated data.  Only a server holding one of those
 * private keys can open it, and only until it restarts.
 *
 * Layout (integers big-endian), as lowercase hex:
 *	"EFW1" | id[16] | created int64 | initiator int32 | ephemeral key[32] |
 *	count uint8 | count x (fingerprint[8] | length uint32 | nonce[12] |
 *	ciphertext | tag[16])
 * and the sealed payload:
 *	count uint8 | count x (key id int32 | retired uint8 | role length uint8 |
 *	role | group length uint8 | group | reason length uint8 | reason | kek[32] |
 *	EF_INDEX_KEYS_HELD x (index key id int32 | index key[32]))
 *
 * The payload is built and opened in a buffer that is wiped before it is
 * freed.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/forward_seal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "crypto_x25519.h"
#include "forward_seal.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#define MAGIC				"EFW1"
#define MAGIC_LEN			4
#define FINGERPRINT_LEN		8
#define HEADER_LEN	(MAGIC_LEN + EF_FORWARD_ID_LEN + 8 + 4 + EF_X25519_LEN)
#define KEY_MAX_LEN	(4 + 1 + 1 + NAMEDATALEN + 1 + NAMEDATALEN + 1 + EF_FORWARD_REASON_MAX + EF_KEY_LEN + \
					 EF_INDEX_KEYS_HELD * (4 + EF_KEY_LEN))
#define PAYLOAD_MAX_LEN	(1 + EF_FORWARD_MAX_KEYS * KEY_MAX_LEN)

static const char info_label[] = "encrypted_field forwarded keys v1";

static void
PutU32(uint8 *p, uint32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32
GetU32(const uint8 *p)
{
	return ((uint32) p[0] << 24) | ((uint32) p[1] << 16) | ((uint32) p[2] << 8) | p[3];
}

static void
PutU64(uint8 *p, uint64 v)
{
	PutU32(p, (uint32) (v >> 32));
	PutU32(p + 4, (uint32) v);
}

static uint64
GetU64(const uint8 *p)
{
	return ((uint64) GetU32(p) << 32) | GetU32(p + 4);
}

/* The fingerprint that names a worker's key in a set */
static void
Fingerprint(const uint8 *pub, uint8 *fp)
{
	uint8		digest[EF_SHA256_LEN];
	static const uint8 label[] = "encrypted_field node key";

	if (EfHmacSha256(label, sizeof(label) - 1, pub, EF_NODE_KEY_LEN, digest) != EF_CRYPTO_OK)
		elog(ERROR, "could not compute a key fingerprint");
	memcpy(fp, digest, FINGERPRINT_LEN);
}

/* The AES key of one worker's entry */
static bool
EntryKey(const uint8 *shared, const uint8 *id, const uint8 *eph_pub,
		 const uint8 *node_pub, uint8 *key)
{
	uint8		info[sizeof(info_label) - 1 + 2 * EF_X25519_LEN];

	memcpy(info, info_label, sizeof(info_label) - 1);
	memcpy(info + sizeof(info_label) - 1, eph_pub, EF_X25519_LEN);
	memcpy(info + sizeof(info_label) - 1 + EF_X25519_LEN, node_pub, EF_X25519_LEN);
	return EfHkdfSha256(shared, EF_X25519_LEN, id, EF_FORWARD_ID_LEN,
						info, sizeof(info), key, EF_KEY_LEN) == EF_CRYPTO_OK;
}

/* Serialize the keys into payload; return its length */
static size_t
PackKeys(const ForwardKey *keys, int nkeys, uint8 *payload)
{
	uint8	   *p = payload;

	*p++ = (uint8) nkeys;
	for (int i = 0; i < nkeys; i++)
	{
		size_t		rlen = strnlen(keys[i].role, NAMEDATALEN - 1);
		size_t		glen = strnlen(keys[i].index_group, NAMEDATALEN - 1);
		size_t		reasonlen = strnlen(keys[i].reason, EF_FORWARD_REASON_MAX);

		PutU32(p, (uint32) keys[i].key_id);
		p += 4;
		*p++ = keys[i].retired ? 1 : 0;
		*p++ = (uint8) rlen;
		memcpy(p, keys[i].role, rlen);
		p += rlen;
		*p++ = (uint8) glen;
		memcpy(p, keys[i].index_group, glen);
		p += glen;
		*p++ = (uint8) reasonlen;
		memcpy(p, keys[i].reason, reasonlen);
		p += reasonlen;
		memcpy(p, keys[i].kek, EF_KEY_LEN);
		p += EF_KEY_LEN;
		for (int j = 0; j < EF_INDEX_KEYS_HELD; j++)
		{
			PutU32(p, (uint32) keys[i].index_key_id[j]);
			p += 4;
			memcpy(p, keys[i].index_key[j], EF_KEY_LEN);
			p += EF_KEY_LEN;
		}
	}
	return p - payload;
}

/* Read the keys back; false if the payload is not well formed */
static bool
UnpackKeys(const uint8 *payload, size_t len, ForwardKey *keys, int *nkeys)
{
	const uint8 *p = payload;
	const uint8 *end = payload + len;
	int			n;

	if (len < 1)
		return false;
	n = *p++;
	if (n > EF_FORWARD_MAX_KEYS)
		return false;
	for (int i = 0; i < n; i++)
	{
		size_t		rlen,
					glen,
					reasonlen;

		if (end - p < 6)
			return false;
		keys[i].key_id = (int32) GetU32(p);
		p += 4;
		keys[i].retired = *p++ != 0;
		rlen = *p++;
		if (rlen == 0 || rlen >= NAMEDATALEN || (size_t) (end - p) < rlen + 1)
			return false;
		memcpy(keys[i].role, p, rlen);
		keys[i].role[rlen] = '\0';
		p += rlen;
		glen = *p++;
		if (glen >= NAMEDATALEN || (size_t) (end - p) < glen + 1)
			return false;
		memcpy(keys[i].index_group, p, glen);
		keys[i].index_group[glen] = '\0';
		p += glen;
		reasonlen = *p++;
		if ((size_t) (end - p) < reasonlen + EF_KEY_LEN + EF_INDEX_KEYS_HELD * (4 + EF_KEY_LEN))
			return false;
		memcpy(keys[i].reason, p, reasonlen);
		keys[i].reason[reasonlen] = '\0';
		p += reasonlen;
		memcpy(keys[i].kek, p, EF_KEY_LEN);
		p += EF_KEY_LEN;
		for (int j = 0; j < EF_INDEX_KEYS_HELD; j++)
		{
			keys[i].index_key_id[j] = (int32) GetU32(p);
			p += 4;
			memcpy(keys[i].index_key[j], p, EF_KEY_LEN);
			p += EF_KEY_LEN;
		}
		if (keys[i].key_id <= 0 || memchr(keys[i].role, '\0', rlen) != NULL ||
			memchr(keys[i].index_group, '\0', glen) != NULL ||
			memchr(keys[i].reason, '\0', reasonlen) != NULL)
			return false;
	}
	*nkeys = n;
	return p == end;
}

/*
 * Seal keys to each worker's public key; return the set as text (palloc'd;
 * it holds nothing that opens without a worker's private key)
 */
char *
ForwardSeal(const ForwardHeader *header, const ForwardKey *keys, int nkeys,
			const uint8 (*node_pubs)[EF_NODE_KEY_LEN], int nnodes)
{
	uint8		eph_priv[EF_X25519_LEN];
	uint8		eph_pub[EF_X25519_LEN];
	uint8		shared[EF_X25519_LEN];
	uint8		entry_key[EF_KEY_LEN];
	uint8	   *payload;
	uint8	   *ct;
	size_t		plen;
	StringInfoData bin;
	char	   *hex;
	bool		ok = true;

	Assert(nkeys >= 0 && nkeys <= EF_FORWARD_MAX_KEYS);
	Assert(nnodes >= 0 && nnodes <= EF_FORWARD_MAX_NODES);

	if (EfX25519Keypair(eph_priv, eph_pub) != EF_CRYPTO_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not make a key pair to forward keys to the Citus workers")));

	initStringInfo(&bin);
	appendBinaryStringInfo(&bin, MAGIC, MAGIC_LEN);
	appendBinaryStringInfo(&bin, (const char *) header->id, EF_FORWARD_ID_LEN);
	enlargeStringInfo(&bin, 12);
	PutU64((uint8 *) bin.data + bin.len, (uint64) header->created);
	PutU32((uint8 *) bin.data + bin.len + 8, (uint32) header->initiator);
	bin.len += 12;
	appendBinaryStringInfo(&bin, (const char *) eph_pub, EF_X25519_LEN);
	Assert(bin.len == HEADER_LEN);
	appendStringInfoChar(&bin, (char) nnodes);

	payload = palloc(PAYLOAD_MAX_LEN);
	ct = palloc(PAYLOAD_MAX_LEN);
	plen = PackKeys(keys, nkeys, payload);

	for (int i = 0; ok && i < nnodes; i++)
	{
		uint8		fp[FINGERPRINT_LEN];
		uint8		nonce[EF_NONCE_LEN];
		uint8		tag[EF_TAG_LEN];
		uint8		len[4];
		EfBuf		aad[2];

		Fingerprint(node_pubs[i], fp);
		aad[0].data = (const uint8 *) bin.data;
		aad[0].len = HEADER_LEN;
		aad[1].data = fp;
		aad[1].len = FINGERPRINT_LEN;
		ok = EfX25519(eph_priv, node_pubs[i], shared) == EF_CRYPTO_OK &&
			EntryKey(shared, header->id, eph_pub, node_pubs[i], entry_key) &&
			EfRandomBytes(nonce, EF_NONCE_LEN) == EF_CRYPTO_OK &&
			EfAeadSeal(entry_key, nonce, aad, 2, payload, plen, ct, tag) == EF_CRYPTO_OK;
		explicit_bzero(shared, sizeof(shared));
		explicit_bzero(entry_key, sizeof(entry_key));
		if (!ok)
			break;
		PutU32(len, (uint32) plen);
		appendBinaryStringInfo(&bin, (const char *) fp, FINGERPRINT_LEN);
		appendBinaryStringInfo(&bin, (const char *) len, 4);
		appendBinaryStringInfo(&bin, (const char *) nonce, EF_NONCE_LEN);
		appendBinaryStringInfo(&bin, (const char *) ct, plen);
		appendBinaryStringInfo(&bin, (const char *) tag, EF_TAG_LEN);
	}
	explicit_bzero(eph_priv, sizeof(eph_priv));
	explicit_bzero(payload, PAYLOAD_MAX_LEN);
	pfree(payload);
	pfree(ct);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not seal the keys forwarded to the Citus workers")));

	hex = palloc(bin.len * 2 + 1);
	hex[hex_encode(bin.data, bin.len, hex)] = '\0';
	pfree(bin.data);
	return hex;
}

/* Decode a set's text; NULL if it is not hex of a plausible length */
static uint8 *
Decode(const char *text, size_t *len)
{
	size_t		tlen = strlen(text);
	uint8	   *bin;

	if (tlen % 2 != 0 || tlen < 2 * (HEADER_LEN + 1))
		return NULL;
	for (size_t i = 0; i < tlen; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
			return NULL;
	bin = palloc(tlen / 2);
	*len = hex_decode(text, tlen, (char *) bin);
	if (memcmp(bin, MAGIC, MAGIC_LEN) != 0)
	{
		pfree(bin);
		return NULL;
	}
	return bin;
}

static void
ReadHeader(const uint8 *bin, ForwardHeader *header)
{
	memcpy(header->id, bin + MAGIC_LEN, EF_FORWARD_ID_LEN);
	header->created = (TimestampTz) GetU64(bin + MAGIC_LEN + EF_FORWARD_ID_LEN);
	header->initiator = (int32) GetU32(bin + MAGIC_LEN + EF_FORWARD_ID_LEN + 8);
}

/* Is this text shaped like a sealed set (its entries unchecked)? */
bool
ForwardWellFormed(const char *text)
{
	ForwardHeader header;

	return ForwardReadHeader(text, &header);
}

/* Read a set's clear header; false if it is not a set */
bool
ForwardReadHeader(const char *text, ForwardHeader *header)
{
	size_t		len;
	uint8	   *bin = Decode(text, &len);

	if (bin == NULL)
		return false;
	ReadHeader(bin, header);
	pfree(bin);
	return true;
}

/*
 * Open this server's entry of a set.  keys must have room for
 * EF_FORWARD_MAX_KEYS; on any status but FORWARD_OPENED it holds nothing.
 */
ForwardOpenStatus
ForwardOpen(const char *text, ForwardHeader *header, ForwardKey *keys, int *nkeys)
{
	uint8		node_pub[EF_NODE_KEY_LEN];
	uint8		fp[FINGERPRINT_LEN];
	uint8		shared[EF_X25519_LEN];
	uint8		entry_key[EF_KEY_LEN];
	const uint8 *p,
			   *end;
	size_t		len;
	uint8	   *bin = Decode(text, &len);
	int			nnodes;
	ForwardOpenStatus status = FORWARD_NOT_FOR_THIS_NODE;

	*nkeys = 0;
	if (bin == NULL)
		return FORWARD_MALFORMED;
	ReadHeader(bin, header);
	if (!NodeKeyPublic(node_pub))
	{
		pfree(bin);
		return FORWARD_NO_NODE_KEY;
	}
	Fingerprint(node_pub, fp);

	p = bin + HEADER_LEN;
	end = bin + len;
	nnodes = *p++;
	for (int i = 0; i < nnodes; i++)
	{
		uint32		clen;
		uint8	   *payload;
		EfBuf		aad[2];
		bool		ok;

		if (end - p < FINGERPRINT_LEN + 4 + EF_NONCE_LEN)
		{
			status = FORWARD_MALFORMED;
			break;
		}
		clen = GetU32(p + FINGERPRINT_LEN);
		if (clen > PAYLOAD_MAX_LEN ||
			(size_t) (end - p) < FINGERPRINT_LEN + 4 + EF_NONCE_LEN + clen + EF_TAG_LEN)
		{
			status = FORWARD_MALFORMED;
			break;
		}
		if (memcmp(p, fp, FINGERPRINT_LEN) != 0)
		{
			p += FINGERPRINT_LEN + 4 + EF_NONCE_LEN + clen + EF_TAG_LEN;
			continue;
		}

		aad[0].data = bin;
		aad[0].len = HEADER_LEN;
		aad[1].data = fp;
		aad[1].len = FINGERPRINT_LEN;
		payload = palloc(clen + 1);
		ok = NodeKeyAgree(bin + HEADER_LEN - EF_X25519_LEN, shared) &&
			EntryKey(shared, header->id, bin + HEADER_LEN - EF_X25519_LEN,
					 node_pub, entry_key) &&
			EfAeadOpen(entry_key, p + FINGERPRINT_LEN + 4,
					   aad, 2, p + FINGERPRINT_LEN + 4 + EF_NONCE_LEN, clen,
					   p + FINGERPRINT_LEN + 4 + EF_NONCE_LEN + clen,
					   payload) == EF_CRYPTO_OK &&
			UnpackKeys(payload, clen, keys, nkeys);
		explicit_bzero(shared, sizeof(shared));
		explicit_bzero(entry_key, sizeof(entry_key));
		explicit_bzero(payload, clen + 1);
		pfree(payload);
		if (!ok)
		{
			explicit_bzero(keys, sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);
			*nkeys = 0;
			status = FORWARD_AUTH_FAILED;
		}
		else
			status = FORWARD_OPENED;
		break;
	}
	pfree(bin);
	return status;
}

/*-------------------------------------------------------------------------
 *
 * kdf.c
 *		Derive the key-wrapping key and the registry check value
 *
 * The master key is never used directly: HKDF-SHA-256 with distinct labels
 * gives one key for AES key wrap (the KEK) and one for the check value that
 * the registry stores.  The check value is an HMAC of a fixed label and the
 * key id, truncated to 16 bytes; it proves a key is the registered one and
 * reveals nothing about it.  Only the KEK is held after unlocking.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/kdf.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "crypto.h"
#include "kdf.h"
#include "port/pg_bswap.h"
#include "secure.h"

static const char kek_label[] = "encrypted_field v1 key wrap";
static const char check_key_label[] = "encrypted_field v1 key check";
static const char check_msg_label[] = "encrypted_field key check value";

/*
 * Derive the AES-256 key-wrapping key of a 32-byte master key registered
 * under key_id.  The id is part of the label, so that one master key
 * registered under two ids wraps differently under each: AES key wrap is
 * deterministic, and equal wrapped index keys would show the reuse.
 */
EfCryptoStatus
EfDeriveKek(const uint8 *master, int32 key_id, uint8 *kek)
{
	uint8		info[sizeof(kek_label) - 1 + 4];
	size_t		labellen = sizeof(kek_label) - 1;
	uint32		be_key_id;

	memcpy(info, kek_label, labellen);
	be_key_id = pg_hton32((uint32) key_id);
	memcpy(info + labellen, &be_key_id, 4);
	return EfHkdfSha256(master, EF_KEY_LEN, NULL, 0, info, sizeof(info),
						kek, EF_KEY_LEN);
}

/*
 * Compute the registry check value of a master key under a key id, in an
 * index-key group (NULL: "default").  A group other than "default" is part
 * of the message, so that a key's row relabelled into another group no
 * longer matches it, and no session takes the key to be of that group; the
 * group "default" keeps the message of the versions that had only it.
 */
EfCryptoStatus
EfKeyCheckValue(const uint8 *master, int32 key_id, const char *group,
				uint8 *check)
{
	uint8		check_key[EF_KEY_LEN];
	uint8		msg[sizeof(check_msg_label) - 1 + 4 + 1 + EF_GROUP_MAX_LEN];
	uint8		mac[EF_SHA256_LEN];
	size_t		labellen = sizeof(check_msg_label) - 1;
	uint32		be_key_id;
	size_t		msglen = labellen + 4;
	size_t		grouplen = group ? strlen(group) : 0;
	EfCryptoStatus status;

	if (grouplen > EF_GROUP_MAX_LEN)
		return EF_CRYPTO_BAD_LENGTH;

	memcpy(msg, check_msg_label, labellen);
	be_key_id = pg_hton32((uint32) key_id);
	memcpy(msg + labellen, &be_key_id, 4);
	if (group != NULL && strcmp(group, "default") != 0)
	{
		msg[msglen++] = (uint8) grouplen;
		memcpy(msg + msglen, group, grouplen);
		msglen += grouplen;
	}

	status = EfHkdfSha256(master, EF_KEY_LEN, NULL, 0,
						  (const uint8 *) check_key_label,
						  strlen(check_key_label), check_key, EF_KEY_LEN);
	if (status == EF_CRYPTO_OK)
		status = EfHmacSha256(check_key, EF_KEY_LEN, msg, msglen, mac);
	if (status == EF_CRYPTO_OK)
		memcpy(check, mac, EF_CHECK_VALUE_LEN);

	ef_secure_wipe(check_key, sizeof(check_key));
	ef_secure_wipe(mac, sizeof(mac));
	return status;
}

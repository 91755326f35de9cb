/*-------------------------------------------------------------------------
 *
 * forward_seal.h
 *		Held keys sealed to the public keys of Citus workers
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/forward_seal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_FORWARD_SEAL_H
#define EF_FORWARD_SEAL_H

#include "crypto.h"
#include "keystore.h"
#include "node_key.h"

/* Most keys one set carries: every key a session may hold */
#define EF_FORWARD_MAX_KEYS		EF_MAX_HELD_KEYS
/* Longest unlock reason a set carries (ef_unlock takes at most 200 bytes) */
#define EF_FORWARD_REASON_MAX	255
/* Most workers one set is sealed to */
#define EF_FORWARD_MAX_NODES	255

/* One forwarded key: what a worker needs to hold it as the session does */
typedef struct ForwardKey
{
	int32		key_id;
	bool		retired;
	char		role[NAMEDATALEN];
	char		index_group[NAMEDATALEN];
	char		reason[EF_FORWARD_REASON_MAX + 1];	/* the unlock's, or empty */
	uint8		kek[EF_KEY_LEN];
	int32		index_key_id[EF_INDEX_KEYS_HELD];
	uint8		index_key[EF_INDEX_KEYS_HELD][EF_KEY_LEN];
} ForwardKey;

/* What a set says of itself, in the clear and authenticated */
typedef struct ForwardHeader
{
	uint8		id[EF_FORWARD_ID_LEN];
	TimestampTz created;
	int32		initiator;		/* the coordinator's Citus group id */
} ForwardHeader;

typedef enum ForwardOpenStatus
{
	FORWARD_OPENED,
	FORWARD_MALFORMED,			/* not a sealed set */
	FORWARD_NOT_FOR_THIS_NODE,	/* sealed to other servers' keys only */
	FORWARD_NO_NODE_KEY,		/* this server has no key to open it with */
	FORWARD_AUTH_FAILED			/* altered, or sealed to an earlier key */
} ForwardOpenStatus;

extern char *ForwardSeal(const ForwardHeader *header,
						 const ForwardKey *keys, int nkeys,
						 const uint8 (*node_pubs)[EF_NODE_KEY_LEN], int nnodes);
extern bool ForwardWellFormed(const char *text);
extern bool ForwardReadHeader(const char *text, ForwardHeader *header);
extern ForwardOpenStatus ForwardOpen(const char *text, ForwardHeader *header,
									 ForwardKey *keys, int *nkeys);

#endif							/* EF_FORWARD_SEAL_H */

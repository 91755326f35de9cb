/*-------------------------------------------------------------------------
 *
 * node_key.h
 *		This server's own X25519 key, and the forwarded key sets it has seen
 *		end
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/node_key.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_NODE_KEY_H
#define EF_NODE_KEY_H

#include "utils/timestamp.h"

#define EF_NODE_KEY_LEN		32	/* X25519 public and private keys */
#define EF_FORWARD_ID_LEN	16	/* the random id of one forwarded key set */

/* May a forwarded set still be opened, and if not, why? */
typedef enum NodeKeySetState
{
	NODE_KEY_SET_OPEN,			/* it may */
	NODE_KEY_SET_AGED,			/* older than the maximum age */
	NODE_KEY_SET_FUTURE,		/* made in this server's future */
	NODE_KEY_SET_ENDED,			/* its transaction has ended here */
	NODE_KEY_SET_DROPPED,		/* made before sets forgotten young */
	NODE_KEY_SET_UNRECORDED		/* this server keeps no record */
} NodeKeySetState;

extern void NodeKeyDefine(void);
extern void NodeKeyInstallHooks(void);
extern bool NodeKeyAvailable(void);
extern bool NodeKeyPublic(uint8 *pub);
extern bool NodeKeyAgree(const uint8 *peer_pub, uint8 *shared);
extern NodeKeySetState NodeKeyForwardState(const uint8 *id, TimestampTz created, int max_age);
extern void NodeKeyForwardEnd(const uint8 *id, TimestampTz created, int max_age);

#endif							/* EF_NODE_KEY_H */

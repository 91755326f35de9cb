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

extern void NodeKeyInstallHooks(void);
extern bool NodeKeyAvailable(void);
extern bool NodeKeyPublic(uint8 *pub);
extern bool NodeKeyAgree(const uint8 *peer_pub, uint8 *shared);
extern bool NodeKeyForwardEnded(const uint8 *id, TimestampTz created, int max_age);
extern void NodeKeyForwardEnd(const uint8 *id, TimestampTz created, int max_age);

#endif							/* EF_NODE_KEY_H */

/*-------------------------------------------------------------------------
 *
 * ef_citus.c
 *		SQL functions for Citus clusters
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "node_key.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(ef_node_public_key);

/*
 * ef_node_public_key() returns text: this server's public key, as hex, to
 * which a Citus coordinator seals the keys it forwards
 */
Datum
ef_node_public_key(PG_FUNCTION_ARGS)
{
	uint8		pub[EF_NODE_KEY_LEN];
	char		hex[2 * EF_NODE_KEY_LEN + 1];

	if (!NodeKeyPublic(pub))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server has no key to receive forwarded keys"),
				 errhint("Add encrypted_field to shared_preload_libraries, after citus, and restart the server.")));
	hex[hex_encode((const char *) pub, EF_NODE_KEY_LEN, hex)] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}

/*-------------------------------------------------------------------------
 *
 * ef_keyfuncs.h
 *		What the key functions offer the rest of the extension
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_keyfuncs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEYFUNCS_H
#define EF_KEYFUNCS_H

extern void IndexKeysRefresh(void);

#endif							/* EF_KEYFUNCS_H */

/*-------------------------------------------------------------------------
 *
 * key_source.h
 *		Tell whether a master key came from a bind parameter of the client
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_source.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEY_SOURCE_H
#define EF_KEY_SOURCE_H

extern bool KeyFromBindParameter(const uint8 *key);
extern void KeySourceEnter(const char *text);
extern void KeySourceLeave(void);
extern void KeySourceInstallHooks(void);

#endif							/* EF_KEY_SOURCE_H */

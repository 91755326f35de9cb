/*-------------------------------------------------------------------------
 *
 * key_source.h
 *		Tell whether a master key came from a bind parameter of the client
 *
 * IDENTIFICATION
 *		src/key_source.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEY_SOURCE_H
#define EF_KEY_SOURCE_H

extern bool KeyFromBindParameter(const uint8 *key);

#endif							/* EF_KEY_SOURCE_H */

/*-------------------------------------------------------------------------
 *
 * generation.h
 *		A count of index key rotations, shared by every backend
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/generation.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_GENERATION_H
#define EF_GENERATION_H

extern void GenerationInstallHooks(void);
extern bool GenerationRead(uint64 *generation);
extern void GenerationBump(void);

#endif							/* EF_GENERATION_H */

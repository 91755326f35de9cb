/*-------------------------------------------------------------------------
 *
 * generation.h
 *		A count of index key rotations, shared by every backend
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

/*-------------------------------------------------------------------------
 *
 * rotation_count.h
 *		A count of index key rotations, shared by every backend
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/rotation_count.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_ROTATION_COUNT_H
#define EF_ROTATION_COUNT_H

extern void RotationCountInstallHooks(void);
extern bool RotationCountRead(uint64 *count);
extern void RotationCountBump(void);

#endif							/* EF_ROTATION_COUNT_H */

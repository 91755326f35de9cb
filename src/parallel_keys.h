/*-------------------------------------------------------------------------
 *
 * parallel_keys.h
 *		Hand the keys a leader holds to the parallel workers of its query
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/parallel_keys.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_PARALLEL_KEYS_H
#define EF_PARALLEL_KEYS_H

extern void ParallelKeysInstall(void);

extern void ParallelKeysRevoke(void);

#endif							/* EF_PARALLEL_KEYS_H */

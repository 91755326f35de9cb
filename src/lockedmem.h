/*-------------------------------------------------------------------------
 *
 * lockedmem.h
 *		Pages for secrets: locked against swapping, left out of core dumps
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/lockedmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_LOCKEDMEM_H
#define EF_LOCKEDMEM_H

extern void *LockedPagesAlloc(size_t size, size_t *mapped);
extern void LockedPagesFree(void *pages, size_t mapped);

#endif							/* EF_LOCKEDMEM_H */

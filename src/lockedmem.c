/*-------------------------------------------------------------------------
 *
 * lockedmem.c
 *		Pages for secrets: locked against swapping, left out of core dumps
 *
 * Held keys and the random pool live in anonymous pages mapped for them,
 * never in a palloc context, so that no other allocation reuses their bytes
 * unwiped.  Failing to lock or to exclude from dumps is not fatal: those are
 * defences in depth, and unprivileged backends often lack the limits.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/lockedmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#include <unistd.h>

#include "lockedmem.h"

/*
 * Map zeroed pages for at least size bytes; return them, and in *mapped how
 * many bytes were mapped, or NULL (errno set) if none could be
 */
void *
LockedPagesAlloc(size_t size, size_t *mapped)
{
	long		pagesize = sysconf(_SC_PAGESIZE);
	void	   *pages;

	*mapped = TYPEALIGN(pagesize > 0 ? pagesize : 4096, size);
	pages = mmap(NULL, *mapped, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return NULL;
#ifdef MADV_DONTDUMP
	(void) madvise(pages, *mapped, MADV_DONTDUMP);
#endif
	(void) mlock(pages, *mapped);
	return pages;
}

/* Wipe and unmap pages from LockedPagesAlloc */
void
LockedPagesFree(void *pages, size_t mapped)
{
	explicit_bzero(pages, mapped);
	(void) munlock(pages, mapped);
	(void) munmap(pages, mapped);
}

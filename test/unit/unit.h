/*-------------------------------------------------------------------------
 *
 * unit.h
 *		Small helpers shared by the C unit test programs
 *
 * A program counts cases.  A case passes unless a UNIT_CHECK inside it
 * fails.  Name a case with unit_case_begin() and close it with
 * unit_case_end(); a UNIT_CHECK made outside any case counts as a case of
 * its own.  unit_skip() counts a case that does not apply.  A failing check
 * prints one line naming the case, the message and the source line.
 *
 * Include "postgres.h" first, for bool and uint8.  Everything here is static,
 * since each unit program is a single .c file.  Nothing here uses palloc or
 * elog: the programs run without a server.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		test/unit/unit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_UNIT_H
#define EF_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * port.h maps the stdio functions and strerror to libpgport's versions; the
 * unit programs do not link libpgport, so use the C library's.
 */
#undef printf
#undef fprintf
#undef sprintf
#undef snprintf
#undef vprintf
#undef vfprintf
#undef vsprintf
#undef vsnprintf
#undef strerror

typedef struct UnitCounts
{
	int			passed;
	int			failed;
	int			skipped;
} UnitCounts;

typedef struct UnitState
{
	UnitCounts	counts;
	bool		in_case;		/* between unit_case_begin and unit_case_end */
	bool		case_failed;	/* a check of the open case has failed */
	char		case_name[160];
} UnitState;

static UnitState unit_state;

static inline void unit_case_begin(const char *fmt,...) pg_attribute_printf(1, 2);
static inline bool unit_check_at(bool ok, const char *file, int line,
								 const char *fmt,...) pg_attribute_printf(4, 5);

/*
 * Check a condition; on failure print the case and the message.  Evaluates
 * to the condition, so that a caller can stop at the first failed step.
 */
#define UNIT_CHECK(cond, ...) \
	unit_check_at((cond) ? true : false, __FILE__, __LINE__, __VA_ARGS__)

/* Open a case; its name prefixes every failure reported until it closes */
static inline void
unit_case_begin(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(unit_state.case_name, sizeof(unit_state.case_name), fmt, ap);
	va_end(ap);
	unit_state.in_case = true;
	unit_state.case_failed = false;
}

/* Close the open case and count it */
static inline void
unit_case_end(void)
{
	if (unit_state.case_failed)
		unit_state.counts.failed++;
	else
		unit_state.counts.passed++;
	unit_state.in_case = false;
	unit_state.case_failed = false;
}

/* Count a case that does not apply */
static inline void
unit_skip(void)
{
	unit_state.counts.skipped++;
}

/* The body of UNIT_CHECK */
static inline bool
unit_check_at(bool ok, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	if (!unit_state.in_case)
	{
		if (ok)
			unit_state.counts.passed++;
		else
			unit_state.counts.failed++;
	}
	if (ok)
		return true;

	unit_state.case_failed = true;
	printf("FAIL %s: ", unit_state.in_case ? unit_state.case_name : "-");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (%s:%d)\n", file, line);
	fflush(stdout);
	return false;
}

/* The counts so far, e.g. to report one part of a program */
static inline UnitCounts
unit_counts(void)
{
	return unit_state.counts;
}

static inline int
unit_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode a hex string into a malloc'd buffer and set *len.  "" and "-" mean
 * no bytes.  The buffer always has at least one byte, so an empty input still
 * gets a valid pointer.  Returns NULL if the string is not hex.
 */
static inline uint8 *
unit_hex_decode(const char *hex, size_t *len)
{
	size_t		n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
	uint8	   *buf;

	*len = 0;
	if (n % 2 != 0)
		return NULL;
	buf = malloc(n / 2 + 1);
	if (buf == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < n / 2; i++)
	{
		int			hi = unit_hex_digit(hex[2 * i]);
		int			lo = unit_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			free(buf);
			return NULL;
		}
		buf[i] = (uint8) (hi << 4 | lo);
	}
	*len = n / 2;
	return buf;
}

/*
 * Print the closing line "NAME: N passed, N failed, N skipped" and return
 * the program's exit status: 0 iff nothing failed and something passed.
 */
static inline int
unit_report(const char *name)
{
	UnitCounts	c;

	if (unit_state.in_case)
		unit_case_end();
	c = unit_state.counts;

	printf("%s: %d passed, %d failed, %d skipped\n",
		   name, c.passed, c.failed, c.skipped);
	fflush(stdout);
	return (c.failed == 0 && c.passed > 0) ? 0 : 1;
}

#endif							/* EF_UNIT_H */

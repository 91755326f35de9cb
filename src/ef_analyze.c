/*-------------------------------------------------------------------------
 *
 * ef_analyze.c
 *		ANALYZE for encrypted_field: the null fraction, the width, and the
 *		number of distinct search terms
 *
 * The standard analyser would sort the whole sample with the btree
 * operators and keep most-common values and a histogram.  This one reads
 * only the terms, skips values without one, and stores no values: no
 * most-common values, no histogram, as they would be search terms, which an
 * operator could match against terms of guesses made elsewhere.  The number
 * of distinct terms is what the planner needs to see that
 * WHERE c = ef_term(x) finds few rows and use an index scan.
 *
 * Arrays, composites and arrays of domains over encrypted_field use
 * PostgreSQL's own analysers, which sort and hash the values with the btree
 * and hash support of ef_ops.c; there values without a term compare by
 * their envelopes, inside ANALYZE only (see ValueArg in ef_ops.c).  Domains
 * over encrypted_field use this analyser, as their base type does.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_analyze.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "commands/vacuum.h"
#include "compat.h"
#include "ef_type.h"
#include "envelope.h"
#include "fmgr.h"
#include "utils/guc.h"

/* Order terms bytewise, for counting distinct ones */
static int
CompareTerms(const void *a, const void *b)
{
	return memcmp(a, b, EF_TERM_LEN);
}

/* Copy a value's term into term; false if it has none */
static bool
TermOfDatum(Datum value, uint8 *term)
{
	uint8		buf[EF_OFF_TERM + EF_TERM_LEN];
	size_t		len = EfReadHead(value, buf, sizeof(buf));
	EnvelopeHead head;

	if (EnvelopeReadHead(buf, len, &head) != ENVELOPE_OK || head.term == NULL)
		return false;
	memcpy(term, head.term, EF_TERM_LEN);
	return true;
}

/*
 * Estimate the number of distinct terms in the table from the sample, with
 * the Haas-Stokes estimator PostgreSQL's own analyser uses: n sampled terms,
 * d distinct, f1 seen once, out of total rows.
 */
static double
EstimateDistinct(int n, int d, int f1, double total)
{
	double		numer = (double) n * d;
	double		denom = (n - f1) + (double) f1 * n / total;
	double		estimate = denom > 0 ? numer / denom : d;

	if (estimate < d)
		estimate = d;
	if (estimate > total)
		estimate = total;
	return floor(estimate + 0.5);
}

/* Compute the statistics of a sample */
static void
ComputeTermStats(VacAttrStatsP stats, AnalyzeAttrFetchFunc fetchfunc,
				 int samplerows, double totalrows)
{
	uint8	   *terms = palloc(samplerows * EF_TERM_LEN);
	int			nterms = 0;
	int			nulls = 0;
	double		width = 0;
	int			d = 0;
	int			f1 = 0;

	for (int i = 0; i < samplerows; i++)
	{
		bool		isnull;
		Datum		value = fetchfunc(stats, i, &isnull);

		EF_ANALYZE_DELAY_POINT();
		if (isnull)
		{
			nulls++;
			continue;
		}
		width += VARSIZE_ANY(DatumGetPointer(value));
		if (TermOfDatum(value, terms + nterms * EF_TERM_LEN))
			nterms++;
	}

	qsort(terms, nterms, EF_TERM_LEN, CompareTerms);
	for (int i = 0; i < nterms;)
	{
		int			j = i + 1;

		while (j < nterms && CompareTerms(terms + i * EF_TERM_LEN, terms + j * EF_TERM_LEN) == 0)
			j++;
		d++;
		if (j - i == 1)
			f1++;
		i = j;
	}

	stats->stats_valid = true;
	stats->stanullfrac = samplerows > 0 ? (double) nulls / samplerows : 0;
	stats->stawidth = samplerows > nulls ? width / (samplerows - nulls) : 0;
	if (nterms == 0)
		stats->stadistinct = 0;		/* unknown */
	else if (f1 == nterms)
		stats->stadistinct = -1.0 * (1.0 - stats->stanullfrac);	/* unique */
	else
	{
		double		estimate = EstimateDistinct(nterms, d, f1, totalrows);

		/* as PostgreSQL does: a large share of the rows scales with them */
		stats->stadistinct = estimate > 0.1 * totalrows ?
			-(estimate / totalrows) : estimate;
	}
	pfree(terms);
}

PG_FUNCTION_INFO_V1(ef_typanalyze);
/* ANALYZE support: collect the statistics described above */
Datum
ef_typanalyze(PG_FUNCTION_ARGS)
{
	VacAttrStats *stats = (VacAttrStats *) PG_GETARG_POINTER(0);

	if (EF_STATS_TARGET(stats) < 0)
		EF_STATS_TARGET(stats) = default_statistics_target;
	stats->compute_stats = ComputeTermStats;
	stats->minrows = 300 * EF_STATS_TARGET(stats);
	PG_RETURN_BOOL(true);
}

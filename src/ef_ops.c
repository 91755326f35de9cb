/*-------------------------------------------------------------------------
 *
 * ef_ops.c
 *		Equality, ordering and hashing of searchable values and terms
 *
 * Randomised ciphertext has no meaningful order or equality, so operators
 * look only at a searchable value's term: equal terms mean equal normalised
 * plaintexts in the same search domain.  Values and terms (the type
 * encrypted_field_term) are ordered and hashed alike, by the term's bytes,
 * in one btree and one hash operator family, so that any pair of them
 * compares, sorts, merge-joins and hash-joins; the hash of a searchable
 * value is the hash of its term.  The order is arbitrary but stable, which
 * is what UNIQUE, merge joins, GROUP BY and btree lookups need.  A value
 * without a term cannot be compared: that is an error, never an answer,
 * except inside ANALYZE (see InsideAnalyze).  Only the first bytes of a
 * value are fetched, so comparisons of large TOASTed values stay cheap.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_ops.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "ef_report.h"
#include "ef_type.h"
#include "envelope.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "term.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define TERM_END	(EF_OFF_TERM + EF_TERM_LEN)

/*
 * One argument of a comparison or hash: a term, or, inside ANALYZE only, a
 * value without one, which is then compared and hashed by its envelope
 */
typedef struct OpArg
{
	bool		has_term;
	uint8		term[EF_TERM_LEN];
	Datum		value;			/* the value itself, when it has no term */
} OpArg;

typedef void (*OpArgReader) (Datum datum, OpArg *arg);

/*
 * Tell whether this backend is computing statistics in ANALYZE (manual,
 * database-wide, VACUUM (ANALYZE) or autovacuum's, which all run
 * do_analyze_rel() in PostgreSQL's analyze.c): that function makes a memory
 * context named "Analyze" and computes each column's statistics in its
 * child "Analyze Column" (extended statistics and the expressions of
 * expression indexes in other children of "Analyze").  A context's name is a
 * string constant of the C code that made it (what SQL names, a cursor's
 * for one, goes to its identifier instead), so no statement can pose as
 * ANALYZE.  (An index expression that ANALYZE evaluates there already ran,
 * on the same row, when the row was written.)  The test needs neither
 * activity tracking (track_activities) nor progress reporting.  PostgreSQL
 * 15 to 18 use these names.
 */
static bool
InsideAnalyze(void)
{
	for (MemoryContext cxt = CurrentMemoryContext; cxt != NULL; cxt = cxt->parent)
		if (strcmp(cxt->name, "Analyze Column") == 0 || strcmp(cxt->name, "Analyze") == 0)
			return true;
	return false;
}

/*
 * Read a value argument: its term, fetching only the value's head.  A value
 * without a term (or one whose head does not parse) is an error, except
 * inside ANALYZE.
 *
 * ANALYZE of an array, a domain's array or a composite holding values uses
 * the element type's btree and hash support (array_typanalyze and
 * std_typanalyze, not ef_typanalyze), on every value of the sample, and a
 * single value without a term would fail the whole ANALYZE, database-wide
 * and in autovacuum, which would retry each minute and never give the
 * table statistics.  There, and only there, such values take part in a
 * fixed total order instead: after every value with a term, among
 * themselves by their envelope bytes, and hashed by those bytes.  Two of
 * them are equal only when their envelopes are identical.  This compares no
 * plaintext and needs no key: the statistics hold envelopes exactly as the
 * table does, readable only by those who may read the column (pg_stats
 * checks the column privilege).  User queries keep the error: an answer
 * about ciphertexts that differ on every encryption would be meaningless.
 * The test runs only where the error would otherwise be raised, so
 * comparisons of searchable values cost nothing more.
 */
static void
ValueArg(Datum datum, OpArg *arg)
{
	uint8		buf[TERM_END];
	size_t		len = EfReadHead(datum, buf, TERM_END);
	EnvelopeHead head;
	EnvelopeStatus status = EnvelopeReadHead(buf, len, &head);

	if (status == ENVELOPE_OK && head.term != NULL)
	{
		arg->has_term = true;
		memcpy(arg->term, head.term, EF_TERM_LEN);
		return;
	}
	if (InsideAnalyze())
	{
		arg->has_term = false;
		arg->value = datum;
		return;
	}
	if (status != ENVELOPE_OK)
		ef_envelope_report(status, len > 0 ? buf[0] : 0, EF_SOURCE_STORED);
	if (!head.has_term)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot compare encrypted_field values that are not searchable"),
				 errdetail("Only values encrypted with searchable => true carry a search term."),
				 errhint("Encrypt the column's values with ef_encrypt(..., searchable => true) to compare, group, join or index them.")));
	ef_envelope_report(ENVELOPE_TOO_SHORT, buf[0], EF_SOURCE_STORED);
}

/* Read a term argument */
static void
TermArg(Datum datum, OpArg *arg)
{
	arg->has_term = true;
	memcpy(arg->term, ((EncryptedFieldTerm *) DatumGetPointer(datum))->bytes, EF_TERM_LEN);
}

/* Order two values without terms by their envelope bytes (inside ANALYZE) */
static int
CompareEnvelopes(Datum a, Datum b)
{
	EncryptedField *x = DatumGetEncryptedFieldPP(a);
	EncryptedField *y = DatumGetEncryptedFieldPP(b);
	size_t		xlen = EF_LEN(x);
	size_t		ylen = EF_LEN(y);
	int			c = memcmp(EF_DATA(x), EF_DATA(y), Min(xlen, ylen));

	if (c == 0)
		c = xlen < ylen ? -1 : (xlen > ylen ? 1 : 0);
	if ((Pointer) x != DatumGetPointer(a))
		pfree(x);
	if ((Pointer) y != DatumGetPointer(b))
		pfree(y);
	return c;
}

/*
 * Compare arguments 0 and 1, read as values or terms: -1, 0 or 1.  Terms
 * order bytewise; values without a term (inside ANALYZE) follow them.
 */
static int
Compare(FunctionCallInfo fcinfo, OpArgReader left, OpArgReader right)
{
	OpArg		a;
	OpArg		b;
	int			c;

	left(PG_GETARG_DATUM(0), &a);
	right(PG_GETARG_DATUM(1), &b);
	if (a.has_term && b.has_term)
		c = memcmp(a.term, b.term, EF_TERM_LEN);
	else if (a.has_term != b.has_term)
		c = a.has_term ? -1 : 1;
	else
		c = CompareEnvelopes(a.value, b.value);
	return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/*
 * Hash argument 0, read as a value or a term: the term's bytes, or the
 * envelope's for a value without a term (inside ANALYZE).  With extended,
 * the 64-bit hash with argument 1 as seed, whose low 32 bits under seed 0
 * are the standard hash, as PostgreSQL's hash support functions 2 must be.
 */
static Datum
Hash(FunctionCallInfo fcinfo, OpArgReader reader, bool extended)
{
	OpArg		a;
	EncryptedField *v;
	Datum		h;

	reader(PG_GETARG_DATUM(0), &a);
	if (a.has_term)
		return extended ? hash_any_extended(a.term, EF_TERM_LEN, PG_GETARG_INT64(1)) :
			hash_any(a.term, EF_TERM_LEN);
	v = DatumGetEncryptedFieldPP(a.value);
	h = extended ? hash_any_extended(EF_DATA(v), EF_LEN(v), PG_GETARG_INT64(1)) :
		hash_any(EF_DATA(v), EF_LEN(v));
	if ((Pointer) v != DatumGetPointer(a.value))
		pfree(v);
	return h;
}

/*
 * The operator and btree support functions of one pair of argument types,
 * each read by its reader: =, <>, <, <=, >, >= and the comparison
 */
#define COMPARISON(name, left, right, result) \
	PG_FUNCTION_INFO_V1(name); \
	Datum name(PG_FUNCTION_ARGS) { int c = Compare(fcinfo, left, right); return (result); }
#define COMPARISONS(eq, ne, lt, le, gt, ge, cmp, left, right) \
	COMPARISON(eq, left, right, BoolGetDatum(c == 0)) \
	COMPARISON(ne, left, right, BoolGetDatum(c != 0)) \
	COMPARISON(lt, left, right, BoolGetDatum(c < 0)) \
	COMPARISON(le, left, right, BoolGetDatum(c <= 0)) \
	COMPARISON(gt, left, right, BoolGetDatum(c > 0)) \
	COMPARISON(ge, left, right, BoolGetDatum(c >= 0)) \
	COMPARISON(cmp, left, right, Int32GetDatum(c))

/* value op value, value op term, term op value, term op term */
COMPARISONS(ef_eq, ef_ne, ef_lt, ef_le, ef_gt, ef_ge, ef_cmp, ValueArg, ValueArg)
COMPARISONS(ef_eq_term, ef_ne_term, ef_lt_term, ef_le_term, ef_gt_term, ef_ge_term, ef_cmp_term,
			ValueArg, TermArg)
COMPARISONS(ef_term_eq, ef_term_ne, ef_term_lt, ef_term_le, ef_term_gt, ef_term_ge, ef_term_cmp_value,
			TermArg, ValueArg)
COMPARISONS(ef_term_eq_term, ef_term_ne_term, ef_term_lt_term, ef_term_le_term, ef_term_gt_term,
			ef_term_ge_term, ef_term_cmp_term, TermArg, TermArg)

/*
 * 0.2.0 declared ef_term_cmp(term, term) with this symbol; its operator
 * family calls it until ALTER EXTENSION UPDATE replaces it
 */
COMPARISON(ef_term_cmp, TermArg, TermArg, Int32GetDatum(c))

/* hash support functions 1 and 2 of one type */
#define HASHES(hash, hash_extended, reader) \
	PG_FUNCTION_INFO_V1(hash); \
	Datum hash(PG_FUNCTION_ARGS) { return Hash(fcinfo, reader, false); } \
	PG_FUNCTION_INFO_V1(hash_extended); \
	Datum hash_extended(PG_FUNCTION_ARGS) { return Hash(fcinfo, reader, true); }

/* a searchable value hashes as its term does */
HASHES(ef_hash, ef_hash_extended, ValueArg)
HASHES(ef_term_hash, ef_term_hash_extended, TermArg)

PG_FUNCTION_INFO_V1(ef_term_in);
/* Convert a term's text form (32 hex digits) to internal representation */
Datum
ef_term_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	EncryptedFieldTerm *t = palloc(sizeof(EncryptedFieldTerm));

	if (strlen(str) != 2 * EF_TERM_LEN ||
		strspn(str, "0123456789abcdefABCDEF") != 2 * EF_TERM_LEN ||
		hex_decode(str, 2 * EF_TERM_LEN, (char *) t->bytes) != EF_TERM_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type encrypted_field_term"),
				 errdetail("A term is %d hexadecimal digits.", 2 * EF_TERM_LEN)));
	PG_RETURN_POINTER(t);
}

PG_FUNCTION_INFO_V1(ef_term_out);
/* Convert a term to its text form */
Datum
ef_term_out(PG_FUNCTION_ARGS)
{
	EncryptedFieldTerm *t = (EncryptedFieldTerm *) PG_GETARG_POINTER(0);
	char	   *out = palloc(2 * EF_TERM_LEN + 1);

	hex_encode((const char *) t->bytes, EF_TERM_LEN, out);
	out[2 * EF_TERM_LEN] = '\0';
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(ef_term_recv);
/* Convert a term's binary form to internal representation */
Datum
ef_term_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	EncryptedFieldTerm *t = palloc(sizeof(EncryptedFieldTerm));

	pq_copymsgbytes(buf, (char *) t->bytes, EF_TERM_LEN);
	PG_RETURN_POINTER(t);
}

PG_FUNCTION_INFO_V1(ef_term_send);
/* Convert a term to its binary form */
Datum
ef_term_send(PG_FUNCTION_ARGS)
{
	EncryptedFieldTerm *t = (EncryptedFieldTerm *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) t->bytes, EF_TERM_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*-------------------------------------------------------------------------
 *
 * ef_ops.c
 *		Equality, ordering and hashing of searchable values by their terms
 *
 * Randomised ciphertext has no meaningful order or equality, so operators
 * look only at a searchable value's term: equal terms mean equal normalised
 * plaintexts in the same search domain.  The order they define is arbitrary
 * but stable, which is what UNIQUE, merge joins, GROUP BY and btree lookups
 * need.  A value without a term cannot be compared: that is an error, never
 * an answer.  Only the first bytes of a value are fetched, so comparisons of
 * large TOASTed values stay cheap.
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

#define TERM_END	(EF_OFF_TERM + EF_TERM_LEN)

/* Copy the term of a value, fetching only its head; error if it has none */
static void
TermOf(Datum datum, uint8 *term)
{
	uint8		buf[TERM_END];
	size_t		len = EfReadHead(datum, buf, TERM_END);
	int32		key_id;
	EnvelopeStatus status = EnvelopeParseHead(buf, len, &key_id);

	if (status != ENVELOPE_OK)
		ef_envelope_report(status, len > 0 ? buf[0] : 0, EF_SOURCE_STORED);
	if ((buf[EF_OFF_FLAGS] & EF_FLAG_TERM) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot compare encrypted_field values that are not searchable"),
				 errdetail("Only values encrypted with searchable => true carry a search term."),
				 errhint("Encrypt the column's values with ef_encrypt(..., searchable => true) to compare, group, join or index them.")));
	if (len < TERM_END)
		ef_envelope_report(ENVELOPE_TOO_SHORT, buf[0], EF_SOURCE_STORED);
	memcpy(term, buf + EF_OFF_TERM, EF_TERM_LEN);
}

/* Compare two values by their terms */
static int
CompareValues(FunctionCallInfo fcinfo)
{
	uint8		a[EF_TERM_LEN];
	uint8		b[EF_TERM_LEN];

	TermOf(PG_GETARG_DATUM(0), a);
	TermOf(PG_GETARG_DATUM(1), b);
	return memcmp(a, b, EF_TERM_LEN);
}

/* Compare a value (argument 0) with a term (argument 1) */
static int
CompareValueTerm(FunctionCallInfo fcinfo)
{
	uint8		a[EF_TERM_LEN];
	EncryptedFieldTerm *b = (EncryptedFieldTerm *) PG_GETARG_POINTER(1);

	TermOf(PG_GETARG_DATUM(0), a);
	return memcmp(a, b->bytes, EF_TERM_LEN);
}

#define VALUE_OP(name, expr) \
	PG_FUNCTION_INFO_V1(name); \
	Datum name(PG_FUNCTION_ARGS) { int c = CompareValues(fcinfo); PG_RETURN_BOOL(expr); }

/* Operators between two values, by their terms */
VALUE_OP(ef_eq, c == 0)
VALUE_OP(ef_ne, c != 0)
VALUE_OP(ef_lt, c < 0)
VALUE_OP(ef_le, c <= 0)
VALUE_OP(ef_gt, c > 0)
VALUE_OP(ef_ge, c >= 0)

PG_FUNCTION_INFO_V1(ef_cmp);
/* btree support: order two values by their terms */
Datum
ef_cmp(PG_FUNCTION_ARGS)
{
	int			c = CompareValues(fcinfo);

	PG_RETURN_INT32(c < 0 ? -1 : (c > 0 ? 1 : 0));
}

PG_FUNCTION_INFO_V1(ef_cmp_term);
/* btree support: order a value against a term */
Datum
ef_cmp_term(PG_FUNCTION_ARGS)
{
	int			c = CompareValueTerm(fcinfo);

	PG_RETURN_INT32(c < 0 ? -1 : (c > 0 ? 1 : 0));
}

PG_FUNCTION_INFO_V1(ef_eq_term);
/* A value equals a term */
Datum
ef_eq_term(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareValueTerm(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(ef_ne_term);
/* A value differs from a term */
Datum
ef_ne_term(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareValueTerm(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(ef_term_eq);
/* A term equals a value: the commutator of ef_eq_term */
Datum
ef_term_eq(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(ef_eq_term, PG_GETARG_DATUM(1), PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(ef_term_ne);
/* A term differs from a value: the commutator of ef_ne_term */
Datum
ef_term_ne(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(ef_ne_term, PG_GETARG_DATUM(1), PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(ef_hash);
/* hash support: hash a value's term, as ef_term_hash hashes a term */
Datum
ef_hash(PG_FUNCTION_ARGS)
{
	uint8		term[EF_TERM_LEN];

	TermOf(PG_GETARG_DATUM(0), term);
	return hash_any(term, EF_TERM_LEN);
}

PG_FUNCTION_INFO_V1(ef_term_hash);
/* hash support: hash a term */
Datum
ef_term_hash(PG_FUNCTION_ARGS)
{
	EncryptedFieldTerm *t = (EncryptedFieldTerm *) PG_GETARG_POINTER(0);

	return hash_any(t->bytes, EF_TERM_LEN);
}

PG_FUNCTION_INFO_V1(ef_term_cmp);
/*
 * btree support: order two terms, as values order by theirs.  A btree scan
 * sorts the terms of c = ANY(ef_terms(x)) with it.
 */
Datum
ef_term_cmp(PG_FUNCTION_ARGS)
{
	EncryptedFieldTerm *a = (EncryptedFieldTerm *) PG_GETARG_POINTER(0);
	EncryptedFieldTerm *b = (EncryptedFieldTerm *) PG_GETARG_POINTER(1);
	int			c = memcmp(a->bytes, b->bytes, EF_TERM_LEN);

	PG_RETURN_INT32(c < 0 ? -1 : (c > 0 ? 1 : 0));
}

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

/*-------------------------------------------------------------------------
 *
 * ef_funcs.c
 *		SQL functions that encrypt, decrypt, re-wrap, re-term and describe
 *		values, and compute search terms
 *
 * These read arguments and build results; sealing and opening values is
 * value.c's, search terms term.c's.  The plaintext copies made here, to
 * turn an argument into bytes or bytes into a result, are wiped before they
 * are released.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_funcs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "decrypt_audit.h"
#include "ef_report.h"
#include "ef_type.h"
#include "envelope.h"
#include "funcapi.h"
#include "plaintext.h"
#include "secure.h"
#include "term.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "value.h"

/* Is optional argument n given, and not NULL? */
#define ARG_GIVEN(n)	(PG_NARGS() > (n) && !PG_ARGISNULL(n))

/* Read an optional context argument; NULL means no context */
static EnvelopeContext
ContextArgument(FunctionCallInfo fcinfo, int argno)
{
	EnvelopeContext context = {false, NULL, 0};

	if (ARG_GIVEN(argno))
	{
		text	   *ctx_text = PG_GETARG_TEXT_PP(argno);

		context.present = true;
		context.data = (const uint8 *) VARDATA_ANY(ctx_text);
		context.len = VARSIZE_ANY_EXHDR(ctx_text);
	}
	return context;
}

/* Read an optional search normalisation argument; NULL means exact */
static TermNormalize
NormalizeArgument(FunctionCallInfo fcinfo, int argno)
{
	text	   *name;

	if (!ARG_GIVEN(argno))
		return TERM_EXACT;
	name = PG_GETARG_TEXT_PP(argno);
	return TermNormalizeByName(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
}

/*
 * Read an optional search domain argument into *domain and *len; NULL means
 * the empty domain
 */
static void
DomainArgument(FunctionCallInfo fcinfo, int argno, const char **domain,
			   size_t *len)
{
	text	   *arg;

	*domain = NULL;
	*len = 0;
	if (!ARG_GIVEN(argno))
		return;
	arg = PG_GETARG_TEXT_PP(argno);
	*domain = VARDATA_ANY(arg);
	*len = VARSIZE_ANY_EXHDR(arg);
}

/* Read an optional master key id argument: the key to wrap under, or NULL */
#define KeyForWrappingArgument(argno) \
	KeyForWrapping(ARG_GIVEN(argno), ARG_GIVEN(argno) ? PG_GETARG_INT32(argno) : 0)

PG_FUNCTION_INFO_V1(ef_encrypt);
/*
 * Encrypt a value under a held master key.  Arguments: value, context,
 * searchable, key_id, search_domain, search_normalize.
 */
Datum
ef_encrypt(PG_FUNCTION_ARGS)
{
	PlaintextIO *io;
	struct varlena *bytes;
	bool		bytes_copied;
	/* volatile: read after PG_TRY's setjmp (gcc's -Wclobbered) */
	volatile bool searchable = ARG_GIVEN(2) && PG_GETARG_BOOL(2);
	TermNormalize normalize = NormalizeArgument(fcinfo, 5);
	const char *domain;
	size_t		domain_len;
	uint8		term[EF_TERM_LEN];
	EnvelopeContext context;
	const HeldKey *key;
	EncryptedField *volatile result = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	io = PlaintextLookup(fcinfo->flinfo, get_fn_expr_argtype(fcinfo->flinfo, 0));
	key = KeyForWrappingArgument(3);
	context = ContextArgument(fcinfo, 1);
	DomainArgument(fcinfo, 4, &domain, &domain_len);
	if (searchable)
		TermCheckBeforeCopy(normalize, io->type_code);
	bytes = PlaintextToBytes(io, PG_GETARG_DATUM(0), &bytes_copied);
	/* the copy of the plaintext is wiped if the term or the seal fails too */
	PG_TRY();
	{
		if (searchable)
			TermCompute(domain, domain_len, normalize, io->type_code, VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), term, key);
		result = SealCompressed(key, io->type_code, searchable ? term : NULL,
								VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), &context);
	}
	PG_FINALLY();
	{
		if (bytes_copied)
			ef_secure_pfree(bytes, VARSIZE_ANY(bytes));
	}
	PG_END_TRY();
	PG_RETURN_ENCRYPTED_FIELD_P(result);
}

/*
 * The terms of the value argument under the index keys held, newest first,
 * up to max; arguments value, search_domain, search_normalize.  The copy of
 * the plaintext made for it is wiped.
 */
static int
ArgumentTerms(FunctionCallInfo fcinfo, uint8 (*terms)[EF_TERM_LEN], int max)
{
	TermNormalize normalize = NormalizeArgument(fcinfo, 2);
	PlaintextIO *io = PlaintextLookup(fcinfo->flinfo,
									  get_fn_expr_argtype(fcinfo->flinfo, 0));
	const char *domain;
	size_t		domain_len;
	struct varlena *bytes;
	bool		bytes_copied;
	int			n;

	DomainArgument(fcinfo, 1, &domain, &domain_len);
	TermCheckBeforeCopy(normalize, io->type_code);
	bytes = PlaintextToBytes(io, PG_GETARG_DATUM(0), &bytes_copied);
	PG_TRY();
	{
		/* one term (ef_term, per probe): no list of every index key held */
		if (max == 1)
		{
			TermCompute(domain, domain_len, normalize, io->type_code, VARDATA_ANY(bytes),
						VARSIZE_ANY_EXHDR(bytes), terms[0], NULL);
			n = 1;
		}
		else
			n = TermComputeAll(domain, domain_len, normalize, io->type_code,
							   VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), terms, max);
	}
	PG_FINALLY();
	{
		if (bytes_copied)
			ef_secure_pfree(bytes, VARSIZE_ANY(bytes));
	}
	PG_END_TRY();
	return n;
}

PG_FUNCTION_INFO_V1(ef_term);
/*
 * Compute the search term of a value, to compare with searchable values: its
 * term under the newest index key of the group new terms use.
 */
Datum
ef_term(PG_FUNCTION_ARGS)
{
	uint8		terms[1][EF_TERM_LEN];
	EncryptedFieldTerm *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ArgumentTerms(fcinfo, terms, 1);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_SEARCH, 0);
	result = palloc(sizeof(EncryptedFieldTerm));
	memcpy(result->bytes, terms[0], EF_TERM_LEN);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(ef_terms);
/*
 * The search terms of a value under every index key held, newest first, so
 * that c = ANY(ef_terms(x)) finds values whether or not they have moved to
 * a rotated index key.  Arguments as ef_term's.
 */
Datum
ef_terms(PG_FUNCTION_ARGS)
{
	uint8		terms[EF_TERMS_MAX][EF_TERM_LEN];
	Datum		elems[EF_TERMS_MAX];
	Oid			term_type;
	int			n;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	n = ArgumentTerms(fcinfo, terms, EF_TERMS_MAX);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_SEARCH, 0);
	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(terms[i]);
	term_type = get_element_type(get_fn_expr_rettype(fcinfo->flinfo));
	if (!OidIsValid(term_type))
		elog(ERROR, "could not determine the element type of ef_terms' result");
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, term_type, EF_TERM_LEN,
										  false, TYPALIGN_CHAR));
}

PG_FUNCTION_INFO_V1(ef_decrypt);
/* Decrypt a value to text; a non-text plaintext is rendered by its output function */
Datum
ef_decrypt(PG_FUNCTION_ARGS)
{
	EncryptedField *value;
	struct varlena *plain;
	EnvelopeContext context;
	uint8		type_code;
	PlaintextIO *io;
	char	   *rendered;
	text	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	context = ContextArgument(fcinfo, 1);
	plain = OpenValue(value, &context, &type_code);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_DECRYPT, EnvelopeReadKeyId(EF_DATA(value)));

	/* text-like plaintext is stored as its text form already */
	io = PlaintextLookupCode(fcinfo->flinfo, type_code);
	if (PlaintextIsTextForm(io))
	{
		PlaintextValidateText(io, plain);
		PG_RETURN_TEXT_P((text *) plain);
	}
	rendered = PlaintextToCString(io, plain);
	result = cstring_to_text(rendered);
	ef_secure_pfree(rendered, strlen(rendered));
	ef_secure_pfree(plain, VARSIZE(plain));
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(ef_decrypt_as);
/* Decrypt a value to the type of the second argument, which must match */
Datum
ef_decrypt_as(PG_FUNCTION_ARGS)
{
	Oid			want = get_fn_expr_argtype(fcinfo->flinfo, 1);
	uint8		want_code;
	EncryptedField *value;
	struct varlena *plain;
	EnvelopeContext context;
	uint8		type_code;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (getBaseType(want) != want)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot decrypt to domain %s", format_type_be(want)),
				 errhint("Decrypt to the domain's base type, then cast the result to the domain.")));
	want_code = PlaintextTypeCode(want);
	if (want_code == 0 && OidIsValid(PlaintextVectorElement(want)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot decrypt to type %s", format_type_be(want)),
				 errdetail("Type %s holds an array of %s with rules of its own, which a decrypted array need not follow.",
						   format_type_be(want), format_type_be(PlaintextVectorElement(want))),
				 errhint("Decrypt to %s[], then cast the result.",
						 format_type_be(PlaintextVectorElement(want)))));
	if (want_code == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot decrypt to type %s", format_type_be(want)),
				 errhint("Only built-in types and their arrays can be encrypted.")));

	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	context = ContextArgument(fcinfo, 2);
	plain = OpenValue(value, &context, &type_code);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_DECRYPT, EnvelopeReadKeyId(EF_DATA(value)));
	if (type_code != want_code)
	{
		ef_secure_pfree(plain, VARSIZE(plain));
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("encrypted value is of type %s, not %s",
						format_type_be(PlaintextTypeOid(type_code)),
						format_type_be(want)),
				 errhint("Pass a value of the encrypted type as the second argument, for example NULL::%s.",
						 format_type_be(PlaintextTypeOid(type_code)))));
	}
	result = PlaintextFromBytes(PlaintextLookupCode(fcinfo->flinfo, type_code), plain);
	if (DatumGetPointer(result) != (Pointer) plain)
		ef_secure_pfree(plain, VARSIZE(plain));
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(ef_rewrap);
/* Wrap a value's data key under another held key; content bytes unchanged */
Datum
ef_rewrap(PG_FUNCTION_ARGS)
{
	EncryptedField *value;
	EncryptedField *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	result = RewrapValue(value, ARG_GIVEN(1), ARG_GIVEN(1) ? PG_GETARG_INT32(1) : 0);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_REWRAP, EnvelopeReadKeyId(EF_DATA(value)));
	PG_RETURN_ENCRYPTED_FIELD_P(result);
}

PG_FUNCTION_INFO_V1(ef_reterm);
/*
 * Encrypt a searchable value again with a term of the newest index key
 * held.  Arguments: value, context, search_domain, search_normalize.
 */
Datum
ef_reterm(PG_FUNCTION_ARGS)
{
	TermNormalize normalize = NormalizeArgument(fcinfo, 3);
	EnvelopeContext context;
	const char *domain;
	size_t		domain_len;
	EncryptedField *value;
	EncryptedField *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	context = ContextArgument(fcinfo, 1);
	DomainArgument(fcinfo, 2, &domain, &domain_len);
	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	result = RetermValue(value, &context, domain, domain_len, normalize);
	DECRYPT_AUDIT_COUNT(fcinfo->flinfo, EF_AUDIT_RETERM, EnvelopeReadKeyId(EF_DATA(value)));
	PG_RETURN_ENCRYPTED_FIELD_P(result);
}

/*
 * Read the fixed header of a stored value and the index key id of its term,
 * or raise an error.  Only those bytes are fetched, so reading metadata
 * over large documents reads little; needs no key.
 */
static void
StoredHead(Datum value, EnvelopeHead *head)
{
	uint8		buf[EF_OFF_TERM + 2];
	size_t		len = EfReadHead(value, buf, sizeof(buf));
	EnvelopeStatus status = EnvelopeReadHead(buf, len, head);

	if (status != ENVELOPE_OK)
		ef_envelope_report(status, len > 0 ? buf[0] : 0, EF_SOURCE_STORED);
}

PG_FUNCTION_INFO_V1(ef_key_id);
/* Return the master key id of a value */
Datum
ef_key_id(PG_FUNCTION_ARGS)
{
	EnvelopeHead head;

	StoredHead(PG_GETARG_DATUM(0), &head);
	PG_RETURN_INT32(head.key_id);
}

PG_FUNCTION_INFO_V1(ef_is_searchable);
/*
 * Does a value carry a search term?  A CHECK constraint on it keeps values
 * that = cannot compare out of a column with a UNIQUE index.
 */
Datum
ef_is_searchable(PG_FUNCTION_ARGS)
{
	EnvelopeHead head;

	StoredHead(PG_GETARG_DATUM(0), &head);
	PG_RETURN_BOOL(head.has_term);
}

PG_FUNCTION_INFO_V1(ef_index_key_id);
/*
 * Return the id of the index key a value's search term was made with, or
 * NULL for a value without a term; after a rotation, the values still to
 * re-encrypt are those with an older id.
 */
Datum
ef_index_key_id(PG_FUNCTION_ARGS)
{
	EnvelopeHead head;

	StoredHead(PG_GETARG_DATUM(0), &head);
	if (!head.has_term)
		PG_RETURN_NULL();
	PG_RETURN_INT32(head.index_key_id);
}

/* Copy len bytes into a new bytea datum (laid out as text is) */
#define BytesDatum(data, len) \
	PointerGetDatum(cstring_to_text_with_len((const char *) (data), (len)))

PG_FUNCTION_INFO_V1(ef_envelope);
/* Return the parts of a value's envelope as a composite; needs no key */
Datum
ef_envelope(PG_FUNCTION_ARGS)
{
	EncryptedField *value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	EnvelopeView view;
	TupleDesc	desc;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	EnvelopeParseStored(value, &view);
	values[0] = Int32GetDatum(view.version);
	values[1] = Int32GetDatum(view.flags);
	values[2] = Int32GetDatum(view.key_id);
	values[3] = ObjectIdGetDatum(PlaintextTypeOid(view.type_code));
	values[4] = BytesDatum(view.wrapped, EF_WRAPPED_LEN);
	values[5] = BytesDatum(view.nonce, EF_NONCE_LEN);
	values[6] = BytesDatum(view.ciphertext, view.ciphertext_len);
	values[7] = BytesDatum(view.tag, EF_TAG_LEN);
	if (view.term != NULL)
		values[8] = BytesDatum(view.term, EF_TERM_LEN);
	else
		nulls[8] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

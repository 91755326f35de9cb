/*-------------------------------------------------------------------------
 *
 * ef_funcs.c
 *		SQL functions that encrypt, decrypt, re-wrap and describe values
 *
 * The per-row path allocates the result once and encrypts or decrypts
 * straight into it; the data key and the plaintext copies made here are
 * wiped before they are released, on the error paths too.
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
#include "ef_report.h"
#include "ef_type.h"
#include "ef_value.h"
#include "envelope.h"
#include "funcapi.h"
#include "keystore.h"
#include "plaintext.h"
#include "randpool.h"
#include "term.h"
#include "compress.h"
#include "secure.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* Read an optional context argument; NULL means no context */
EnvelopeContext
GetContext(FunctionCallInfo fcinfo, int argno)
{
	EnvelopeContext context = {false, NULL, 0};

	if (PG_NARGS() > argno && !PG_ARGISNULL(argno))
	{
		text	   *ctx_text = PG_GETARG_TEXT_PP(argno);

		context.present = true;
		context.data = (const uint8 *) VARDATA_ANY(ctx_text);
		context.len = VARSIZE_ANY_EXHDR(ctx_text);
	}
	return context;
}

/*
 * Raise the error that a held key (key id 0: any) serves another role, if
 * one does
 */
void
CheckHeldForOtherRole(int32 key_id)
{
	if (key_id == 0 && KeystoreHeldForOtherRole(0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use the master keys this session holds"),
				 errdetail("They were unlocked by a role whose privileges the current role does not have."),
				 errhint("A held key serves the role that unlocked it and the roles with its privileges; code running as another role (SET ROLE, a SECURITY DEFINER function) cannot use it.")));
	if (key_id != 0 && KeystoreHeldForOtherRole(key_id))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use master key %d", key_id),
				 errdetail("The key was unlocked by a role whose privileges the current role does not have."),
				 errhint("A held key serves the role that unlocked it and the roles with its privileges; code running as another role (SET ROLE, a SECURITY DEFINER function) cannot use it.")));
}

/* Return the held key a value is wrapped under, or raise an error */
static const HeldKey *
KeyForValue(int32 key_id)
{
	const HeldKey *key = KeystoreFind(key_id);

	if (key != NULL)
		return key;
	CheckHeldForOtherRole(key_id);
	if (KeystoreCount() == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key is unlocked in this session"),
				 errdetail("The value is encrypted under master key %d.", key_id),
				 errhint("Call ef_unlock() with that key first.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("master key %d is not unlocked in this session", key_id),
			 errhint("Call ef_unlock() with that key first.")));
	return NULL;				/* keep compiler quiet */
}

/* Return the key that wraps new DEKs: the one asked for, or the current */
const HeldKey *
KeyForWrapping(FunctionCallInfo fcinfo, int argno)
{
	const HeldKey *key;

	if (PG_NARGS() > argno && !PG_ARGISNULL(argno))
	{
		int32		key_id = PG_GETARG_INT32(argno);

		key = KeystoreFind(key_id);
		if (key == NULL)
			CheckHeldForOtherRole(key_id);
		if (key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("master key %d is not unlocked in this session", key_id),
					 errhint("Call ef_unlock() with that key first.")));
		if (key->retired)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("master key %d is retired", key_id),
					 errdetail("A retired key decrypts existing values but encrypts no new ones.")));
		return key;
	}

	key = KeystoreCurrent();
	if (key == NULL && KeystoreCount() == 0)
		CheckHeldForOtherRole(0);
	if (key == NULL && KeystoreCount() > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key that may encrypt is unlocked in this session"),
				 errdetail("Every master key this session holds is retired."),
				 errhint("Call ef_unlock() with a master key that is not retired.")));
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key is unlocked in this session"),
				 errhint("Call ef_unlock() with a registered master key first.")));
	return key;
}

/* Encrypt bytes of a given type code, with an optional term, into a new value */
static EncryptedField *
SealValue(const HeldKey *key, uint8 type_code, uint8 flags, const uint8 *term,
		  const uint8 *plain, size_t len, const EnvelopeContext *context)
{
	size_t		size;

	uint8		secret[EF_KEY_LEN + EF_NONCE_LEN];	/* DEK, then nonce */
	EncryptedField *result;
	EfCryptoStatus status;

	/*
	 * One limit, with room for a term, whether the value has one or not: the
	 * largest envelope whose text form can be output and dumped
	 */
	if (len > EF_ENVELOPE_MAX_LEN - EF_ENVELOPE_OVERHEAD - EF_TERM_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value is too large to encrypt"),
				 errdetail("An encrypted value holds at most %d bytes of plaintext (after compression), so that its text form can be output and dumped.",
						   EF_ENVELOPE_MAX_LEN - EF_ENVELOPE_OVERHEAD - EF_TERM_LEN)));

	size = EF_SIZE(EF_ENVELOPE_SIZE(len, term != NULL));
	result = palloc(size);
	SET_VARSIZE(result, size);

	status = RandPoolBytes(secret, sizeof(secret));
	if (status == EF_CRYPTO_OK)
		status = EnvelopeSeal(result->data, key->key_id, type_code, flags,
							  term, key->kek, secret, secret + EF_KEY_LEN,
							  plain, len, context);
	ef_secure_wipe(secret, sizeof(secret));
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
	return result;
}

/* Seal plaintext bytes, compressed first where the settings say so */
EncryptedField *
SealCompressed(const HeldKey *key, uint8 type_code, const uint8 *term,
			   const char *plain, size_t len, const EnvelopeContext *context)
{
	uint8		flags;
	struct varlena *packed = CompressPlaintext(plain, len, &flags);
	EncryptedField *volatile result = NULL;

	if (packed == NULL)
		return SealValue(key, type_code, 0, term, (const uint8 *) plain, len, context);
	PG_TRY();
	{
		result = SealValue(key, type_code, flags, term, (const uint8 *) VARDATA(packed),
						   VARSIZE(packed) - VARHDRSZ, context);
	}
	PG_FINALLY();
	{
		ef_secure_pfree(packed, VARSIZE(packed));
	}
	PG_END_TRY();
	return result;
}

/*
 * Decrypt a value into a new varlena holding its plaintext bytes (as
 * plaintext.c made them), decompressed.  The result holds plaintext: callers
 * that do not return it must wipe it.
 */
struct varlena *
OpenValue(const EncryptedField *value, const EnvelopeContext *context,
		  uint8 *type_code)
{
	EnvelopeView view;
	const HeldKey *key;
	struct varlena *result;
	struct varlena *volatile raw = NULL;
	EfCryptoStatus status;

	EnvelopeParseStored(value, &view);
	key = KeyForValue(view.key_id);

	result = palloc(VARHDRSZ + view.ciphertext_len);
	SET_VARSIZE(result, VARHDRSZ + view.ciphertext_len);
	status = EnvelopeOpen(&view, key->kek, context, (uint8 *) VARDATA(result));
	if (status != EF_CRYPTO_OK)
	{
		pfree(result);			/* EnvelopeOpen wiped it */
		ef_crypto_report(status);
	}
	*type_code = view.type_code;
	if ((view.flags & (EF_FLAG_PGLZ | EF_FLAG_LZ4)) == 0)
		return result;

	PG_TRY();
	{
		raw = DecompressPlaintext(result, view.flags);
	}
	PG_FINALLY();
	{
		ef_secure_pfree(result, VARSIZE(result));
	}
	PG_END_TRY();
	return raw;
}

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
	bool		searchable = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	TermNormalize normalize = TermNormalizeFromArg(fcinfo, 5);
	uint8		term[EF_TERM_LEN];
	EnvelopeContext context;
	const HeldKey *key;
	EncryptedField *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	io = PlaintextLookup(fcinfo->flinfo, get_fn_expr_argtype(fcinfo->flinfo, 0));
	key = KeyForWrapping(fcinfo, 3);
	context = GetContext(fcinfo, 1);
	if (searchable)
		TermCheckBeforeCopy(normalize, io->type_code);
	bytes = PlaintextToBytes(io, PG_GETARG_DATUM(0), &bytes_copied);
	if (searchable)
		TermCompute(fcinfo, 4, normalize, io->type_code, VARDATA_ANY(bytes),
					VARSIZE_ANY_EXHDR(bytes), term, key);
	result = SealCompressed(key, io->type_code, searchable ? term : NULL,
							VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), &context);
	if (bytes_copied)
		ef_secure_pfree(bytes, VARSIZE_ANY(bytes));
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
	TermNormalize normalize = TermNormalizeFromArg(fcinfo, 2);
	PlaintextIO *io = PlaintextLookup(fcinfo->flinfo,
									  get_fn_expr_argtype(fcinfo->flinfo, 0));
	struct varlena *bytes;
	bool		bytes_copied;
	int			n;

	TermCheckBeforeCopy(normalize, io->type_code);
	bytes = PlaintextToBytes(io, PG_GETARG_DATUM(0), &bytes_copied);
	n = TermComputeAll(fcinfo, 1, normalize, io->type_code, VARDATA_ANY(bytes),
					   VARSIZE_ANY_EXHDR(bytes), terms, max);
	if (bytes_copied)
		ef_secure_pfree(bytes, VARSIZE_ANY(bytes));
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
	context = GetContext(fcinfo, 1);
	plain = OpenValue(value, &context, &type_code);

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
	context = GetContext(fcinfo, 2);
	plain = OpenValue(value, &context, &type_code);
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
	EnvelopeView view;
	const HeldKey *from;
	const HeldKey *to;
	EncryptedField *result;
	EfCryptoStatus status;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	EnvelopeParseStored(value, &view);
	to = KeyForWrapping(fcinfo, 1);
	from = KeyForValue(view.key_id);

	/* the term stays: under another group's key it would stay matchable */
	if (view.term != NULL && strcmp(from->index_group, to->index_group) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot re-wrap a searchable value under a master key of another index-key group"),
				 errdetail("Master key %d is in index-key group \"%s\", master key %d in \"%s\"; the value's search term, made with the first group's index key, would stay matchable by that group's key holders.",
						   from->key_id, from->index_group, to->key_id, to->index_group),
				 errhint("Encrypt the value again under the new key: ef_encrypt(ef_decrypt_as(value, NULL::type, context), context, true, key_id => %d, ...).",
						 to->key_id)));

	result = palloc(EF_SIZE(EF_LEN(value)));
	SET_VARSIZE(result, EF_SIZE(EF_LEN(value)));
	status = EnvelopeRewrap(&view, from->kek, to->kek, to->key_id, result->data);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
	PG_RETURN_ENCRYPTED_FIELD_P(result);
}

/*
 * The fixed header of a stored value and the first two bytes of its term,
 * checked, into head (EF_HEAD_LEN + 2 bytes).  Only the header is fetched,
 * so reading metadata over large documents reads little; needs no key.
 */
static void
StoredHead(Datum value, uint8 *head, int32 *key_id)
{
	size_t		len = EfReadHead(value, head, EF_HEAD_LEN + 2);
	EnvelopeStatus status = EnvelopeParseHead(head, len, key_id);

	if (status == ENVELOPE_OK && (head[EF_OFF_FLAGS] & EF_FLAG_TERM) &&
		len < EF_OFF_TERM + 2)
		status = ENVELOPE_TOO_SHORT;
	if (status != ENVELOPE_OK)
		ef_envelope_report(status, len > 0 ? head[0] : 0, EF_SOURCE_STORED);
}

PG_FUNCTION_INFO_V1(ef_key_id);
/* Return the master key id of a value */
Datum
ef_key_id(PG_FUNCTION_ARGS)
{
	uint8		head[EF_HEAD_LEN + 2];
	int32		key_id = 0;

	StoredHead(PG_GETARG_DATUM(0), head, &key_id);
	PG_RETURN_INT32(key_id);
}

PG_FUNCTION_INFO_V1(ef_is_searchable);
/*
 * Does a value carry a search term?  A CHECK constraint on it keeps values
 * that = cannot compare out of a column with a UNIQUE index.
 */
Datum
ef_is_searchable(PG_FUNCTION_ARGS)
{
	uint8		head[EF_HEAD_LEN + 2];
	int32		key_id = 0;

	StoredHead(PG_GETARG_DATUM(0), head, &key_id);
	PG_RETURN_BOOL((head[EF_OFF_FLAGS] & EF_FLAG_TERM) != 0);
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
	uint8		head[EF_HEAD_LEN + 2];
	int32		key_id = 0;

	StoredHead(PG_GETARG_DATUM(0), head, &key_id);
	if ((head[EF_OFF_FLAGS] & EF_FLAG_TERM) == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32((head[EF_OFF_TERM] << 8) | head[EF_OFF_TERM + 1]);
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

/*-------------------------------------------------------------------------
 *
 * ef_reterm.c
 *		Move a searchable value to the newest index key
 *
 * A term is authenticated with its value, so a value gets a term of a new
 * index key by being encrypted again: same plaintext, type and context, a
 * new data key.  The domain and normalisation the caller gives are checked
 * against the value's present term first, since a mistake would leave the
 * value unfindable, silently and for good.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/ef_reterm.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "ef_value.h"
#include "keystore.h"
#include "secure.h"
#include "term.h"

/*
 * The key to seal under: the value's own, or the current one if retired,
 * which must be of the same index-key group: a value never moves to another
 * group's master key by a change of its term
 */
static pg_noinline const HeldKey *
KeyForReterm(FunctionCallInfo fcinfo, int32 key_id)
{
	const HeldKey *own = KeystoreFind(key_id);
	const HeldKey *current;

	if (own != NULL && !own->retired)
		return own;
	current = KeyForWrapping(fcinfo, PG_NARGS());
	if (own != NULL && strcmp(own->index_group, current->index_group) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("master key %d is retired and the current key %d is of another index-key group",
						key_id, current->key_id),
				 errhint("Unlock a master key of index-key group \"%s\" that is not retired.",
						 own->index_group)));
	return current;
}

/*
 * Compute the plaintext's terms under the index keys held: copy the newest
 * into term, and check that the one under the index key the value's present
 * term names is that term, raising an error otherwise
 */
static void
NewTermCheckingPresent(FunctionCallInfo fcinfo, const uint8 *present, uint8 type_code,
					   TermNormalize normalize, const struct varlena *plain,
					   const HeldKey *key, uint8 *term)
{
	uint8		terms[EF_TERMS_MAX][EF_TERM_LEN];
	int32		present_id = (present[0] << 8) | present[1];
	int			n = TermComputeAll(fcinfo, 2, normalize, type_code, VARDATA(plain),
								   VARSIZE(plain) - VARHDRSZ, terms, EF_TERMS_MAX);

	/* the newest index key of the group of the key that wraps the result */
	TermCompute(fcinfo, 2, normalize, type_code, VARDATA(plain),
				VARSIZE(plain) - VARHDRSZ, term, key);
	for (int i = 0; i < n; i++)
	{
		if (((terms[i][0] << 8) | terms[i][1]) != present_id)
			continue;
		if (memcmp(terms[i], present, EF_TERM_LEN) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the search domain or normalization given is not the one the value's term was made with"),
					 errhint("Pass the search_domain and search_normalize the value was encrypted with.")));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("index key %d, which made the value's term, is not held in this session", present_id),
			 errdetail("A session holds the newest index key and the one before it, once it has unlocked its keys after the latest rotation."),
			 errhint("Unlock the keys again; a value two rotations old can be encrypted again with ef_encrypt() and ef_decrypt_as().")));
}

PG_FUNCTION_INFO_V1(ef_reterm);
/*
 * Encrypt a searchable value again with a term of the newest index key
 * held, under its own master key (the current one if its key is retired).
 * Arguments: value, context, search_domain, search_normalize.
 */
Datum
ef_reterm(PG_FUNCTION_ARGS)
{
	EncryptedField *value;
	EnvelopeView view;
	struct varlena *plain;
	EnvelopeContext context;
	const HeldKey *key;
	uint8		type_code;
	uint8		term[EF_TERM_LEN];
	TermNormalize normalize = TermNormalizeFromArg(fcinfo, 3);
	EncryptedField *volatile result = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_ENCRYPTED_FIELD_PP(0);
	EnvelopeParseStored(value, &view);
	if (view.term == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value has no search term to move"),
				 errhint("A value encrypted without searchable => true stays without a term; encrypt it again with ef_encrypt() to make it searchable.")));
	key = KeyForReterm(fcinfo, view.key_id);
	context = GetContext(fcinfo, 1);
	TermCheckBeforeCopy(normalize, view.type_code);
	plain = OpenValue(value, &context, &type_code);
	PG_TRY();
	{
		NewTermCheckingPresent(fcinfo, view.term, type_code, normalize, plain, key, term);
		result = SealCompressed(key, type_code, term, VARDATA(plain),
								VARSIZE(plain) - VARHDRSZ, &context);
	}
	PG_FINALLY();
	{
		ef_secure_pfree(plain, VARSIZE(plain));
	}
	PG_END_TRY();
	PG_RETURN_ENCRYPTED_FIELD_P(result);
}

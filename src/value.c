/*-------------------------------------------------------------------------
 *
 * value.c
 *		Seal plaintext bytes into encrypted values, and open them again
 *
 * A value is sealed under a held master key with a fresh data key, its
 * plaintext compressed first where the settings say so, with a search term
 * if it is searchable; opening checks the envelope, finds the key, and
 * decompresses.  The SQL functions (ef_funcs.c) read arguments and build
 * results around these.  The result is allocated once and sealed or opened
 * straight into it; the data key and the plaintext copies made here are
 * wiped before they are released, on the error paths too.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/value.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "citus_forward.h"
#include "compat.h"
#include "compress.h"
#include "ef_report.h"
#include "envelope.h"
#include "keystore.h"
#include "randpool.h"
#include "secure.h"
#include "term.h"
#include "value.h"

/* Parse a value taken from a table or an expression, or raise an error */
void
EnvelopeParseStored(const EncryptedField *value, EnvelopeView *view)
{
	EnvelopeStatus status = EnvelopeParse(EF_DATA(value), EF_LEN(value), view);

	if (status != ENVELOPE_OK)
		ef_envelope_report(status, EF_LEN(value) > 0 ? EF_DATA(value)[0] : 0,
						   EF_SOURCE_STORED);
}

EF_NORETURN static void NotUnlocked(int32 key_id);

/* Raise the error that master key key_id is not held */
static void
NotUnlocked(int32 key_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("master key %d is not unlocked in this session", key_id),
			 errhint("%s", CitusForwardHint("Call ef_unlock() with that key first."))));
}

/* Return the held key a value is wrapped under, or raise an error */
static const HeldKey *
KeyForValue(int32 key_id)
{
	const HeldKey *key = KeystoreFind(key_id);

	if (key != NULL)
		return key;
	KeystoreRefuseOtherRole(key_id);
	if (KeystoreCount() == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key is unlocked in this session"),
				 errdetail("The value is encrypted under master key %d.", key_id),
				 errhint("%s", CitusForwardHint("Call ef_unlock() with that key first."))));
	NotUnlocked(key_id);
}

/*
 * Return the key that wraps new DEKs: key_id if chosen, else the current
 * key (the newest unlocked that is not retired)
 */
const HeldKey *
KeyForWrapping(bool chosen, int32 key_id)
{
	const HeldKey *key;

	if (chosen)
	{
		key = KeystoreFind(key_id);
		if (key == NULL)
		{
			KeystoreRefuseOtherRole(key_id);
			NotUnlocked(key_id);
		}
		if (key->retired)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("master key %d is retired", key_id),
					 errdetail("A retired key decrypts existing values but encrypts no new ones.")));
		return key;
	}

	key = KeystoreCurrent();
	if (key == NULL && KeystoreCount() == 0)
		KeystoreRefuseOtherRole(0);
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
				 errhint("%s", CitusForwardHint("Call ef_unlock() with a registered master key first."))));
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

/*
 * Wrap a value's data key under another held key (KeyForWrapping's); the
 * content bytes and the term are unchanged
 */
EncryptedField *
RewrapValue(const EncryptedField *value, bool to_chosen, int32 to_key_id)
{
	EnvelopeView view;
	const HeldKey *from;
	const HeldKey *to;
	EncryptedField *result;
	EfCryptoStatus status;

	/* a damaged value is reported first, whatever the keys */
	EnvelopeParseStored(value, &view);
	to = KeyForWrapping(to_chosen, to_key_id);
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
	return result;
}

/*
 * The key to seal a re-termed value under: the value's own, or the current
 * one if retired, which must be of the same index-key group: a value never
 * moves to another group's master key by a change of its term.
 *
 * Kept out of line: inlined into RetermValue, whose PG_TRY is a setjmp,
 * its locals draw gcc's -Wclobbered warning.
 */
static pg_noinline const HeldKey *
KeyForReterm(int32 key_id)
{
	const HeldKey *own = KeystoreFind(key_id);
	const HeldKey *current;

	if (own != NULL && !own->retired)
		return own;
	current = KeyForWrapping(false, 0);
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
 * of key's group into term, and check that the one under the index key the
 * value's present term names is that term, raising an error otherwise
 */
static void
NewTermCheckingPresent(const uint8 *present, uint8 type_code,
					   const char *domain, size_t domain_len,
					   TermNormalize normalize, const struct varlena *plain,
					   const HeldKey *key, uint8 *term)
{
	uint8		terms[EF_TERMS_MAX][EF_TERM_LEN];
	int32		present_id = EnvelopeTermIndexKeyId(present);
	int			n = TermComputeAll(domain, domain_len, normalize, type_code,
								   VARDATA(plain), VARSIZE(plain) - VARHDRSZ,
								   terms, EF_TERMS_MAX);

	TermCompute(domain, domain_len, normalize, type_code, VARDATA(plain),
				VARSIZE(plain) - VARHDRSZ, term, key);
	for (int i = 0; i < n; i++)
	{
		if (EnvelopeTermIndexKeyId(terms[i]) != present_id)
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

/*
 * Encrypt a searchable value again with a term of the newest index key
 * held, under its own master key (the current one if its key is retired).
 * A term is authenticated with its value, so a value gets a term of a new
 * index key only by being sealed again: same plaintext, type and context, a
 * new data key.  The domain and normalisation given are checked against the
 * value's present term first, since a mistake would leave the value
 * unfindable, silently and for good.
 */
EncryptedField *
RetermValue(const EncryptedField *value, const EnvelopeContext *context,
			const char *domain, size_t domain_len, TermNormalize normalize)
{
	EnvelopeView view;
	struct varlena *plain;
	const HeldKey *key;
	uint8		type_code;
	uint8		term[EF_TERM_LEN];
	EncryptedField *volatile result = NULL;

	EnvelopeParseStored(value, &view);
	if (view.term == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value has no search term to move"),
				 errhint("A value encrypted without searchable => true stays without a term; encrypt it again with ef_encrypt() to make it searchable.")));
	key = KeyForReterm(view.key_id);
	TermCheckBeforeCopy(normalize, view.type_code);
	plain = OpenValue(value, context, &type_code);
	PG_TRY();
	{
		NewTermCheckingPresent(view.term, type_code, domain, domain_len,
							   normalize, plain, key, term);
		result = SealCompressed(key, type_code, term, VARDATA(plain),
								VARSIZE(plain) - VARHDRSZ, context);
	}
	PG_FINALLY();
	{
		ef_secure_pfree(plain, VARSIZE(plain));
	}
	PG_END_TRY();
	return result;
}

/*-------------------------------------------------------------------------
 *
 * term.c
 *		Blind-index search terms: keyed MACs of normalised plaintext
 *
 * A searchable value carries a term: the id of the index key, 2 bytes, then
 * the first 14 bytes of
 *
 *	HMAC-SHA-256(index key, "ef1-term" || type code || normalisation ||
 *				 length of domain (4 bytes) || domain || plaintext bytes)
 *
 * The index key is one random key per database, wrapped under every master
 * key (ef_index_keys), so terms do not change when the master key rotates.
 * The search domain separates columns: the same plaintext under two domains
 * gives unrelated terms.  The type code separates types: the integer 1 and
 * the text '1' differ.  Equal terms reveal equal plaintexts: that is the
 * point, and the documented leakage.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/term.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "crypto.h"
#include "ef_report.h"
#include "envelope.h"
#include "indexkey.h"
#include "keystore.h"
#include "mb/pg_wchar.h"
#include "plaintext.h"
#include "port/pg_bswap.h"
#include "secure.h"
#include "term.h"
#include "utils/builtins.h"

static const char term_label[] = "ef1-term";

static const char *const normalize_names[] = {
	[TERM_EXACT] = "exact",
	[TERM_LOWER] = "lower",
	[TERM_LOWER_TRIM] = "lower_trim",
	[TERM_NFKC_LOWER_TRIM] = "nfkc_lower_trim",
};

/*
 * Return the normalisation a name (len bytes, not terminated) names.
 * Compared in place, as it is read once per row.
 */
TermNormalize
TermNormalizeByName(const char *name, size_t len)
{
	for (size_t i = 0; i < lengthof(normalize_names); i++)
		if (strlen(normalize_names[i]) == len &&
			memcmp(name, normalize_names[i], len) == 0)
			return (TermNormalize) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid search normalization \"%s\"", pnstrdup(name, len)),
			 errhint("Use \"exact\", \"lower\", \"lower_trim\" or \"nfkc_lower_trim\".")));
	return TERM_EXACT;			/* keep compiler quiet */
}

/* Is this type code text, whose case and spacing may be normalised? */
static bool
IsNormalizable(uint8 type_code)
{
	return type_code == EF_TYPE_TEXT || type_code == EF_TYPE_VARCHAR ||
		type_code == EF_TYPE_BPCHAR;
}

/* Replace *t by next, wiping the text it replaces */
static void
Step(text **t, text *next)
{
	if (next != *t)
		ef_secure_pfree(*t, VARSIZE_ANY(*t));
	*t = next;
}

/*
 * Apply a normalisation to a text we own; returns the normalised text, the
 * intermediate copies wiped.  Lower-casing follows the database's default
 * collation.
 */
static text *
Normalize(TermNormalize how, text *t)
{
	const char *p;
	int			len;

	if (how == TERM_NFKC_LOWER_TRIM)
		Step(&t, DatumGetTextPP(DirectFunctionCall2(unicode_normalize_func,
													PointerGetDatum(t),
													CStringGetTextDatum("NFKC"))));
	Step(&t, DatumGetTextPP(DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID,
													PointerGetDatum(t))));
	if (how == TERM_LOWER)
		return t;

	p = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	while (len > 0 && isspace((unsigned char) p[0]))
		p++, len--;
	while (len > 0 && isspace((unsigned char) p[len - 1]))
		len--;
	Step(&t, cstring_to_text_with_len(p, len));
	return t;
}

#define TERM_HEADER_LEN	(sizeof(term_label) - 1 + 2 + 4)

/*
 * The message a term authenticates, in the pieces where its bytes lie: the
 * header (label, type code, normalisation, length of the domain), the
 * domain (none: the empty domain) and the normalised plaintext.  The
 * plaintext is not copied: the MAC reads it in place.
 */
typedef struct TermMessage
{
	uint8		header[TERM_HEADER_LEN];
	EfBuf		parts[3];
	text	   *norm;			/* the normalised plaintext, if normalised */
} TermMessage;

static void
TermMessageMake(TermMessage *m, const char *domain, uint32 dlen,
				TermNormalize normalize, uint8 type_code, const char *data,
				size_t len)
{
	uint32		be_dlen = pg_hton32(dlen);

	m->norm = NULL;
	if (normalize != TERM_EXACT)
	{
		/* TermCheckBeforeCopy() has refused other types */
		Assert(IsNormalizable(type_code));
		m->norm = Normalize(normalize, cstring_to_text_with_len(data, len));
		data = VARDATA_ANY(m->norm);
		len = VARSIZE_ANY_EXHDR(m->norm);
	}
	memcpy(m->header, term_label, sizeof(term_label) - 1);
	m->header[8] = type_code;
	m->header[9] = (uint8) normalize;
	memcpy(m->header + 10, &be_dlen, sizeof(be_dlen));
	m->parts[0] = (EfBuf) {m->header, TERM_HEADER_LEN};
	m->parts[1] = (EfBuf) {(const uint8 *) domain, dlen};
	m->parts[2] = (EfBuf) {(const uint8 *) data, len};
}

/* Wipe and free the normalised copy of the plaintext, if one was made */
static void
TermMessageDone(TermMessage *m)
{
	if (m->norm != NULL)
		ef_secure_pfree(m->norm, VARSIZE_ANY(m->norm));
	m->norm = NULL;
}

/* The term of a message under one index key: its id, then the MAC */
static EfCryptoStatus
TermUnder(int32 index_key_id, const uint8 *index_key, const TermMessage *m,
		  uint8 *term)
{
	uint8		mac[EF_SHA256_LEN] = {0};
	EfCryptoStatus status = EfHmacSha256Kept(index_key, m->parts,
											 lengthof(m->parts), mac);

	EnvelopeTermSetIndexKeyId(term, index_key_id);
	memcpy(term + 2, mac, EF_TERM_LEN - 2);
	ef_secure_wipe(mac, sizeof(mac));
	return status;
}

/*
 * Raise the errors a term of this type can meet, before any copy of the
 * plaintext exists to be left behind: no index key held, or a
 * normalisation of a type it does not apply to
 */
void
TermCheckBeforeCopy(TermNormalize normalize, uint8 type_code)
{
	IndexKeysRefresh();
	(void) IndexKeyForNewTerms();
	if (normalize != TERM_EXACT && !IsNormalizable(type_code))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search normalization applies to text values only")));
	/* normalize() would refuse later, on every call, after the copies */
	if (normalize == TERM_NFKC_LOWER_TRIM && GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("search normalization \"nfkc_lower_trim\" needs a UTF8 database"),
				 errhint("Use \"lower_trim\", or a database created with ENCODING 'UTF8'.")));
}

/*
 * Compute the term of a plaintext (its bytes as plaintext.c makes them) into
 * term, which has EF_TERM_LEN bytes, with the newest index key of holder's
 * index-key group (NULL: of the group new terms use, IndexKeyForNewTerms's),
 * in the search domain of domain_len bytes.
 */
void
TermCompute(const char *domain, size_t domain_len, TermNormalize normalize,
			uint8 type_code, const char *data, size_t len, uint8 *term,
			const HeldKey *holder)
{
	TermMessage m;
	EfCryptoStatus status;

	if (holder == NULL)
		holder = IndexKeyForNewTerms();
	else if (holder->index_key_id[0] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("master key %d holds no index key", holder->key_id),
				 errdetail("Every registered master key wraps the index key of its group, and none was found for this one.")));
	TermMessageMake(&m, domain, domain_len, normalize, type_code, data, len);
	status = TermUnder(holder->index_key_id[0], holder->index_key[0], &m, term);
	TermMessageDone(&m);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
}

/*
 * Compute the terms of a plaintext under every index key held, up to max;
 * return how many.  The first is the term ef_term() gives (the newest index
 * key of the group new terms use), the others follow newest first.  While
 * values move to a rotated index key, a lookup matches any of them; with
 * keys of several index-key groups held, it matches values of each.
 */
int
TermComputeAll(const char *domain, size_t domain_len, TermNormalize normalize,
			   uint8 type_code, const char *data, size_t len,
			   uint8 (*terms)[EF_TERM_LEN], int max)
{
	int32		ids[EF_TERMS_MAX + 1];
	const uint8 *keys[EF_TERMS_MAX + 1];
	const HeldKey *primary = IndexKeyForNewTerms();
	int			n;
	int			all;
	TermMessage m;
	EfCryptoStatus status = EF_CRYPTO_OK;

	/* the term ef_term() gives first, then every other index key held */
	ids[0] = primary->index_key_id[0];
	keys[0] = primary->index_key[0];
	all = KeystoreIndexKeys(ids + 1, keys + 1, EF_TERMS_MAX);
	n = 1;
	for (int i = 1; i <= all; i++)
		if (ids[i] != ids[0])
		{
			ids[n] = ids[i];
			keys[n++] = keys[i];
		}
	n = Min(n, Min(max, EF_TERMS_MAX));
	TermMessageMake(&m, domain, domain_len, normalize, type_code, data, len);
	for (int i = 0; i < n && status == EF_CRYPTO_OK; i++)
		status = TermUnder(ids[i], keys[i], &m, terms[i]);
	TermMessageDone(&m);
	if (status != EF_CRYPTO_OK)
		ef_crypto_report(status);
	return n;
}

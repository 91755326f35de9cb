/*-------------------------------------------------------------------------
 *
 * plaintext.c
 *		Which SQL types can be encrypted, and their bytes inside an envelope
 *
 * The envelope records a project-assigned type code, never a type OID: the
 * OIDs of anything but built-in types differ between clusters, and a value
 * must decrypt to the same type after a dump and restore.  So only built-in
 * types are accepted (a domain as its base type); enums, composite and other
 * user-defined types are refused.
 *
 * Each type's bytes are made in one of three ways, chosen so that a value
 * round-trips exactly whatever the session's settings:
 *
 *	REP_RAW		the varlena's own bytes (text, varchar, json, bytea): text in
 *				the database encoding, json exactly as written;
 *	REP_BINARY	the type's binary send/receive format (numbers, dates,
 *				timestamps, uuid ...), which does not depend on DateStyle,
 *				TimeZone or extra_float_digits;
 *	REP_TEXT	the type's text output and input, for jsonb (whose binary
 *				format converts to the client encoding) and for arrays of
 *				text-like elements.
 *
 * An array's type code is its element's code with the high bit set.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/plaintext.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "compat.h"
#include "envelope.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "plaintext.h"
#include "secure.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#define REP_RAW		0
#define REP_BINARY	1
#define REP_TEXT	2

typedef struct PlainType
{
	uint8		code;
	Oid			typid;
	int			rep;			/* as a scalar */
	bool		text_like;		/* arrays of it use REP_TEXT */
} PlainType;

/* Codes are part of the envelope format: never renumber, only append */
static const PlainType plain_types[] = {
	{EF_TYPE_TEXT, TEXTOID, REP_RAW, true},
	{EF_TYPE_BYTEA, BYTEAOID, REP_RAW, false},
	{EF_TYPE_VARCHAR, VARCHAROID, REP_RAW, true},
	{4, BOOLOID, REP_BINARY, false},
	{5, INT2OID, REP_BINARY, false},
	{6, INT4OID, REP_BINARY, false},
	{7, INT8OID, REP_BINARY, false},
	{8, FLOAT4OID, REP_BINARY, false},
	{9, FLOAT8OID, REP_BINARY, false},
	{10, NUMERICOID, REP_BINARY, false},
	{11, DATEOID, REP_BINARY, false},
	{12, TIMEOID, REP_BINARY, false},
	{13, TIMETZOID, REP_BINARY, false},
	{14, TIMESTAMPOID, REP_BINARY, false},
	{15, TIMESTAMPTZOID, REP_BINARY, false},
	{16, INTERVALOID, REP_BINARY, false},
	{17, UUIDOID, REP_BINARY, false},
	{18, JSONOID, REP_RAW, true},
	{19, JSONBOID, REP_TEXT, true},
	{EF_TYPE_BPCHAR, BPCHAROID, REP_RAW, true},
	{21, INETOID, REP_BINARY, false},
	{22, CIDROID, REP_BINARY, false},
	{23, MACADDROID, REP_BINARY, false},
	{24, MONEYOID, REP_BINARY, false},
};

StaticAssertDecl(lengthof(plain_types) == EF_TYPE_MAX,
				 "EF_TYPE_MAX must match the plaintext type table");

/* Find a scalar type by its OID or code; NULL if not encryptable */
static const PlainType *
FindType(Oid typid, uint8 code)
{
	for (size_t i = 0; i < lengthof(plain_types); i++)
		if (plain_types[i].typid == typid || plain_types[i].code == code)
			return &plain_types[i];
	return NULL;
}

/* Return the type code for a SQL type, or 0 if it cannot be encrypted */
uint8
PlaintextTypeCode(Oid typid)
{
	Oid			base = getBaseType(typid);
	Oid			elem = get_element_type(base);
	const PlainType *t;

	if (OidIsValid(elem))
	{
		/* an array of a domain names the domain's OID in its bytes */
		if (getBaseType(elem) != elem)
			return 0;

		/*
		 * Only the element's own array type: others with the same element
		 * (int2vector, oidvector) constrain their arrays further, and an
		 * array of the element decrypted as one of them could break them
		 */
		if (get_array_type(elem) != base)
			return 0;
		t = FindType(elem, 0);
		return t ? (uint8) (t->code | EF_TYPE_ARRAY) : 0;
	}
	t = FindType(base, 0);
	return t ? t->code : 0;
}

/*
 * The element type of a type that holds an array of it but is not its
 * element's array type (int2vector, oidvector), or InvalidOid
 */
Oid
PlaintextVectorElement(Oid typid)
{
	Oid			elem = get_element_type(typid);

	return (OidIsValid(elem) && get_array_type(elem) != typid) ? elem : InvalidOid;
}

/* Return the SQL type of a valid type code */
Oid
PlaintextTypeOid(uint8 type_code)
{
	const PlainType *t = FindType(InvalidOid, type_code & ~EF_TYPE_ARRAY);

	if (t == NULL)
		elog(ERROR, "unexpected plaintext type code %d", type_code);
	if (type_code & EF_TYPE_ARRAY)
		return get_array_type(t->typid);
	return t->typid;
}

/* Fill in the functions that turn values of a type into bytes and back */
static void
FillIO(PlaintextIO *io, MemoryContext mcxt)
{
	const PlainType *t = FindType(InvalidOid, io->type_code & ~EF_TYPE_ARRAY);
	Oid			to_fn;
	Oid			from_fn;
	Oid			out_fn;
	bool		isvarlena;

	io->typid = PlaintextTypeOid(io->type_code);
	io->rep = (io->type_code & EF_TYPE_ARRAY) ?
		(t->text_like ? REP_TEXT : REP_BINARY) : t->rep;

	get_typlenbyval(io->typid, &io->typlen, &io->typbyval);
	getTypeOutputInfo(io->typid, &out_fn, &isvarlena);
	fmgr_info_cxt(out_fn, &io->output, mcxt);
	if (io->rep == REP_BINARY)
	{
		getTypeBinaryOutputInfo(io->typid, &to_fn, &isvarlena);
		getTypeBinaryInputInfo(io->typid, &from_fn, &io->ioparam);
	}
	else
	{
		to_fn = out_fn;
		getTypeInputInfo(io->typid, &from_fn, &io->ioparam);
	}
	fmgr_info_cxt(to_fn, &io->to_bytes, mcxt);
	fmgr_info_cxt(from_fn, &io->from_bytes, mcxt);
}

/* Return the cached I/O of a call site, set up for this type code */
PlaintextIO *
PlaintextLookupCode(FmgrInfo *flinfo, uint8 type_code)
{
	PlaintextIO *io = (PlaintextIO *) flinfo->fn_extra;

	if (io == NULL)
	{
		io = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(PlaintextIO));
		flinfo->fn_extra = io;
	}
	if (io->type_code != type_code)
	{
		io->type_code = type_code;
		FillIO(io, flinfo->fn_mcxt);
	}
	return io;
}

/* Return the cached I/O of a call site for a SQL type, or raise an error */
PlaintextIO *
PlaintextLookup(FmgrInfo *flinfo, Oid typid)
{
	PlaintextIO *io = (PlaintextIO *) flinfo->fn_extra;
	uint8		code;

	if (io != NULL && io->type_code != 0 && io->typid == typid)
		return io;
	code = PlaintextTypeCode(typid);
	if (code == 0 && OidIsValid(PlaintextVectorElement(getBaseType(typid))))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot encrypt a value of type %s", format_type_be(typid)),
				 errdetail("Type %s holds an array of %s with rules of its own, which a decrypted array need not follow.",
						   format_type_be(typid),
						   format_type_be(PlaintextVectorElement(getBaseType(typid)))),
				 errhint("Cast the value to %s[].",
						 format_type_be(PlaintextVectorElement(getBaseType(typid))))));
	if (code == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot encrypt a value of type %s", format_type_be(typid)),
				 errdetail("Only built-in types, their domains and their arrays can be encrypted: the type of a value is recorded by a code that must mean the same in every database."),
				 errhint("Cast the value to text or to a built-in type.")));
	io = PlaintextLookupCode(flinfo, code);
	io->typid = typid;			/* a domain: remember the type asked for */
	return io;
}

/*
 * Turn a value into the bytes to encrypt.  *is_copy says whether the result
 * is a new allocation holding plaintext, which the caller must wipe.
 */
struct varlena *
PlaintextToBytes(PlaintextIO *io, Datum value, bool *is_copy)
{
	struct varlena *bytes;
	char	   *str;

	switch (io->rep)
	{
		case REP_RAW:
			bytes = PG_DETOAST_DATUM_PACKED(value);
			*is_copy = (Pointer) bytes != DatumGetPointer(value);
			return bytes;
		case REP_BINARY:
			*is_copy = true;
			return (struct varlena *) SendFunctionCall(&io->to_bytes, value);
		default:
			*is_copy = true;
			str = OutputFunctionCall(&io->to_bytes, value);
			bytes = (struct varlena *) cstring_to_text(str);
			ef_secure_pfree(str, strlen(str));
			return bytes;
	}
}

/* Raise the error for decrypted bytes the type does not accept */
static void
NotAValid(PlaintextIO *io)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("decrypted value is not a valid %s", format_type_be(io->typid))));
}

/* Wipe the texts of an error, which may quote the plaintext, and free it */
static void
WipeErrorData(ErrorData *edata)
{
	char	   *texts[] = {edata->message, edata->detail, edata->detail_log,
	edata->hint, edata->context, edata->internalquery};

	for (size_t i = 0; i < lengthof(texts); i++)
		if (texts[i] != NULL)
			explicit_bzero(texts[i], strlen(texts[i]));
	FreeErrorData(edata);
}

/* Decode decrypted bytes with the type's receive or input function */
static Datum
Decode(PlaintextIO *io, struct varlena *bytes)
{
	StringInfoData buf;
	char	   *str;
	Datum		result;

	if (io->rep == REP_BINARY)
	{
		buf.data = VARDATA(bytes);
		buf.len = VARSIZE(bytes) - VARHDRSZ;
		buf.maxlen = buf.len;
		buf.cursor = 0;
		result = ReceiveFunctionCall(&io->from_bytes, &buf, io->ioparam, -1);
		if (buf.cursor != buf.len)
			NotAValid(io);
		return result;
	}
	str = text_to_cstring((text *) bytes);
	/* json is kept as its text: its input function only checks it */
	result = io->rep == REP_RAW ?
		DirectFunctionCall1(json_in, CStringGetDatum(str)) :
		InputFunctionCall(&io->from_bytes, str, io->ioparam, -1);
	ef_secure_pfree(str, strlen(str));
	if (io->rep != REP_RAW)
		return result;
	ef_secure_pfree(DatumGetPointer(result), VARSIZE_ANY(DatumGetPointer(result)));
	return PointerGetDatum(bytes);
}

/*
 * Check decrypted bytes that are returned as they are, as text of the
 * envelope's type: in the database encoding (a value sealed in a database
 * of another encoding is not), with no NUL byte (no text can hold one), and
 * for json, valid json.  Envelopes authenticate what their writer sealed,
 * not that the writer was this server.
 */
void
PlaintextValidateText(PlaintextIO *io, struct varlena *bytes)
{
	const char *data = VARDATA_ANY(bytes);
	int			len = VARSIZE_ANY_EXHDR(bytes);

	if (io->type_code == EF_TYPE_BYTEA)
		return;
	if (memchr(data, '\0', len) != NULL ||
		!pg_verify_mbstr(GetDatabaseEncoding(), data, len, true))
		NotAValid(io);
}

/*
 * Turn decrypted bytes back into a value of the envelope's type.  Input
 * functions quote what they reject (array_in, jsonb_in do), so their data
 * errors are replaced by one that names only the type.  Authenticated bytes
 * fail only if written by a server that rendered the type otherwise.
 */
Datum
PlaintextFromBytes(PlaintextIO *io, struct varlena *bytes)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	if (io->rep == REP_RAW)
	{
		PlaintextValidateText(io, bytes);
		if (io->typid != JSONOID)
			return PointerGetDatum(bytes);
	}
	PG_TRY();
	{
		result = Decode(io, bytes);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION &&
			edata->sqlerrcode != ERRCODE_DATA_CORRUPTED)
		{
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		WipeErrorData(edata);
		NotAValid(io);
	}
	PG_END_TRY();
	return result;
}

/* Are the plaintext bytes of this type its text form already? */
bool
PlaintextIsTextForm(PlaintextIO *io)
{
	return io->rep == REP_TEXT || (io->rep == REP_RAW && io->type_code != EF_TYPE_BYTEA);
}

/*
 * Render decrypted bytes as text, with the type's output function.  A value
 * decoded from binary bytes is a copy of the plaintext: wiped once rendered.
 */
char *
PlaintextToCString(PlaintextIO *io, struct varlena *bytes)
{
	Datum		typed;
	char	   *out;

	if (PlaintextIsTextForm(io) && io->typid != JSONOID)
	{
		PlaintextValidateText(io, bytes);
		return text_to_cstring((text *) bytes);
	}
	if (PlaintextIsTextForm(io))
	{
		(void) PlaintextFromBytes(io, bytes);	/* validates json */
		return text_to_cstring((text *) bytes);
	}
	typed = PlaintextFromBytes(io, bytes);
	out = OutputFunctionCall(&io->output, typed);
	if (io->rep == REP_BINARY && !io->typbyval)
		ef_secure_pfree(DatumGetPointer(typed),
						datumGetSize(typed, false, io->typlen));
	return out;
}

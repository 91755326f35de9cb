/*-------------------------------------------------------------------------
 *
 * registry.c
 *		Read and write the key registry table through SPI
 *
 * The registry lives in the extension's schema and is named with its schema
 * in every query, so a caller's search_path cannot redirect it.  Queries run
 * with the caller's privileges: table grants decide who may read or change
 * the registry (see the privileges section of the install script).
 *
 * IDENTIFICATION
 *		src/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "registry.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * Return the schema the extension is installed in.  PostgreSQL 15 keeps its
 * own get_extension_schema() static, so read pg_extension here.
 */
static Oid
ExtensionSchema(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			schema = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("encrypted_field"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		schema = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(schema))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"encrypted_field\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION encrypted_field first.")));
	return schema;
}

/* Return the schema-qualified name of the registry table */
static char *
RegistryTable(void)
{
	return psprintf("%s.ef_keys",
					quote_identifier(get_namespace_name(ExtensionSchema())));
}

/* Run one registry statement with arguments; return rows processed */
static uint64
RegistryExecute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
				const char *nulls, bool read_only, int expect)
{
	char	   *sql = psprintf(sql_fmt, RegistryTable());
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc != expect)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Fetch a key's check value and retired mark; false if not registered */
bool
RegistryLookup(int32 key_id, uint8 *check, bool *retired)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(key_id)};
	bool		found = false;

	if (RegistryExecute("SELECT fingerprint, retired_at IS NOT NULL FROM %s "
						"WHERE key_id OPERATOR(pg_catalog.=) $1",
						1, types, values, NULL, true, SPI_OK_SELECT) == 1)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	row = SPI_tuptable->vals[0];
		bool		isnull;
		Datum		fp = SPI_getbinval(row, desc, 1, &isnull);
		bytea	   *fpb = isnull ? NULL : DatumGetByteaPP(fp);

		if (fpb == NULL || VARSIZE_ANY_EXHDR(fpb) != EF_CHECK_VALUE_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("key registry entry for master key %d is damaged", key_id),
					 errdetail("The fingerprint is not %d bytes long.", EF_CHECK_VALUE_LEN)));
		memcpy(check, VARDATA_ANY(fpb), EF_CHECK_VALUE_LEN);
		*retired = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
		found = true;
	}
	SPI_finish();
	return found;
}

/* Add a key's check value; false if the key id is already registered */
bool
RegistryInsert(int32 key_id, const uint8 *check, const char *comment)
{
	Oid			types[3] = {INT4OID, BYTEAOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', comment ? ' ' : 'n'};
	bytea	   *fp = palloc(VARHDRSZ + EF_CHECK_VALUE_LEN);
	uint64		n;

	SET_VARSIZE(fp, VARHDRSZ + EF_CHECK_VALUE_LEN);
	memcpy(VARDATA(fp), check, EF_CHECK_VALUE_LEN);
	values[0] = Int32GetDatum(key_id);
	values[1] = PointerGetDatum(fp);
	values[2] = comment ? CStringGetTextDatum(comment) : (Datum) 0;

	n = RegistryExecute("INSERT INTO %s (key_id, fingerprint, comment) "
						"VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
						3, types, values, nulls, false, SPI_OK_INSERT);
	SPI_finish();
	return n == 1;
}

/* Mark a key retired; false if it is not registered */
bool
RegistryRetire(int32 key_id)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(key_id)};
	uint64		n;

	n = RegistryExecute("UPDATE %s SET retired_at = "
						"COALESCE(retired_at, pg_catalog.now()) "
						"WHERE key_id OPERATOR(pg_catalog.=) $1",
						1, types, values, NULL, false, SPI_OK_UPDATE);
	SPI_finish();
	return n == 1;
}

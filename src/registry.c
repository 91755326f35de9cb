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
 * Copyright (c) 2026, The encrypted_field Authors
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
#include "access/xact.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "registry.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * Return the schema the extension is installed in.  PostgreSQL 15 keeps its
 * own get_extension_schema() static, so read pg_extension here.
 */
Oid
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

/* Return the schema-qualified name of a registry table */
static char *
RegistryTable(const char *table)
{
	return psprintf("%s.%s",
					quote_identifier(get_namespace_name(ExtensionSchema())),
					table);
}

/*
 * Does the registry record index-key groups?  Not before ALTER EXTENSION
 * UPDATE to 0.3.0 has run: a database still at 0.2.0 or 0.1.0 has the one
 * group "default", and this library must serve it meanwhile.
 */
static bool
RegistryHasGroups(void)
{
	Oid			relid = get_relname_relid("ef_keys", ExtensionSchema());

	return OidIsValid(relid) && get_attnum(relid, "index_group") != InvalidAttrNumber;
}

/*
 * The SQL of a key's group: its column of ef_keys under this alias (NULL:
 * none), or "default" before 0.3.0
 */
static const char *
GroupColumn(const char *alias)
{
	if (!RegistryHasGroups())
		return "'default'::pg_catalog.text";
	return alias ? psprintf("%s.index_group", alias) : "index_group";
}

/* Run one statement on a registry table; return rows processed */
static uint64
RegistryExecuteOn(const char *table, const char *sql_fmt, int nargs,
				  Oid *types, Datum *values, const char *nulls,
				  bool read_only, int expect)
{
	char	   *sql = psprintf(sql_fmt, RegistryTable(table));
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc != expect)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Run one statement on the key table; return rows processed */
static uint64
RegistryExecute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
				const char *nulls, bool read_only, int expect)
{
	return RegistryExecuteOn("ef_keys", sql_fmt, nargs, types, values, nulls,
							 read_only, expect);
}

/* Copy a bytea column of a result row, checking its length */
static void
CopyBytes(int row, int column, uint8 *out, size_t len, const char *what,
		  int32 key_id)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  column, &isnull);
	bytea	   *b = isnull ? NULL : DatumGetByteaPP(d);

	if (b == NULL || VARSIZE_ANY_EXHDR(b) != len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("key registry entry for master key %d is damaged", key_id),
				 errdetail("The %s is not %zu bytes long.", what, len)));
	memcpy(out, VARDATA_ANY(b), len);
}

/*
 * Return the newest index key id of an index-key group (NULL: of the whole
 * database, whose next id a new index key takes), or 0 if there is none.
 * A new snapshot: after RegistryLockIndexKeys(), it sees what committed
 * while this transaction waited.
 */
int32
RegistryNewestIndexKey(const char *group)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *sql;
	int32		id = 0;
	bool		isnull;

	if (group == NULL)
		sql = psprintf("SELECT pg_catalog.max(index_key_id) FROM %s",
					   RegistryTable("ef_index_keys"));
	else
		sql = psprintf("SELECT pg_catalog.max(i.index_key_id) FROM %s i JOIN %s k "
					   "ON k.key_id OPERATOR(pg_catalog.=) i.key_id "
					   "WHERE %s OPERATOR(pg_catalog.=) $1",
					   RegistryTable("ef_index_keys"), RegistryTable("ef_keys"),
					   GroupColumn("k"));
	values[0] = group ? CStringGetTextDatum(group) : (Datum) 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, group ? 1 : 0, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "key registry query failed");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			id = DatumGetInt32(d);
	}
	SPI_finish();
	return id;
}

/*
 * Fetch the newest index keys wrapped under a master key, newest first, up
 * to max; return how many there are.  What has committed by now (and this
 * transaction's own rows), not what an older snapshot sees: a key unlocked
 * or refreshed after another session's rotation must hold its index key.
 */
int
RegistryLookupIndexKeys(int32 key_id, int32 *ids, uint8 (*wrapped)[EF_WRAPPED_LEN],
						int max)
{
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(key_id), Int32GetDatum(max)};
	/*
	 * with the number of groups whose keys wrap each: an index key belongs
	 * to one group, and a row naming its id under another group's key (which
	 * only someone writing the table directly makes) would have that key
	 * take the wrong index key for the id, and receive the group's next one
	 */
	char	   *sql = psprintf("SELECT i.index_key_id, i.wrapped_key, "
							   "(SELECT pg_catalog.count(DISTINCT %s) FROM %s i2 JOIN %s k2 "
							   "ON k2.key_id OPERATOR(pg_catalog.=) i2.key_id "
							   "WHERE i2.index_key_id OPERATOR(pg_catalog.=) i.index_key_id) "
							   "FROM %s i WHERE i.key_id OPERATOR(pg_catalog.=) $1 "
							   "ORDER BY i.index_key_id DESC LIMIT $2",
							   GroupColumn("k2"), RegistryTable("ef_index_keys"),
							   RegistryTable("ef_keys"), RegistryTable("ef_index_keys"));
	SPIPlanPtr	plan;
	int			rc;
	int			n;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql, 2, types);
	if (plan == NULL)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(SPI_result));
	rc = IsInParallelMode() ?
		SPI_execute_plan(plan, values, NULL, true, 0) :
		SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(rc));
	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 3, &isnull)) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("index key %d is wrapped under master keys of more than one index-key group", ids[i]),
					 errdetail("Master key %d is one of them. An index key belongs to one group; the registry was written to directly.",
							   key_id),
					 errhint("Delete the rows of ef_index_keys that do not belong, as the extension's owner.")));
		CopyBytes(i, 2, wrapped[i], EF_WRAPPED_LEN, "wrapped index key", key_id);
	}
	SPI_finish();
	return n;
}

/*
 * Fetch the ids of the registered master keys of an index-key group that are
 * not retired, lowest first, up to max; return how many there are.  A new
 * snapshot, as above.
 */
int
RegistryActiveKeys(const char *group, int32 *ids, int max)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(group)};
	int			n;
	bool		isnull;

	char	   *sql = psprintf("SELECT key_id FROM %%s WHERE retired_at IS NULL "
								   "AND %s OPERATOR(pg_catalog.=) $1 ORDER BY key_id",
								   GroupColumn(NULL));

	n = RegistryExecute(sql, 1, types, values, NULL, false, SPI_OK_SELECT);
	n = Min(n, max);
	for (int i = 0; i < n; i++)
		ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

/*
 * A digest of ef_index_keys as a snapshot sees it (NULL: the transaction's,
 * with this transaction's own changes)
 */
static text *
IndexKeysAsSeenBy(SPIPlanPtr plan, Snapshot snapshot)
{
	bool		isnull;
	Datum		d;
	int			rc = snapshot == NULL ?
	SPI_execute_plan(plan, NULL, NULL, false, 1) :
	SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, false, false, 1);

	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetTextPP(d);
}

/*
 * Serialize the changes to the database's index keys (registering a master
 * key, rotating) until the end of the transaction.  In READ COMMITTED the
 * reads that follow take new snapshots, which see what a transaction this
 * one waited for committed.  A transaction-wide snapshot cannot: if the
 * index keys changed since it was taken, this transaction would wrap a
 * stale index key, or make a second key with an existing id, so it fails.
 */
void
RegistryLockIndexKeys(void)
{
	Oid			relid = get_relname_relid("ef_index_keys", ExtensionSchema());
	SPIPlanPtr	plan;
	text	   *mine;
	text	   *latest;

	if (!OidIsValid(relid))
		elog(ERROR, "key registry table ef_index_keys is missing");
	LockRelationOid(relid, ShareRowExclusiveLock);
	if (!IsolationUsesXactSnapshot())
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(psprintf("SELECT pg_catalog.md5(pg_catalog.string_agg("
								"pg_catalog.format('%%s:%%s', index_key_id, key_id), ',' "
								"ORDER BY index_key_id, key_id)) "
								"FROM %s", RegistryTable("ef_index_keys")), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "key registry query failed: %s", SPI_result_code_string(SPI_result));
	mine = IndexKeysAsSeenBy(plan, NULL);
	latest = IndexKeysAsSeenBy(plan, GetLatestSnapshot());
	if ((mine == NULL) != (latest == NULL) ||
		(mine != NULL && strcmp(text_to_cstring(mine), text_to_cstring(latest)) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of the index keys"),
				 errdetail("Another transaction registered a master key or rotated the index key after this transaction's snapshot was taken."),
				 errhint("Retry the transaction; unlock the keys again first if the index key was rotated.")));
	SPI_finish();
}

/* Record an index key wrapped under a master key */
void
RegistryInsertIndexKey(int32 index_key_id, int32 key_id, const uint8 *wrapped)
{
	Oid			types[3] = {INT4OID, INT4OID, BYTEAOID};
	Datum		values[3];
	bytea	   *w = palloc(VARHDRSZ + EF_WRAPPED_LEN);

	SET_VARSIZE(w, VARHDRSZ + EF_WRAPPED_LEN);
	memcpy(VARDATA(w), wrapped, EF_WRAPPED_LEN);
	values[0] = Int32GetDatum(index_key_id);
	values[1] = Int32GetDatum(key_id);
	values[2] = PointerGetDatum(w);
	RegistryExecuteOn("ef_index_keys",
					  "INSERT INTO %s (index_key_id, key_id, wrapped_key) "
					  "VALUES ($1, $2, $3)",
					  3, types, values, NULL, false, SPI_OK_INSERT);
	SPI_finish();
}

/*
 * Fetch a key's check value, retired mark and index-key group (group has
 * NAMEDATALEN bytes); false if not registered
 */
bool
RegistryLookup(int32 key_id, uint8 *check, bool *retired, char *group)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(key_id)};
	bool		found = false;

	char	   *sql = psprintf("SELECT fingerprint, retired_at IS NOT NULL, %s FROM %%s "
								   "WHERE key_id OPERATOR(pg_catalog.=) $1", GroupColumn(NULL));

	if (RegistryExecute(sql, 1, types, values, NULL, true, SPI_OK_SELECT) == 1)
	{
		bool		isnull;
		Datum		d;

		CopyBytes(0, 1, check, EF_CHECK_VALUE_LEN, "fingerprint", key_id);
		*retired = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		strlcpy(group, isnull ? "" : TextDatumGetCString(d), NAMEDATALEN);
		found = true;
	}
	SPI_finish();
	return found;
}

/*
 * Add a key's check value, in an index-key group; false if the key id is
 * already registered
 */
bool
RegistryInsert(int32 key_id, const uint8 *check, const char *comment,
			   const char *group)
{
	Oid			types[4] = {INT4OID, BYTEAOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', comment ? ' ' : 'n', ' '};
	bytea	   *fp = palloc(VARHDRSZ + EF_CHECK_VALUE_LEN);
	uint64		n;

	SET_VARSIZE(fp, VARHDRSZ + EF_CHECK_VALUE_LEN);
	memcpy(VARDATA(fp), check, EF_CHECK_VALUE_LEN);
	values[0] = Int32GetDatum(key_id);
	values[1] = PointerGetDatum(fp);
	values[2] = comment ? CStringGetTextDatum(comment) : (Datum) 0;
	values[3] = CStringGetTextDatum(group);

	if (RegistryHasGroups())
		n = RegistryExecute("INSERT INTO %s (key_id, fingerprint, comment, index_group) "
							"VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING",
							4, types, values, nulls, false, SPI_OK_INSERT);
	else if (strcmp(group, "default") == 0)
		n = RegistryExecute("INSERT INTO %s (key_id, fingerprint, comment) "
							"VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
							3, types, values, nulls, false, SPI_OK_INSERT);
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index-key groups need version 0.3.0 of the extension"),
				 errhint("Run ALTER EXTENSION encrypted_field UPDATE.")));
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

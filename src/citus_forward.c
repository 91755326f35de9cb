/*-------------------------------------------------------------------------
 *
 * citus_forward.c
 *		Held keys forwarded to the Citus worker backends of one transaction
 *
 * On Citus, a statement on a distributed table runs in worker backends,
 * which hold no keys.  Inside a transaction block, a procedure or a
 * function, before each statement whose keys the workers have not yet
 * received in this transaction, the coordinator seals every key it holds
 * to each worker's public key (forward_seal.c, node_key.c) and sets the
 * result with SET LOCAL encrypted_field.forwarded_keys, with Citus's
 * citus.propagate_set_commands = 'local' for just that command.  Citus
 * sends the command to the worker connections already in the transaction
 * and puts it at the start of every connection it opens later in the
 * transaction, as it does for the user's own SET LOCAL.  When the keys
 * change (ef_unlock, ef_lock, a rollback to a savepoint, the index keys
 * read again after another session's rotation committed), the next
 * statement, or ef_lock() itself, sends the new set, the empty one when no
 * key is left.
 *
 * A worker backend opens its entry of the set before its next statement
 * once Citus has given it the coordinator's distributed transaction id,
 * and holds the keys as transaction-scoped keys of the roles that unlocked
 * them.  They go when its transaction ends (commit, rollback, PREPARE
 * TRANSACTION), when the setting changes, and with the backend.  The
 * first worker backend to end a transaction that used a set records its id
 * on that server (node_key.c), which from then on refuses the set: a copy
 * taken from a log is useless once its transaction is over.
 *
 * Outside a transaction block, Citus sends no SET LOCAL, so keys are not
 * forwarded and a worker that needs one says how to get it there.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/citus_forward.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "audit.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "citus_forward.h"
#include "citus_plan.h"
#include "compat.h"
#include "decrypt_audit.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "forward_seal.h"
#include "hook_chain.h"
#include "indexkey.h"
#include "keystore.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "node_key.h"
#include "redact.h"
#include "registry.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define NO_NODE_KEY_HINT \
	"This server cannot receive keys from the Citus coordinator: " \
	"add encrypted_field to shared_preload_libraries, after citus, and restart it."

/* encrypted_field.forwarded_keys */
static char *forwarded_keys = NULL;
/* encrypted_field.forwarded_keys_max_age, in seconds */
static int	forwarded_keys_max_age = 300;

/* worker: the sets this transaction received, recorded as ended at its end */
static ForwardHeader *received = NULL;
static int	received_count = 0;
static int	received_max = 0;

/* this backend is setting its own forwarded set */
static bool forwarding = false;

/* coordinator: what was sent in this transaction */
static LocalTransactionId sent_lxid = InvalidLocalTransactionId;
/* a set with keys went out in this transaction: workers may hold them */
static LocalTransactionId xact_sent_lxid = InvalidLocalTransactionId;
static SubTransactionId sent_subid = InvalidSubTransactionId;
static TimestampTz sent_created = 0;
static uint64 sent_generation = 0;
static bool sent_keys = false;

/* coordinator: the workers' public keys, and the node list they are for */
static char *nodes_seen = NULL;
static uint8 (*node_pubs)[EF_NODE_KEY_LEN] = NULL;
static int	node_count = 0;

/* CALL and DO statements under way: Citus coordinates their transactions */
static int	routine_depth = 0;
/* statements under way in this backend's executor */
static int	executor_depth = 0;

/*
 * coordinator: the ids of every set this backend sent in this transaction,
 * so that it never opens its own: a savepoint's rollback puts back the
 * setting of an earlier one
 */
static uint8 (*sent_ids)[EF_FORWARD_ID_LEN] = NULL;
static int	sent_count = 0;
static int	sent_max = 0;
/*
 * ForeignSet()'s answer, asked at every statement and twice per log line:
 * forgotten whenever the setting is assigned (its assign hook runs for
 * every change, a transaction's end and a parallel worker's start
 * included) and whenever the sent ids change, never compared by pointer
 */
static bool foreign_known = false;
static bool foreign_answer = false;
/* a set is being opened: the statements that does so open nothing */
static bool opening = false;
/* worker: the set has been opened and its keys are held */
static bool opened = false;
static SubTransactionId opened_subid = InvalidSubTransactionId;
/* worker: a set could not be recorded, so none is opened until the end */
static bool refuse_sets = false;
/* worker: why a set in the setting could not be opened */
static const char *not_opened = NULL;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Is Citus loaded in this backend?  Its settings exist once it is; a
 * placeholder (a citus.* setting SET, or configured, where Citus is not
 * loaded) is not Citus.  Citus loads only from shared_preload_libraries,
 * so once those are loaded the answer never changes: it is looked up by
 * name once per backend, not at every statement.
 */
bool
CitusLoaded(void)
{
	static int	loaded = -1;
	bool		answer;

	if (loaded >= 0)
		return loaded == 1;
	answer = GetConfigOption("citus.propagate_set_commands", true, false) != NULL &&
		(GetConfigOptionFlags("citus.propagate_set_commands", true) &
		 GUC_CUSTOM_PLACEHOLDER) == 0;
	if (process_shared_preload_libraries_done)
		loaded = answer ? 1 : 0;
	return answer;
}

/* Citus coordinates this transaction's statements across connections? */
static bool
CoordinatedTransaction(void)
{
	return IsTransactionBlock() || routine_depth > 0 || executor_depth > 0;
}

/* Run a query that returns one row of text values, or none */
static bool
QueryRow(const char *sql, int nargs, Oid *types, Datum *values, char **out, int nout)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, true, 1);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %d", rc);
	if (SPI_processed == 0)
		return false;
	for (int i = 0; i < nout; i++)
		out[i] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);
	return true;
}

/* Forget the workers' keys: one may have restarted with a new one */
static void
ForgetNodeKeys(void)
{
	if (node_pubs != NULL)
		pfree(node_pubs);
	if (nodes_seen != NULL)
		pfree(nodes_seen);
	node_pubs = NULL;
	nodes_seen = NULL;
	node_count = 0;
}

/*
 * Read the workers' public keys, again when the node list changed.  A
 * worker that has none (not preloaded) is left out; its backends say so
 * when they need a key.
 */
static void
RefreshNodeKeys(void)
{
	char	   *seen[1];
	char	   *schema;
	char	   *command;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	uint8		(*pubs)[EF_NODE_KEY_LEN];
	int			n = 0;
	StringInfoData read;

	if (!QueryRow("SELECT pg_catalog.string_agg(n.nodeid::pg_catalog.text OPERATOR(pg_catalog.||) '/' "
				  "OPERATOR(pg_catalog.||) n.nodename OPERATOR(pg_catalog.||) ':' "
				  "OPERATOR(pg_catalog.||) n.nodeport::pg_catalog.text, ',' ORDER BY n.nodeid) "
				  "FROM pg_catalog.pg_dist_node n WHERE n.isactive AND n.groupid OPERATOR(pg_catalog.<>) 0 "
				  "AND n.noderole OPERATOR(pg_catalog.=) 'primary'",
				  0, NULL, NULL, seen, 1) || seen[0] == NULL)
		seen[0] = "";
	if (nodes_seen != NULL && node_pubs != NULL && strcmp(nodes_seen, seen[0]) == 0)
		return;

	schema = get_namespace_name(ExtensionSchema());
	command = psprintf("SELECT %s.ef_node_public_key()", quote_identifier(schema));
	args[0] = CStringGetTextDatum(command);
	if (SPI_execute_with_args("SELECT r.result, r.nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) r.nodeport "
							  "FROM pg_catalog.run_command_on_workers($1) r WHERE r.success",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the Citus workers' public keys");
	initStringInfo(&read);

	pubs = MemoryContextAlloc(TopMemoryContext,
							  sizeof(*pubs) * Max(1, Min(SPI_processed, EF_FORWARD_MAX_NODES)));
	for (uint64 i = 0; i < SPI_processed && n < EF_FORWARD_MAX_NODES; i++)
	{
		char	   *hex = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (hex != NULL && strlen(hex) == 2 * EF_NODE_KEY_LEN &&
			strspn(hex, "0123456789abcdef") == 2 * EF_NODE_KEY_LEN)
		{
			hex_decode(hex, 2 * EF_NODE_KEY_LEN, (char *) pubs[n++]);
			appendStringInfo(&read, "%s%s %.16s", read.len > 0 ? ", " : "",
							 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2), hex);
		}
	}
	ForgetNodeKeys();
	node_pubs = pubs;
	node_count = n;
	nodes_seen = MemoryContextStrdup(TopMemoryContext, seen[0]);
	/* a worker's key that changed without a restart is for the auditors to see */
	AuditNodeKeys(read.len > 0 ? read.data : "none");
}

/* This node's Citus group id, which worker backends see as the initiator */
static int32
LocalGroup(void)
{
	char	   *group[1];

	if (!QueryRow("SELECT groupid::pg_catalog.text FROM pg_catalog.pg_dist_local_group",
				  0, NULL, NULL, group, 1) || group[0] == NULL)
		return 0;
	return pg_strtoint32(group[0]);
}

/* Collect the keys this backend holds of its own; return how many */
static int
CollectKeys(ForwardKey *keys)
{
	int			n = 0;
	const HeldKey *key;

	for (int i = 0; (key = KeystoreGetAny(i)) != NULL; i++)
	{
		const char *role;

		if (key->forwarded || n >= EF_FORWARD_MAX_KEYS)
			continue;
		role = GetUserNameFromId(key->role, true);
		if (role == NULL)
			continue;
		keys[n].key_id = key->key_id;
		keys[n].retired = key->retired;
		strlcpy(keys[n].role, role, NAMEDATALEN);
		strlcpy(keys[n].index_group, key->index_group, NAMEDATALEN);
		strlcpy(keys[n].reason, DecryptAuditReasonOf(key->key_id) ? DecryptAuditReasonOf(key->key_id) : "",
				sizeof(keys[n].reason));
		memcpy(keys[n].kek, key->kek, EF_KEY_LEN);
		for (int j = 0; j < EF_INDEX_KEYS_HELD; j++)
		{
			keys[n].index_key_id[j] = key->index_key_id[j];
			if (key->index_key_id[j] > 0)
				memcpy(keys[n].index_key[j], key->index_key[j], EF_KEY_LEN);
		}
		n++;
	}
	return n;
}

/* How many keys of its own this backend holds */
static int
OwnKeyCount(void)
{
	int			n = 0;
	const HeldKey *key;

	for (int i = 0; (key = KeystoreGetAny(i)) != NULL; i++)
		if (!key->forwarded)
			n++;
	return n;
}

/* Note the id of a set this backend sends, for the rest of the transaction */
static void
RememberSent(const uint8 *id)
{
	if (sent_count == sent_max)
	{
		int			more = Max(8, 2 * sent_max);

		sent_ids = sent_ids == NULL ?
			MemoryContextAlloc(TopMemoryContext, more * EF_FORWARD_ID_LEN) :
			repalloc(sent_ids, more * EF_FORWARD_ID_LEN);
		sent_max = more;
	}
	memcpy(sent_ids[sent_count++], id, EF_FORWARD_ID_LEN);
	foreign_known = false;
}

/*
 * Seal the keys held now to every worker and hand the set to Citus, or the
 * empty set when none is held
 */
static void
SendKeys(void)
{
	ForwardKey *keys = NULL;
	int			nkeys;
	char	   *volatile set = "";
	int			nest;

	keys = palloc0(sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);
	forwarding = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		nkeys = CollectKeys(keys);
		if (nkeys > 0)
		{
			ForwardHeader header;

			RefreshNodeKeys();
			if (EfRandomBytes(header.id, EF_FORWARD_ID_LEN) != EF_CRYPTO_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not generate random bytes")));
			header.created = GetCurrentTimestamp();
			sent_created = header.created;
			header.initiator = LocalGroup();
			set = ForwardSeal(&header, keys, nkeys,
							  (const uint8 (*)[EF_NODE_KEY_LEN]) node_pubs, node_count);
			RememberSent(header.id);
		}
		explicit_bzero(keys, sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);

		/* Citus propagates this one SET LOCAL, whatever the session's choice */
		nest = NewGUCNestLevel();
		(void) set_config_option("citus.propagate_set_commands", "local",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
		if (SPI_execute(psprintf("SET LOCAL encrypted_field.forwarded_keys = %s",
								 quote_literal_cstr(set)), false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not forward the keys to the Citus workers");
		AtEOXact_GUC(true, nest);
		SPI_finish();
		sent_keys = nkeys > 0;
		if (sent_keys)
			xact_sent_lxid = EF_MY_LXID;
	}
	PG_FINALLY();
	{
		forwarding = false;
		explicit_bzero(keys, sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);
		pfree(keys);
	}
	PG_END_TRY();
	sent_lxid = EF_MY_LXID;
	sent_subid = GetCurrentSubTransactionId();
	sent_generation = KeystoreGeneration();
}

/* Must the workers get the keys (or learn they are gone) before this statement? */
static bool
MustSend(void)
{
	bool		sent_now = sent_lxid == EF_MY_LXID;

	/*
	 * The cheap tests first: this runs before every statement.  None while
	 * the index keys are read again: its registry reads pass here, with
	 * some held keys given their new index keys and some not yet.
	 */
	if ((KeystoreGetAny(0) == NULL && xact_sent_lxid != EF_MY_LXID) ||
		IsParallelWorker() || !CoordinatedTransaction() || !CitusLoaded() ||
		IndexKeysRefreshing())
		return false;
	/* a set is sent again before workers would find it too old to open */
	if (sent_now && sent_generation == KeystoreGeneration() &&
		!(sent_keys && GetCurrentTimestamp() - sent_created >
		  (TimestampTz) forwarded_keys_max_age * USECS_PER_SEC / 2))
		return false;
	/*
	 * With no key held, only the empty set remains to send: when keys went
	 * out earlier in this transaction and the last set sent (one Citus may
	 * have put back, after a savepoint) is not known to be the empty one
	 */
	if (OwnKeyCount() == 0 &&
		!(xact_sent_lxid == EF_MY_LXID && !(sent_now && !sent_keys)))
		return false;
	return OidIsValid(get_extension_oid("citus", true));
}

/* Does the setting hold a set that another backend sent (or a malformed one)? */
static bool
ForeignSet(void)
{
	ForwardHeader header;
	bool		foreign = true;

	if (foreign_known)
		return foreign_answer;
	if (forwarded_keys == NULL || forwarded_keys[0] == '\0')
		foreign = false;
	else if (sent_count > 0 && ForwardReadHeader(forwarded_keys, &header))
	{
		for (int i = 0; i < sent_count && foreign; i++)
			if (memcmp(sent_ids[i], header.id, EF_FORWARD_ID_LEN) == 0)
				foreign = false;
	}
	foreign_answer = foreign;
	foreign_known = true;
	return foreign;
}

/* Is this backend serving a coordinator's transaction that forwarded keys? */
bool
CitusForwardServing(void)
{
	return ForeignSet();
}

/* Does this session hold keys it may forward to Citus workers? */
bool
CitusForwardHolding(void)
{
	return CitusLoaded() && (OwnKeyCount() > 0 || xact_sent_lxid == EF_MY_LXID);
}

/* Why a worker might hold no key, for the hint of a "not unlocked" error */
const char *
CitusForwardHint(const char *usual)
{
	if (not_opened != NULL)
		return not_opened;
	if (opened)
		return usual;
	if (ForeignSet() && !NodeKeyAvailable())
		return NO_NODE_KEY_HINT;
	if (CitusLoaded() && application_name != NULL &&
		strncmp(application_name, "citus_internal", 14) == 0)
		return "On Citus, the coordinator forwards its keys to the workers only inside a transaction block: "
			"BEGIN, then ef_unlock(), then the statements, then COMMIT.";
	return usual;
}

/* Citus's distributed transaction id of this backend: initiator and number */
static bool
DistributedTransaction(int32 *initiator, int64 *number)
{
	char	   *row[2];

	if (!QueryRow("SELECT initiator_node_identifier::pg_catalog.text, transaction_number::pg_catalog.text "
				  "FROM pg_catalog.get_current_transaction_id()", 0, NULL, NULL, row, 2) ||
		row[0] == NULL || row[1] == NULL)
		return false;
	*initiator = pg_strtoint32(row[0]);
	*number = pg_strtoint64(row[1]);
	return *number != 0;
}

EF_NORETURN static void RefuseSetHint(const char *detail, const char *hint);

static void
RefuseSetHint(const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("keys forwarded by a Citus coordinator were refused"),
			 errdetail_internal("%s", detail),
			 hint != NULL ? errhint("%s", hint) : 0));
}

EF_NORETURN static void RefuseSet(const char *detail);

static void
RefuseSet(const char *detail)
{
	RefuseSetHint(detail, NULL);
}

/* Refuse a set that this server no longer lets be opened, saying why */
static void
CheckSetState(NodeKeySetState state)
{
	switch (state)
	{
		case NODE_KEY_SET_OPEN:
			break;
		case NODE_KEY_SET_AGED:
			RefuseSet("They are older than encrypted_field.forwarded_keys_max_age.");
			break;
		case NODE_KEY_SET_FUTURE:
			RefuseSet("They were made more than 60 seconds ahead of this server's clock.");
			break;
		case NODE_KEY_SET_ENDED:
			RefuseSet("The transaction they were sent for has ended.");
			break;
		case NODE_KEY_SET_DROPPED:
			RefuseSetHint("They were made before sets that this server had to forget while they were young: "
						  "more transactions ended within encrypted_field.forwarded_keys_max_age "
						  "than encrypted_field.citus_ended_sets can record.",
						  "Retry the transaction. Raise encrypted_field.citus_ended_sets on this server and restart it.");
			break;
		case NODE_KEY_SET_UNRECORDED:
			RefuseSet("This server keeps no record of the sets it received.");
			break;
	}
}

/*
 * Open the set in the setting and hold its keys, once this backend serves
 * the coordinator's distributed transaction
 */
static void
OpenSet(void)
{
	ForwardKey *keys;
	ForwardHeader header;
	ForwardOpenStatus status;
	int			nkeys = 0;
	int32		initiator;
	int64		number;
	StringInfoData ids;

	if (!CitusLoaded())
		RefuseSet("Citus is not loaded in this session.");
	if (refuse_sets)
		RefuseSet("This transaction received more sets than this backend could record.");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!DistributedTransaction(&initiator, &number))
	{
		/* Citus gives the id just after the SET; the next statement opens it */
		SPI_finish();
		return;
	}
	SPI_finish();

	keys = palloc0(sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);
	PG_TRY();
	{
		status = ForwardOpen(forwarded_keys, &header, keys, &nkeys);
		switch (status)
		{
			case FORWARD_OPENED:
				break;
			case FORWARD_MALFORMED:
				RefuseSet("The setting does not hold a set of sealed keys.");
				break;
			case FORWARD_AUTH_FAILED:
				RefuseSet("The set was altered, or sealed to a key this server no longer has.");
				break;
			case FORWARD_NO_NODE_KEY:
				not_opened = NO_NODE_KEY_HINT;
				break;
			case FORWARD_NOT_FOR_THIS_NODE:
				not_opened = "The Citus coordinator sealed its keys to other servers' keys: "
					"this server restarted or was added after the coordinator's session read the workers' keys. "
					"The next transaction reads them again.";
				break;
		}
		if (status == FORWARD_OPENED)
		{
			CheckSetState(NodeKeyForwardState(header.id, header.created, forwarded_keys_max_age));
			if (header.initiator != initiator)
				RefuseSet("They were sent for another coordinator's transaction.");
			initStringInfo(&ids);
			for (int i = 0; i < nkeys; i++)
			{
				Oid			role = get_role_oid(keys[i].role, true);

				if (!OidIsValid(role))
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_OBJECT),
							 errmsg("role \"%s\" of a key forwarded by the Citus coordinator does not exist on this server",
									keys[i].role)));
				KeystoreAdd(keys[i].key_id, EF_SCOPE_TRANSACTION, keys[i].retired,
							role, keys[i].index_group, keys[i].kek,
							keys[i].index_key_id,
							(const uint8 (*)[EF_KEY_LEN]) keys[i].index_key);
				KeystoreMarkForwarded(keys[i].key_id);
				/* the worker's audit lines give the coordinator's reason */
				DecryptAuditNoteUnlock(keys[i].key_id, keys[i].reason);
				appendStringInfo(&ids, "%s%d", i > 0 ? "," : "", keys[i].key_id);
			}
			opened = true;
			opened_subid = GetCurrentSubTransactionId();
			not_opened = NULL;
			AuditForwarded(ids.data, initiator, number);
		}
	}
	PG_FINALLY();
	{
		explicit_bzero(keys, sizeof(ForwardKey) * EF_FORWARD_MAX_KEYS);
		pfree(keys);
	}
	PG_END_TRY();
}

/*
 * Before each statement: on a coordinator, send the keys if the workers
 * lack them; on a worker, open the set the coordinator sent
 */
static void
EfCitusExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (!forwarding && !opening)
	{
		if (ForeignSet())
		{
			/* the coordinator's parameter values may be in its text */
			RedactActivity();
			/*
			 * A parallel worker holds what its leader, which opened the set,
			 * hands it (parallel_keys.c), and opens nothing itself
			 */
			if (!opened && not_opened == NULL && !IsParallelWorker())
			{
				opening = true;
				PG_TRY();
				{
					OpenSet();
				}
				PG_FINALLY();
				{
					opening = false;
				}
				PG_END_TRY();
			}
		}
		else if (MustSend())
			SendKeys();
	}
	EfNextExecutorStart(prev_ExecutorStart, queryDesc, eflags);
}

static void
EfCitusExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
				   uint64 count EF_EXECUTE_ONCE_PARAM)
{
	executor_depth++;
	PG_TRY();
	{
		EfNextExecutorRun(prev_ExecutorRun, queryDesc, direction, count EF_EXECUTE_ONCE_ARG);
	}
	PG_FINALLY();
	{
		executor_depth--;
	}
	PG_END_TRY();
}

static void
EfCitusProcessUtility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	bool		routine = IsA(pstmt->utilityStmt, CallStmt) ||
		IsA(pstmt->utilityStmt, DoStmt);

	/* a term computed for one role must not serve another */
	if (IsA(pstmt->utilityStmt, VariableSetStmt) &&
		(((VariableSetStmt *) pstmt->utilityStmt)->name == NULL ||
		 strcmp(((VariableSetStmt *) pstmt->utilityStmt)->name, "role") == 0 ||
		 strcmp(((VariableSetStmt *) pstmt->utilityStmt)->name, "session_authorization") == 0))
		CitusPlanKeysChanged();

	if (routine)
		routine_depth++;
	PG_TRY();
	{
		EfNextProcessUtility(prev_ProcessUtility, pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (routine)
			routine_depth--;
	}
	PG_END_TRY();
}

/*
 * ef_lock() mid-transaction: the workers forget at once, not at the next
 * statement
 */
void
CitusForwardRevoke(void)
{
	if (xact_sent_lxid == EF_MY_LXID && !forwarding && IsTransactionState())
		SendKeys();
}

/* The end of a transaction ends what was sent and what was received */
static void
CitusForwardXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			break;
		default:
			return;
	}
	for (int i = 0; i < received_count; i++)
		NodeKeyForwardEnd(received[i].id, received[i].created, forwarded_keys_max_age);
	received_count = 0;
	refuse_sets = false;
	if (event != XACT_EVENT_PREPARE)
		xact_sent_lxid = InvalidLocalTransactionId;
	opened = false;
	not_opened = NULL;
	sent_lxid = InvalidLocalTransactionId;
	sent_keys = false;
	sent_count = 0;
	foreign_known = false;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		ForgetNodeKeys();
}

/*
 * A rolled-back savepoint takes back the SET LOCAL sent in it, and the keys
 * opened in it
 */
static void
CitusForwardSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	/*
	 * Citus puts back the enclosing transaction's SET LOCAL commands for the
	 * connections it opens next, both when a savepoint rolls back and when
	 * it is released: a set sent in it is sent again
	 */
	if (event == SUBXACT_EVENT_ABORT_SUB || sent_subid == mySubid)
		sent_lxid = InvalidLocalTransactionId;
	if (event == SUBXACT_EVENT_ABORT_SUB && opened && opened_subid == mySubid)
		opened = false;
	else if (event == SUBXACT_EVENT_COMMIT_SUB && opened && opened_subid == mySubid)
		opened_subid = parentSubid;
}

/* Only a sealed set, or nothing; never from a file, a role or a database */
static bool
CheckForwardedKeys(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (source != PGC_S_SESSION)
	{
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("encrypted_field.forwarded_keys can only be set by a Citus coordinator, with SET LOCAL");
		return false;
	}
	if (!ForwardWellFormed(*newval))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("encrypted_field.forwarded_keys is not a set of keys sealed by a Citus coordinator");
		return false;
	}
	return true;
}

/* A new set (or none): the keys of the last one go */
static void
AssignForwardedKeys(const char *newval, void *extra)
{
	ForwardHeader header;

	/*
	 * Every set received, opened or not, is refused after this transaction.
	 * A parallel worker gets its leader's settings, not a set of its own:
	 * its leader records the set, and the worker's end (a parallel commit,
	 * while the distributed transaction goes on) must not end it.
	 */
	if (!forwarding && !IsParallelWorker() && newval != NULL && newval[0] != '\0' &&
		ForwardReadHeader(newval, &header))
	{
		bool		seen = false;

		/*
		 * A header is read before its set is opened, and anyone may send
		 * one: of two with one id, the later time is kept, so that a copy
		 * dated earlier cannot make the set's record age before the set
		 */
		for (int i = 0; i < received_count && !seen; i++)
			if (memcmp(received[i].id, header.id, EF_FORWARD_ID_LEN) == 0)
			{
				received[i].created = Max(received[i].created, header.created);
				seen = true;
			}
		if (!seen && received_count == received_max)
		{
			/* no set may go unrecorded, however many a transaction gets */
			int			more = Max(16, 2 * received_max);
			ForwardHeader *grown = MemoryContextAllocExtended(TopMemoryContext,
															  sizeof(ForwardHeader) * more,
															  MCXT_ALLOC_NO_OOM);

			if (grown != NULL)
			{
				if (received != NULL)
				{
					memcpy(grown, received, sizeof(ForwardHeader) * received_count);
					pfree(received);
				}
				received = grown;
				received_max = more;
			}
		}
		if (!seen && received_count < received_max)
			received[received_count++] = header;
		else if (!seen)
			refuse_sets = true;	/* out of memory: open nothing more */
	}
	if (opened)
		(void) KeystoreForgetForwarded();
	opened = false;
	not_opened = NULL;
	/*
	 * guc.c stores newval after this returns; ForeignSet() reads it then.
	 * Last, so that a log line written above cannot leave the answer for
	 * the old value cached.
	 */
	foreign_known = false;
}

/* Never show the set itself */
static const char *
ShowForwardedKeys(void)
{
	return (forwarded_keys != NULL && forwarded_keys[0] != '\0') ? "(sealed)" : "";
}

/* Define the setting and install the hooks */
void
CitusForwardInstallHooks(void)
{
	DefineCustomStringVariable("encrypted_field.forwarded_keys",
							   gettext_noop("Keys a Citus coordinator forwards to this worker for one transaction, sealed to this server's key."),
							   gettext_noop("Set by the coordinator with SET LOCAL; never set it yourself."),
							   &forwarded_keys,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
							   GUC_NO_RESET_ALL,
							   CheckForwardedKeys, AssignForwardedKeys, ShowForwardedKeys);
	DefineCustomIntVariable("encrypted_field.forwarded_keys_max_age",
							gettext_noop("Keys a Citus coordinator forwarded are refused once they are this old."),
							gettext_noop("Coordinators send them again after half this time; set it alike on every node."),
							&forwarded_keys_max_age,
							300, 10, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	RegisterXactCallback(CitusForwardXactCallback, NULL);
	RegisterSubXactCallback(CitusForwardSubXactCallback, NULL);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = EfCitusExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = EfCitusExecutorRun;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = EfCitusProcessUtility;
}

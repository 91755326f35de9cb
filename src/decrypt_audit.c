/*-------------------------------------------------------------------------
 *
 * decrypt_audit.c
 *		Per-statement audit lines of what was decrypted, and unlock reasons
 *
 * With encrypted_field.audit = statement, every top-level statement in
 * which values were decrypted (ef_decrypt, ef_decrypt_as, the views of
 * ef_create_view), searched for (ef_term, ef_terms), re-wrapped (ef_rewrap)
 * or re-termed (ef_reterm) writes one server-log line as it ends, whether
 * it succeeds or fails: who (session and current user, database, client,
 * application, backend pid), the statement's query id and command, the
 * master key ids used with the reason given when each was unlocked, and per
 * column how many values.  Never plaintext, statement text or keys.
 * doc/audit.md describes the line.
 *
 * How a call is tied to a column.  At ExecutorStart the plan is walked for
 * calls of the audited functions (recognised by their C symbol, as
 * key_plan.c does); the first argument of each, where it is a column
 * (through the plan's child target lists, subquery scans and CTEs, so
 * through views too), names it schema.table.column, the root of a
 * partitioned table for a partition; otherwise it is "expression".  Each
 * call found becomes a binding: its FuncExpr, which the executor hands the
 * function as flinfo->fn_expr, and a counter slot in the statement's frame.
 * The per-row path (DecryptAuditCount) finds the binding (in a small cache
 * by FuncExpr, else a short scan) and bumps two counters.  Calls without a
 * binding (PL/pgSQL simple expressions, a call the walk did not see) count
 * as "expression" in the running statement.
 *
 * Statements, frames and nesting.  A frame collects the counts of one
 * top-level statement: a query run by a client, a utility command (CALL,
 * DO, FETCH, EXPLAIN ANALYZE, COPY), or a portal run by the extended
 * protocol.  Statements run inside it (PL/pgSQL, SQL functions, triggers,
 * procedures) count in the same frame, under the outer statement's query
 * id: the line says what the statement the client sent decrypted.  A frame
 * is written when its statement ends (ExecutorEnd, or the end of the
 * utility command); when it fails, at the abort of the (sub)transaction it
 * began in, with status "error" and the counts so far; and at commit,
 * where a procedure commits, so that such a procedure writes a line per
 * transaction.  Frames live in memory contexts of their own under
 * TopMemoryContext, and hold copies of every name they print, so the
 * abort callback writes them without reading the catalogs.
 *
 * Parallel workers count as the leader does (each walks the plan it was
 * given, so its calls resolve to the same names) but write no line: a
 * worker adds its frames' (op, name, count) and (key id, count) pairs, by
 * name, to the share, a counter area in the leader's hand-over segment
 * (parallel_keys.c), when each frame closes: at the worker's ExecutorEnd,
 * and at its parallel commit or abort for what a failure left open.  The
 * leader adds the share to its statement's frame (FrameAdd, FrameAddKey)
 * when the query ends, after its workers have exited: at its ExecutorEnd,
 * or at the (sub)transaction's abort, before the frame's line is written.
 * Each worker process adds its own counts once and the leader reads the
 * share once, so relaunched workers (a rescanned Gather) and several
 * Gather nodes add up without counting twice.  The share holds names and
 * counts only, no key and no data.
 *
 * Reasons.  ef_unlock(..., reason => '...') keeps the reason of each
 * unlock, by the held key's unlock sequence number, so that a rolled back
 * re-unlock brings back the earlier unlock's reason with it.
 * encrypted_field.require_reason makes it required, for some key ids or
 * all; a role is exempted with ALTER ROLE ... SET.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/decrypt_audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "audit.h"
#include "catalog/partition.h"
#include "common/hashfn.h"
#include "compat.h"
#include "decrypt_audit.h"
#include "ef_report.h"
#include "executor/executor.h"
#include "hook_chain.h"
#include "key_plan.h"
#include "keystore.h"
#include "lib/stringinfo.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include EF_QUERYJUMBLE_H
#include "parser/parsetree.h"
#include "storage/spin.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/* encrypted_field.audit */
int			ef_audit = EF_AUDIT_STATEMENT;

/* encrypted_field.require_reason, and its parsed form */
static char *ef_require_reason = NULL;

#define MAX_REQUIRED_IDS	64
typedef struct RequiredReason
{
	bool		all;
	int			n;
	int32		ids[MAX_REQUIRED_IDS];
} RequiredReason;

static RequiredReason *required_reason = NULL;

/* Distinct master keys a frame names; values under more count as other */
#define MAX_FRAME_KEYS		16

typedef struct AuditColumn
{
	EfAuditOp	op;
	const char *name;			/* interned; "" for no search domain */
	int64		count;
} AuditColumn;

typedef struct AuditKey
{
	int32		key_id;
	int64		count;
	char	   *reason;			/* the unlock's, or NULL */
} AuditKey;

/* The counts of one top-level statement */
typedef struct AuditFrame
{
	struct AuditFrame *next;
	const void *owner;			/* QueryDesc, or PlannedStmt of a utility
								 * command; NULL: no statement was running */
	SubTransactionId subid;		/* the (sub)transaction it began in */
	int64		queryid;		/* 0: not computed */
	const char *command;		/* command tag, or NULL */
	char	   *session_user;
	char	   *current_user;
	MemoryContext cxt;
	int			ncolumns;
	int			maxcolumns;
	AuditColumn *columns;
	int			nkeys;
	int			last_key;
	int64		other_keys;		/* values under keys past MAX_FRAME_KEYS */
	AuditKey	keys[MAX_FRAME_KEYS];
} AuditFrame;

/* A call of an audited function found in a plan */
typedef struct AuditBinding
{
	const Node *expr;			/* the FuncExpr: flinfo->fn_expr of its calls */
	const QueryDesc *query;		/* the query whose plan holds it */
	SubTransactionId subid;
	EfAuditOp	op;
	const char *name;			/* interned */
	AuditFrame *frame;			/* where it counts; NULL: the running one */
	int			slot;			/* its column in frame */
} AuditBinding;

/*
 * The share: the counts of a query's parallel workers, which the leader
 * adds to its line.  Plaintext names and counts only.  Values of a column
 * past SHARE_COLUMNS, or whose name is longer than SHARE_NAME_LEN - 1
 * bytes, count as "expression", never not at all.
 */
#define SHARE_MAGIC			0x45464131	/* "EFA1" */
#define SHARE_COLUMNS		64
#define SHARE_NAME_LEN		256

typedef struct ShareColumn
{
	int32		op;				/* EfAuditOp */
	int64		count;
	char		name[SHARE_NAME_LEN];
} ShareColumn;

typedef struct ShareKey
{
	int32		key_id;
	int64		count;
} ShareKey;

typedef struct AuditShare
{
	uint32		magic;
	slock_t		mutex;			/* held only to copy counts in or out */
	int32		ncolumns;
	int32		nkeys;
	int64		overflow[EF_AUDIT_RETERM + 1];	/* per op, as "expression" */
	int64		other_keys;
	ShareKey	keys[MAX_FRAME_KEYS];
	ShareColumn columns[SHARE_COLUMNS];
} AuditShare;

static AuditFrame *frames = NULL;	/* open frames */
static AuditBinding *bindings = NULL;
static int	nbindings = 0;
static int	maxbindings = 0;

/*
 * Which binding a call finds, by its FuncExpr: the newest binding of it,
 * as a scan of bindings from the end finds it.  A direct-mapped cache, so
 * that the calls of a row (ef_decrypt(a), ef_decrypt(b)) each find theirs
 * without displacing the other's; emptied when bindings are removed (their
 * indexes move), and set for a FuncExpr when a newer binding of it is made.
 */
#define BINDING_CACHE_BITS	4
typedef struct BindingCacheEntry
{
	const Node *expr;
	int			index;			/* in bindings */
} BindingCacheEntry;

static BindingCacheEntry binding_cache[1 << BINDING_CACHE_BITS];

/* the frame and slots of calls without a binding, per op */
static AuditFrame *unbound_frame = NULL;
static int	unbound_slot[EF_AUDIT_RETERM + 1];

/* executor and utility nesting, and the top-level statement running */
static int	nesting_level = 0;
static const void *running = NULL;
static int64 running_queryid = 0;
static const char *running_command = NULL;

/* in a parallel worker, the share of its leader's query, or NULL */
static AuditShare *worker_share = NULL;

/*
 * Names printed in lines, each distinct one once, so that a frame's column
 * is found by pointer: a hash table by the name's text.  Emptied when it
 * holds MAX_NAMES and no frame or binding points into it, so that a
 * session that meets ever new names (search domains folded from a custom
 * plan's parameters) does not keep them all.
 */
#define MAX_NAMES			1024
static MemoryContext names_cxt = NULL;
static HTAB *names = NULL;

/* unlock reasons by the held key's unlock sequence number */
typedef struct UnlockReason
{
	uint64		seq;
	char	   *reason;
} UnlockReason;

static UnlockReason *reasons = NULL;
static int	nreasons = 0;
static int	maxreasons = 0;


static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static const char *const op_names[] = {"", "decrypt", "search", "rewrap", "reterm"};

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------
 */

static const struct config_enum_entry audit_options[] = {
	{"off", EF_AUDIT_OFF, false},
	{"unlock", EF_AUDIT_UNLOCK, false},
	{"statement", EF_AUDIT_STATEMENT, false},
	{NULL, 0, false}
};

/* Parse encrypted_field.require_reason: off, all, or a list of key ids */
static bool
CheckRequireReason(char **newval, void **extra, GucSource source)
{
	RequiredReason parsed = {0};
	const char *p = *newval ? *newval : "";
	RequiredReason *result;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\0' || pg_strcasecmp(p, "off") == 0)
		;
	else if (pg_strcasecmp(p, "all") == 0)
		parsed.all = true;
	else
	{
		while (*p != '\0')
		{
			char	   *end;
			long		id;

			while (isspace((unsigned char) *p) || *p == ',')
				p++;
			if (*p == '\0')
				break;
			errno = 0;
			id = strtol(p, &end, 10);
			if (end == p || errno != 0 || id <= 0 || id > PG_INT32_MAX)
			{
				GUC_check_errdetail("The value is \"off\", \"all\" or a comma-separated list of positive key ids.");
				return false;
			}
			if (parsed.n >= MAX_REQUIRED_IDS)
			{
				GUC_check_errdetail("At most %d key ids can be listed; use \"all\".", MAX_REQUIRED_IDS);
				return false;
			}
			parsed.ids[parsed.n++] = (int32) id;
			p = end;
			while (isspace((unsigned char) *p))
				p++;
			if (*p != '\0' && *p != ',')
			{
				GUC_check_errdetail("The value is \"off\", \"all\" or a comma-separated list of positive key ids.");
				return false;
			}
		}
	}
#if PG_VERSION_NUM >= 160000
	result = guc_malloc(LOG, sizeof(RequiredReason));
#else
	result = malloc(sizeof(RequiredReason));
#endif
	if (result == NULL)
		return false;
	*result = parsed;
	*extra = result;
	return true;
}

/* Take the parsed encrypted_field.require_reason */
static void
AssignRequireReason(const char *newval, void *extra)
{
	required_reason = (RequiredReason *) extra;
}

/* Define encrypted_field.audit and encrypted_field.require_reason */
void
DecryptAuditDefine(void)
{
	DefineCustomEnumVariable("encrypted_field.audit",
							 gettext_noop("Which audit lines encrypted_field writes to the server log."),
							 gettext_noop("off: none; unlock: unlocks, locks and key registry changes; statement: those, and one line per statement that decrypted, searched or re-wrapped values."),
							 &ef_audit,
							 EF_AUDIT_STATEMENT,
							 audit_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("encrypted_field.require_reason",
							   gettext_noop("Master keys whose unlock must give a reason: off, all, or a list of key ids."),
							   gettext_noop("Exempt a role with ALTER ROLE ... SET encrypted_field.require_reason = off."),
							   &ef_require_reason,
							   "off",
							   PGC_SUSET, GUC_LIST_INPUT,
							   CheckRequireReason, AssignRequireReason, NULL);
}

/* ------------------------------------------------------------------------
 * Reasons
 * ------------------------------------------------------------------------
 */

/* Is the reason missing or blank? */
static bool
ReasonBlank(const char *reason)
{
	const unsigned char *p = (const unsigned char *) reason;

	if (reason == NULL)
		return true;
	while (*p)
	{
		if (isspace(*p))
			p++;
		/* UTF-8 spaces: U+00A0, U+1680, U+2000-U+200B, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF */
		else if (p[0] == 0xC2 && p[1] == 0xA0)
			p += 2;
		else if ((p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||
				 (p[0] == 0xE2 && p[1] == 0x80 && p[2] != '\0' &&
				  ((p[2] >= 0x80 && p[2] <= 0x8B) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF)) ||
				 (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
				 (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
				 (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF))
			p += 3;
		else
			return false;
	}
	return true;
}

/*
 * Read ef_unlock's reason argument: NULL if absent or null; refused if
 * longer than EF_REASON_MAX_LEN bytes
 */
char *
DecryptAuditReasonArgument(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	arg = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(arg) > EF_REASON_MAX_LEN)
		KEY_ERROR(ERRCODE_INVALID_PARAMETER_VALUE,
				  errmsg("reason must be at most %d bytes long", EF_REASON_MAX_LEN),
				  errhint("Give a short reason, such as a ticket reference."));
	return text_to_cstring(arg);
}

/* Does encrypted_field.require_reason require a reason for this key? */
static bool
ReasonRequired(int32 key_id)
{
	if (required_reason == NULL)
		return false;
	if (required_reason->all)
		return true;
	for (int i = 0; i < required_reason->n; i++)
		if (required_reason->ids[i] == key_id)
			return true;
	return false;
}

/* Refuse an unlock without a reason where one is required */
void
DecryptAuditCheckReason(int32 key_id, const char *reason)
{
	if (!ReasonRequired(key_id) || !ReasonBlank(reason))
		return;
	AuditUnlockFailed(key_id, "no reason given");
	KEY_ERROR(ERRCODE_NULL_VALUE_NOT_ALLOWED,
			  errmsg("a reason is required to unlock master key %d", key_id),
			  errdetail("The setting \"encrypted_field.require_reason\" requires a reason for this key."),
			  errhint("Pass the reason, such as a ticket reference, as the argument \"reason\" of ef_unlock()."));
}

/*
 * Keep the reason of an unlock that has just succeeded, by the held key's
 * unlock sequence number.  Reasons of unlocks no longer held in any slot are
 * dropped as the table fills.
 */
void
DecryptAuditNoteUnlock(int32 key_id, const char *reason)
{
	const HeldKey *key = KeystoreFind(key_id);
	int			kept = 0;

	if (key == NULL || ReasonBlank(reason))
		return;
	if (nreasons == maxreasons)
	{
		for (int i = 0; i < nreasons; i++)
		{
			if (KeystoreSeqHeld(reasons[i].seq))
				reasons[kept++] = reasons[i];
			else
				pfree(reasons[i].reason);
		}
		nreasons = kept;
	}
	if (nreasons == maxreasons)
	{
		maxreasons = Max(16, 2 * maxreasons);
		reasons = reasons == NULL ?
			MemoryContextAlloc(TopMemoryContext, maxreasons * sizeof(UnlockReason)) :
			repalloc(reasons, maxreasons * sizeof(UnlockReason));
	}
	reasons[nreasons].seq = key->seq;
	reasons[nreasons].reason = MemoryContextStrdup(TopMemoryContext, reason);
	nreasons++;
}

/* Return the reason of the unlock that holds this key now, or NULL */
const char *
DecryptAuditReasonOf(int32 key_id)
{
	const HeldKey *key = KeystoreFind(key_id);

	for (int i = 0; key != NULL && i < nreasons; i++)
		if (reasons[i].seq == key->seq)
			return reasons[i].reason;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------
 */

/* Hash the name a key of names points to */
static uint32
NameHash(const void *key, Size keysize)
{
	const char *name = *(const char *const *) key;

	return hash_bytes((const unsigned char *) name, (int) strlen(name));
}

/* Compare the names two keys of names point to */
static int
NameCompare(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

/* Intern a name: the one copy of its text, in names_cxt */
static const char *
InternName(const char *name)
{
	const char **entry;

	if (names != NULL && hash_get_num_entries(names) >= MAX_NAMES &&
		frames == NULL && nbindings == 0)
	{
		MemoryContextReset(names_cxt);
		names = NULL;
	}
	if (names == NULL)
	{
		HASHCTL		ctl = {0};

		if (names_cxt == NULL)
			names_cxt = AllocSetContextCreate(TopMemoryContext,
											  "encrypted_field audit names",
											  ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(const char *);
		ctl.entrysize = sizeof(const char *);
		ctl.hash = NameHash;
		ctl.match = NameCompare;
		ctl.hcxt = names_cxt;
		names = hash_create("encrypted_field audit names", 64, &ctl,
							HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}
	entry = hash_search(names, &name, HASH_FIND, NULL);
	if (entry == NULL)
	{
		/* copied first: an entry never points to the caller's text */
		const char *copy = MemoryContextStrdup(names_cxt, name);

		entry = hash_search(names, &copy, HASH_ENTER, NULL);
	}
	return *entry;
}

/* Name a role for a line, in or out of a transaction */
static char *
RoleName(Oid role, MemoryContext cxt)
{
	const char *name = NULL;

	if (IsTransactionState() && OidIsValid(role))
		name = GetUserNameFromId(role, true);
	if (name == NULL)
		name = (MyProcPort && MyProcPort->user_name) ? MyProcPort->user_name : "unknown";
	return MemoryContextStrdup(cxt, name);
}

/* Open a frame for a statement (owner NULL: none running) */
static AuditFrame *
FrameOpen(const void *owner, int64 queryid, const char *command)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext,
											  "encrypted_field audit frame",
											  ALLOCSET_SMALL_SIZES);
	AuditFrame *frame = MemoryContextAllocZero(cxt, sizeof(AuditFrame));

	frame->cxt = cxt;
	frame->owner = owner;
	frame->subid = GetCurrentSubTransactionId();
	frame->queryid = queryid;
	frame->command = command;
	frame->session_user = RoleName(GetSessionUserId(), cxt);
	frame->current_user = RoleName(GetUserId(), cxt);
	frame->last_key = -1;
	frame->next = frames;
	frames = frame;
	return frame;
}

/* The open frame of a statement, or NULL */
static AuditFrame *
FrameOf(const void *owner)
{
	for (AuditFrame *f = frames; f != NULL; f = f->next)
		if (f->owner == owner)
			return f;
	return NULL;
}

/*
 * The frame counts go to when no binding says: the running top-level
 * statement's, opened if need be; with none running (a call while a
 * statement is planned), a frame of no statement, which the next
 * statement to start takes over
 */
static AuditFrame *
CurrentFrame(void)
{
	AuditFrame *frame = FrameOf(running);

	if (frame == NULL)
		frame = FrameOpen(running, running_queryid, running_command);
	return frame;
}

/* The slot of a column in a frame, added if new */
static int
FrameSlot(AuditFrame *frame, EfAuditOp op, const char *name)
{
	for (int i = 0; i < frame->ncolumns; i++)
		if (frame->columns[i].op == op && frame->columns[i].name == name)
			return i;
	if (frame->ncolumns == frame->maxcolumns)
	{
		frame->maxcolumns = Max(8, 2 * frame->maxcolumns);
		frame->columns = frame->columns == NULL ?
			MemoryContextAlloc(frame->cxt, frame->maxcolumns * sizeof(AuditColumn)) :
			repalloc(frame->columns, frame->maxcolumns * sizeof(AuditColumn));
	}
	frame->columns[frame->ncolumns].op = op;
	frame->columns[frame->ncolumns].name = name;
	frame->columns[frame->ncolumns].count = 0;
	return frame->ncolumns++;
}

/*
 * Add counts of a column to a frame: the merge of a parallel share.  The
 * slot is found first: FrameSlot may allocate or move frame->columns, which
 * an index expression could read before the call (a frame that counted
 * nothing yet has none, when only the workers' nested queries decrypted).
 */
static void
FrameAdd(AuditFrame *frame, EfAuditOp op, const char *name, int64 count)
{
	int			slot = FrameSlot(frame, op, InternName(name));

	frame->columns[slot].count += count;
}

/* Count values under a master key in a frame, noting its unlock's reason */
static void
FrameAddKey(AuditFrame *frame, int32 key_id, int64 count)
{
	AuditKey   *key;
	const char *reason;

	if (frame->last_key >= 0 && frame->keys[frame->last_key].key_id == key_id)
	{
		frame->keys[frame->last_key].count += count;
		return;
	}
	for (int i = 0; i < frame->nkeys; i++)
		if (frame->keys[i].key_id == key_id)
		{
			frame->last_key = i;
			frame->keys[i].count += count;
			return;
		}
	if (frame->nkeys == MAX_FRAME_KEYS)
	{
		frame->other_keys += count;
		return;
	}
	key = &frame->keys[frame->nkeys];
	key->key_id = key_id;
	key->count = count;
	reason = DecryptAuditReasonOf(key_id);
	key->reason = reason ? MemoryContextStrdup(frame->cxt, reason) : NULL;
	frame->last_key = frame->nkeys++;
}

/* Append a string to a JSON text, quoted; NULL as null */
void
DecryptAuditAppendJsonString(StringInfo buf, const char *str)
{
	if (str == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, str);
}

/* Write a frame's line, if it counted anything */
static void
FrameWrite(AuditFrame *frame, const char *status)
{
	StringInfoData buf;
	bool		any = false;
	bool		first;

	for (int i = 0; i < frame->ncolumns; i++)
		any |= frame->columns[i].count > 0;
	if (!any || ef_audit != EF_AUDIT_STATEMENT || IsParallelWorker())
		return;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\":\"statement\",\"status\":\"%s\",\"command\":", status);
	DecryptAuditAppendJsonString(&buf, frame->command);
	if (frame->queryid != 0)
		appendStringInfo(&buf, ",\"queryid\":" INT64_FORMAT, frame->queryid);
	else
		appendStringInfoString(&buf, ",\"queryid\":null");
	appendStringInfoString(&buf, ",\"session_user\":");
	DecryptAuditAppendJsonString(&buf, frame->session_user);
	appendStringInfoString(&buf, ",\"current_user\":");
	DecryptAuditAppendJsonString(&buf, frame->current_user);
	appendStringInfoString(&buf, ",\"database\":");
	DecryptAuditAppendJsonString(&buf, (MyProcPort && MyProcPort->database_name) ?
								 MyProcPort->database_name : NULL);
	appendStringInfoString(&buf, ",\"client\":");
	DecryptAuditAppendJsonString(&buf, (MyProcPort && MyProcPort->remote_host) ?
								 MyProcPort->remote_host : "local");
	appendStringInfoString(&buf, ",\"application\":");
	DecryptAuditAppendJsonString(&buf, application_name ? application_name : "");
	appendStringInfo(&buf, ",\"backend_pid\":%d,\"keys\":[", MyProcPid);
	for (int i = 0; i < frame->nkeys; i++)
	{
		appendStringInfo(&buf, "%s{\"key_id\":%d,\"reason\":", i ? "," : "",
						 frame->keys[i].key_id);
		DecryptAuditAppendJsonString(&buf, frame->keys[i].reason);
		appendStringInfo(&buf, ",\"values\":" INT64_FORMAT "}", frame->keys[i].count);
	}
	if (frame->other_keys > 0)
		appendStringInfo(&buf, "%s{\"key_id\":null,\"reason\":null,\"values\":" INT64_FORMAT "}",
						 frame->nkeys ? "," : "", frame->other_keys);
	appendStringInfoString(&buf, "],\"columns\":[");
	first = true;
	for (int i = 0; i < frame->ncolumns; i++)
	{
		AuditColumn *c = &frame->columns[i];

		if (c->count == 0 || c->op == EF_AUDIT_SEARCH)
			continue;
		appendStringInfo(&buf, "%s{\"op\":\"%s\",\"column\":", first ? "" : ",",
						 op_names[c->op]);
		DecryptAuditAppendJsonString(&buf, c->name);
		appendStringInfo(&buf, ",\"values\":" INT64_FORMAT "}", c->count);
		first = false;
	}
	appendStringInfoString(&buf, "],\"searches\":[");
	first = true;
	for (int i = 0; i < frame->ncolumns; i++)
	{
		AuditColumn *c = &frame->columns[i];

		if (c->count == 0 || c->op != EF_AUDIT_SEARCH)
			continue;
		appendStringInfoString(&buf, first ? "{\"domain\":" : ",{\"domain\":");
		DecryptAuditAppendJsonString(&buf, c->name[0] ? c->name : NULL);
		appendStringInfo(&buf, ",\"probes\":" INT64_FORMAT "}", c->count);
		first = false;
	}
	appendStringInfoString(&buf, "]}");

	ereport(LOG_SERVER_ONLY,
			(errmsg_internal("encrypted_field audit: %s", buf.data),
			 errhidestmt(true), errhidecontext(true)));
}

/*
 * In a parallel worker, add a frame's counts to the leader's share, by
 * name.  Nothing in here can fail: the lock is a spinlock.
 */
static void
ShareAddFrame(AuditFrame *frame)
{
	AuditShare *share = worker_share;

	if (share == NULL)
		return;
	SpinLockAcquire(&share->mutex);
	for (int i = 0; i < frame->ncolumns; i++)
	{
		AuditColumn *c = &frame->columns[i];
		int			j;

		if (c->count == 0)
			continue;
		for (j = 0; j < share->ncolumns; j++)
			if (share->columns[j].op == (int32) c->op &&
				strcmp(share->columns[j].name, c->name) == 0)
				break;
		if (j == share->ncolumns && j < SHARE_COLUMNS &&
			strlen(c->name) < SHARE_NAME_LEN)
		{
			share->columns[j].op = (int32) c->op;
			share->columns[j].count = 0;
			strlcpy(share->columns[j].name, c->name, SHARE_NAME_LEN);
			share->ncolumns++;
		}
		if (j < share->ncolumns)
			share->columns[j].count += c->count;
		else
			share->overflow[c->op] += c->count;
	}
	for (int i = 0; i < frame->nkeys; i++)
	{
		int			j;

		for (j = 0; j < share->nkeys; j++)
			if (share->keys[j].key_id == frame->keys[i].key_id)
				break;
		if (j == share->nkeys && j < MAX_FRAME_KEYS)
		{
			share->keys[j].key_id = frame->keys[i].key_id;
			share->keys[j].count = 0;
			share->nkeys++;
		}
		if (j < share->nkeys)
			share->keys[j].count += frame->keys[i].count;
		else
			share->other_keys += frame->keys[i].count;
	}
	share->other_keys += frame->other_keys;
	SpinLockRelease(&share->mutex);
}

/* Write a frame's line and close it */
static void
FrameClose(AuditFrame *frame, const char *status)
{
	AuditFrame **link;
	MemoryContext old = MemoryContextSwitchTo(frame->cxt);

	for (link = &frames; *link != NULL; link = &(*link)->next)
		if (*link == frame)
		{
			*link = frame->next;
			break;
		}
	/*
	 * Unlinked before it is written: an error writing it (out of memory)
	 * leaves no frame behind to write again, only its memory
	 */
	for (int i = 0; i < nbindings; i++)
		if (bindings[i].frame == frame)
			bindings[i].frame = NULL;
	if (unbound_frame == frame)
		unbound_frame = NULL;
	if (IsParallelWorker())
		ShareAddFrame(frame);	/* a worker's counts go to its leader's line */
	else
		FrameWrite(frame, status);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(frame->cxt);
}

/* Close every open frame that began in a (sub)transaction (0: any) */
static void
FramesCloseOf(SubTransactionId subid, const char *status)
{
	AuditFrame *f = frames;

	while (f != NULL)
	{
		AuditFrame *next = f->next;

		if (subid == InvalidSubTransactionId || f->subid == subid)
			FrameClose(f, status);
		f = next;
	}
}

/* ------------------------------------------------------------------------
 * The per-row path
 * ------------------------------------------------------------------------
 */

/* The binding cache's entry for a FuncExpr (Fibonacci hashing) */
static inline BindingCacheEntry *
BindingCacheEntryOf(const Node *expr)
{
	uint64		h = (uint64) (uintptr_t) expr * UINT64CONST(0x9E3779B97F4A7C15);

	return &binding_cache[h >> (64 - BINDING_CACHE_BITS)];
}

/* Forget every cached binding index, as bindings are removed */
static void
BindingCacheReset(void)
{
	memset(binding_cache, 0, sizeof(binding_cache));
}

/* The newest binding of a call, or NULL */
static inline AuditBinding *
FindBinding(const Node *expr)
{
	BindingCacheEntry *c;

	if (expr == NULL)
		return NULL;
	c = BindingCacheEntryOf(expr);
	if (c->expr == expr && c->index < nbindings && bindings[c->index].expr == expr)
		return &bindings[c->index];
	for (int i = nbindings - 1; i >= 0; i--)
		if (bindings[i].expr == expr)
		{
			c->expr = expr;
			c->index = i;
			return &bindings[i];
		}
	return NULL;
}

/*
 * Count one value handled by an audited function: its binding's counter in
 * its frame, else the running statement's "expression" counter; and its
 * master key's (key_id 0: none, a search)
 */
void
DecryptAuditCount(FmgrInfo *flinfo, EfAuditOp op, int32 key_id)
{
	AuditBinding *b = FindBinding(flinfo->fn_expr);
	AuditFrame *frame;
	int			slot;

	if (b != NULL && b->op == op)
	{
		if (b->frame == NULL)
		{
			b->frame = CurrentFrame();
			b->slot = FrameSlot(b->frame, op, b->name);
		}
		frame = b->frame;
		slot = b->slot;
	}
	else
	{
		if (unbound_frame == NULL || FrameOf(running) != unbound_frame)
		{
			unbound_frame = CurrentFrame();
			for (int i = 0; i <= EF_AUDIT_RETERM; i++)
				unbound_slot[i] = -1;
		}
		frame = unbound_frame;
		if (unbound_slot[op] < 0)
			unbound_slot[op] = FrameSlot(frame, op, InternName("expression"));
		slot = unbound_slot[op];
	}
	frame->columns[slot].count++;
	if (key_id != 0)
		FrameAddKey(frame, key_id, 1);
}

/* ------------------------------------------------------------------------
 * Finding the calls in a plan
 * ------------------------------------------------------------------------
 */

/* Which audited function is this, if any: its EfAuditOp, or 0 */
static int
AuditedFunction(Oid funcid)
{
	switch (KeyPlanFunction(funcid))
	{
		case EF_FUNCTION_DECRYPT:
			return EF_AUDIT_DECRYPT;
		case EF_FUNCTION_TERM:
		case EF_FUNCTION_TERMS:
			return EF_AUDIT_SEARCH;
		case EF_FUNCTION_REWRAP:
			return EF_AUDIT_REWRAP;
		case EF_FUNCTION_RETERM:
			return EF_AUDIT_RETERM;
		default:
			return 0;
	}
}

typedef struct WalkContext
{
	QueryDesc  *query;
	PlannedStmt *pstmt;
	Plan	   *plan;			/* the plan node whose expressions these are */
	AuditFrame *frame;			/* opened at the first call found */
	const void *frame_owner;
	int64		queryid;		/* of the frame's statement */
	const char *command;
} WalkContext;

static char *ResolveColumn(Expr *expr, Plan *plan, PlannedStmt *pstmt, int depth);

/*
 * Name the column an output of an Append or MergeAppend comes from: the
 * one every child's comes from (the partitions of one table, which name
 * their root), else NULL (a UNION ALL of different columns)
 */
static char *
ResolveAppended(List *children, AttrNumber attno, PlannedStmt *pstmt, int depth)
{
	ListCell   *lc;
	char	   *name = NULL;

	foreach(lc, children)
	{
		Plan	   *child = (Plan *) lfirst(lc);
		TargetEntry *tle = get_tle_by_resno(child->targetlist, attno);
		char	   *each = tle ? ResolveColumn(tle->expr, child, pstmt, depth + 1) : NULL;

		if (each == NULL || (name != NULL && strcmp(name, each) != 0))
			return NULL;
		name = each;
	}
	return name;
}

/* Name a column of a table: schema.table.column, a partition's root's */
static char *
ColumnName(Oid relid, AttrNumber attno)
{
	char	   *attname = get_attname(relid, attno, true);
	Oid			root = relid;

	if (attname == NULL)
		return NULL;
	if (get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);

		if (ancestors != NIL)
			root = llast_oid(ancestors);
	}
	if (get_rel_name(root) == NULL)
		return NULL;
	return psprintf("%s.%s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(root)),
											   get_rel_name(root)),
					quote_identifier(attname));
}

/*
 * Name the column an expression of a plan node comes straight from, or
 * return NULL: through the target lists of child plans, subquery scans and
 * CTEs, to a table's column
 */
static char *
ResolveColumn(Expr *expr, Plan *plan, PlannedStmt *pstmt, int depth)
{
	Var		   *var;
	RangeTblEntry *rte;
	TargetEntry *tle;
	Plan	   *child = NULL;

	while (expr != NULL && IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	if (expr == NULL || !IsA(expr, Var) || plan == NULL || depth > 64)
		return NULL;
	var = (Var *) expr;
	if (var->varlevelsup != 0 || var->varattno <= 0)
		return NULL;

	if (var->varno == OUTER_VAR && IsA(plan, Append))
		return ResolveAppended(((Append *) plan)->appendplans, var->varattno, pstmt, depth);
	if (var->varno == OUTER_VAR && IsA(plan, MergeAppend))
		return ResolveAppended(((MergeAppend *) plan)->mergeplans, var->varattno, pstmt, depth);
	if (var->varno == OUTER_VAR)
		child = plan->lefttree;
	else if (var->varno == INNER_VAR)
		child = plan->righttree;
	else if (var->varno == INDEX_VAR)
	{
		if (!IsA(plan, IndexOnlyScan))
			return NULL;
		tle = get_tle_by_resno(((IndexOnlyScan *) plan)->indextlist, var->varattno);
		if (tle == NULL || !IsA(tle->expr, Var))
			return NULL;
		var = (Var *) tle->expr;
		if (var->varattno <= 0 || var->varno <= 0 ||
			var->varno > list_length(pstmt->rtable))
			return NULL;
		rte = rt_fetch(var->varno, pstmt->rtable);
		return rte->rtekind == RTE_RELATION ? ColumnName(rte->relid, var->varattno) : NULL;
	}
	if (child != NULL)
	{
		tle = get_tle_by_resno(child->targetlist, var->varattno);
		return tle ? ResolveColumn(tle->expr, child, pstmt, depth + 1) : NULL;
	}
	if (var->varno <= 0 || var->varno > list_length(pstmt->rtable))
		return NULL;

	if (IsA(plan, SubqueryScan))
	{
		Plan	   *sub = ((SubqueryScan *) plan)->subplan;

		tle = get_tle_by_resno(sub->targetlist, var->varattno);
		return tle ? ResolveColumn(tle->expr, sub, pstmt, depth + 1) : NULL;
	}
	if (IsA(plan, CteScan))
	{
		int			id = ((CteScan *) plan)->ctePlanId;
		Plan	   *sub = (id >= 1 && id <= list_length(pstmt->subplans)) ?
			list_nth(pstmt->subplans, id - 1) : NULL;

		tle = sub ? get_tle_by_resno(sub->targetlist, var->varattno) : NULL;
		return tle ? ResolveColumn(tle->expr, sub, pstmt, depth + 1) : NULL;
	}
	rte = rt_fetch(var->varno, pstmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return NULL;
	return ColumnName(rte->relid, var->varattno);
}

/* The search domain a call of ef_term or ef_terms names, if a constant */
static const char *
SearchDomain(FuncExpr *call)
{
	Node	   *arg = list_length(call->args) > 1 ? lsecond(call->args) : NULL;

	if (arg == NULL)
		return "";
	while (IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (!IsA(arg, Const))
		return "expression";
	if (((Const *) arg)->constisnull)
		return "";
	return TextDatumGetCString(((Const *) arg)->constvalue);
}

/* Bind a call found in a plan to a counter of a frame */
static void
Bind(FuncExpr *call, EfAuditOp op, WalkContext *ctx)
{
	const char *name;
	AuditBinding *b;
	BindingCacheEntry *cached;

	if (op == EF_AUDIT_SEARCH)
		name = SearchDomain(call);
	else
		name = ResolveColumn(linitial(call->args), ctx->plan, ctx->pstmt, 0);
	name = InternName(name ? name : "expression");

	if (ctx->frame == NULL)
	{
		ctx->frame = FrameOf(ctx->frame_owner);
		if (ctx->frame == NULL)
		{
			/* a frame of no statement, opened while this one was planned */
			ctx->frame = FrameOf(NULL);
			if (ctx->frame != NULL && ctx->frame_owner != NULL)
			{
				ctx->frame->owner = ctx->frame_owner;
				ctx->frame->queryid = ctx->queryid;
				ctx->frame->command = ctx->command;
			}
			else
				ctx->frame = FrameOpen(ctx->frame_owner, ctx->queryid, ctx->command);
		}
	}
	if (nbindings == maxbindings)
	{
		maxbindings = Max(16, 2 * maxbindings);
		bindings = bindings == NULL ?
			MemoryContextAlloc(TopMemoryContext, maxbindings * sizeof(AuditBinding)) :
			repalloc(bindings, maxbindings * sizeof(AuditBinding));
	}
	b = &bindings[nbindings++];
	b->expr = (Node *) call;
	b->query = ctx->query;
	b->subid = GetCurrentSubTransactionId();
	b->op = op;
	b->name = name;
	b->frame = ctx->frame;
	b->slot = FrameSlot(ctx->frame, op, name);
	/* the newest binding of the call is the one its calls find */
	cached = BindingCacheEntryOf(b->expr);
	cached->expr = b->expr;
	cached->index = nbindings - 1;
}

/* Find the audited calls in an expression of a plan node */
static bool
FindCalls(Node *node, WalkContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *call = (FuncExpr *) node;
		int			op = AuditedFunction(call->funcid);

		if (op != 0 && call->args != NIL)
			Bind(call, (EfAuditOp) op, ctx);
	}
	return expression_tree_walker(node, FindCalls, ctx);
}

static void WalkPlan(Plan *plan, WalkContext *ctx);

/* Find the audited calls in a list of plans */
static void
WalkPlans(List *plans, WalkContext *ctx)
{
	ListCell   *lc;

	foreach(lc, plans)
		WalkPlan((Plan *) lfirst(lc), ctx);
}

/* Find the audited calls in the expressions of a plan node and below */
static void
WalkPlan(Plan *plan, WalkContext *ctx)
{
	Node	   *exprs[6] = {0};

	if (plan == NULL)
		return;
	check_stack_depth();
	ctx->plan = plan;
	FindCalls((Node *) plan->targetlist, ctx);
	FindCalls((Node *) plan->qual, ctx);
	switch (nodeTag(plan))
	{
		case T_Result:
			exprs[0] = ((Result *) plan)->resconstantqual;
			break;
		case T_ModifyTable:
			exprs[0] = (Node *) ((ModifyTable *) plan)->returningLists;
			exprs[1] = (Node *) ((ModifyTable *) plan)->onConflictSet;
			exprs[2] = ((ModifyTable *) plan)->onConflictWhere;
			exprs[3] = (Node *) ((ModifyTable *) plan)->mergeActionLists;
			break;
		case T_IndexScan:
			exprs[0] = (Node *) ((IndexScan *) plan)->indexqual;
			exprs[1] = (Node *) ((IndexScan *) plan)->indexqualorig;
			exprs[2] = (Node *) ((IndexScan *) plan)->indexorderby;
			exprs[3] = (Node *) ((IndexScan *) plan)->indexorderbyorig;
			break;
		case T_IndexOnlyScan:
			exprs[0] = (Node *) ((IndexOnlyScan *) plan)->indexqual;
			exprs[1] = (Node *) ((IndexOnlyScan *) plan)->recheckqual;
			exprs[2] = (Node *) ((IndexOnlyScan *) plan)->indexorderby;
			break;
		case T_BitmapIndexScan:
			exprs[0] = (Node *) ((BitmapIndexScan *) plan)->indexqual;
			exprs[1] = (Node *) ((BitmapIndexScan *) plan)->indexqualorig;
			break;
		case T_BitmapHeapScan:
			exprs[0] = (Node *) ((BitmapHeapScan *) plan)->bitmapqualorig;
			break;
		case T_TidScan:
			exprs[0] = (Node *) ((TidScan *) plan)->tidquals;
			break;
		case T_TidRangeScan:
			exprs[0] = (Node *) ((TidRangeScan *) plan)->tidrangequals;
			break;
		case T_FunctionScan:
			exprs[0] = (Node *) ((FunctionScan *) plan)->functions;
			break;
		case T_ValuesScan:
			exprs[0] = (Node *) ((ValuesScan *) plan)->values_lists;
			break;
		case T_ForeignScan:
			exprs[0] = (Node *) ((ForeignScan *) plan)->fdw_exprs;
			break;
		case T_CustomScan:
			exprs[0] = (Node *) ((CustomScan *) plan)->custom_exprs;
			break;
		case T_NestLoop:
			exprs[0] = (Node *) ((Join *) plan)->joinqual;
			break;
		case T_MergeJoin:
			exprs[0] = (Node *) ((Join *) plan)->joinqual;
			exprs[1] = (Node *) ((MergeJoin *) plan)->mergeclauses;
			break;
		case T_HashJoin:
			exprs[0] = (Node *) ((Join *) plan)->joinqual;
			exprs[1] = (Node *) ((HashJoin *) plan)->hashclauses;
			exprs[2] = (Node *) ((HashJoin *) plan)->hashkeys;
			break;
		case T_Hash:
			exprs[0] = (Node *) ((Hash *) plan)->hashkeys;
			break;
		case T_Memoize:
			exprs[0] = (Node *) ((Memoize *) plan)->param_exprs;
			break;
		case T_WindowAgg:
			exprs[0] = ((WindowAgg *) plan)->startOffset;
			exprs[1] = ((WindowAgg *) plan)->endOffset;
			exprs[2] = (Node *) ((WindowAgg *) plan)->runCondition;
			break;
		case T_Limit:
			exprs[0] = ((Limit *) plan)->limitOffset;
			exprs[1] = ((Limit *) plan)->limitCount;
			break;
		default:
			break;
	}
	for (size_t i = 0; i < lengthof(exprs); i++)
	{
		ctx->plan = plan;
		FindCalls(exprs[i], ctx);
	}
	switch (nodeTag(plan))
	{
		case T_SubqueryScan:
			WalkPlan(((SubqueryScan *) plan)->subplan, ctx);
			break;
		case T_Append:
			WalkPlans(((Append *) plan)->appendplans, ctx);
			break;
		case T_MergeAppend:
			WalkPlans(((MergeAppend *) plan)->mergeplans, ctx);
			break;
		case T_BitmapAnd:
			WalkPlans(((BitmapAnd *) plan)->bitmapplans, ctx);
			break;
		case T_BitmapOr:
			WalkPlans(((BitmapOr *) plan)->bitmapplans, ctx);
			break;
		case T_CustomScan:
			WalkPlans(((CustomScan *) plan)->custom_plans, ctx);
			break;
		default:
			break;
	}
	WalkPlan(plan->lefttree, ctx);
	WalkPlan(plan->righttree, ctx);
}

/* Forget the bindings of a query that has ended */
static void
Unbind(const QueryDesc *query)
{
	int			kept = 0;

	for (int i = 0; i < nbindings; i++)
		if (bindings[i].query != query)
			bindings[kept++] = bindings[i];
	nbindings = kept;
	BindingCacheReset();
}

/* Forget the bindings of the queries of an aborted (sub)transaction (0: all) */
static void
UnbindOf(SubTransactionId subid)
{
	int			kept = 0;

	for (int i = 0; i < nbindings; i++)
		if (subid != InvalidSubTransactionId && bindings[i].subid != subid)
			bindings[kept++] = bindings[i];
	nbindings = kept;
	BindingCacheReset();
}

/* ------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------
 */

/* Note a top-level statement running, for the frame its calls count in */
#define ENTER_TOP(owner, queryid, command) \
	const void *save_running = running; \
	int64		save_queryid = running_queryid; \
	const char *save_command = running_command; \
	if (nesting_level == 0) \
	{ \
		running = (owner); \
		running_queryid = (queryid); \
		running_command = (command); \
	}
#define LEAVE_TOP() \
	do { \
		running = save_running; \
		running_queryid = save_queryid; \
		running_command = save_command; \
	} while (0)

/* The command tag of a planned query */
static const char *
QueryCommand(QueryDesc *queryDesc)
{
	return GetCommandTagName(CreateCommandTag((Node *) queryDesc->plannedstmt));
}

/* Start a query, and bind the audited calls in its plan */
static void
DecryptAuditExecutorStart(QueryDesc *queryDesc, int eflags)
{
	WalkContext ctx = {0};
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	bool		top = nesting_level == 0;

	EfNextExecutorStart(prev_ExecutorStart, queryDesc, eflags);

	if (ef_audit != EF_AUDIT_STATEMENT || (eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;

	/*
	 * The walk reads the catalogs, so it can fail (a lock wait cancelled,
	 * out of memory): it takes the statement from ctx and sets no global,
	 * which a failure would leave set for the statements after it
	 */
	ctx.query = queryDesc;
	ctx.pstmt = pstmt;
	if (top)
	{
		/* a top-level query has a frame of its own */
		ctx.frame_owner = queryDesc;
		ctx.queryid = (int64) pstmt->queryId;
		ctx.command = QueryCommand(queryDesc);
	}
	else
	{
		/* a nested one counts in the running statement's */
		ctx.frame_owner = running;
		ctx.queryid = running_queryid;
		ctx.command = running_command;
	}
	WalkPlan(pstmt->planTree, &ctx);
	WalkPlans(pstmt->subplans, &ctx);
}

/* Run a query, its calls counting in its top-level statement's frame */
static void
DecryptAuditExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
						uint64 count EF_EXECUTE_ONCE_PARAM)
{
	ENTER_TOP(queryDesc, (int64) queryDesc->plannedstmt->queryId,
			  QueryCommand(queryDesc));
	nesting_level++;
	PG_TRY();
	{
		EfNextExecutorRun(prev_ExecutorRun, queryDesc, direction, count EF_EXECUTE_ONCE_ARG);
	}
	PG_FINALLY();
	{
		nesting_level--;
		LEAVE_TOP();
	}
	PG_END_TRY();
}

/* Finish a query (AFTER triggers), as ExecutorRun */
static void
DecryptAuditExecutorFinish(QueryDesc *queryDesc)
{
	ENTER_TOP(queryDesc, (int64) queryDesc->plannedstmt->queryId,
			  QueryCommand(queryDesc));
	nesting_level++;
	PG_TRY();
	{
		EfNextExecutorFinish(prev_ExecutorFinish, queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
		LEAVE_TOP();
	}
	PG_END_TRY();
}

/* End a query: forget its bindings, and write its frame if it has one */
static void
DecryptAuditExecutorEnd(QueryDesc *queryDesc)
{
	AuditFrame *frame;

	EfNextExecutorEnd(prev_ExecutorEnd, queryDesc);
	Unbind(queryDesc);
	frame = FrameOf(queryDesc);
	if (frame != NULL)
		FrameClose(frame, "ok");
}

/*
 * Run a utility command: at top level, its nested statements and calls
 * count in its frame, written when it ends
 */
static void
DecryptAuditProcessUtility(PlannedStmt *pstmt, const char *queryString,
						   bool readOnlyTree, ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	bool		top = nesting_level == 0;
	AuditFrame *frame;

	ENTER_TOP(pstmt, (int64) pstmt->queryId,
			  GetCommandTagName(CreateCommandTag(pstmt->utilityStmt)));
	nesting_level++;
	PG_TRY();
	{
		EfNextProcessUtility(prev_ProcessUtility, pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
		LEAVE_TOP();
	}
	PG_END_TRY();

	if (top && (frame = FrameOf(pstmt)) != NULL)
		FrameClose(frame, "ok");
}

/*
 * Write the frames of a transaction as it ends: at abort, those of failed
 * statements, with the counts so far; at commit, those a procedure's
 * statement had open when it committed.  At abort the queries' bindings go.
 */
static void
DecryptAuditXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			FramesCloseOf(InvalidSubTransactionId, "error");
			UnbindOf(InvalidSubTransactionId);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			FramesCloseOf(InvalidSubTransactionId, "ok");
			break;
		default:
			break;
	}
}

/*
 * At a subtransaction's abort, write the frames of the statements that began
 * in it and forget its queries' bindings; at its commit, hand them up
 */
static void
DecryptAuditSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		FramesCloseOf(mySubid, "error");
		UnbindOf(mySubid);
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (AuditFrame *f = frames; f != NULL; f = f->next)
			if (f->subid == mySubid)
				f->subid = parentSubid;
		for (int i = 0; i < nbindings; i++)
			if (bindings[i].subid == mySubid)
				bindings[i].subid = parentSubid;
	}
}

/* Install the hooks; ask for query ids (compute_query_id = auto) */
void
DecryptAuditInstallHooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = DecryptAuditExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = DecryptAuditExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = DecryptAuditExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = DecryptAuditExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = DecryptAuditProcessUtility;
	RegisterXactCallback(DecryptAuditXactCallback, NULL);
	RegisterSubXactCallback(DecryptAuditSubXactCallback, NULL);
	EnableQueryId();
}

/* ------------------------------------------------------------------------
 * Parallel workers' counts (the share)
 * ------------------------------------------------------------------------
 */

/* The size of a share, for the leader's hand-over segment */
Size
DecryptAuditShareSize(void)
{
	return sizeof(AuditShare);
}

/* Make an empty share, in the leader */
void
DecryptAuditShareInit(void *share)
{
	AuditShare *s = (AuditShare *) share;

	memset(s, 0, sizeof(AuditShare));
	SpinLockInit(&s->mutex);
	s->magic = SHARE_MAGIC;
}

/* In a worker, add its counts to this share from now on (NULL: none) */
void
DecryptAuditShareAttach(void *share)
{
	AuditShare *s = (AuditShare *) share;

	worker_share = (s != NULL && s->magic == SHARE_MAGIC) ? s : NULL;
}

/*
 * In a worker whose part of the query ends (its parallel commit or abort),
 * add what its open frames counted to the share, and let go of the share
 * before its segment is detached.  A failed worker's counts so far get
 * there this way.
 */
void
DecryptAuditWorkerEnd(void)
{
	FramesCloseOf(InvalidSubTransactionId, "");
	UnbindOf(InvalidSubTransactionId);
	worker_share = NULL;
}

/*
 * In the leader, once the query's workers have exited, add their counts in
 * the share to the frame the query's calls count in, and empty the share.
 * query_ended: the query is at its ExecutorEnd, so queryDesc can be read;
 * else the (sub)transaction aborts, and the frame is found by pointer only.
 */
void
DecryptAuditShareMerge(void *share, QueryDesc *queryDesc, bool query_ended)
{
	AuditShare *s = (AuditShare *) share;
	AuditShare *copy;
	AuditFrame *frame = NULL;
	bool		any = false;

	if (s == NULL || s->magic != SHARE_MAGIC)
		return;
	copy = palloc(sizeof(AuditShare));
	SpinLockAcquire(&s->mutex);
	memcpy(copy, s, sizeof(AuditShare));
	s->ncolumns = 0;
	s->nkeys = 0;
	memset(s->overflow, 0, sizeof(s->overflow));
	s->other_keys = 0;
	SpinLockRelease(&s->mutex);

	for (int i = 0; i < copy->ncolumns; i++)
		any |= copy->columns[i].count > 0;
	for (int op = 0; op <= EF_AUDIT_RETERM; op++)
		any |= copy->overflow[op] > 0;
	if (!any)
	{
		pfree(copy);
		return;
	}

	/* the frame the leader's bindings of this query count in */
	for (int i = 0; i < nbindings && frame == NULL; i++)
		if (bindings[i].query == queryDesc && bindings[i].frame != NULL)
			frame = bindings[i].frame;
	if (frame == NULL)
		frame = FrameOf(queryDesc);
	if (frame == NULL && query_ended && nesting_level == 0)
		frame = FrameOpen(queryDesc, (int64) queryDesc->plannedstmt->queryId,
						  QueryCommand(queryDesc));
	if (frame == NULL)
		frame = CurrentFrame();

	for (int i = 0; i < copy->ncolumns; i++)
		if (copy->columns[i].count > 0 &&
			copy->columns[i].op >= EF_AUDIT_DECRYPT && copy->columns[i].op <= EF_AUDIT_RETERM)
		{
			copy->columns[i].name[SHARE_NAME_LEN - 1] = '\0';
			FrameAdd(frame, (EfAuditOp) copy->columns[i].op, copy->columns[i].name,
					 copy->columns[i].count);
		}
	for (int op = EF_AUDIT_DECRYPT; op <= EF_AUDIT_RETERM; op++)
		if (copy->overflow[op] > 0)
			FrameAdd(frame, (EfAuditOp) op, "expression", copy->overflow[op]);
	for (int i = 0; i < copy->nkeys && i < MAX_FRAME_KEYS; i++)
		if (copy->keys[i].count > 0)
			FrameAddKey(frame, copy->keys[i].key_id, copy->keys[i].count);
	frame->other_keys += copy->other_keys;
	pfree(copy);
}

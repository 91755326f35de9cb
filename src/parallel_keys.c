/*-------------------------------------------------------------------------
 *
 * parallel_keys.c
 *		Hand the keys a leader holds to the parallel workers of its query
 *
 * Parallel workers are processes of their own, started from the
 * postmaster: they hold no key, and PostgreSQL has no hook through which an
 * extension adds to what it copies into them.  It does copy every setting
 * that is not at its default (SerializeGUCState), into the parallel
 * context's own dynamic shared memory, which only the workers of that
 * query attach.  So, when a query whose plan may run in parallel starts
 * (ExecutorStart) in a backend that holds keys:
 *
 * 1. the leader seals a copy of its held key slots (the key-wrapping keys,
 *	  the index keys, their ids, roles and groups) with AES-256-GCM under a
 *	  fresh random 32-byte secret, into a dynamic shared memory segment of
 *	  its own, whose mapping it keeps until the query ends;
 * 2. it sets encrypted_field.parallel_keys, for the rest of the
 *	  transaction at most (SET LOCAL), to the segment's handle and the
 *	  secret in base64: the workers the query starts receive that value with the
 *	  other settings;
 * 3. a worker's assign hook moves the value into locked pages and wipes
 *	  the setting's text; the worker's ExecutorStart attaches the segment,
 *	  opens it, holds the keys as the leader held them, wipes the opened
 *	  copy and detaches;
 * 4. at the end of its part of the query (its parallel commit or abort),
 *	  the worker forgets every key, zeroed, before it exits;
 * 5. at ExecutorEnd, or on abort, the leader wipes the segment and the
 *	  setting's text in place and detaches.
 *
 * The segment also carries, after the sealed keys, the decrypt audit's
 * share (decrypt_audit.c): a counter area, plaintext names and counts only,
 * where the workers add what they decrypted so that it reaches the
 * leader's audit line.  So a worker keeps its mapping (not the keys) until
 * the end of its part of the query, when it adds its last counts and
 * detaches; the leader adds the share to its line after its workers have
 * exited (after the executor has ended, or in the abort, which waits for
 * them first) and only then wipes the segment.
 *
 * Every parallel plan of a key-holding backend gets the keys, even one
 * that calls no function of this extension: a plan cannot show all the
 * code its workers run.  A domain's CHECK runs in domain_in, reached
 * through array_in, record_in or jsonb_populate_record with no trace in
 * the plan, and the executor calls an operator class's support functions
 * (a user's, that decrypts) for sorts, window functions and range types
 * the same way.  Handing over only to plans that record a non-built-in
 * function (PlannedStmt.invalItems) failed those queries in the workers;
 * test/parallel.sql runs them.  A hand-over is reported at DEBUG1, without
 * the handle or the secret.
 *
 * Parallel index builds (CREATE INDEX, REINDEX) start workers without an
 * ExecutorStart: they receive no key, so an index expression that needs
 * one fails in them, and they have nothing to count.
 *
 * The handle alone opens nothing: the segment holds only ciphertext (it
 * lives in /dev/shm, which may be swapped and is readable by the server's
 * OS account, like any shared memory; with dynamic_shared_memory_type =
 * mmap, in a file under pg_dynshmem/ in the data directory, as does the
 * parallel context's copy of the settings with the secret: see
 * doc/security.md).  The setting is refused to SET, ALTER ROLE and files,
 * hidden from SHOW ALL and pg_settings, shows as empty to SHOW and
 * current_setting(), and is never written to the log: its check
 * hook never fails for the values the extension gives it, so no "invalid
 * value" error can quote it.  A leader that holds no key hands nothing, and
 * its workers raise the errors the leader would.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/parallel_keys.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "compat.h"
#include "crypto.h"
#include "decrypt_audit.h"
#include "ef_report.h"
#include "executor/executor.h"
#include "hook_chain.h"
#include "keystore.h"
#include "lockedmem.h"
#include "miscadmin.h"
#include "parallel_keys.h"
#include "secure.h"
#include "storage/dsm.h"
#include "utils/guc.h"

#define HANDOFF_SETTING		"encrypted_field.parallel_keys"
#define HANDOFF_MAGIC		0x45464b31	/* "EFK1" */

/* The segment: this header, then the held key slots, sealed */
typedef struct HandoffHeader
{
	uint32		magic;
	int32		nkeys;			/* authenticated with magic */
	uint8		nonce[EF_NONCE_LEN];
	uint8		tag[EF_TAG_LEN];
} HandoffHeader;

#define HANDOFF_AAD_LEN		(sizeof(uint32) + sizeof(int32))

/* Where the audit's share starts, after the header and nkeys sealed slots */
#define SHARE_OFFSET(nkeys) \
	MAXALIGN(sizeof(HandoffHeader) + sizeof(HeldKey) * (Size) (nkeys))

/* What a worker received, until it has taken the keys: in locked pages */
typedef struct Received
{
	bool		pending;
	dsm_handle	handle;
	uint8		secret[EF_KEY_LEN];
} Received;

static char *handoff_value = NULL;	/* the setting's variable */
static bool setting_it = false; /* the extension itself sets it */

/* the leader's side: the segment of the query that handed keys over */
static dsm_segment *handoff_seg = NULL;
static QueryDesc *handoff_query = NULL;
static SubTransactionId handoff_subid = InvalidSubTransactionId;

/* the worker's side */
static Received *received = NULL;
static size_t received_mapped = 0;
static bool worker_holds_keys = false;
static dsm_segment *worker_seg = NULL;	/* mapped for the audit's share */

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/*
 * Accept a value only from the extension, and in a worker from the
 * leader's settings; refuse SET, ALTER ROLE and files.  Never fails for a
 * value the extension gave: a failure's message would quote it.
 */
static bool
CheckHandoff(char **newval, void **extra, GucSource source)
{
	if (setting_it || InitializingParallelWorker || source == PGC_S_DEFAULT)
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("parameter \"%s\" is set by the extension only", HANDOFF_SETTING);
	return false;
}

/* Parse "handle:base64 of the secret" into r; false if it is not that */
static bool
ParseHandoff(const char *value, Received *r)
{
	char	   *end;
	unsigned long handle = strtoul(value, &end, 10);
	uint8		secret[EF_KEY_LEN + 3];
	int			len;

	if (end == value || *end != ':')
		return false;
	end++;
	len = EfB64Decode(end, (int) strlen(end), secret, sizeof(secret));
	if (len == EF_KEY_LEN)
		memcpy(r->secret, secret, EF_KEY_LEN);
	explicit_bzero(secret, sizeof(secret));
	r->handle = (dsm_handle) handle;
	return len == EF_KEY_LEN;
}

/*
 * In a worker, move the value into locked pages and wipe the setting's
 * text: it is read once, in ExecutorStart.  Elsewhere, nothing.
 */
static void
AssignHandoff(const char *newval, void *extra)
{
	if (!IsParallelWorker() || newval == NULL || newval[0] == '\0')
		return;
	if (received == NULL)
		received = LockedPagesAlloc(sizeof(Received), &received_mapped);
	/* without them the worker holds no key, and says so when one is needed */
	if (received != NULL)
		received->pending = ParseHandoff(newval, received);
	explicit_bzero((char *) newval, strlen(newval));
}

/* Show nothing: not SHOW, current_setting() nor pg_settings reads it */
static const char *
ShowHandoff(void)
{
	return "";
}

/* Wipe the setting's text in place; SET LOCAL reverts it at transaction end */
static void
WipeHandoffValue(void)
{
	if (handoff_value != NULL)
		explicit_bzero(handoff_value, strlen(handoff_value));
}

/*
 * End the leader's hand-over: add the workers' audit counts to the query's
 * line (ended: the query at its ExecutorEnd; NULL: an abort), wipe the
 * segment and the setting, detach
 */
static void
EndHandoff(QueryDesc *ended)
{
	WipeHandoffValue();
	if (handoff_seg != NULL)
	{
		HandoffHeader *header = dsm_segment_address(handoff_seg);

		DecryptAuditShareMerge((char *) header + SHARE_OFFSET(header->nkeys),
							   ended ? ended : handoff_query, ended != NULL);
		explicit_bzero(dsm_segment_address(handoff_seg),
					   dsm_segment_map_length(handoff_seg));
		dsm_detach(handoff_seg);
	}
	handoff_seg = NULL;
	handoff_query = NULL;
	handoff_subid = InvalidSubTransactionId;
}

/*
 * In a worker, add the last audit counts, detach, and forget the keys
 * received and what opened them
 */
static void
WorkerForget(void)
{
	DecryptAuditWorkerEnd();
	if (worker_seg != NULL)
		dsm_detach(worker_seg);
	worker_seg = NULL;
	if (worker_holds_keys)
		(void) KeystoreForgetAll();
	worker_holds_keys = false;
	if (received != NULL)
		explicit_bzero(received, sizeof(Received));
}

/*
 * The leader ends a hand-over that its transaction's end overtook; a
 * worker forgets its keys at the end of its part of the query
 */
static void
ParallelKeysXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (handoff_seg != NULL)
				EndHandoff(NULL);
			break;
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			WorkerForget();
			break;
		default:
			break;
	}
}

/*
 * End a hand-over made in a subtransaction that aborts; one made in a
 * subtransaction that commits belongs to its parent from then on
 */
static void
ParallelKeysSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	if (handoff_seg == NULL || handoff_subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		EndHandoff(NULL);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		handoff_subid = parentSubid;	/* its end is now the parent's */
}

/*
 * ef_lock() and DISCARD ALL: a hand-over still open (a portal suspended
 * mid-query keeps it) must not give the forgotten keys to the workers of
 * the statements that follow
 */
void
ParallelKeysRevoke(void)
{
	if (handoff_seg != NULL)
		EndHandoff(NULL);
}

/* Register the transaction callbacks once per process */
static void
RegisterCallbacks(void)
{
	static bool registered = false;

	if (registered)
		return;
	RegisterXactCallback(ParallelKeysXactCallback, NULL);
	RegisterSubXactCallback(ParallelKeysSubXactCallback, NULL);
	registered = true;
}

/*
 * Create the hand-over's segment; if that fails (no segment or /dev/shm
 * space left), wipe the plain copy of the keys before the error goes on
 */
static dsm_segment *
CreateSegment(Size size, HeldKey *plain, size_t plain_mapped)
{
	dsm_segment *seg = NULL;

	PG_TRY();
	{
		seg = dsm_create(size, 0);
	}
	PG_CATCH();
	{
		LockedPagesFree(plain, plain_mapped);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return seg;
}

/*
 * Seal a copy of every held key slot, oldest unlock first, into a new
 * segment, and give its handle and the secret to the setting the workers
 * will receive
 */
static void
HandKeysOver(QueryDesc *queryDesc)
{
	const HeldKey *key;
	int			nkeys = 0;
	size_t		plain_len;
	size_t		plain_mapped;
	HeldKey    *plain;
	uint8		secret[EF_KEY_LEN];
	char		value[16 + 4 * ((EF_KEY_LEN + 2) / 3) + 1];	/* handle, base64 */
	HandoffHeader *header;
	EfCryptoStatus status;
	dsm_segment *seg;
	EfBuf		aad;
	int			prefix;
	int			len;

	while (KeystoreGetAny(nkeys) != NULL)
		nkeys++;
	plain_len = sizeof(HeldKey) * nkeys;
	plain = LockedPagesAlloc(plain_len, &plain_mapped);
	if (plain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate memory for master keys: %m")));

	/* insertion by unlock order: the workers' newest key is the leader's */
	for (int i = 0; (key = KeystoreGetAny(i)) != NULL; i++)
	{
		int			j = i;

		while (j > 0 && plain[j - 1].seq > key->seq)
		{
			memcpy(&plain[j], &plain[j - 1], sizeof(HeldKey));
			j--;
		}
		memcpy(&plain[j], key, sizeof(HeldKey));
	}

	RegisterCallbacks();
	seg = CreateSegment(SHARE_OFFSET(nkeys) + DecryptAuditShareSize(), plain, plain_mapped);
	dsm_pin_mapping(seg);
	header = dsm_segment_address(seg);
	DecryptAuditShareInit((char *) header + SHARE_OFFSET(nkeys));
	header->magic = HANDOFF_MAGIC;
	header->nkeys = nkeys;
	aad.data = (const uint8 *) header;
	aad.len = HANDOFF_AAD_LEN;
	status = EfRandomBytes(secret, sizeof(secret));
	if (status == EF_CRYPTO_OK)
		status = EfRandomBytes(header->nonce, EF_NONCE_LEN);
	if (status == EF_CRYPTO_OK)
		status = EfAeadSeal(secret, header->nonce, &aad, 1, (const uint8 *) plain,
							plain_len, (uint8 *) (header + 1), header->tag);
	LockedPagesFree(plain, plain_mapped);
	if (status != EF_CRYPTO_OK)
	{
		explicit_bzero(secret, sizeof(secret));
		dsm_detach(seg);
		ef_crypto_report(status);
	}
	handoff_seg = seg;
	handoff_query = queryDesc;
	handoff_subid = GetCurrentSubTransactionId();

	prefix = snprintf(value, sizeof(value), "%u:", (unsigned int) dsm_segment_handle(seg));
	len = EfB64Encode(secret, EF_KEY_LEN, value + prefix, sizeof(value) - prefix - 1);
	explicit_bzero(secret, sizeof(secret));
	if (len < 0)
	{
		explicit_bzero(value, sizeof(value));
		elog(ERROR, "could not encode the parallel hand-over");
	}
	value[prefix + len] = '\0';
	setting_it = true;
	PG_TRY();
	{
		(void) set_config_option(HANDOFF_SETTING, value, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
	}
	PG_FINALLY();
	{
		setting_it = false;
		explicit_bzero(value, sizeof(value));
	}
	PG_END_TRY();

	/* what tests and operators can see; no handle, no secret */
	ereport(DEBUG1,
			(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
			 errmsg_internal("encrypted_field: keys handed to the parallel workers of this query")));
}

/*
 * In a worker, hold the keys the leader handed over, if it did: open the
 * segment with the secret received, hold each key as the leader held it
 */
static void
TakeKeys(void)
{
	dsm_segment *seg;
	HandoffHeader *header;
	size_t		len;
	size_t		plain_mapped;
	HeldKey    *plain;
	EfCryptoStatus status = EF_CRYPTO_AUTH_FAILED;
	EfBuf		aad;

	if (received == NULL || !received->pending)
		return;
	received->pending = false;
	seg = dsm_attach(received->handle);
	if (seg == NULL)
	{
		explicit_bzero(received, sizeof(Received));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not receive the master keys of the parallel leader")));
	}
	header = dsm_segment_address(seg);
	len = dsm_segment_map_length(seg);
	plain = NULL;
	if (len >= sizeof(HandoffHeader) && header->magic == HANDOFF_MAGIC &&
		header->nkeys >= 0 && header->nkeys <= EF_KEY_SLOTS &&
		len >= sizeof(HandoffHeader) + sizeof(HeldKey) * header->nkeys)
	{
		len = sizeof(HeldKey) * header->nkeys;
		plain = LockedPagesAlloc(Max(len, 1), &plain_mapped);
		aad.data = (const uint8 *) header;
		aad.len = HANDOFF_AAD_LEN;
		if (plain != NULL)
			status = EfAeadOpen(received->secret, header->nonce, &aad, 1,
								(const uint8 *) (header + 1), len, header->tag,
								(uint8 *) plain);
	}
	explicit_bzero(received, sizeof(Received));
	if (status != EF_CRYPTO_OK)
	{
		dsm_detach(seg);
		if (plain != NULL)
			LockedPagesFree(plain, plain_mapped);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not receive the master keys of the parallel leader")));
	}

	/*
	 * Keep the mapping, past this query's resource owner, for the audit's
	 * share: the worker adds its counts there until its part ends
	 */
	if (dsm_segment_map_length(seg) >= SHARE_OFFSET(header->nkeys) + DecryptAuditShareSize())
	{
		dsm_pin_mapping(seg);
		worker_seg = seg;
		DecryptAuditShareAttach((char *) header + SHARE_OFFSET(header->nkeys));
	}
	else
		dsm_detach(seg);

	PG_TRY();
	{
		for (int i = 0; i < (int) (len / sizeof(HeldKey)); i++)
		{
			worker_holds_keys = true;
			KeystoreAdd(plain[i].key_id, plain[i].scope, plain[i].retired,
						plain[i].role, plain[i].index_group, plain[i].kek,
						plain[i].index_key_id,
						(const uint8 (*)[EF_KEY_LEN]) plain[i].index_key);
		}
	}
	PG_FINALLY();
	{
		LockedPagesFree(plain, plain_mapped);
	}
	PG_END_TRY();

	/*
	 * After the keystore's: callbacks run newest first, so the worker's keys
	 * are forgotten here before the keystore would end their unlocks, and
	 * log them, at a parallel abort
	 */
	RegisterCallbacks();
}


/*
 * Hand keys over when a query that may run in parallel starts in a backend
 * that holds keys, or take them in a worker
 */
static void
ParallelKeysExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (IsParallelWorker())
		TakeKeys();
	else if (handoff_seg == NULL && queryDesc->plannedstmt->parallelModeNeeded &&
			 !IsInParallelMode() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
			 KeystoreGetAny(0) != NULL)
		HandKeysOver(queryDesc);

	EfNextExecutorStart(prev_ExecutorStart, queryDesc, eflags);
}

/*
 * End the hand-over with the query that made it, once the executor has
 * ended: its Gather nodes have then waited for their workers to finish, so
 * the workers' audit counts are all in the segment
 */
static void
ParallelKeysExecutorEnd(QueryDesc *queryDesc)
{
	EfNextExecutorEnd(prev_ExecutorEnd, queryDesc);
	if (handoff_seg != NULL && handoff_query == queryDesc)
		EndHandoff(queryDesc);
}

/* Define the setting and install the executor hooks; from _PG_init */
void
ParallelKeysInstall(void)
{
	DefineCustomStringVariable(HANDOFF_SETTING,
							   gettext_noop("Set by the extension for the parallel workers of one query; shows as empty."),
							   NULL,
							   &handoff_value,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL |
							   GUC_DISALLOW_IN_FILE | GUC_DISALLOW_IN_AUTO_FILE,
							   CheckHandoff, AssignHandoff, ShowHandoff);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ParallelKeysExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ParallelKeysExecutorEnd;
}

/*-------------------------------------------------------------------------
 *
 * redact.c
 *		Keep master keys and bind parameters out of the server log
 *
 * A master key reaches the server only as a bind parameter or a startup
 * option (key_source.c, key_channel.c), so no accepted key is ever in a
 * statement's text.  What remains is what PostgreSQL and other extensions
 * write of parameter values:
 *
 *	- the log's "parameters: $1 = ..." detail (log_statement,
 *	  log_min_duration_statement) and the "with parameters" error context
 *	  (log_parameter_max_length_on_error), and auto_explain's "Query
 *	  Parameters";
 *	- plans, where a custom plan folds parameter values into constants
 *	  (auto_explain with log_verbose, debug_print_plan).
 *
 * Parameters carry keys and plaintext alike, and the log is for operators,
 * who see neither.  While the library is loaded, it keeps PostgreSQL from
 * building the strings of parameter values at all (log_parameter_max_length
 * and log_parameter_max_length_on_error forced to 0, which works in every
 * message language), removes from each log line what parameter values
 * remain in English text, and hides debug_print_plan trees and the plans
 * auto_explain logs while a query with parameters runs (a custom plan
 * holds their values as constants); auto_explain's lines are known by the
 * file that raised them, not by their text.  An error raised while a bind
 * parameter was converted may quote the value (an input function's
 * "invalid input syntax"): its message is hidden.  A statement in
 * which a key function ran (known from the function running, never from
 * words in the text, so a comment hides nothing and a wrapper or a quoted
 * identifier is still caught) loses from then on its text, context and
 * details on each log line, and its plans, including the plans of its
 * portal logged when the portal is dropped.
 *
 * The emit_log_hook exists from the moment the library is loaded: preloaded
 * (shared_preload_libraries or session_preload_libraries), that is before
 * any statement; otherwise during the first statement that calls one of
 * its functions, which may already have been logged with its parameters.
 * RedactLoggedBeforeLoad() tells the key functions when that may be so.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/redact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "hook_chain.h"
#include "lib/stringinfo.h"
#include "citus_forward.h"
#include "redact.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"

#define HIDDEN_STATEMENT	"<statement hidden by encrypted_field: it passes a master key>"
#define HIDDEN_PARAMETERS	"<hidden by encrypted_field>"
#define HIDDEN_DETAIL		"<detail hidden by encrypted_field>"
#define HIDDEN_PLAN			"<plan hidden by encrypted_field: its statement passes a master key>"
#define HIDDEN_PARAM_PLAN	"<plan hidden by encrypted_field: it may hold bind parameter values>"
#define HIDDEN_MESSAGE		"<message hidden by encrypted_field: it may quote a bind parameter>"
#define HIDDEN_SERVING		"<message hidden by encrypted_field: this backend serves a Citus coordinator that forwarded keys>"
#define HIDDEN_REMOTE		"issuing <command hidden by encrypted_field: this session holds keys>"
#define HIDDEN_CONTEXT		"<context hidden by encrypted_field: a bind parameter was being converted>"

/* A message of PostgreSQL's own, in the session's message language */
#ifdef ENABLE_NLS
#define CORE_MESSAGE(msgid)	dgettext(PG_TEXTDOMAIN("postgres"), (msgid))
#else
#define CORE_MESSAGE(msgid)	(msgid)
#endif

static emit_log_hook_type prev_emit_log_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/*
 * The queries executing, and which of them have parameters, innermost last;
 * deeper nesting counts as having parameters
 */
#define MAX_EXECUTING 128
static QueryDesc *executing[MAX_EXECUTING];
static bool executing_params[MAX_EXECUTING];
static int	executing_depth = 0;

/* Set when the library was loaded by a statement, not preloaded */
static bool loaded_by_statement = false;
static TimestampTz load_statement_start = 0;

/* The start of the last statement in which a key function ran */
static bool key_function_ran = false;
static TimestampTz key_function_statement_start = 0;

/*
 * The portal of that statement, until it is dropped: its plan may be logged
 * then (auto_explain at ExecutorEnd), in a later protocol message
 */
static Portal marked_portal = NULL;

/* Is the current statement one in which a key function ran? */
static bool
InKeyStatement(void)
{
	return key_function_ran &&
		key_function_statement_start == GetCurrentStatementStartTimestamp();
}

/* Forget the marked portal as it is dropped */
static void
UnmarkPortal(void *arg)
{
	if (marked_portal == (Portal) arg)
		marked_portal = NULL;
}

/*
 * Called by the key functions: mark the running statement and its portal
 * as passing a key
 */
void
RedactMarkKeyStatement(void)
{
	Portal		portal = ActivePortal;

	key_function_ran = true;
	key_function_statement_start = GetCurrentStatementStartTimestamp();
	if (portal != NULL && portal != marked_portal && portal->portalContext != NULL)
	{
		MemoryContextCallback *cb =
		MemoryContextAllocZero(portal->portalContext, sizeof(MemoryContextCallback));

		marked_portal = portal;
		cb->func = UnmarkPortal;
		cb->arg = portal;
		MemoryContextRegisterResetCallback(portal->portalContext, cb);
	}
}

/*
 * Show other sessions a placeholder instead of the statement's text: called
 * when a key given in that text is refused, so that the session does not go
 * on showing it while it sits idle in an aborted transaction
 */
void
RedactActivity(void)
{
	pgstat_report_activity(STATE_RUNNING, HIDDEN_STATEMENT);
}

/* Wipe a string PostgreSQL built for a log line, then replace it */
static char *
Replace(char *old, const char *with)
{
	if (old != NULL)
		explicit_bzero(old, strlen(old));
	return pstrdup(with);
}

/*
 * Did the file of this name raise the log line?  The whole base name must
 * match: a suffix would let another extension's pgaudit.c pass as audit.c
 */
static bool
RaisedBy(ErrorData *edata, const char *file)
{
	const char *base;

	if (edata->filename == NULL)
		return false;
	base = strrchr(edata->filename, '/');
	return strcmp(base != NULL ? base + 1 : edata->filename, file) == 0;
}

/*
 * Cut a string where a list of parameter values starts, "$n = ...", to its
 * end: PostgreSQL writes such lists untranslated (BuildParamLogString), in
 * details, contexts and auto_explain's "Query Parameters"; a value may span
 * lines, so nothing after the list's start is kept
 */
static void
CutParameterList(char **text)
{
	char	   *cut;

	for (char *at = *text; at != NULL && *at != '\0'; at++)
	{
		char	   *p = at + 1;

		if (*at != '$' || !isdigit((unsigned char) *p))
			continue;
		while (isdigit((unsigned char) *p))
			p++;
		if (strncmp(p, " = ", 3) != 0)
			continue;
		cut = psprintf("%.*s%s", (int) (at - *text), *text, HIDDEN_PARAMETERS);
		explicit_bzero(*text, strlen(*text));
		*text = cut;
		return;
	}
}

/* Remove bind parameter values from a log line, for every statement */
static void
StripParameters(ErrorData *edata)
{
	CutParameterList(&edata->detail);
	CutParameterList(&edata->detail_log);
	CutParameterList(&edata->context);
	if (RaisedBy(edata, "auto_explain.c"))
		CutParameterList(&edata->message);
	/* debug_print_plan: a custom plan holds parameter values as constants */
	if (edata->message != NULL && strcmp(edata->message, "plan:") == 0 &&
		edata->detail != NULL)
		edata->detail = Replace(edata->detail, HIDDEN_DETAIL);
}

/* Replace the statement text inside a log message, keeping its prefix */
static void
RedactMessage(ErrorData *edata, const char *statement)
{
	char	   *at;

	if (edata->message == NULL || statement == NULL || statement[0] == '\0')
		return;
	at = strstr(edata->message, statement);
	if (at != NULL)
		edata->message = psprintf("%.*s%s", (int) (at - edata->message),
								  edata->message, HIDDEN_STATEMENT);
}

/* Is any query with parameters executing? */
static bool
ParametersExecuting(void)
{
	for (int i = 0; i < executing_depth && i < MAX_EXECUTING; i++)
		if (executing_params[i])
			return true;
	return executing_depth > MAX_EXECUTING;
}


/*
 * Does a line match a message format: its literal parts in order, the first
 * at the start, anything where a conversion ("%s", "%d", "%2$s") stands?
 */
static bool
MatchesFormat(const char *line, int len, const char *format)
{
	const char *at = line;
	bool		first = true;

	while (*format != '\0')
	{
		const char *conv = strchr(format, '%');
		int			seglen = conv ? (int) (conv - format) : (int) strlen(format);
		const char *found = NULL;

		if (seglen > 0)
		{
			for (const char *p = at; p + seglen <= line + len && found == NULL; p++)
				if (strncmp(p, format, seglen) == 0 && (!first || p == line))
					found = p;
			if (found == NULL)
				return false;
			at = found + seglen;
		}
		first = false;
		if (conv == NULL)
			break;
		format = conv + 1;
		while (isdigit((unsigned char) *format) || *format == '$')
			format++;
		if (*format != '\0')
			format++;
	}
	return true;
}

/*
 * Does the error context say a bind parameter was being converted?  One of
 * its lines is PostgreSQL's "unnamed portal parameter $n" or its kin, in the
 * message language of the session (looked up in PostgreSQL's own catalogue,
 * so that no translation escapes)
 */
static bool
ConvertingParameter(ErrorData *edata)
{
	static const char *const formats[] = {
		"unnamed portal parameter $%d = %s",
		"unnamed portal parameter $%d",
		"portal \"%s\" parameter $%d = %s",
		"portal \"%s\" parameter $%d",
	};
	const char *line;

	for (line = edata->context; line != NULL && *line;)
	{
		const char *end = strchr(line, '\n');
		int			len = end ? (int) (end - line) : (int) strlen(line);

		for (size_t i = 0; i < lengthof(formats); i++)
			if (MatchesFormat(line, len, CORE_MESSAGE(formats[i])) ||
				MatchesFormat(line, len, formats[i]))
				return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* Cut a message after its first line, where a plan follows */
static void
CutPlan(ErrorData *edata, const char *with)
{
	char	   *nl = edata->message ? strchr(edata->message, '\n') : NULL;
	char	   *cut;

	if (nl == NULL)
		return;
	cut = psprintf("%.*s %s", (int) (nl - edata->message), edata->message, with);
	explicit_bzero(edata->message, strlen(edata->message));
	edata->message = cut;
}

/*
 * Take out of a log line what could carry keys or plaintext: bind
 * parameters always; for a statement that passed a key, also its text, its
 * context, its plans and (below ERROR) details.  Our own errors keep their
 * detail: it never holds key material.
 */
static void
EfEmitLogHook(ErrorData *edata)
{
	if (edata->elevel >= ERROR && ConvertingParameter(edata))
	{
		/* the input function's message, detail and context may quote it */
		edata->message = Replace(edata->message, HIDDEN_MESSAGE);
		if (edata->detail != NULL)
			edata->detail = Replace(edata->detail, HIDDEN_DETAIL);
		if (edata->detail_log != NULL)
			edata->detail_log = Replace(edata->detail_log, HIDDEN_DETAIL);
		edata->context = Replace(edata->context, HIDDEN_CONTEXT);
	}
	StripParameters(edata);
	if (RaisedBy(edata, "auto_explain.c"))
	{
		if (InKeyStatement() || marked_portal != NULL)
			CutPlan(edata, HIDDEN_PLAN);
		else if (ParametersExecuting())
			CutPlan(edata, HIDDEN_PARAM_PLAN);
	}
	/*
	 * On Citus, the statements a worker backend runs for a coordinator that
	 * forwarded keys may hold the coordinator's parameter values, which
	 * Citus writes into them: hidden like a key statement's
	 */
	if (InKeyStatement() || CitusForwardServing())
	{
		edata->hide_stmt = true;
		edata->hide_ctx = true;
		RedactMessage(edata, debug_query_string);
		if (edata->detail != NULL && edata->elevel < ERROR)
			edata->detail = Replace(edata->detail, HIDDEN_DETAIL);
		if (edata->detail_log != NULL)
			edata->detail_log = Replace(edata->detail_log, HIDDEN_DETAIL);
	}
	/*
	 * Citus logs statements nested in the one it was sent (repartitioning
	 * runs a query it received as text, and logs that text): below WARNING,
	 * a backend serving such a coordinator writes no message but audit lines
	 * and what node_key.c says of the sets it records (no statement text)
	 */
	if (CitusForwardServing() && edata->elevel < WARNING && edata->message != NULL &&
		!RaisedBy(edata, "audit.c") && !RaisedBy(edata, "decrypt_audit.c") &&
		!(RaisedBy(edata, "node_key.c") && edata->funcname != NULL &&
		  strcmp(edata->funcname, "NodeKeyForwardEnd") == 0))
		edata->message = Replace(edata->message, HIDDEN_SERVING);
	/* and what a coordinator holding keys sends them (citus.log_remote_commands) */
	if (RaisedBy(edata, "remote_commands.c") && edata->funcname != NULL &&
		strcmp(edata->funcname, "LogRemoteCommand") == 0 && CitusForwardHolding())
		edata->message = Replace(edata->message, HIDDEN_REMOTE);
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * Keep PostgreSQL from building strings of parameter values for the log.
 * A session may SET them again (log_parameter_max_length_on_error is open
 * to every role); what they then build is wiped at ExecutorStart and cut
 * from log lines.
 */
static void
RedactParameterLogging(void)
{
	GucContext	context = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_SUSET;

	/* settings cannot change in a parallel operation */
	if (IsInParallelMode())
		return;
	if (log_parameter_max_length != 0)
		SetConfigOption("log_parameter_max_length", "0", context, PGC_S_OVERRIDE);
	if (log_parameter_max_length_on_error != 0)
		SetConfigOption("log_parameter_max_length_on_error", "0", context, PGC_S_OVERRIDE);
}

/* Note a query starting, and whether it has parameters */
static void
EfExecutorStart(QueryDesc *queryDesc, int eflags)
{
	RedactParameterLogging();
	EfNextExecutorStart(prev_ExecutorStart, queryDesc, eflags);
	if (queryDesc->params != NULL && queryDesc->params->paramValuesStr != NULL)
	{
		explicit_bzero(queryDesc->params->paramValuesStr,
					   strlen(queryDesc->params->paramValuesStr));
		queryDesc->params->paramValuesStr = NULL;
	}
	if (executing_depth < MAX_EXECUTING)
	{
		executing[executing_depth] = queryDesc;
		executing_params[executing_depth] =
			queryDesc->params != NULL && queryDesc->params->numParams > 0;
	}
	executing_depth++;
}

/*
 * Forget a query as it ends, after the hooks that log its plan.  Queries
 * need not end in the order they started (cursors), so only its own entry
 * goes.  One that an error ended stays until the transaction ends, which
 * can only hide more plans, never fewer.
 */
static void
EfExecutorEnd(QueryDesc *queryDesc)
{
	int			n = Min(executing_depth, MAX_EXECUTING);

	EfNextExecutorEnd(prev_ExecutorEnd, queryDesc);
	for (int i = n - 1; i >= 0; i--)
		if (executing[i] == queryDesc)
		{
			memmove(&executing[i], &executing[i + 1], (n - i - 1) * sizeof(QueryDesc *));
			memmove(&executing_params[i], &executing_params[i + 1], (n - i - 1) * sizeof(bool));
			executing_depth--;
			return;
		}
	if (executing_depth > MAX_EXECUTING)
		executing_depth--;
}

/* A transaction's end ends its queries, with ExecutorEnd or without */
static void
RedactXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		executing_depth = 0;
}

/* Install the hook; remember whether a statement is loading us */
void
RedactInstallHooks(void)
{
	loaded_by_statement = !process_shared_preload_libraries_in_progress &&
		debug_query_string != NULL;
	if (loaded_by_statement)
		load_statement_start = GetCurrentStatementStartTimestamp();

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = EfEmitLogHook;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = EfExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = EfExecutorEnd;
	RegisterXactCallback(RedactXactCallback, NULL);
	RedactParameterLogging();
}

/* Was the library loaded by a statement, rather than preloaded? */
bool
RedactLoadedByStatement(void)
{
	return loaded_by_statement;
}

/*
 * Name a setting under which a statement may be logged with its parameters
 * before it runs (at its start, or its Bind message's duration), or NULL
 */
static const char *
StatementLoggingSetting(void)
{
	if (log_statement != LOGSTMT_NONE)
		return "log_statement";
	if (log_min_duration_statement >= 0)
		return "log_min_duration_statement";
	if (log_min_duration_sample >= 0 && log_statement_sample_rate > 0)
		return "log_min_duration_sample";
	if (log_xact_sample_rate > 0)
		return "log_transaction_sample_rate";
	if (Debug_print_parse)
		return "debug_print_parse";
	if (Debug_print_rewritten)
		return "debug_print_rewritten";
	if (Debug_print_plan)
		return "debug_print_plan";
	return NULL;
}

/*
 * Name the setting under which the statement calling a key function may
 * have been logged with its parameters before the library was loaded (by
 * that very statement), or NULL
 */
const char *
RedactLoggedBeforeLoad(void)
{
	if (!loaded_by_statement ||
		GetCurrentStatementStartTimestamp() != load_statement_start)
		return NULL;
	return StatementLoggingSetting();
}

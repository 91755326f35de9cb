/*-------------------------------------------------------------------------
 *
 * redact.c
 *		Keep master keys out of the server log and pg_stat_activity
 *
 * PostgreSQL itself writes statements and their bind parameters to the log
 * (log_statement = all, log_min_duration_statement, parameters of failed
 * statements), and shows the text of running statements to other sessions.
 * A statement that calls ef_unlock() or ef_register_key() carries a master
 * key, as a literal or a parameter.  While such a statement runs:
 *
 *	- emit_log_hook removes the statement text, the parameters and the
 *	  context from every line it writes to the log;
 *	- post_parse_analyze_hook replaces the text other sessions see in
 *	  pg_stat_activity.
 *
 * The hooks exist from the moment the library is loaded.  Preloaded
 * (shared_preload_libraries or session_preload_libraries), that is before
 * any statement; otherwise the library loads during the first statement
 * that calls one of its functions, which may already have been logged.
 * RedactWarnIfLogged() tells the user when that may have happened.
 *
 * Statements are recognised by the key functions' names in their text (so a
 * statement that merely mentions them is hidden too: hiding too much is the
 * safe side), and, once a key function has run, by being the statement it
 * ran in, which covers keys passed through a wrapper function for every log
 * line written from then on.
 *
 * IDENTIFICATION
 *		src/redact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "parser/analyze.h"
#include "redact.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"

#define HIDDEN_STATEMENT	"<statement hidden by encrypted_field: it calls a key function>"
#define HIDDEN_PARAMETERS	"Parameters: <hidden by encrypted_field>"
#define HIDDEN_DETAIL		"<detail hidden by encrypted_field>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

/* Set when the library was loaded by a statement, not preloaded */
static bool loaded_by_statement = false;
static TimestampTz load_statement_start = 0;

/* The start of the last statement in which a key function ran */
static bool key_function_ran = false;
static TimestampTz key_function_statement_start = 0;

/* Does this statement text call a function that takes a master key? */
static bool
IsKeyStatement(const char *text)
{
	return text != NULL &&
		(strcasestr(text, "ef_unlock") != NULL ||
		 strcasestr(text, "ef_register_key") != NULL);
}

/*
 * Is the current statement one that passes a key?  Either its text names a
 * key function, or a key function ran in it (called through a wrapper the
 * text does not reveal).
 */
static bool
InKeyStatement(void)
{
	return IsKeyStatement(debug_query_string) ||
		(key_function_ran &&
		 key_function_statement_start == GetCurrentStatementStartTimestamp());
}

/*
 * Called by the key functions: mark the running statement as one that
 * passes a key, and hide its text from pg_stat_activity now, for statements
 * whose text did not name a key function.  What was logged before this
 * statement reached a key function (log_statement) cannot be taken back.
 */
void
RedactMarkKeyStatement(void)
{
	key_function_ran = true;
	key_function_statement_start = GetCurrentStatementStartTimestamp();
	pgstat_report_activity(STATE_RUNNING, HIDDEN_STATEMENT);
}

/* Replace the statement text inside a log message, keeping its prefix */
static void
RedactMessage(ErrorData *edata, const char *statement)
{
	char	   *at;

	if (edata->message == NULL)
		return;
	if (statement == NULL)
		return;
	at = strstr(edata->message, statement);
	if (at != NULL)
		edata->message = psprintf("%.*s%s", (int) (at - edata->message),
								  edata->message, HIDDEN_STATEMENT);
}

/*
 * Remove what a log line of a key statement could carry of the key: the
 * statement text, bind parameters, the context (which lists parameters of a
 * failed extended-protocol statement) and, on lines below ERROR, the detail
 * (debug_print_parse and friends put whole parse trees there).  Our own
 * errors keep their detail: it never holds key material.
 */
static void
EfEmitLogHook(ErrorData *edata)
{
	if (InKeyStatement())
	{
		edata->hide_stmt = true;
		edata->hide_ctx = true;
		RedactMessage(edata, debug_query_string);
		if (edata->detail != NULL &&
			(edata->elevel < ERROR || pg_strncasecmp(edata->detail, "parameters:", 11) == 0))
			edata->detail = pstrdup(edata->elevel < ERROR ? HIDDEN_DETAIL : HIDDEN_PARAMETERS);
		if (edata->detail_log != NULL)
			edata->detail_log = pstrdup(HIDDEN_DETAIL);
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* Show other sessions a placeholder instead of a key statement's text */
static void
EfPostParseAnalyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (IsKeyStatement(pstate->p_sourcetext))
		pgstat_report_activity(STATE_RUNNING, HIDDEN_STATEMENT);
}

/* Install the hooks; remember whether a statement is loading us */
void
RedactInstallHooks(void)
{
	loaded_by_statement = !process_shared_preload_libraries_in_progress &&
		debug_query_string != NULL;
	if (loaded_by_statement)
		load_statement_start = GetCurrentStatementStartTimestamp();

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = EfEmitLogHook;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = EfPostParseAnalyze;
}

/* Name a setting under which the start of a statement is logged, or NULL */
static const char *
StatementLoggingSetting(void)
{
	if (log_statement == LOGSTMT_ALL)
		return "log_statement = all";
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
 * Warn, from a key function, when the statement calling it loaded the
 * library: it was logged before the hooks existed, and the settings say
 * statements are logged.
 */
void
RedactWarnIfLogged(void)
{
	const char *setting;

	if (!loaded_by_statement ||
		GetCurrentStatementStartTimestamp() != load_statement_start)
		return;
	setting = StatementLoggingSetting();
	if (setting == NULL)
		return;
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("the master key may have been written to the server log"),
			 errdetail("The server logs statements (%s), and encrypted_field was loaded by this statement, too late to hide it.",
					   setting),
			 errhint("Add encrypted_field to session_preload_libraries or shared_preload_libraries, so that statements passing keys are hidden from the log.")));
}

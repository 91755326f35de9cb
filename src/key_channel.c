/*-------------------------------------------------------------------------
 *
 * key_channel.c
 *		Master keys given at connection start: encrypted_field.keys
 *
 * psql before 16 cannot send bind parameters, so a key would have to be
 * written into a statement's text, which PostgreSQL shows to other sessions
 * before any extension code runs.  Instead a client can give keys with the
 * connection's startup options:
 *
 *		PGOPTIONS='-c encrypted_field.keys=1:<64 hex digits>' psql
 *
 * Startup options appear in no statement, log line, statistics view or
 * pg_stat_activity.  The check hook moves the keys into the key page, not
 * yet checked against the registry, wipes the option where PostgreSQL keeps
 * its text (Port->cmdline_options, Port->guc_options) and leaves only the
 * key ids as the setting's value; SHOW lists the ids still waiting, until
 * ef_lock() or DISCARD ALL forgets them.  ef_unlock(id) and ef_register_key(id)
 * called without a key take it from there.
 *
 * The setting can be given nowhere else: not in postgresql.conf, ALTER ROLE
 * or SET (the value would be stored or written into a statement).  The
 * library must be loaded when the connection starts (shared_preload_libraries
 * or session_preload_libraries): otherwise PostgreSQL keeps the value as a
 * placeholder that SHOW reads, so keys found in a placeholder by a library
 * loaded later are wiped and refused.  With session_preload_libraries the
 * library finds the value in a placeholder even so, where a file or ALTER
 * ROLE may have put it: it is taken only if the startup packet named it.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_channel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "compat.h"
#include "crypto.h"
#include "key_channel.h"
#include "keystore.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/guc.h"

#define KEYS_SETTING	"encrypted_field.keys"

static char *keys_setting = NULL;

/* Keys were found in a placeholder, exposed before the library loaded */
static bool channel_refused = false;

/* Wipe a string in place */
static void
WipeString(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

/* Value of one hexadecimal digit, or -1 */
static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Is a value already reduced to key ids (digits and commas)? */
static bool
IsIdList(const char *value)
{
	for (const char *p = value; *p; p++)
		if (!isdigit((unsigned char) *p) && *p != ',')
			return false;
	return true;
}

/*
 * Parse "ID:HEX[,ID:HEX...]" into the key store, and write the ids, comma
 * separated, into ids (at least as long as value).  Return false on a
 * malformed value, having supplied nothing.  Never quotes the value.
 */
static bool
ParseKeys(const char *value, char *ids)
{
	int32		key_ids[EF_MAX_SUPPLIED_KEYS];
	uint8		keys[EF_MAX_SUPPLIED_KEYS][EF_KEY_LEN];
	int			n = 0;
	const char *p = value;
	bool		ok = true;

	while (ok && *p)
	{
		int64		id = 0;
		int			digits = 0;

		if (n == EF_MAX_SUPPLIED_KEYS)
			ok = false;
		for (; ok && isdigit((unsigned char) *p) && id <= PG_INT32_MAX; p++, digits++)
			id = id * 10 + (*p - '0');
		if (!ok || digits == 0 || id <= 0 || id > PG_INT32_MAX || *p++ != ':')
		{
			ok = false;
			break;
		}
		if (p[0] == '\\' && p[1] == 'x')
			p += 2;
		for (int i = 0; i < EF_KEY_LEN && ok; i++, p += 2)
		{
			int			hi = HexValue(p[0]);
			int			lo = hi < 0 ? -1 : HexValue(p[1]);

			if (hi < 0 || lo < 0)
				ok = false;
			else
				keys[n][i] = (uint8) (hi << 4 | lo);
		}
		if (ok && *p != '\0' && *p != ',')
			ok = false;
		if (ok)
			key_ids[n++] = (int32) id;
		if (ok && *p == ',')
			p++;
	}
	if (ok && n == 0)
		ok = false;

	ids[0] = '\0';
	for (int i = 0; ok && i < n; i++)
	{
		KeystoreSupply(key_ids[i], keys[i], GetSessionUserId());
		sprintf(ids + strlen(ids), "%s%d", i > 0 ? "," : "", key_ids[i]);
	}
	explicit_bzero(keys, sizeof(keys));
	return ok;
}

/*
 * Find the setting's name at text, as PostgreSQL reads names: any letter
 * case, and "-" for "_" (--encrypted-field.keys=...); return its length
 * with the "=" that follows, or 0
 */
static int
NameAt(const char *text)
{
	const char *name = KEYS_SETTING "=";
	int			i;

	for (i = 0; name[i] != '\0'; i++)
	{
		char		c = pg_tolower((unsigned char) text[i]);

		if (c != name[i] && !(name[i] == '_' && c == '-'))
			return 0;
	}
	return i;
}

/*
 * Wipe the option's value where PostgreSQL keeps the startup packet's text,
 * or, with wipe false, only tell whether the packet gave the option
 */
static bool
StartupOptions(bool wipe)
{
	ListCell   *lc;
	bool		found = false;
	bool		after_c = false;
	char	   *opts;

	if (MyProcPort == NULL)
		return false;
	/* tokens as pg_split_opts() splits them: "-c NAME=", "-cNAME=", "--NAME=" */
	for (opts = MyProcPort->cmdline_options; opts != NULL && *opts != '\0';)
	{
		char	   *token;
		char	   *name = NULL;
		int			len;

		while (isspace((unsigned char) *opts))
			opts++;
		if (*opts == '\0')
			break;
		token = opts;
		while (*opts != '\0' && !isspace((unsigned char) *opts))
			opts += (*opts == '\\' && opts[1] != '\0') ? 2 : 1;
		if (after_c)
			name = token;
		else if (opts - token > 2 && (strncmp(token, "--", 2) == 0 || strncmp(token, "-c", 2) == 0))
			name = token + 2;
		after_c = (opts - token == 2 && strncmp(token, "-c", 2) == 0);
		if (name == NULL || (len = NameAt(name)) == 0)
			continue;
		found = true;
		for (char *v = name + len; wipe && v < opts; v++)
			*v = 'x';
	}
	/* name/value pairs of other startup packet parameters */
	foreach(lc, MyProcPort->guc_options)
	{
		char	   *name = lfirst(lc);

		lc = lnext(MyProcPort->guc_options, lc);
		if (lc == NULL)
			break;
		if (pg_strcasecmp(name, KEYS_SETTING) == 0)
		{
			found = true;
			if (wipe)
				WipeString(lfirst(lc));
		}
	}
	return found;
}

/*
 * Take keys from a connection's startup options; refuse the setting from
 * anywhere else, without quoting it
 */
static bool
CheckKeys(char **newval, void **extra, GucSource source)
{
	char	   *ids;

	if (*newval == NULL || **newval == '\0' || IsIdList(*newval))
		return true;
	if (source != PGC_S_CLIENT)
	{
		WipeString(*newval);
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("master keys can only be given at connection start");
		GUC_check_errdetail("\"%s\" is read from the connection's startup options, never from a file, ALTER ROLE, ALTER DATABASE or SET.",
							KEYS_SETTING);
		GUC_check_errhint("Treat a key that was written anywhere else as exposed.");
		return false;
	}
	/* as long as the value, and holding none of it: it becomes the setting */
	ids = EF_GUC_STRDUP(*newval);
	if (ids != NULL)
		WipeString(ids);
	if (ids == NULL || !ParseKeys(*newval, ids))
	{
		WipeString(*newval);
		(void) StartupOptions(true);
		if (ids != NULL)
			EF_GUC_FREE(ids);
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid master keys given at connection start");
		GUC_check_errdetail("\"%s\" is a comma-separated list of ID:HEX, with ID a positive key id and HEX the key's 64 hexadecimal digits, at most %d keys.",
							KEYS_SETTING, EF_MAX_SUPPLIED_KEYS);
		return false;
	}
	WipeString(*newval);
	EF_GUC_FREE(*newval);
	*newval = ids;
	(void) StartupOptions(true);
	return true;
}

/*
 * Show the ids of the keys still waiting: ef_lock() and DISCARD ALL forget
 * them with the held keys
 */
static const char *
ShowKeys(void)
{
	static char ids[EF_MAX_SUPPLIED_KEYS * 12 + 1];

	KeystoreSuppliedIds(ids, sizeof(ids));
	return ids;
}

/*
 * Define the setting.  Called from _PG_init: a value that waited in a
 * placeholder is taken over here rather than re-applied by the GUC code, so
 * that its text is wiped, and refused if the library was loaded by a
 * statement, when SQL could already read it.
 */
void
KeyChannelDefine(bool loaded_by_statement)
{
	char	   *placeholder = (char *) GetConfigOption(KEYS_SETTING, true, false);
	char	   *copy = NULL;
	char	   *ids = NULL;

	if (placeholder != NULL && placeholder[0] != '\0' && !IsIdList(placeholder))
	{
		/*
		 * Only a value from the startup packet, read before any statement:
		 * not one from a file or ALTER ROLE, nor one SQL could already read
		 */
		if (!loaded_by_statement && StartupOptions(false))
			copy = pstrdup(placeholder);
		else
			channel_refused = true;
		WipeString(placeholder);
		(void) StartupOptions(true);
	}

	DefineCustomStringVariable(KEYS_SETTING,
							   gettext_noop("Master keys given at connection start, as ID:HEX pairs; shows only the key ids."),
							   gettext_noop("Give it in the connection's startup options; ef_unlock(ID) takes the key."),
							   &keys_setting,
							   "",
							   PGC_BACKEND,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_RESET_ALL,
							   CheckKeys, NULL, ShowKeys);

	if (copy == NULL)
		return;
	ids = palloc(strlen(copy) + 1);
	if (!ParseKeys(copy, ids))
	{
		WipeString(copy);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid master keys given at connection start"),
				 errdetail("\"%s\" is a comma-separated list of ID:HEX, with ID a positive key id and HEX the key's 64 hexadecimal digits, at most %d keys.",
						   KEYS_SETTING, EF_MAX_SUPPLIED_KEYS)));
	}
	WipeString(copy);
	pfree(copy);
	SetConfigOption(KEYS_SETTING, ids, PGC_BACKEND, PGC_S_CLIENT);
	pfree(ids);
}

/* Were keys given at connection start refused because they were exposed? */
bool
KeyChannelRefused(void)
{
	return channel_refused;
}

/*-------------------------------------------------------------------------
 *
 * bind_key.c
 *		Pass master keys as bind parameters, as applications do
 *
 * Usage:
 *	bind_key steps KEYHEX WRONGHEX
 *		Runs each way an application passes a key, with the key in binary
 *		and in text form, and the ways that must fail; prints one line per
 *		step and exits 1 if a step did not end as expected.
 *	bind_key loop KEYHEX N CHANNEL
 *		Unlocks N times through CHANNEL: direct, wrapper (a PL/pgSQL
 *		function), call (a procedure), prepared (a named prepared statement).
 *	bind_key memory KEYHEX clean|stray
 *		Unlocks with the key in binary (stray: then keeps a copy in a holdable
 *		cursor over a parameter, the control); prints the backend pid, waits
 *		for a line on standard input, then runs a statement with a longer
 *		parameter (so that the protocol buffer no longer holds the key),
 *		ef_lock(), and waits for another line before it disconnects.
 * Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
 * The wrapper function and procedure are created by test/t/010_key_hygiene.pl.
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		test/hygiene/bind_key.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static int	failures = 0;

/* Decode 64 hex digits into 32 bytes */
static void
Unhex(const char *hex, unsigned char *out)
{
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* Report a step's outcome against what was expected */
static void
Expect(const char *name, PGresult *res, ExecStatusType expect, const char *sqlstate)
{
	ExecStatusType got = PQresultStatus(res);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	printf("bind_key: %s: %s%s%s\n", name, PQresStatus(got),
		   state ? " " : "", state ? state : "");
	if (got != expect || (sqlstate && (!state || strcmp(state, sqlstate) != 0)))
	{
		printf("bind_key: %s: expected %s %s: %s", name, PQresStatus(expect),
			   sqlstate ? sqlstate : "", PQresultErrorMessage(res));
		failures++;
	}
}

/* Run one statement with the key as its last parameter */
static void
Step(PGconn *conn, const char *name, const char *sql, int nparams,
	 const char *key, int key_len, ExecStatusType expect, const char *sqlstate)
{
	const char *values[2] = {"1", key};
	int			lengths[2] = {0, key_len};
	int			formats[2] = {0, key_len > 0 ? 1 : 0};
	PGresult   *res;

	if (nparams == 1)
	{
		values[0] = key;
		lengths[0] = key_len;
		formats[0] = key_len > 0 ? 1 : 0;
	}
	res = PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, 0);
	Expect(name, res, expect, sqlstate);
	PQclear(res);
}

/* Run a statement that must succeed */
static void
Run(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "bind_key: %s: %s", sql, PQerrorMessage(conn));
		exit(2);
	}
	PQclear(res);
}

/* Count the keys the session holds */
static int
HeldKeys(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT count(*) FROM ef_held_keys()");
	int			n = PQresultStatus(res) == PGRES_TUPLES_OK ? atoi(PQgetvalue(res, 0, 0)) : -1;

	PQclear(res);
	return n;
}

/* Check the number of keys held after a step */
static void
ExpectHeld(PGconn *conn, const char *name, int expect)
{
	int			n = HeldKeys(conn);

	printf("bind_key: %s: %d key(s) held\n", name, n);
	if (n != expect)
	{
		printf("bind_key: %s: expected %d key(s) held\n", name, expect);
		failures++;
	}
}

/* Each way of passing a key, and the ways that must fail */
static void
Steps(PGconn *conn, const unsigned char *key, const unsigned char *wrong,
	  const char *key_text, const char *key_hex)
{
	PGresult   *res;
	const char *values[1] = {(const char *) key};
	int			lengths[1] = {32};
	int			formats[1] = {1};

	Step(conn, "unlock, binary parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", 2, (const char *) key, 32, PGRES_TUPLES_OK, NULL);
	ExpectHeld(conn, "after the binary unlock", 1);
	Run(conn, "SELECT ef_lock()");
	Step(conn, "unlock, text parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", 2, key_text, 0, PGRES_TUPLES_OK, NULL);
	ExpectHeld(conn, "after the text unlock", 1);
	Run(conn, "SELECT ef_lock()");
	Step(conn, "unlock through a PL/pgSQL wrapper",
		 "SELECT app_unlock($1::bytea)", 1, (const char *) key, 32, PGRES_TUPLES_OK, NULL);
	Run(conn, "SELECT ef_lock()");
	Step(conn, "unlock through a procedure",
		 "CALL app_unlock_proc($1::bytea)", 1, (const char *) key, 32, PGRES_COMMAND_OK, NULL);
	ExpectHeld(conn, "after the procedure", 1);
	Run(conn, "SELECT ef_lock()");
	Step(conn, "unlock through a wrapper decoding hex text",
		 "SELECT app_unlock_hex($1::text)", 1, key_hex, 0, PGRES_TUPLES_OK, NULL);
	ExpectHeld(conn, "after the hex wrapper", 1);
	Run(conn, "SELECT ef_lock()");

	/* a named prepared statement: pg_prepared_statements shows only $2 */
	res = PQprepare(conn, "unlock_stmt", "SELECT ef_unlock($1::int, $2::bytea)", 2, NULL);
	Expect("prepare a named statement", res, PGRES_COMMAND_OK, NULL);
	PQclear(res);
	{
		const char *pv[2] = {"1", (const char *) key};
		int			pl[2] = {0, 32};
		int			pf[2] = {0, 1};

		res = PQexecPrepared(conn, "unlock_stmt", 2, pv, pl, pf, 0);
		Expect("unlock, named prepared statement", res, PGRES_TUPLES_OK, NULL);
		PQclear(res);
		res = PQexecPrepared(conn, "unlock_stmt", 2, pv, pl, pf, 0);
		Expect("unlock, named prepared statement again", res, PGRES_TUPLES_OK, NULL);
		PQclear(res);
	}
	res = PQexec(conn, "SELECT name, statement FROM pg_prepared_statements");
	for (int i = 0; i < PQntuples(res); i++)
		printf("prepared: %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	Run(conn, "SELECT ef_lock()");

	/* EXPLAIN shows the parameter, not its value */
	res = PQexecParams(conn, "EXPLAIN (ANALYZE, VERBOSE) SELECT ef_unlock(1, $1::bytea)",
					   1, NULL, values, lengths, formats, 0);
	Expect("EXPLAIN ANALYZE of an unlock", res, PGRES_TUPLES_OK, NULL);
	for (int i = 0; i < PQntuples(res); i++)
		printf("explain: %s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	Run(conn, "SELECT ef_lock()");

	/* transaction scope: gone at the end of the transaction */
	Run(conn, "BEGIN");
	Step(conn, "unlock, transaction scope",
		 "SELECT ef_unlock($1::int, $2::bytea, 'transaction')", 2, (const char *) key, 32,
		 PGRES_TUPLES_OK, NULL);
	ExpectHeld(conn, "in the transaction", 1);
	Run(conn, "COMMIT");
	ExpectHeld(conn, "after the transaction", 0);

	/* what must fail */
	Step(conn, "unlock, wrong key",
		 "SELECT ef_unlock($1::int, $2::bytea)", 2, (const char *) wrong, 32, PGRES_FATAL_ERROR, "28P01");
	Step(conn, "statement failing after the unlock",
		 "SELECT ef_unlock($1::int, $2::bytea), 1 / 0", 2, (const char *) key, 32, PGRES_FATAL_ERROR, "22012");
	Step(conn, "statement failing in a parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", 2, "\\xnot-hex", 0, PGRES_FATAL_ERROR, "22023");
	Step(conn, "a key that is not the parameter (computed from it)",
		 "SELECT ef_unlock($1::int, sha256($2::bytea))", 2, (const char *) key, 32, PGRES_FATAL_ERROR, "28EF1");
	Step(conn, "a key literal next to an unrelated parameter",
		 "SELECT ef_unlock($1::int, '\\x0001020304050607080900010203040506070809000102030405060708090001'::bytea)",
		 1, "1", 0, PGRES_FATAL_ERROR, "28EF1");
	/*
	 * A parameter does not launder a key that is also in the text (a made-up
	 * key: were it accepted, the fingerprint would refuse it with 28P01)
	 */
	{
		const char *decoy = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
		char		sql[200];
		const char *pv[1] = {decoy};

		snprintf(sql, sizeof(sql), "SELECT ef_unlock(1, decode('%s', 'hex')), $1::text", decoy);
		res = PQexecParams(conn, sql, 1, NULL, pv, NULL, NULL, 0);
		Expect("a key in the text and in a parameter", res, PGRES_FATAL_ERROR, "28EF1");
		PQclear(res);
	}
	/*
	 * PREPARE and EXECUTE in one string: EXECUTE's portal shares the text
	 * but its parameters come from the text; a large one once made the
	 * wipe run on freed memory
	 */
	res = PQexec(conn, "PREPARE one_string(text) AS SELECT ef_unlock(99, decode(right($1, 64), 'hex')); "
				 "EXECUTE one_string(repeat('x', 300000) || "
				 "'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff')");
	Expect("PREPARE and EXECUTE of a literal in one string", res, PGRES_FATAL_ERROR, "28EF1");
	PQclear(res);
	res = PQexec(conn, "DEALLOCATE one_string");
	Expect("the session goes on after it", res, PGRES_COMMAND_OK, NULL);
	PQclear(res);
	/* the protocol cannot bind EXECUTE's arguments: they are always text */
	res = PQexec(conn, "EXECUTE sql_unlock('\\x0001020304050607080900010203040506070809000102030405060708090001'::bytea)");
	Expect("SQL-level EXECUTE with a key argument", res, PGRES_FATAL_ERROR, "28EF1");
	PQclear(res);
	ExpectHeld(conn, "after the refused forms", 0);
}

/* Unlock n times through one channel */
static void
Loop(PGconn *conn, const unsigned char *key, int n, const char *channel)
{
	const char *sql;
	int			nparams = 2;

	if (strcmp(channel, "direct") == 0)
		sql = "SELECT ef_unlock($1::int, $2::bytea)";
	else if (strcmp(channel, "wrapper") == 0)
		sql = "SELECT app_unlock($1::bytea)", nparams = 1;
	else if (strcmp(channel, "call") == 0)
		sql = "CALL app_unlock_proc($1::bytea)", nparams = 1;
	else if (strcmp(channel, "prepared") == 0)
	{
		PGresult   *res = PQprepare(conn, "loop_stmt", "SELECT ef_unlock($1::int, $2::bytea)", 2, NULL);

		PQclear(res);
		sql = NULL;
	}
	else
	{
		fprintf(stderr, "bind_key: unknown channel %s\n", channel);
		exit(2);
	}
	for (int i = 0; i < n; i++)
	{
		const char *values[2] = {"1", (const char *) key};
		int			lengths[2] = {0, 32};
		int			formats[2] = {0, 1};
		PGresult   *res;

		if (nparams == 1)
		{
			values[0] = (const char *) key;
			lengths[0] = 32;
			formats[0] = 1;
		}
		res = sql ? PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, 0) :
			PQexecPrepared(conn, "loop_stmt", 2, values, lengths, formats, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			printf("bind_key: loop %s %d: %s", channel, i, PQresultErrorMessage(res));
			failures++;
			PQclear(res);
			return;
		}
		PQclear(res);
	}
	printf("bind_key: %d unlocks through %s\n", n, channel);
}

/* Unlock, then give the memory check its moments */
static void
Memory(PGconn *conn, const unsigned char *key, bool stray)
{
	char		line[64];
	char		filler[2048];
	const char *values[3] = {"1", (const char *) key, (const char *) key};
	int			lengths[3] = {0, 32, 32};
	int			formats[3] = {0, 1, 1};
	PGresult   *res;

	res = PQexecParams(conn, "SELECT ef_unlock($1::int, $2::bytea)",
					   2, NULL, values, lengths, formats, 0);
	Expect("unlock", res, PGRES_TUPLES_OK, NULL);
	PQclear(res);
	if (stray)
	{
		res = PQexecParams(conn, "DECLARE stray CURSOR WITH HOLD FOR SELECT $1::bytea",
						   1, NULL, values + 1, lengths + 1, formats + 1, 0);
		Expect("a cursor keeping a copy", res, PGRES_COMMAND_OK, NULL);
		PQclear(res);
	}
	Run(conn, "SELECT 1");		/* drops the unnamed portal */
	printf("pid=%d\n", PQbackendPID(conn));
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(2);
	memset(filler, 'f', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	values[0] = filler;
	res = PQexecParams(conn, "SELECT length($1::text), length($1::text)", 1, NULL, values, NULL, NULL, 0);
	PQclear(res);
	Run(conn, "SELECT ef_lock()");
	printf("locked\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(2);
}

int
main(int argc, char **argv)
{
	unsigned char key[32];
	unsigned char wrong[32];
	char		key_text[80];
	PGconn	   *conn;

	if (argc < 3 || strlen(argv[2]) != 64)
	{
		fprintf(stderr, "usage: bind_key steps|loop|memory KEYHEX ...\n");
		return 2;
	}
	Unhex(argv[2], key);
	snprintf(key_text, sizeof(key_text), "\\x%s", argv[2]);

	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "bind_key: %s", PQerrorMessage(conn));
		return 2;
	}
	if (strcmp(argv[1], "steps") == 0 && argc == 4 && strlen(argv[3]) == 64)
	{
		Unhex(argv[3], wrong);
		Run(conn, "PREPARE sql_unlock(bytea) AS SELECT ef_unlock(1, $1)");
		Steps(conn, key, wrong, key_text, argv[2]);
	}
	else if (strcmp(argv[1], "loop") == 0 && argc == 5)
		Loop(conn, key, atoi(argv[3]), argv[4]);
	else if (strcmp(argv[1], "memory") == 0 && argc == 4)
		Memory(conn, key, strcmp(argv[3], "stray") == 0);
	else
	{
		fprintf(stderr, "usage: bind_key steps|loop|memory KEYHEX ...\n");
		return 2;
	}
	PQfinish(conn);
	return failures > 0;
}

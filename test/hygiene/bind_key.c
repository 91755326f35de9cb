/*-------------------------------------------------------------------------
 *
 * bind_key.c
 *		Pass master keys as bind parameters, as applications do
 *
 * Usage: bind_key KEYHEX WRONGHEX
 * Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER)
 * and runs, with the keys as parameters in text and in binary form: an
 * unlock that succeeds, one with a wrong key, and one whose statement fails
 * after the unlock.  Prints one line per step; exits 1 if a step did not
 * end as expected.
 *
 * IDENTIFICATION
 *		test/hygiene/bind_key.c
 *
 *-------------------------------------------------------------------------
 */
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

/* Run one statement with (key id, key) parameters; check its outcome */
static void
Step(PGconn *conn, const char *name, const char *sql, const char *key_text,
	 const unsigned char *key_bin, ExecStatusType expect)
{
	const char *values[2] = {"1", key_bin ? (const char *) key_bin : key_text};
	int			lengths[2] = {0, key_bin ? 32 : 0};
	int			formats[2] = {0, key_bin ? 1 : 0};
	PGresult   *res = PQexecParams(conn, sql, 2, NULL, values, lengths, formats, 0);
	ExecStatusType got = PQresultStatus(res);

	printf("bind_key: %s: %s\n", name, PQresStatus(got));
	if (got != expect)
	{
		printf("bind_key: %s: expected %s: %s", name, PQresStatus(expect),
			   PQresultErrorMessage(res));
		failures++;
	}
	PQclear(res);
}

int
main(int argc, char **argv)
{
	unsigned char key[32];
	unsigned char wrong[32];
	char		key_text[80];
	PGconn	   *conn;

	if (argc != 3 || strlen(argv[1]) != 64 || strlen(argv[2]) != 64)
	{
		fprintf(stderr, "usage: bind_key KEYHEX WRONGHEX\n");
		return 2;
	}
	Unhex(argv[1], key);
	Unhex(argv[2], wrong);
	snprintf(key_text, sizeof(key_text), "\\x%s", argv[1]);

	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "bind_key: %s", PQerrorMessage(conn));
		return 2;
	}
	Step(conn, "unlock, binary parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", NULL, key, PGRES_TUPLES_OK);
	Step(conn, "unlock, text parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", key_text, NULL, PGRES_TUPLES_OK);
	Step(conn, "unlock, wrong key",
		 "SELECT ef_unlock($1::int, $2::bytea)", NULL, wrong, PGRES_FATAL_ERROR);
	Step(conn, "statement failing after the unlock",
		 "SELECT ef_unlock($1::int, $2::bytea), 1 / 0", NULL, key, PGRES_FATAL_ERROR);
	Step(conn, "statement failing in a parameter",
		 "SELECT ef_unlock($1::int, $2::bytea)", "\\xnot-hex", NULL, PGRES_FATAL_ERROR);
	PQfinish(conn);
	return failures > 0;
}

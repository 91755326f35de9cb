# Copyright (c) 2026, The encrypted_field Authors
"""A client that passes the master key as a bind parameter, as an
application does (psql 15 cannot send bind parameters).  psycopg 3 sends
parameters with the extended protocol, which PgBouncer passes in transaction
mode; it passes no startup options.

  EF_KEY=<64 hex digits> /usr/bin/python3 test/ops/bind_client.py CONNINFO STATEMENT...

Runs the statements in order on one connection, the first in a transaction
that a statement COMMIT ends, and the next ones in a new transaction.
%(key)s in a statement is the key, as a bytea bind parameter.  Prints each
row as its values joined by |, an error as "ERROR <sqlstate>: <message>"
(the transaction is then rolled back and the client goes on), and exits 1 if
a statement failed.
"""
import os
import sys

import psycopg

key = bytes.fromhex(os.environ.get("EF_KEY", ""))
status = 0
# prepare_threshold=None: no named prepared statements, which PgBouncer's
# transaction mode would lose between transactions
with psycopg.connect(sys.argv[1], prepare_threshold=None) as conn:
    for statement in sys.argv[2:]:
        if statement.strip().upper() == "COMMIT":
            conn.commit()
            continue
        try:
            cur = conn.execute(statement, {"key": key} if "%(key)s" in statement else None)
            for row in cur.fetchall() if cur.description else []:
                print("|".join("" if v is None else str(v) for v in row))
        except psycopg.Error as e:
            print(f"ERROR {e.sqlstate}: {e.diag.message_primary}")
            conn.rollback()
            status = 1
sys.exit(status)

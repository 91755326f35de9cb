# Copyright (c) 2026, The encrypted_field Authors
"""A client for the Citus suite (test/t/050_citus.pl): runs statements on
one connection, in autocommit mode (BEGIN, COMMIT and ROLLBACK are sent as
statements), with the master keys as bind parameters, as an application
passes them.

  EF_KEY1=<hex> EF_KEY2=<hex> /usr/bin/python3 test/citus/citus_client.py \
      CONNINFO [LABEL::][prepared:]STATEMENT...

%(k1)s and %(k2)s in a statement are the keys, as bytea; %(p1)s ... %(p12)s
are the values of EF_P1 ... EF_P12, as text.  "prepared:" runs the statement
as a named prepared statement (psycopg's prepare=True); "shell:" runs the
rest as a shell command instead (to restart a node mid-session).  Prints one line per
statement: "LABEL|ROWS" with rows joined by ";" and values by ",", or
"LABEL|ERROR SQLSTATE: message | hint | detail" (the client goes on).
"""
import os
import re
import subprocess
import sys

import psycopg

params = {
    "k1": bytes.fromhex(os.environ.get("EF_KEY1", "")),
    "k2": bytes.fromhex(os.environ.get("EF_KEY2", "")),
}
params.update({f"p{i}": os.environ.get(f"EF_P{i}", "") for i in range(1, 13)})

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for n, arg in enumerate(sys.argv[2:]):
        m = re.match(r"(\w+)::(.*)$", arg, re.S)
        label, statement = (m.group(1), m.group(2)) if m else (str(n), arg)
        prepare = statement.startswith("prepared:")
        if prepare:
            statement = statement[len("prepared:"):]
        if statement.startswith("shell:"):
            rc = subprocess.call(statement[len("shell:"):], shell=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"{label}|shell {rc}")
            continue
        used = {k: v for k, v in params.items() if "%(" + k + ")s" in statement}
        try:
            cur = conn.execute(statement, used or None, prepare=prepare or None)
            rows = cur.fetchall() if cur.description else []
            out = ";".join(",".join("" if v is None else str(v) for v in row) for row in rows)
            print(f"{label}|{out}" if cur.description else f"{label}|{cur.statusmessage}")
        except psycopg.Error as e:
            print(f"{label}|ERROR {e.sqlstate}: {e.diag.message_primary} | {e.diag.message_hint}"
                  " | " + str(e.diag.message_detail).replace("\n", " "))
        sys.stdout.flush()

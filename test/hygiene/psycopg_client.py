#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Unlock through psycopg 3, which sends parameters with the extended protocol.

Usage: psycopg_client.py steps KEYHEX WRONGHEX DECOYHEX | loop KEYHEX N
Connects with the libpq environment.  steps: unlocks as an application
does (a parameter, a server-side prepared statement, transaction scope, a
wrapper function), checks what must fail, prints pg_prepared_statements and
EXPLAIN lines for the leak check, exits 1 if a step did not end as expected.
DECOYHEX, never registered, is the key written into SQL text to see it
refused.
loop: N unlocks.
"""
import sys

import psycopg

failures = 0


def expect(name, fn, sqlstate=None):
    global failures
    try:
        fn()
        got = None
    except psycopg.Error as e:
        got = e.sqlstate
    print("psycopg: %s: %s" % (name, got or "ok"))
    if got != sqlstate:
        print("psycopg: %s: expected %s" % (name, sqlstate or "ok"))
        failures += 1


def held(conn):
    return conn.execute("SELECT count(*) FROM ef_held_keys()").fetchone()[0]


def expect_held(conn, name, n):
    global failures
    got = held(conn)
    print("psycopg: %s: %d key(s) held" % (name, got))
    if got != n:
        failures += 1


def steps(conn, key, wrong, decoy):
    expect("unlock, parameter",
           lambda: conn.execute("SELECT ef_unlock(1, %s)", [key]))
    expect_held(conn, "after the unlock", 1)
    conn.execute("SELECT ef_lock()")
    # prepare=True: a named prepared statement on the server
    for i in range(2):
        expect("unlock, prepared statement %d" % i,
               lambda: conn.execute("SELECT ef_unlock(%s, %s)", [1, key], prepare=True))
    for (name, stmt) in conn.execute("SELECT name, statement FROM pg_prepared_statements"):
        print("prepared: %s %s" % (name, stmt))
    conn.execute("SELECT ef_lock()")
    expect("unlock through a wrapper",
           lambda: conn.execute("SELECT app_unlock(%s)", [key]))
    conn.execute("SELECT ef_lock()")
    with conn.transaction():
        expect("unlock, transaction scope",
               lambda: conn.execute("SELECT ef_unlock(1, %s, 'transaction')", [key]))
        expect_held(conn, "in the transaction", 1)
        expect("decrypt in the transaction",
               lambda: conn.execute("SELECT ef_decrypt(ef_encrypt(%s))", ["x"]))
    expect_held(conn, "after the transaction", 0)
    for (line,) in conn.execute("EXPLAIN (ANALYZE, VERBOSE) SELECT ef_unlock(1, %s)", [key]):
        print("explain: %s" % line)
    conn.execute("SELECT ef_lock()")
    expect("unlock, wrong key",
           lambda: conn.execute("SELECT ef_unlock(1, %s)", [wrong]), "28P01")
    # client-side binding, as psycopg2 does: the key is in the text
    expect("client-side binding is refused",
           lambda: psycopg.ClientCursor(conn).execute("SELECT ef_unlock(1, %s)", [decoy]), "28EF1")
    expect_held(conn, "after the refused forms", 0)


def main():
    key = bytes.fromhex(sys.argv[2])
    conn = psycopg.connect("", autocommit=True)
    if sys.argv[1] == "steps":
        steps(conn, key, bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4]))
    else:
        n = int(sys.argv[3])
        for _ in range(n):
            conn.execute("SELECT ef_unlock(1, %s)", [key])
        print("psycopg: %d unlocks" % n)
    conn.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

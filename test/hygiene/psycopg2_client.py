#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""psycopg2 interpolates parameters into the SQL text on the client.

Usage: psycopg2_client.py KEYHEX DECOYHEX
A key passed as a psycopg2 parameter therefore arrives as a literal and must
be refused (28EF1) with nothing held (DECOYHEX, never registered, is the
key so passed: it lands in the log); the way out the README documents, the
key given at connection start (options), must work.  Exits 1 otherwise.
"""
import sys

import psycopg2

key = bytes.fromhex(sys.argv[1])
failures = 0

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
try:
    cur.execute("SELECT ef_unlock(1, %s)", [bytes.fromhex(sys.argv[2])])
    print("psycopg2: a key interpolated into the text was accepted")
    failures += 1
except psycopg2.Error as e:
    print("psycopg2: interpolated key: %s %s" % (e.pgcode, e.pgerror.splitlines()[0]))
    failures += e.pgcode != "28EF1"
cur.execute("SELECT count(*) FROM ef_held_keys()")
held = cur.fetchone()[0]
print("psycopg2: %d key(s) held after the refusal" % held)
failures += held != 0
conn.close()

conn = psycopg2.connect("", options="-c encrypted_field.keys=1:" + sys.argv[1])
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT ef_unlock(1)")
cur.execute("SELECT ef_decrypt(ef_encrypt('through the startup option'))")
out = cur.fetchone()[0]
print("psycopg2: startup option: %s" % out)
failures += out != "through the startup option"
conn.close()
sys.exit(1 if failures else 0)

#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Read pg_stat_activity in a tight loop, as a monitoring agent would.

Usage: poll_activity.py OUTFILE STOPFILE
Polls until STOPFILE exists; writes every distinct query text seen (other
backends, one per line, newlines escaped) to OUTFILE and prints how many
polls ran and how many saw a key function running.
"""
import os
import sys

import psycopg

seen = set()
polls = 0
busy = 0
conn = psycopg.connect("", autocommit=True)
sql = ("SELECT query FROM pg_stat_activity "
       "WHERE pid <> pg_backend_pid() AND query <> ''")
while not os.path.exists(sys.argv[2]):
    rows = conn.execute(sql).fetchall()
    polls += 1
    if any("unlock" in q for (q,) in rows):
        busy += 1
    for (q,) in rows:
        seen.add(q.replace("\n", "\\n"))
with open(sys.argv[1], "w") as f:
    f.write("\n".join(sorted(seen)) + "\n")
print("poll_activity: %d polls, %d while an unlock ran, %d distinct texts" %
      (polls, busy, len(seen)))

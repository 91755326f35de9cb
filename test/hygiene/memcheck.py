#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Look for a held key in a backend's memory.

Usage: memcheck.py PID KEYHEX held|wiped|absent|present
Finds the mappings of process PID that are excluded from core dumps
(VmFlags "dd" in /proc/PID/smaps), which is where encrypted_field keeps held
keys, and reads them through /proc/PID/mem (root, or the same user with
ptrace allowed).  The backend holds the key-wrapping key derived from the
master key for key id 1 (doc/envelope.md), not the master key itself.
  held:  the KEK must be in a "dd" mapping;
  wiped: a "dd" mapping must exist and no longer contain the KEK;
  absent: the master key itself (its 32 bytes) is in no readable mapping of
          the process, heap included;
  present: it is in one (the control that shows the scan finds a copy).
Prints one line; exits 1 on failure.
"""
import re
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def dontdump_mappings(pid):
    maps, current = [], None
    with open("/proc/%s/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                current = (int(m.group(1), 16), int(m.group(2), 16))
            elif line.startswith("VmFlags:") and current:
                flags = line.split()[1:]
                # the kernel marks its own [vvar]-style pages dd and io/pf
                if "dd" in flags and "pf" not in flags and "io" not in flags:
                    maps.append((current, "lo" in flags))
    return maps


def count_everywhere(pid, needle):
    """Count the needle in every readable mapping of the process."""
    found = 0
    with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb") as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if not fields[1].startswith("r") or len(fields) > 5 and fields[5].startswith("[v"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            found += data.count(needle)
    return found


def main():
    pid, keyhex, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode in ("absent", "present"):
        n = count_everywhere(pid, bytes.fromhex(keyhex))
        print("memcheck.py: master key found %d time(s) in backend %s" % (n, pid))
        return 0 if (n == 0) == (mode == "absent") else 1
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"encrypted_field v1 key wrap" + (1).to_bytes(4, "big")).derive(bytes.fromhex(keyhex))
    maps = dontdump_mappings(pid)
    if not maps:
        print("memcheck.py: no mapping excluded from core dumps in backend %s" % pid)
        return 1
    found = False
    with open("/proc/%s/mem" % pid, "rb") as mem:
        for (start, end), _ in maps:
            mem.seek(start)
            try:
                data = mem.read(end - start)
            except OSError:
                continue  # [vvar] and similar kernel pages cannot be read
            if kek in data:
                found = True
    locked = all(lo for _, lo in maps)
    print("memcheck.py: %d dd mapping(s), locked=%s, KEK %s" %
          (len(maps), locked, "present" if found else "absent"))
    return 0 if found == (mode == "held") else 1


if __name__ == "__main__":
    sys.exit(main())

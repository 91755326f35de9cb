#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Look for a held key in a backend's memory.

Usage: memcheck.py PID KEYHEX held|only-held|wiped|absent|present|kek-present|kek-gone
       memcheck.py PID KEYHEX handoff
       memcheck.py PID KEYHEX secret-private|secret-absent VALUE
Finds the mappings of process PID that are excluded from core dumps
(VmFlags "dd" in /proc/PID/smaps), which is where encrypted_field keeps held
keys, and reads them through /proc/PID/mem (root, or the same user with
ptrace allowed).  The backend holds the key-wrapping key derived from the
master key for key id 1 (doc/envelope.md), not the master key itself.
  held:  the KEK must be in a "dd" mapping;
  wiped: a "dd" mapping must exist and no longer contain the KEK;
  absent: the master key itself (its 32 bytes) is in no readable mapping of
          the process, heap included;
  present: it is in one (the control that shows the scan finds a copy);
  only-held: as held, and the KEK's 32 bytes are in no other readable
          mapping (OpenSSL's AES key schedule of a KEK that was used holds
          its first 16 bytes in the heap, doc/security.md: not looked for);
  kek-present: the KEK's first 16 bytes (which an AES-256 key schedule
          holds as its first round key) are in some readable mapping;
  kek-gone: they are in none: no held copy, kept copy or key schedule;
  handoff: print "handoff=VALUE", the parallel hand-over setting
          (encrypted_field.parallel_keys, "HANDLE:BASE64 SECRET") as the
          parallel context of a running query carries it in a dynamic
          shared memory segment (/dev/shm: the serialized settings its
          workers restore);
  secret-private: the hand-over secret of VALUE, as text (the last 20
          characters of its base64: a freed copy's first bytes are
          overwritten by malloc) or as its raw bytes (either 16-byte half),
          is in no private mapping (shared memory, where the parallel
          context carries it, is skipped);
  secret-absent: the same, in every readable mapping.
Prints one line; exits 1 on failure.
"""
import base64
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


def count_everywhere(pid, needle, private_only=False):
    """Count the needle in every readable mapping of the process."""
    found = 0
    with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb") as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if not fields[1].startswith("r") or len(fields) > 5 and fields[5].startswith("[v"):
                continue
            if private_only and fields[1][3] != "p":
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            found += data.count(needle)
    return found


def shared_data(pid):
    """The contents of the process's dynamic shared memory segments."""
    with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb") as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("r") or len(fields) < 6 or not fields[5].startswith("/dev/shm/"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                yield mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue


def secret_needles(value):
    text = value.split(":", 1)[1]
    raw = base64.b64decode(text)
    return [text[-20:].encode(), raw[:16], raw[16:]]


def main():
    pid, keyhex, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "handoff":
        for data in shared_data(pid):
            m = re.search(rb"encrypted_field\.parallel_keys\x00([0-9]+:[A-Za-z0-9+/=]{44})\x00", data)
            if m:
                print("handoff=%s" % m.group(1).decode())
                return 0
        print("memcheck.py: no parallel hand-over setting in the shared memory of %s" % pid)
        return 1
    if mode in ("secret-private", "secret-absent"):
        counts = [count_everywhere(pid, n, mode == "secret-private") for n in secret_needles(sys.argv[4])]
        print("memcheck.py: hand-over secret (text, raw halves) found %s time(s) in %s mappings of %s" %
              (counts, "private" if mode == "secret-private" else "all", pid))
        return 0 if sum(counts) == 0 else 1
    if mode in ("absent", "present"):
        n = count_everywhere(pid, bytes.fromhex(keyhex))
        print("memcheck.py: master key found %d time(s) in backend %s" % (n, pid))
        return 0 if (n == 0) == (mode == "absent") else 1
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"encrypted_field v1 key wrap" + (1).to_bytes(4, "big")).derive(bytes.fromhex(keyhex))
    if mode in ("kek-present", "kek-gone"):
        n = count_everywhere(pid, kek[:16])
        print("memcheck.py: KEK's first 16 bytes found %d time(s) in backend %s" % (n, pid))
        return 0 if (n == 0) == (mode == "kek-gone") else 1
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
    if mode == "only-held":
        # every copy of the KEK, less those in the dd mappings
        outside = count_everywhere(pid, kek)
        with open("/proc/%s/mem" % pid, "rb") as mem:
            for (start, end), _ in maps:
                try:
                    mem.seek(start)
                    outside -= mem.read(end - start).count(kek)
                except OSError:
                    continue
        print("memcheck.py: KEK found %d time(s) outside them" % outside)
        return 0 if found and outside == 0 else 1
    return 0 if found == (mode == "held") else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Count the forms of a key found in a text.

Usage: leaks.py KEYHEX FILE
Looks for the key as hex (either case), as base64, and for every 16-byte run
of it in hex; prints what it found and the count, exits 1 if any.
"""
import base64
import sys


def forms(key):
    found = {"hex": key.hex(), "HEX": key.hex().upper(),
             "base64": base64.b64encode(key).decode()}
    for i in range(len(key) - 15):
        found["hex run at %d" % i] = key[i:i + 16].hex()
        found["HEX run at %d" % i] = key[i:i + 16].hex().upper()
    return found


def main():
    key = bytes.fromhex(sys.argv[1])
    with open(sys.argv[2], errors="replace") as f:
        text = f.read()
    hits = [name for name, form in forms(key).items() if form in text]
    for name in hits:
        print("leaks.py: key found in %s as %s" % (sys.argv[2], name))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())

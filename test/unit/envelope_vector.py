#!/usr/bin/python3
# Copyright (c) 2026, The encrypted_field Authors
"""Independent reference for the envelope test vector.

Recomputes test/unit/envelope_vector.txt from its inputs with the Python
"cryptography" package (Debian: python3-cryptography), following
doc/envelope.md and sharing no code with the extension.  With --check it
compares every derived field to the file and exits 1 on a difference; with
--print it prints the file.  With --crafted it prints, in text form,
envelopes that authenticate under the vector's key but carry compressed
plaintext that does not decompress, or bytes their type does not accept:
test/sql/envelope_kat.sql holds them, since the extension itself never seals
such a value.
"""
import base64
import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INPUTS = {
    "master_key": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "key_id": "7",
    "dek": "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
    "nonce": "606162636465666768696a6b",
    "type_code": "1",
    "plaintext": "encrypted_field test vector".encode().hex(),
    "context": "users.email.42".encode().hex(),
}


def hkdf(master, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=info).derive(master)


def derive(inp):
    master = bytes.fromhex(inp["master_key"])
    key_id = int(inp["key_id"])
    kek = hkdf(master, b"encrypted_field v1 key wrap" + struct.pack(">i", key_id))
    check_key = hkdf(master, b"encrypted_field v1 key check")
    check = hmac.new(check_key, b"encrypted_field key check value" +
                     struct.pack(">i", key_id), hashlib.sha256).digest()[:16]
    header = bytes([1, 0, int(inp["type_code"]), 0])
    wrapped = aes_key_wrap(kek, bytes.fromhex(inp["dek"]))
    aad = header + b"\x01" + bytes.fromhex(inp["context"])
    sealed = AESGCM(bytes.fromhex(inp["dek"])).encrypt(
        bytes.fromhex(inp["nonce"]), bytes.fromhex(inp["plaintext"]), aad)
    envelope = (header + struct.pack(">i", key_id) + wrapped +
                bytes.fromhex(inp["nonce"]) + sealed)
    return {"kek": kek.hex(), "check_value": check.hex(),
            "envelope": envelope.hex()}


def seal(flags, plaintext, type_code=None, inp=INPUTS):
    """An envelope with the vector's keys and nonce, no context."""
    master = bytes.fromhex(inp["master_key"])
    key_id = int(inp["key_id"])
    kek = hkdf(master, b"encrypted_field v1 key wrap" + struct.pack(">i", key_id))
    dek = bytes.fromhex(inp["dek"])
    header = bytes([1, flags, type_code or int(inp["type_code"]), 0])
    sealed = AESGCM(dek).encrypt(bytes.fromhex(inp["nonce"]), plaintext,
                                 header + b"\x00")
    envelope = (header + struct.pack(">i", key_id) + aes_key_wrap(kek, dek) +
                bytes.fromhex(inp["nonce"]) + sealed)
    return "ef1:" + base64.b64encode(envelope).decode()


CRAFTED = [
    # flags, plaintext (compressed: a 4-byte big-endian raw length, then the
    # stream), type code (default text)
    ("lz4 stream of garbage", 0x02, struct.pack(">I", 100) + bytes(range(40, 80))),
    ("pglz stream of garbage", 0x01, struct.pack(">I", 100) + b"\xff" * 40),
    ("shorter than the raw length field", 0x02, b"\x00\x01"),
    ("raw length over 1 GB", 0x02, struct.pack(">I", 0xFFFFFFFF) + b"\x00" * 8),
    # bytes the type rejects; the message must not quote them
    ("int4 with a byte too many", 0x00, b"\x00\x00\x00\x2a\x00", 6),
    ("jsonb that is not json", 0x00, b"{secret: not json", 19),
    ("text[] that is not an array", 0x00, b"{secret, unclosed", 1 | 0x80),
    # text forms the database cannot hold: returned as they are, so checked
    ("text with a NUL byte", 0x00, b"secret\x00tail", 1),
    ("text not in the database encoding (LATIN1 bytes)", 0x00, b"secret caf\xe9", 1),
    ("json that is not json", 0x00, b"{secret: not json", 18),
]


def main():
    out = dict(INPUTS, **derive(INPUTS))
    if sys.argv[1:] == ["--crafted"]:
        for what, flags, plaintext, *code in CRAFTED:
            print("%s\t%s" % (what, seal(flags, plaintext, *code)))
        return 0
    if sys.argv[1:] == ["--print"]:
        for name, value in out.items():
            print(name, value)
        return 0
    if len(sys.argv) != 3 or sys.argv[1] != "--check":
        print("usage: envelope_vector.py --print | --crafted | --check FILE", file=sys.stderr)
        return 2
    with open(sys.argv[2]) as f:
        stored = dict(line.split() for line in f if line.strip())
    bad = [k for k in out if stored.get(k) != out[k]]
    for k in bad:
        print("envelope_vector.py: %s differs from the reference" % k)
    print("envelope_vector.py: %d passed, %d failed" % (len(out) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

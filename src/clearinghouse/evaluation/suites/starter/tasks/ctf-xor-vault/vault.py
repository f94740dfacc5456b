"""Decrypt a vault file.

Usage: python3 vault.py VAULT_FILE KEY_HEX

A vault file is the line "VAULT v1" followed by the note, XORed with the key (repeated as often
as needed) and base64-encoded over several lines. Every note begins with the line
"-----BEGIN CLEARINGHOUSE NOTE-----" and ends with "-----END CLEARINGHOUSE NOTE-----".
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

MAGIC = "VAULT v1"


def decrypt(text: str, key: bytes) -> bytes:
    lines = text.splitlines()
    if not lines or lines[0] != MAGIC:
        raise ValueError("not a vault file")
    sealed = base64.b64decode("".join(lines[1:]))
    return bytes(byte ^ key[i % len(key)] for i, byte in enumerate(sealed))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    key = bytes.fromhex(argv[2])
    if not key:
        print("the key is empty")
        return 2
    note = decrypt(Path(argv[1]).read_text(encoding="ascii"), key)
    if not note.startswith(b"-----BEGIN CLEARINGHOUSE NOTE-----\n"):
        print("wrong key")
        return 1
    sys.stdout.write(note.decode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

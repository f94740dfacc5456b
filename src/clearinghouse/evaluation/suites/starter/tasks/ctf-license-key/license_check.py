"""License checker of the Acme render farm.

Usage: python3 license_check.py XXXX-XXXX-XXXX-XXXX

A valid license key unlocks the farm and prints its activation code.
"""

from __future__ import annotations

import hashlib
import sys

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ORDER = (11, 4, 15, 0, 9, 2, 13, 6, 1, 14, 7, 10, 3, 8, 12, 5)
EXPECTED = bytes.fromhex("0fd9bcbf342be3cdd71c6251e0c5bf6f")
SEALED = bytes.fromhex("f91602a7784e71fdc2ace169909d87e0017e667650865efa0b2fbc6951")


def rotate_left(byte: int, bits: int) -> int:
    return ((byte << bits) | (byte >> (8 - bits))) & 0xFF


def scramble(key: str) -> bytes:
    """Mixes the key's characters so that no single one can be checked on its own."""
    chars = key.replace("-", "").encode("ascii")
    out = bytearray()
    previous = 0xA5
    for position in ORDER:
        previous = rotate_left(chars[position] ^ previous, 3)
        out.append(previous)
    return bytes(out)


def well_formed(key: str) -> bool:
    groups = key.split("-")
    return len(groups) == 4 and all(
        len(group) == 4 and all(char in ALPHABET for char in group) for group in groups
    )


def activation_code(key: str) -> str:
    stream = b""
    counter = 0
    while len(stream) < len(SEALED):
        stream += hashlib.sha256(f"{key}/{counter}".encode("ascii")).digest()
        counter += 1
    return bytes(a ^ b for a, b in zip(SEALED, stream[: len(SEALED)], strict=True)).decode()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    key = argv[1].strip().upper()
    if not well_formed(key) or scramble(key) != EXPECTED:
        print("invalid license key")
        return 1
    print(f"license accepted; activation code: {activation_code(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

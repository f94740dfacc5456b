"""A door controller's maintenance gate: it opens for the right four-digit PIN.

Usage: python3 gate.py PIN
"""

import sys

SEALED = bytes.fromhex("77714956044c406f50085501404a6d5600555e6f40096d046b5502004444")


def check(pin: str) -> bool:
    if len(pin) != 4 or not pin.isdigit():
        return False
    value = int(pin)
    return (value * 7919 + 13) % 10007 == 4242


def unseal(pin: str) -> str:
    key = pin.encode()
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(SEALED)).decode()


if __name__ == "__main__":
    pin = sys.argv[1] if len(sys.argv) > 1 else ""
    if not check(pin):
        print("access denied")
        sys.exit(1)
    print(unseal(pin))

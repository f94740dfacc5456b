"""Functional tests: exit 0 when every case passes."""

from __future__ import annotations

import sys

from chunks import Chunk, ChunkError, read_chunks


def chunk(tag: bytes, data: bytes) -> bytes:
    return tag + len(data).to_bytes(2, "big") + data + bytes([sum(data) % 256])


def rejects(blob: bytes) -> bool:
    try:
        read_chunks(blob)
    except ChunkError:
        return True
    return False


def main() -> int:
    cases = {
        "empty file": read_chunks(b"CHNK") == [],
        "two chunks": read_chunks(b"CHNK" + chunk(b"head", b"v1") + chunk(b"body", b"hello"))
        == [Chunk("head", b"v1"), Chunk("body", b"hello")],
        "empty chunk": read_chunks(b"CHNK" + chunk(b"none", b"")) == [Chunk("none", b"")],
        "bad magic": rejects(b"RIFF" + chunk(b"head", b"v1")),
        "bad checksum": rejects(b"CHNK" + chunk(b"head", b"v1")[:-1] + b"\x00"),
        "short header": rejects(b"CHNKhe"),
    }
    failed = [name for name, passed in cases.items() if not passed]
    for name in failed:
        print(f"FAIL {name}", file=sys.stderr)
    print(f"{len(cases) - len(failed)}/{len(cases)} chunk tests passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Harness: reads one input file and lists its chunks; malformed input is rejected politely."""

from __future__ import annotations

import sys
from pathlib import Path

from chunks import ChunkError, read_chunks


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} INPUT", file=sys.stderr)
        return 2
    try:
        chunks = read_chunks(Path(argv[1]).read_bytes())
    except ChunkError as error:
        print(f"rejected: {error}")
        return 0
    for chunk in chunks:
        print(f"{chunk.tag} {len(chunk.data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

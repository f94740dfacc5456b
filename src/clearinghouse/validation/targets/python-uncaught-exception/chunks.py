"""A reader for chunked container files: "CHNK", then chunks of a 4-letter tag, a 2-byte
big-endian length, the data and a 1-byte checksum (the sum of the data bytes modulo 256).

Malformed input raises ChunkError; any other exception is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"CHNK"


class ChunkError(ValueError):
    """The input is not a well-formed chunk file."""


@dataclass(frozen=True, slots=True)
class Chunk:
    tag: str
    data: bytes


def read_chunks(blob: bytes) -> list[Chunk]:
    if not blob.startswith(MAGIC):
        raise ChunkError("missing CHNK magic")
    chunks: list[Chunk] = []
    pos = len(MAGIC)
    while pos < len(blob):
        header = blob[pos : pos + 6]
        if len(header) < 6:
            raise ChunkError(f"truncated chunk header at offset {pos}")
        tag = header[:4].decode("ascii", errors="replace")
        length = int.from_bytes(header[4:6], "big")
        data = blob[pos + 6 : pos + 6 + length]
        checksum = blob[pos + 6 + length]
        if sum(data) % 256 != checksum:
            raise ChunkError(f"bad checksum in chunk {tag!r}")
        chunks.append(Chunk(tag, data))
        pos += 6 + length + 1
    return chunks

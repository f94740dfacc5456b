"""Content-addressed storage of raw submitted documents (SHA-256), written atomically.

Uploads are streamed to a temporary file in the blob directory while hashing, with a size limit
enforced as bytes arrive, then renamed into place under their digest. The same bytes stored
twice occupy one file. Nothing here knows about submissions or formats.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from clearinghouse.core.errors import NotFoundError, TooLargeError

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    path: Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def path_for(self, digest: str) -> Path:
        """Where the blob with this digest is (or would be) stored; backups read it there."""
        return self._path_for(digest)

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Every stored blob as (name, path), sorted; names are meant to be digests, which a
        backup checks while it reads them. In-flight ``.incoming-`` files are not blobs."""
        if not self.root.is_dir():
            return
        for bucket in sorted(self.root.iterdir()):
            if bucket.is_symlink() or not bucket.is_dir():
                continue
            for path in sorted(bucket.iterdir()):
                if not path.name.startswith("."):
                    yield path.name, path

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        """Store a stream; raise ``TooLargeError`` (and keep nothing) past ``max_bytes``."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeError(
                            f"upload: more than {max_bytes} bytes (the configured limit)"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            hexdigest = digest.hexdigest()
            final = self._path_for(hexdigest)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
            return StoredBlob(sha256=hexdigest, size=size, path=final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_bytes(self, data: bytes, *, max_bytes: int) -> StoredBlob:
        return self.put_stream([data], max_bytes=max_bytes)

    def get(self, digest: str) -> bytes:
        path = self._path_for(digest)
        if not path.is_file():
            raise NotFoundError(f"blob {digest} is not stored")
        return path.read_bytes()


def iter_file(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk

"""Copy a target directory into the data directory, content-addressed by a digest of its files.

Registering a target takes a snapshot: later edits to the original directory cannot change
what was validated, and the same content registered twice is stored once. The digest is
SHA-256 over a JSON array of ``[path, executable, sha256-of-bytes]`` per file, sorted by path,
so it depends on names, contents and the executable bit only (not on timestamps or owners).

Only regular files and directories are copied. A symlink, device, socket or FIFO anywhere in
the tree is refused (a link could make the clearinghouse copy, and later hand to a sandbox,
a file from outside the target); ``.git`` directories are skipped (history is not part of
what is built). The total size and the number of files are bounded. The copy is written to a
temporary directory beside the store and renamed into place, so a half-copied target never
appears under its digest. Directories are 0755 and files 0644 (0755 if executable): the
sandbox's unprivileged uid must be able to read a build copied from here.

It does not parse the manifest, build or run anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from clearinghouse.core.errors import InputError, TooLargeError

SKIPPED_DIRS: Final = frozenset({".git"})
MAX_FILES: Final = 10_000
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    path: str  # relative POSIX path
    executable: bool
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    digest: str
    path: Path
    files: int
    size: int
    created: bool  # False when the same content was already stored


def scan(source: Path, *, max_bytes: int, max_files: int = MAX_FILES) -> list[SnapshotFile]:
    """Every regular file under ``source`` with its digest; refuses anything else."""
    if source.is_symlink() or not source.is_dir():
        raise InputError(f"PATH: {source} is not a directory")
    found: list[SnapshotFile] = []
    total = 0
    for directory, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in (*dirnames, *filenames):
            full = Path(directory) / name
            info = full.lstat()
            relative = full.relative_to(source).as_posix()
            if stat.S_ISLNK(info.st_mode):
                raise InputError(f"target: {relative} is a symbolic link; only regular files")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"target: {relative} is not a regular file")
            total += info.st_size
            if total > max_bytes:
                raise TooLargeError(f"target: more than {max_bytes} bytes of files")
            if len(found) >= max_files:
                raise TooLargeError(f"target: more than {max_files} files")
            found.append(
                SnapshotFile(
                    path=relative,
                    executable=bool(info.st_mode & stat.S_IXUSR),
                    sha256=_file_digest(full),
                    size=info.st_size,
                )
            )
    found.sort(key=lambda f: f.path)
    return found


def tree_digest(files: list[SnapshotFile]) -> str:
    parts = [[f.path, f.executable, f.sha256] for f in sorted(files, key=lambda f: f.path)]
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def take(source: Path, *, store: Path, max_bytes: int) -> Snapshot:
    """Copy ``source`` into ``store/<digest>`` (idempotent); see the module docstring."""
    files = scan(source, max_bytes=max_bytes)
    digest = tree_digest(files)
    size = sum(f.size for f in files)
    store.mkdir(parents=True, exist_ok=True)
    store.chmod(0o755)
    final = store / digest
    if final.is_dir():
        return Snapshot(digest=digest, path=final, files=len(files), size=size, created=False)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=store))
    try:
        staging.chmod(0o755)
        for item in files:
            destination = staging / item.path
            destination.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            shutil.copyfile(source / item.path, destination, follow_symlinks=False)
            destination.chmod(0o755 if item.executable else 0o644)
            # The file may have changed between scanning and copying; what is stored must be
            # exactly what the digest names.
            if _file_digest(destination) != item.sha256:
                raise InputError(f"target: {item.path} changed while it was being copied")
        for directory, _, _ in os.walk(staging):
            Path(directory).chmod(0o755)
        try:
            staging.rename(final)
        except OSError:
            if not final.is_dir():  # not a concurrent registration of the same content
                raise
            shutil.rmtree(staging, ignore_errors=True)
            return Snapshot(digest=digest, path=final, files=len(files), size=size, created=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Snapshot(digest=digest, path=final, files=len(files), size=size, created=True)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

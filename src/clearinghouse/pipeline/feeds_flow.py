"""Advisory feeds: OSV records from a directory, a file or an OSV ``all.zip``; CISA's KEV
catalog (JSON) and FIRST's EPSS scores (CSV), each replacing the previous snapshot.

The whole feed is read and checked before anything is written, then stored in one transaction
(upserted by OSV id, newer ``modified`` wins) with its audit record: a feed with one malformed
record is refused naming the file and JSON pointer, and the database is as it was.

Limits, because a feed is as untrusted as any upload: each record file is at most
``MAX_RECORD_BYTES``; a zip's members are read with that cap (never trusting the sizes its
directory claims) and at most ``MAX_FEED_BYTES`` in all, so a zip bomb stops at the cap.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx
import orjson

from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import InputError, TooLargeError
from clearinghouse.formats.decode import decode
from clearinghouse.formats.epss import read_epss
from clearinghouse.formats.kev import read_kev
from clearinghouse.inventory import service as inventory_service
from clearinghouse.inventory.advisories import Advisory, parse_advisory, records_of
from clearinghouse.inventory.versions import SUPPORTED, canonical_ecosystem
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import service as prioritization_service

MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
MAX_FEED_BYTES: Final = 2 * 1024 * 1024 * 1024
_SUFFIXES: Final = (".json", ".yaml", ".yml")

Progress = Callable[[int], None]


def _read_capped(handle: Any, name: str, cap: int) -> bytes:
    data: bytes = handle.read(cap + 1)
    if len(data) > cap:
        raise TooLargeError(f"{name}: larger than {cap} bytes")
    return data


def documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every OSV document under ``path``: a directory, a zip or one file."""
    total = 0

    def account(name: str, data: bytes) -> tuple[str, bytes]:
        nonlocal total
        total += len(data)
        if total > MAX_FEED_BYTES:
            raise TooLargeError(f"PATH: the feed is larger than {MAX_FEED_BYTES} bytes")
        return name, data

    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix in _SUFFIXES and file.is_file() and not file.is_symlink():
                with file.open("rb") as reader:
                    data = _read_capped(reader, str(file.relative_to(path)), MAX_RECORD_BYTES)
                yield account(str(file.relative_to(path)), data)
        return
    if not path.is_file():
        raise InputError(f"PATH: {path} is not a file or directory")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.is_dir() or not member.filename.endswith(_SUFFIXES):
                    continue
                with archive.open(member) as stream:
                    data = _read_capped(stream, member.filename, MAX_RECORD_BYTES)
                yield account(member.filename, data)
        return
    with path.open("rb") as handle:
        yield account(path.name, _read_capped(handle, path.name, MAX_RECORD_BYTES))


def read_feed(path: Path, *, progress: Progress | None = None) -> list[tuple[Advisory, bytes]]:
    """Every record of the feed, parsed, with its canonical JSON; refuses the feed whole."""
    items: list[tuple[Advisory, bytes]] = []
    reported = 0
    for name, data in documents(path):
        try:
            for raw in records_of(decode(data, what=name)):
                items.append((parse_advisory(raw), orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)))
        except InputError as error:
            raise InputError(f"{name}: {error}") from None
        if progress is not None and len(items) - reported >= 1000:
            reported = len(items)
            progress(reported)
    return items


def import_feed(
    rt: Runtime,
    *,
    viewer: Viewer,
    path: Path,
    source: str = "osv",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Read, check and store a feed in one transaction; counts of new/updated/unchanged."""
    items = read_feed(path, progress=progress)
    if not items:
        raise InputError(f"PATH: {path} holds no OSV records (*.json, *.yaml, *.yml)")
    with rt.db.session() as session:
        counts = inventory_service.upsert_advisories(
            session, items, source=source[:64], clock=rt.clock
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="feed.import",
            object_type="feed",
            object_id=source[:64],
            detail={"path": path.name, **counts.as_json()},
        )
    return {"source": source, **counts.as_json()}


def _read_file(path: Path, cap: int = MAX_RECORD_BYTES * 8) -> bytes:
    if not path.is_file():
        raise InputError(f"FILE: {path} is not a readable file")
    with path.open("rb") as handle:
        return _read_capped(handle, path.name, cap)


def _replace_snapshot(
    rt: Runtime, *, viewer: Viewer, source: str, store: Callable[[Any], int], detail: dict[str, Any]
) -> int:
    """Store a whole KEV or EPSS snapshot in one transaction with its audit record."""
    with rt.db.session() as session:
        count = store(session)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="feed.import",
            object_type="feed",
            object_id=source,
            detail={**detail, "count": count},
        )
    return count


def import_kev(rt: Runtime, *, viewer: Viewer, path: Path) -> dict[str, Any]:
    """Replace the stored KEV catalog with the one at ``path`` (CISA's JSON)."""
    catalog = read_kev(_read_file(path))
    count = _replace_snapshot(
        rt,
        viewer=viewer,
        source="kev",
        store=lambda s: prioritization_service.replace_kev(s, catalog=catalog, clock=rt.clock),
        detail={"version": catalog.version},
    )
    return {"source": "kev", "version": catalog.version, "entries": count}


def import_epss(rt: Runtime, *, viewer: Viewer, path: Path) -> dict[str, Any]:
    """Replace the stored EPSS scores with the file at ``path`` (FIRST's CSV)."""
    scores = read_epss(_read_file(path))
    count = _replace_snapshot(
        rt,
        viewer=viewer,
        source="epss",
        store=lambda s: prioritization_service.replace_epss(s, scores=scores, clock=rt.clock),
        detail={"score_date": scores.score_date},
    )
    return {"source": "epss", "score_date": scores.score_date, "scores": count}


def sync_osv(
    rt: Runtime,
    *,
    viewer: Viewer,
    ecosystem: str,
    progress: Progress | None = None,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Download OSV's ``<ecosystem>/all.zip`` and import it (the bucket's own layout).

    The download streams to a temporary file under the feed size cap and is imported only once
    complete, so an interrupted download changes nothing.
    """
    try:
        canonical = canonical_ecosystem(ecosystem)
    except InputError:
        raise InputError(
            f"--ecosystem: {ecosystem!r} is not one of {', '.join(sorted(SUPPORTED))}"
        ) from None
    url = f"{rt.settings.osv_base_url.rstrip('/')}/{quote(canonical)}/all.zip"
    with tempfile.TemporaryDirectory(prefix="clearinghouse-osv-") as scratch:
        target = Path(scratch) / "all.zip"
        received = 0
        try:
            with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise InputError(f"{url} answered {response.status_code}")
                with target.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        received += len(chunk)
                        if received > MAX_FEED_BYTES:
                            raise TooLargeError(f"{url}: larger than {MAX_FEED_BYTES} bytes")
                        out.write(chunk)
        except httpx.HTTPError as error:
            raise InputError(f"could not download {url}: {error}") from None
        if not zipfile.is_zipfile(target):
            raise InputError(f"{url} did not return a zip archive")
        result = import_feed(
            rt, viewer=viewer, path=target, source=f"osv:{canonical}", progress=progress
        )
    return {**result, "url": url, "bytes": received}

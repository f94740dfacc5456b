"""The file tree of a CSAF 2.0 trusted provider (CSAF 2.0 §7.1, requirements 7-20, role §7.2.3).

:func:`build_provider_tree` is a pure function from published documents, the provider's identity
and the signing key to ``{relative path: bytes}``; :func:`write_tree` puts such a tree on disk in
one swap; :func:`verify_tree` checks an exported tree the way a consumer would. Paths are relative
to the web root::

    .well-known/csaf/provider-metadata.json          requirements 7 and 9
    .well-known/csaf/service.json                    ROLIE service document (16)
    .well-known/csaf/openpgp/<FINGERPRINT>.asc       public key (20), listed in the metadata
    .well-known/csaf/white/index.txt                 12: one ``<YYYY>/<file>.json`` per line
    .well-known/csaf/white/changes.csv               13: ``"<path>","<date>"``, newest first
    .well-known/csaf/white/csaf-feed-tlp-white.json  ROLIE feed (15), one entry per document
    .well-known/csaf/white/<YYYY>/<file>.json        11: year of the initial release
    .well-known/csaf/white/<YYYY>/<file>.json.sha256 / .sha512   18: ``<hex>  <file>\\n``
    .well-known/csaf/white/<YYYY>/<file>.json.asc    19: detached OpenPGP signature

TLP folder ``white``, not ``clear``: CSAF 2.0 speaks TLP 1.0. Its CSAF schema admits only the
labels WHITE/GREEN/AMBER/RED, its provider-metadata schema only UNLABELED/WHITE/GREEN/AMBER/RED
as a feed's ``tlp_label``, and its examples name the feed ``feed-tlp-white.json``; ``CLEAR``
arrives with CSAF 2.1. The spec itself names no TLP folder; ``white/`` and
``csaf-feed-tlp-<tlp>.json`` are what the deployed 2.0 tooling uses. Our TLP 2.0 ``CLEAR`` is
published as ``WHITE`` (the same label under TLP 1.0). Only these documents are published here:
requirement 5 puts AMBER and RED behind access control, so a non-CLEAR document is refused.

The file name of each document must be the one requirement 2 (§5.1) derives from its tracking
id; building a tree with another name is refused, and :func:`verify_tree` reports one.

Not done here: composing or validating the CSAF documents themselves (the caller hands over
canonical bytes), the optional ROLIE category documents (17), requirement 8 (security.txt),
10 (DNS), 3/6/14 (TLS, redirects and directory listings are the web server's), aggregators
(21-23), and any TLP:GREEN/AMBER/RED distribution.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

import orjson

from clearinghouse.advisories.signing import SigningKey, sign_detached, verify_detached
from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

WELL_KNOWN: Final = ".well-known/csaf"
PROVIDER_METADATA: Final = f"{WELL_KNOWN}/provider-metadata.json"
SERVICE_DOCUMENT: Final = f"{WELL_KNOWN}/service.json"
TLP_LABEL: Final = "WHITE"
TLP_FOLDER: Final = f"{WELL_KNOWN}/white"
FEED_FILE: Final = "csaf-feed-tlp-white.json"
FEED: Final = f"{TLP_FOLDER}/{FEED_FILE}"
INDEX: Final = f"{TLP_FOLDER}/index.txt"
CHANGES: Final = f"{TLP_FOLDER}/changes.csv"
CSAF_SCHEMA_URL: Final = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
ROLES: Final = ("csaf_publisher", "csaf_provider", "csaf_trusted_provider")

_HASHES: Final = ("sha256", "sha512")
_ROLIE_INFORMATION_TYPE: Final = {
    "scheme": "urn:ietf:params:rolie:category:information-type",
    "term": "csaf",
}
# §5.1: every run of characters outside [+\-a-z0-9] becomes one underscore.
_NOT_IN_FILENAME = re.compile(r"[^+\-a-z0-9]+")
_DOCUMENT_NAME = re.compile(r"^[0-9]{4}/[^/]+\.json$")


@dataclass(frozen=True, slots=True)
class PublishedDocument:
    """One CSAF document as published: its canonical bytes and what the listings need."""

    tracking_id: str  # /document/tracking/id
    filename: str  # §5.1 name derived from tracking_id, e.g. "ch-2026-0001.json"
    tlp: str  # "CLEAR" (or TLP 1.0 "WHITE"); anything else is refused
    initial_release: dt.datetime  # /document/tracking/initial_release_date, timezone-aware
    current_release: dt.datetime  # /document/tracking/current_release_date, timezone-aware
    title: str  # /document/title
    body: bytes  # the canonical JSON bytes, published, hashed and signed as they are


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Who the provider is; ``base_url`` is the https origin serving the web root."""

    base_url: str  # https://clearinghouse.example
    publisher_name: str
    publisher_namespace: str
    publisher_contact: str
    publisher_category: str = "coordinator"  # CSAF publisher category; a clearinghouse coordinates
    role: str = "csaf_trusted_provider"
    list_on_csaf_aggregators: bool = True
    mirror_on_csaf_aggregators: bool = True


def build_provider_tree(
    config: ProviderConfig,
    documents: Sequence[PublishedDocument],
    key: SigningKey,
    *,
    last_updated: dt.datetime,
) -> dict[str, bytes]:
    """Every file of the provider, keyed by its path relative to the web root.

    Raises ``InputError`` for a non-https base URL, an unknown role, a non-CLEAR document, a
    file name that is not the §5.1 name of its tracking id, a duplicate, or a naive datetime,
    and ``SchemaError`` for a publisher the CSAF 2.0 schema refuses.
    """
    base = _base_url(config)
    _aware(last_updated, "last_updated")
    metadata = _provider_metadata(base, config, key, last_updated)
    _publisher_validator().check({"publisher": metadata["publisher"]})
    _check_unique(documents)
    tree: dict[str, bytes] = {}
    for doc in documents:
        _check_document(doc)
        path = document_path(doc)
        tree[path] = doc.body
        name = doc.filename
        for algorithm in _HASHES:
            digest = hashlib.new(algorithm, doc.body).hexdigest()
            tree[f"{path}.{algorithm}"] = f"{digest}  {name}\n".encode()
        tree[f"{path}.asc"] = sign_detached(key, doc.body)
    tree[INDEX] = _index(documents)
    tree[CHANGES] = _changes(documents)
    tree[FEED] = _json(_feed(base, config, documents, last_updated))
    tree[SERVICE_DOCUMENT] = _json(_service(base, config))
    tree[public_key_path(key.fingerprint)] = key.public_armored.encode("ascii")
    tree[PROVIDER_METADATA] = _json(metadata)
    return tree


def document_path(doc: PublishedDocument) -> str:
    """``.well-known/csaf/white/<YYYY>/<filename>``, the year as written in the release date.

    The year is the initial release's own (in its own offset, not converted to UTC): §7.1.11
    takes it from the value of ``initial_release_date`` as the document states it.
    """
    return f"{TLP_FOLDER}/{doc.initial_release.year:04d}/{doc.filename}"


def public_key_path(fingerprint: str) -> str:
    return f"{WELL_KNOWN}/openpgp/{fingerprint.upper()}.asc"


def write_tree(tree: Mapping[str, bytes], root: Path) -> None:
    """Replace the directory ``root`` with exactly ``tree``, never leaving a half-written export.

    ``root`` is owned by the export: files not in ``tree`` disappear. The tree is written to a
    sibling temporary directory (same file system, so renames are atomic), flushed, and then
    swapped in by two renames (the old export aside, the new one in place) before the old one
    is deleted. Readers therefore see the complete old export or the complete new one; between
    the two renames, a few microseconds, ``root`` is briefly absent. On any failure the old
    export stays as it was. Paths that are absolute, contain ``..``/``.``/empty segments or
    backslashes, or collide as file and directory are refused before anything is written.
    """
    relative = [_safe_relative(path) for path in tree]
    _check_no_file_directory_clash(relative)
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise InputError(f"export root {root} exists and is not a plain directory")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.staging-", dir=root.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a web server must read the export
        for path, parts in zip(tree, relative, strict=True):
            target = staging.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(tree[path])
                handle.flush()
                os.fsync(handle.fileno())
            target.chmod(0o644)
        _swap_in(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def verify_tree(root: Path, public_cert_armored: bytes) -> list[str]:
    """Problems a consumer would find in the export under ``root``; ``[]`` when all is well.

    Checks every document in the year folders for its ``.sha256``/``.sha512`` (present and
    matching), its ``.asc`` (present and verifying with ``public_cert_armored``), its listing in
    ``index.txt``, ``changes.csv`` and the ROLIE feed, its §5.1 file name and its year folder;
    and every listing for documents that are not there. Each problem names the path.
    ``InputError`` only if the certificate itself is unparsable.
    """
    # Fail fast on an unusable certificate instead of reporting every signature as bad.
    verify_detached(public_cert_armored, b"", b"")
    problems: list[str] = []
    folder = root / TLP_FOLDER
    on_disk = (
        sorted(
            p.relative_to(folder).as_posix()
            for p in folder.glob("*/*.json")
            if p.is_file() and _DOCUMENT_NAME.match(p.relative_to(folder).as_posix())
        )
        if folder.is_dir()
        else []
    )
    index = _read_index(root, problems)
    changes = _read_changes(root, problems)
    feed_sources = _read_feed_sources(root, problems)
    _check_metadata(root, problems)
    for rel in on_disk:
        path = f"{TLP_FOLDER}/{rel}"
        body = (root / path).read_bytes()
        problems.extend(_check_published_file(root, path, body, public_cert_armored))
        if index is not None and rel not in index:
            problems.append(f"{path}: not listed in {INDEX}")
        if changes is not None and rel not in changes:
            problems.append(f"{path}: not listed in {CHANGES}")
        if feed_sources is not None and rel not in feed_sources:
            problems.append(f"{path}: no entry in the ROLIE feed {FEED}")
    present = set(on_disk)
    for listing, names in ((INDEX, index), (CHANGES, changes), (FEED, feed_sources)):
        for rel in sorted((names or set()) - present):
            problems.append(f"{listing}: lists {rel}, which is not published")
    return problems


# --- building -----------------------------------------------------------------------------


def _base_url(config: ProviderConfig) -> str:
    base = config.base_url.rstrip("/")
    if not re.fullmatch(r"https://[^/?#\s]+(/[^?#\s]*)?", base):
        raise InputError(
            f"provider base_url {config.base_url!r}: must be an https:// URL without query or "
            "fragment (CSAF 2.0 requirements 3 and 9)"
        )
    if config.role not in ROLES:
        raise InputError(f"provider role {config.role!r}: must be one of {', '.join(ROLES)}")
    return base


def _aware(value: dt.datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{what}: a timezone-aware datetime is required, got {value!r}")


def _check_document(doc: PublishedDocument) -> None:
    label = Tlp.parse(doc.tlp)
    if label is not Tlp.CLEAR:
        raise InputError(
            f"{doc.tracking_id}: TLP:{label.value} documents are not published in the public "
            "provider directory (CSAF 2.0 requirement 5 requires access protection)"
        )
    expected = _expected_filename(doc.tracking_id)
    if doc.filename != expected:
        raise InputError(
            f"{doc.tracking_id}: file name {doc.filename!r} is not the one CSAF 2.0 §5.1 "
            f"derives from the tracking id ({expected!r})"
        )
    _aware(doc.initial_release, f"{doc.tracking_id}: initial_release")
    _aware(doc.current_release, f"{doc.tracking_id}: current_release")
    if not doc.body:
        raise InputError(f"{doc.tracking_id}: the document body is empty")


def _check_unique(documents: Sequence[PublishedDocument]) -> None:
    for what, values in (
        ("tracking id", [d.tracking_id for d in documents]),
        ("file name", [d.filename for d in documents]),
    ):
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise InputError(f"two documents share the {what} {value!r}")
            seen.add(value)


def _expected_filename(tracking_id: str) -> str:
    """The CSAF 2.0 §5.1 file name: lower case, runs outside ``[+\\-a-z0-9]`` -> ``_``, .json."""
    return _NOT_IN_FILENAME.sub("_", tracking_id.lower()) + ".json"


def _relative_to_folder(doc: PublishedDocument) -> str:
    return document_path(doc).removeprefix(f"{TLP_FOLDER}/")


def _index(documents: Sequence[PublishedDocument]) -> bytes:
    lines = sorted(_relative_to_folder(doc) for doc in documents)
    return "".join(f"{line}\n" for line in lines).encode()


def _newest_first(documents: Sequence[PublishedDocument]) -> list[PublishedDocument]:
    by_name = sorted(documents, key=lambda doc: doc.filename)
    return sorted(by_name, key=lambda doc: doc.current_release, reverse=True)


def _changes(documents: Sequence[PublishedDocument]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for doc in _newest_first(documents):
        writer.writerow([_relative_to_folder(doc), _timestamp(doc.current_release)])
    return out.getvalue().encode()


def _timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC with ``Z``; milliseconds only when the instant has a fraction."""
    utc = value.astimezone(dt.UTC)
    spec = "milliseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _feed(
    base: str,
    config: ProviderConfig,
    documents: Sequence[PublishedDocument],
    last_updated: dt.datetime,
) -> dict[str, Any]:
    entries = []
    for doc in _newest_first(documents):
        url = f"{base}/{document_path(doc)}"
        entries.append(
            {
                "id": doc.tracking_id,
                "title": doc.title,
                "link": [
                    {"rel": "self", "href": url},
                    *({"rel": "hash", "href": f"{url}.{algorithm}"} for algorithm in _HASHES),
                    {"rel": "signature", "href": f"{url}.asc"},
                ],
                "published": _timestamp(doc.initial_release),
                "updated": _timestamp(doc.current_release),
                "content": {"type": "application/json", "src": url},
                "format": {"schema": CSAF_SCHEMA_URL, "version": "2.0"},
            }
        )
    return {
        "feed": {
            "id": FEED_FILE.removesuffix(".json"),
            "title": f"{config.publisher_name} CSAF feed (TLP:{TLP_LABEL})",
            "link": [{"rel": "self", "href": f"{base}/{FEED}"}],
            "category": [dict(_ROLIE_INFORMATION_TYPE)],
            "updated": _timestamp(last_updated),
            "entry": entries,
        }
    }


def _service(base: str, config: ProviderConfig) -> dict[str, Any]:
    return {
        "service": {
            "workspace": [
                {
                    "title": "Public CSAF feed",
                    "collection": [
                        {
                            "title": f"{config.publisher_name} CSAF feed (TLP:{TLP_LABEL})",
                            "href": f"{base}/{FEED}",
                            "categories": {"category": [dict(_ROLIE_INFORMATION_TYPE)]},
                        }
                    ],
                }
            ]
        }
    }


def _provider_metadata(
    base: str, config: ProviderConfig, key: SigningKey, last_updated: dt.datetime
) -> dict[str, Any]:
    publisher: dict[str, Any] = {
        "category": config.publisher_category,
        "name": config.publisher_name,
        "namespace": config.publisher_namespace,
    }
    if config.publisher_contact:
        publisher["contact_details"] = config.publisher_contact
    name = config.publisher_name
    return {
        "canonical_url": f"{base}/{PROVIDER_METADATA}",
        "distributions": [
            {"directory_url": f"{base}/{TLP_FOLDER}/"},
            {
                "rolie": {
                    "feeds": [
                        {
                            "summary": f"All TLP:{TLP_LABEL} advisories of {name}.",
                            "tlp_label": TLP_LABEL,
                            "url": f"{base}/{FEED}",
                        }
                    ],
                    "services": [f"{base}/{SERVICE_DOCUMENT}"],
                }
            },
        ],
        "last_updated": _timestamp(last_updated),
        "list_on_CSAF_aggregators": config.list_on_csaf_aggregators,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": config.mirror_on_csaf_aggregators,
        "public_openpgp_keys": [
            {
                "fingerprint": key.fingerprint,
                "url": f"{base}/{public_key_path(key.fingerprint)}",
            }
        ],
        "publisher": publisher,
        "role": config.role,
    }


@functools.cache
def _publisher_validator() -> SchemaValidator:
    """The ``publisher`` rules of the packaged CSAF 2.0 schema (the provider schema $refs them).

    The CSAF 2.0 *provider-metadata* schema itself is not shipped by the ``csaf`` package (only
    2.1's is, which requires ``metadata_version`` "2.1"), so the whole file is checked against
    it in the tests, from the OASIS corpus, and here only the part a configuration can get wrong.
    """
    csaf = load_packaged_json("csaf", "csaf/v20/schema/csaf.json")
    publisher = csaf["properties"]["document"]["properties"]["publisher"]
    schema = {"type": "object", "properties": {"publisher": publisher}, "required": ["publisher"]}
    return SchemaValidator(schema, document="provider-metadata.json")


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


# --- writing ------------------------------------------------------------------------------


def _safe_relative(path: str) -> tuple[str, ...]:
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        raise InputError(f"export path {path!r}: not a plain relative POSIX path")
    pure = PurePosixPath(path)
    parts = path.split("/")
    if pure.is_absolute() or any(part in ("", ".", "..") for part in parts):
        raise InputError(f"export path {path!r}: escapes or is not inside the export root")
    return tuple(parts)


def _check_no_file_directory_clash(paths: Sequence[tuple[str, ...]]) -> None:
    files = set(paths)
    for parts in paths:
        for depth in range(1, len(parts)):
            if parts[:depth] in files:
                raise InputError(
                    f"export path {'/'.join(parts)!r}: {'/'.join(parts[:depth])!r} is a file"
                )


def _swap_in(staging: Path, root: Path) -> None:
    _fsync_directory(staging)
    if not root.exists():
        staging.rename(root)
        _fsync_directory(root.parent)
        return
    retired = root.parent / f".{root.name}.retired-{secrets.token_hex(8)}"
    root.rename(retired)
    try:
        staging.rename(root)
    except BaseException:
        retired.rename(root)  # put the previous export back rather than leave none
        raise
    _fsync_directory(root.parent)
    shutil.rmtree(retired, ignore_errors=True)


def _fsync_directory(path: Path) -> None:
    """Make renames and new entries durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- verifying ----------------------------------------------------------------------------


def _read_text(root: Path, path: str, problems: list[str]) -> str | None:
    file = root / path
    if not file.is_file():
        problems.append(f"{path}: missing")
        return None
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8")
        return None


def _read_json(root: Path, path: str, problems: list[str]) -> Any:
    text = _read_text(root, path, problems)
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        problems.append(f"{path}: not JSON")
        return None


def _read_index(root: Path, problems: list[str]) -> set[str] | None:
    text = _read_text(root, INDEX, problems)
    return None if text is None else {line.strip() for line in text.splitlines() if line.strip()}


def _read_changes(root: Path, problems: list[str]) -> set[str] | None:
    text = _read_text(root, CHANGES, problems)
    if text is None:
        return None
    names: set[str] = set()
    stamps: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) != 2:
            problems.append(f'{CHANGES}: line {number} is not "path","timestamp"')
            continue
        names.add(row[0])
        stamps.append(row[1])
    parsed = [stamp for stamp in map(_parse_timestamp, stamps) if stamp is not None]
    if len(parsed) != len(stamps):
        problems.append(f"{CHANGES}: a current_release_date is not an RFC 3339 timestamp")
    elif parsed != sorted(parsed, reverse=True):
        problems.append(f"{CHANGES}: not sorted by current_release_date, newest first")
    return names


def _parse_timestamp(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _read_feed_sources(root: Path, problems: list[str]) -> set[str] | None:
    feed = _read_json(root, FEED, problems)
    if feed is None:
        return None
    try:
        entries = feed["feed"]["entry"]
        sources = [entry["content"]["src"] for entry in entries]
    except (KeyError, TypeError):
        problems.append(f"{FEED}: not a ROLIE feed (feed.entry[].content.src)")
        return None
    marker = f"/{TLP_FOLDER}/"
    names: set[str] = set()
    for source in sources:
        if not isinstance(source, str) or marker not in source:
            problems.append(f"{FEED}: entry source {source!r} is outside {TLP_FOLDER}/")
            continue
        names.add(source.split(marker, 1)[1])
    return names


def _check_metadata(root: Path, problems: list[str]) -> None:
    metadata = _read_json(root, PROVIDER_METADATA, problems)
    if metadata is None:
        return
    keys = metadata.get("public_openpgp_keys") if isinstance(metadata, dict) else None
    if not isinstance(keys, list) or not keys:
        problems.append(f"{PROVIDER_METADATA}: no public_openpgp_keys (requirement 20)")
        return
    for entry in keys:
        fingerprint = entry.get("fingerprint") if isinstance(entry, dict) else None
        if isinstance(fingerprint, str) and not (root / public_key_path(fingerprint)).is_file():
            problems.append(f"{public_key_path(fingerprint)}: missing (listed in the metadata)")


def _check_published_file(
    root: Path, path: str, body: bytes, public_cert_armored: bytes
) -> list[str]:
    problems: list[str] = []
    for algorithm in _HASHES:
        hash_file = root / f"{path}.{algorithm}"
        if not hash_file.is_file():
            problems.append(f"{path}: {algorithm} file missing")
            continue
        recorded = hash_file.read_bytes().split(maxsplit=1)
        actual = hashlib.new(algorithm, body).hexdigest()
        if not recorded or recorded[0].decode("ascii", "replace").lower() != actual:
            problems.append(f"{path}: {algorithm} does not match the document")
    signature = root / f"{path}.asc"
    if not signature.is_file():
        problems.append(f"{path}: signature (.asc) missing")
    elif not verify_detached(public_cert_armored, body, signature.read_bytes()):
        problems.append(f"{path}: signature (.asc) does not verify with the published key")
    problems.extend(_check_name_and_year(path, body))
    return problems


def _check_name_and_year(path: str, body: bytes) -> list[str]:
    try:
        tracking = orjson.loads(body)["document"]["tracking"]
        tracking_id, initial = tracking["id"], tracking["initial_release_date"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [f"{path}: not a CSAF document (no /document/tracking id and release date)"]
    if not isinstance(tracking_id, str) or not isinstance(initial, str):
        return [f"{path}: /document/tracking id or initial_release_date is not a string"]
    problems = []
    year, name = path.split("/")[-2:]
    if name != _expected_filename(tracking_id):
        problems.append(
            f"{path}: file name should be {_expected_filename(tracking_id)!r} "
            "(CSAF 2.0 §5.1, from the tracking id)"
        )
    if initial[:4] != year:
        problems.append(f"{path}: in folder {year} but initially released {initial[:4]}")
    return problems

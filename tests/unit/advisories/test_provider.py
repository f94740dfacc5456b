"""The CSAF 2.0 trusted-provider tree: layout, listings, hashes, signatures, atomic export."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.advisories.provider import (
    CHANGES,
    FEED,
    INDEX,
    PROVIDER_METADATA,
    SERVICE_DOCUMENT,
    ProviderConfig,
    PublishedDocument,
    build_provider_tree,
    verify_tree,
    write_tree,
)
from clearinghouse.advisories.signing import (
    SigningKey,
    generate_signing_key,
    sign_detached,
    verify_detached,
)
from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

BASE = "https://clearinghouse.example"
CONFIG = ProviderConfig(
    base_url=BASE,
    publisher_name="Clearinghouse",
    publisher_namespace="https://clearinghouse.example",
    publisher_contact="csaf@clearinghouse.example",
)
LAST_UPDATED = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _doc(
    tracking_id: str, initial: dt.datetime, current: dt.datetime, **kw: Any
) -> PublishedDocument:
    body = orjson.dumps(
        {
            "document": {
                "category": "csaf_security_advisory",
                "csaf_version": "2.0",
                "title": f"Advisory {tracking_id}",
                "distribution": {"tlp": {"label": "WHITE"}},
                "tracking": {
                    "id": tracking_id,
                    "initial_release_date": initial.isoformat(),
                    "current_release_date": current.isoformat(),
                },
            }
        },
        option=orjson.OPT_SORT_KEYS,
    )
    fields: dict[str, Any] = {
        "tracking_id": tracking_id,
        "filename": tracking_id.lower() + ".json",
        "tlp": "CLEAR",
        "initial_release": initial,
        "current_release": current,
        "title": f"Advisory {tracking_id}",
        "body": body,
    }
    fields.update(kw)
    return PublishedDocument(**fields)


def _at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, 30, tzinfo=dt.UTC)


DOCS = (
    _doc("CH-2025-0007", _at(2025, 11, 2), _at(2026, 2, 10)),
    _doc("CH-2026-0001", _at(2026, 1, 15), _at(2026, 1, 15)),
    _doc("CH-2026-0002", _at(2026, 2, 1), _at(2026, 2, 20)),
)
FOLDER = ".well-known/csaf/white"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key("Clearinghouse CSAF <csaf@clearinghouse.invalid>")


@pytest.fixture(scope="module")
def tree(key: SigningKey) -> dict[str, bytes]:
    return build_provider_tree(CONFIG, DOCS, key, last_updated=LAST_UPDATED)


def _metadata(tree: dict[str, bytes]) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(tree[PROVIDER_METADATA])
    return value


# --- layout and listings --------------------------------------------------------------------


def test_layout(tree: dict[str, bytes], key: SigningKey) -> None:
    documents = {
        f"{FOLDER}/2025/ch-2025-0007.json",
        f"{FOLDER}/2026/ch-2026-0001.json",
        f"{FOLDER}/2026/ch-2026-0002.json",
    }
    expected = {
        ".well-known/csaf/provider-metadata.json",
        ".well-known/csaf/service.json",
        f".well-known/csaf/openpgp/{key.fingerprint}.asc",
        f"{FOLDER}/index.txt",
        f"{FOLDER}/changes.csv",
        f"{FOLDER}/csaf-feed-tlp-white.json",
    }
    for path in documents:
        expected |= {path, f"{path}.sha256", f"{path}.sha512", f"{path}.asc"}
    assert set(tree) == expected
    assert tree[f".well-known/csaf/openpgp/{key.fingerprint}.asc"] == key.public_armored.encode()


def test_documents_are_published_byte_for_byte(tree: dict[str, bytes]) -> None:
    assert tree[f"{FOLDER}/2026/ch-2026-0001.json"] == DOCS[1].body


def test_hash_files_match_in_sha256sum_format(tree: dict[str, bytes]) -> None:
    for doc, year in zip(DOCS, ("2025", "2026", "2026"), strict=True):
        path = f"{FOLDER}/{year}/{doc.filename}"
        for algorithm in ("sha256", "sha512"):
            digest = hashlib.new(algorithm, doc.body).hexdigest()
            assert tree[f"{path}.{algorithm}"] == f"{digest}  {doc.filename}\n".encode()


def test_every_document_signature_verifies(tree: dict[str, bytes], key: SigningKey) -> None:
    cert = key.public_armored.encode()
    for path in (p for p in tree if p.startswith(f"{FOLDER}/20") and p.endswith(".json")):
        assert tree[f"{path}.asc"].startswith(b"-----BEGIN PGP SIGNATURE-----")
        assert verify_detached(cert, tree[path], tree[f"{path}.asc"])


def test_index_lists_every_document_relative_to_the_tlp_folder(tree: dict[str, bytes]) -> None:
    assert tree[INDEX].decode().splitlines() == [
        "2025/ch-2025-0007.json",
        "2026/ch-2026-0001.json",
        "2026/ch-2026-0002.json",
    ]


def test_changes_csv_is_quoted_and_newest_first(tree: dict[str, bytes]) -> None:
    text = tree[CHANGES].decode()
    assert text.splitlines()[0] == '"2026/ch-2026-0002.json","2026-02-20T09:30:00Z"'
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows] == [
        "2026/ch-2026-0002.json",
        "2025/ch-2025-0007.json",
        "2026/ch-2026-0001.json",
    ]
    assert all(len(row) == 2 for row in rows)


def test_year_folder_is_the_year_as_written_not_utc() -> None:
    # 00:30 on 1 January in Berlin is still 2025 in UTC; §7.1.11 takes the year as written.
    berlin = dt.timezone(dt.timedelta(hours=1))
    doc = _doc("CH-2026-0100", dt.datetime(2026, 1, 1, 0, 30, tzinfo=berlin), _at(2026, 1, 2))
    tree = build_provider_tree(
        CONFIG, [doc], generate_signing_key("k <k@x.invalid>"), last_updated=LAST_UPDATED
    )
    assert f"{FOLDER}/2026/ch-2026-0100.json" in tree


# --- ROLIE feed and provider metadata ---------------------------------------------------------


def test_feed_entries(tree: dict[str, bytes]) -> None:
    feed = orjson.loads(tree[FEED])["feed"]
    assert feed["link"] == [{"rel": "self", "href": f"{BASE}/{FOLDER}/csaf-feed-tlp-white.json"}]
    assert feed["category"] == [
        {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
    ]
    assert feed["updated"] == "2026-03-01T12:00:00Z"
    assert [entry["id"] for entry in feed["entry"]] == [
        "CH-2026-0002",
        "CH-2025-0007",
        "CH-2026-0001",
    ]
    entry = feed["entry"][1]
    url = f"{BASE}/{FOLDER}/2025/ch-2025-0007.json"
    assert entry["title"] == "Advisory CH-2025-0007"
    assert entry["link"] == [
        {"rel": "self", "href": url},
        {"rel": "hash", "href": f"{url}.sha256"},
        {"rel": "hash", "href": f"{url}.sha512"},
        {"rel": "signature", "href": f"{url}.asc"},
    ]
    assert entry["published"] == "2025-11-02T09:30:00Z"
    assert entry["updated"] == "2026-02-10T09:30:00Z"
    assert entry["content"] == {"type": "application/json", "src": url}
    assert entry["format"] == {
        "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json",
        "version": "2.0",
    }


@pytest.mark.corpus
def test_feed_and_service_have_the_shape_of_the_oasis_examples(
    tree: dict[str, bytes], corpus: Path
) -> None:
    examples = corpus / "csaf" / "csaf_2.0" / "examples" / "ROLIE"
    example = orjson.loads((examples / "example-01-feed-tlp-white.json").read_bytes())["feed"]
    ours = orjson.loads(tree[FEED])["feed"]
    assert set(ours) == set(example)
    # The example's optional "summary" needs a text we do not have; everything else matches.
    assert set(ours["entry"][0]) == set(example["entry"][0]) - {"summary"}
    assert {link["rel"] for link in ours["entry"][0]["link"]} == {
        link["rel"] for link in example["entry"][0]["link"]
    }
    service = orjson.loads((examples / "example-01-service.json").read_bytes())
    ours_service = orjson.loads(tree[SERVICE_DOCUMENT])
    assert set(ours_service["service"]["workspace"][0]["collection"][0]) == set(
        service["service"]["workspace"][0]["collection"][0]
    )


def test_provider_metadata_points_at_feed_key_and_directory(
    tree: dict[str, bytes], key: SigningKey
) -> None:
    metadata = _metadata(tree)
    assert metadata["canonical_url"] == f"{BASE}/.well-known/csaf/provider-metadata.json"
    assert metadata["role"] == "csaf_trusted_provider"
    assert metadata["metadata_version"] == "2.0"
    assert metadata["public_openpgp_keys"] == [
        {
            "fingerprint": key.fingerprint,
            "url": f"{BASE}/.well-known/csaf/openpgp/{key.fingerprint}.asc",
        }
    ]
    distributions = metadata["distributions"]
    assert {"directory_url": f"{BASE}/{FOLDER}/"} in distributions
    feeds = next(d["rolie"]["feeds"] for d in distributions if "rolie" in d)
    assert feeds[0]["tlp_label"] == "WHITE"
    assert feeds[0]["url"] == f"{BASE}/{FEED}"
    assert metadata["publisher"] == {
        "category": "coordinator",
        "name": "Clearinghouse",
        "namespace": "https://clearinghouse.example",
        "contact_details": "csaf@clearinghouse.example",
    }


def _provider_schema_validator(corpus: Path) -> SchemaValidator:
    """The OASIS CSAF 2.0 provider schema (not shipped by the csaf package, which has 2.1's)."""
    schemas = corpus / "csaf" / "csaf_2.0" / "json_schema"
    referenced = "csaf/v20/schema/referenced"
    resources = {
        "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json": orjson.loads(
            (schemas / "csaf_json_schema.json").read_bytes()
        ),
        **{
            f"https://www.first.org/cvss/cvss-v{v}.json": load_packaged_json(
                "csaf", f"{referenced}/cvss-v{v}.json"
            )
            for v in ("2.0", "3.0", "3.1")
        },
    }
    schema = orjson.loads((schemas / "provider_json_schema.json").read_bytes())
    return SchemaValidator(schema, document="provider-metadata.json", resources_by_uri=resources)


@pytest.mark.corpus
def test_provider_metadata_is_valid_against_the_oasis_schema(
    tree: dict[str, bytes], corpus: Path
) -> None:
    validator = _provider_schema_validator(corpus)
    example = corpus / "csaf/csaf_2.0/examples/provider-metadata/example-01-provider-metadata.json"
    assert validator.is_valid(orjson.loads(example.read_bytes()))  # the validator accepts the spec
    validator.check(_metadata(tree))
    broken = _metadata(tree) | {"role": "csaf_aggregator"}
    assert not validator.is_valid(broken)  # and it is not a validator that accepts anything


def test_a_publisher_the_csaf_schema_refuses_is_refused(key: SigningKey) -> None:
    config = ProviderConfig(
        base_url=BASE,
        publisher_name="Clearinghouse",
        publisher_namespace="https://clearinghouse.example",
        publisher_contact="",
        publisher_category="government",
    )
    with pytest.raises(SchemaError, match="/publisher/category"):
        build_provider_tree(config, DOCS, key, last_updated=LAST_UPDATED)


# --- refusals while building ------------------------------------------------------------------


@pytest.mark.parametrize("tlp", ["GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_only_clear_documents_are_published(key: SigningKey, tlp: str) -> None:
    doc = _doc("CH-2026-0009", _at(2026, 1, 1), _at(2026, 1, 1), tlp=tlp)
    with pytest.raises(InputError, match="requirement 5"):
        build_provider_tree(CONFIG, [doc], key, last_updated=LAST_UPDATED)


def test_tlp_white_is_clear(key: SigningKey) -> None:
    doc = _doc("CH-2026-0009", _at(2026, 1, 1), _at(2026, 1, 1), tlp="TLP:WHITE")
    assert f"{FOLDER}/2026/ch-2026-0009.json" in build_provider_tree(
        CONFIG, [doc], key, last_updated=LAST_UPDATED
    )


def test_a_file_name_not_derived_from_the_tracking_id_is_refused(key: SigningKey) -> None:
    doc = _doc("CH-2026-0009", _at(2026, 1, 1), _at(2026, 1, 1), filename="CH-2026-0009.json")
    with pytest.raises(InputError, match=r"ch-2026-0009\.json"):
        build_provider_tree(CONFIG, [doc], key, last_updated=LAST_UPDATED)


@pytest.mark.corpus
def test_file_name_rule_against_the_oasis_filename_tests(key: SigningKey, corpus: Path) -> None:
    data = corpus / "csaf" / "csaf_2.0" / "test" / "filenames" / "data"
    cases = [(p, True) for p in sorted((data / "valid").glob("*.json"))]
    cases += [(p, False) for p in sorted((data / "invalid").glob("*.json"))]
    assert len(cases) >= 6
    for path, valid in cases:
        tracking_id = orjson.loads(path.read_bytes())["document"]["tracking"]["id"]
        doc = _doc(tracking_id, _at(2021, 7, 1), _at(2021, 7, 1), filename=path.name)
        if valid:
            build_provider_tree(CONFIG, [doc], key, last_updated=LAST_UPDATED)
        else:
            with pytest.raises(InputError, match=r"§5\.1"):
                build_provider_tree(CONFIG, [doc], key, last_updated=LAST_UPDATED)


def test_duplicates_naive_datetimes_and_plain_http_are_refused(key: SigningKey) -> None:
    with pytest.raises(InputError, match="share"):
        build_provider_tree(CONFIG, [DOCS[0], DOCS[0]], key, last_updated=LAST_UPDATED)
    naive = _doc("CH-2026-0009", dt.datetime(2026, 1, 1), _at(2026, 1, 1))
    with pytest.raises(InputError, match="timezone-aware"):
        build_provider_tree(CONFIG, [naive], key, last_updated=LAST_UPDATED)
    http = ProviderConfig("http://clearinghouse.example", "C", "https://c.example", "c@c.example")
    with pytest.raises(InputError, match="https"):
        build_provider_tree(http, DOCS, key, last_updated=LAST_UPDATED)


# --- writing and verifying the export ----------------------------------------------------------


@pytest.fixture
def exported(tree: dict[str, bytes], tmp_path: Path) -> Path:
    root = tmp_path / "export"
    write_tree(tree, root)
    return root


def test_written_tree_verifies_clean(
    exported: Path, tree: dict[str, bytes], key: SigningKey
) -> None:
    assert {p.relative_to(exported).as_posix() for p in exported.rglob("*") if p.is_file()} == set(
        tree
    )
    assert verify_tree(exported, key.public_armored.encode()) == []


def test_one_flipped_byte_is_detected(exported: Path, key: SigningKey) -> None:
    path = f"{FOLDER}/2026/ch-2026-0001.json"
    data = bytearray((exported / path).read_bytes())
    data[10] ^= 0x01
    (exported / path).write_bytes(bytes(data))
    problems = verify_tree(exported, key.public_armored.encode())
    assert f"{path}: sha256 does not match the document" in problems
    assert f"{path}: sha512 does not match the document" in problems
    assert f"{path}: signature (.asc) does not verify with the published key" in problems
    assert all(path in problem for problem in problems)


def test_a_replaced_signature_is_detected(exported: Path, key: SigningKey) -> None:
    path = f"{FOLDER}/2025/ch-2025-0007.json"
    impostor = generate_signing_key("Impostor <evil@example.invalid>")
    (exported / f"{path}.asc").write_bytes(sign_detached(impostor, (exported / path).read_bytes()))
    assert verify_tree(exported, key.public_armored.encode()) == [
        f"{path}: signature (.asc) does not verify with the published key"
    ]


def test_missing_hash_and_unlisted_document_are_detected(exported: Path, key: SigningKey) -> None:
    path = f"{FOLDER}/2026/ch-2026-0002.json"
    (exported / f"{path}.sha512").unlink()
    index = exported / INDEX
    index.write_text(index.read_text().replace("2026/ch-2026-0002.json\n", ""))
    problems = verify_tree(exported, key.public_armored.encode())
    assert sorted(problems) == sorted(
        [f"{path}: sha512 file missing", f"{path}: not listed in {INDEX}"]
    )


def test_a_listed_but_absent_document_is_detected(exported: Path, key: SigningKey) -> None:
    path = f"{FOLDER}/2026/ch-2026-0001.json"
    for suffix in ("", ".sha256", ".sha512", ".asc"):
        (exported / f"{path}{suffix}").unlink()
    problems = verify_tree(exported, key.public_armored.encode())
    assert f"{INDEX}: lists 2026/ch-2026-0001.json, which is not published" in problems
    assert f"{FEED}: lists 2026/ch-2026-0001.json, which is not published" in problems


def test_write_tree_replaces_the_previous_export_completely(
    exported: Path, tree: dict[str, bytes], key: SigningKey
) -> None:
    (exported / "stale.txt").write_text("from an older export")
    smaller = build_provider_tree(CONFIG, DOCS[:1], key, last_updated=LAST_UPDATED)
    write_tree(smaller, exported)
    assert not (exported / "stale.txt").exists()
    assert not (exported / f"{FOLDER}/2026").exists()
    assert verify_tree(exported, key.public_armored.encode()) == []
    assert sorted(p.name for p in exported.parent.iterdir()) == ["export"]  # no leftovers


def test_a_failed_write_leaves_the_previous_export_untouched(
    exported: Path, tree: dict[str, bytes], key: SigningKey
) -> None:
    before = {p: p.read_bytes() for p in exported.rglob("*") if p.is_file()}
    broken: dict[str, Any] = dict(tree)
    broken[f"{FOLDER}/zzz-last.json"] = "not bytes"  # fails while writing, after the checks
    with pytest.raises(TypeError):
        write_tree(broken, exported)
    assert {p: p.read_bytes() for p in exported.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in exported.parent.iterdir()) == ["export"]


@pytest.mark.parametrize(
    "path",
    ["../escape.json", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\..\\b", "", "a/./b"],
)
def test_paths_escaping_the_root_are_refused_before_writing(tmp_path: Path, path: str) -> None:
    root = tmp_path / "export"
    with pytest.raises(InputError, match="export path"):
        write_tree({"ok.txt": b"fine", path: b"evil"}, root)
    assert list(tmp_path.iterdir()) == []


def test_a_path_that_is_both_file_and_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a file"):
        write_tree({"a": b"1", "a/b": b"2"}, tmp_path / "export")

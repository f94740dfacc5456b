"""``feeds sync osv``: OSV's per-ecosystem ``all.zip`` downloaded over HTTP and imported.

A real HTTP server on loopback plays OSV's bucket (``/<ecosystem>/all.zip``); the test never
touches the internet. A missing file, a response that is not a zip and an ecosystem we cannot
order are refused with the reason, and nothing is stored.
"""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline import feeds_flow
from clearinghouse.pipeline.models import AdvisoryRecord
from clearinghouse.pipeline.runtime import Runtime


def osv(vuln_id: str, name: str, fixed: str) -> bytes:
    return orjson.dumps(
        {
            "id": vuln_id,
            "modified": "2026-11-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": name},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                    ],
                }
            ],
        }
    )


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "bucket"
    (root / "PyPI").mkdir(parents=True)
    (root / "npm").mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("SYNC-1.json", osv("SYNC-1", "alpha", "1.0"))
        archive.writestr("SYNC-2.json", osv("SYNC-2", "beta", "2.0"))
    (root / "PyPI" / "all.zip").write_bytes(buffer.getvalue())
    (root / "npm" / "all.zip").write_bytes(b"<html>not a zip</html>")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def stored(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count(AdvisoryRecord.id))) or 0)


def test_sync_downloads_and_imports_an_ecosystem(runtime: Runtime, bucket: str) -> None:
    runtime.settings = runtime.settings.model_copy(update={"osv_base_url": bucket})
    result = feeds_flow.sync_osv(runtime, viewer=LOCAL_ADMIN, ecosystem="pypi")
    assert result["url"] == f"{bucket}/PyPI/all.zip"
    assert (result["new"], result["source"]) == (2, "osv:PyPI")
    again = feeds_flow.sync_osv(runtime, viewer=LOCAL_ADMIN, ecosystem="PyPI")
    assert again["unchanged"] == 2
    assert stored(runtime) == 2


@pytest.mark.parametrize(
    ("ecosystem", "message"),
    [
        ("npm", "did not return a zip archive"),
        ("Go", "answered 404"),
        ("Made-Up", "--ecosystem: 'Made-Up' is not one of"),
    ],
)
def test_sync_refusals_store_nothing(
    runtime: Runtime, bucket: str, ecosystem: str, message: str
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"osv_base_url": bucket})
    with pytest.raises(InputError, match=message):
        feeds_flow.sync_osv(runtime, viewer=LOCAL_ADMIN, ecosystem=ecosystem)
    assert stored(runtime) == 0

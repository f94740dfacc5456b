"""While the database is unreachable the API answers 503 problem+json with ``Retry-After``, a
condition a client retries (as the load driver does), never a bare 500; and PostgreSQL
connections are pinged on checkout, so a restarted server costs no request its stale pool.

The unreachable database is a PostgreSQL URL on a loopback port nothing listens on, so this
runs the same in the SQLite and the PostgreSQL pass and needs no server.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clearinghouse.api.app import create_app
from clearinghouse.infra.db import Database
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline.runtime import Runtime


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: refused


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/vulns"), ("GET", "/api/v1/findings"), ("POST", "/api/v1/submissions")],
)
def test_an_unreachable_database_is_a_503_to_retry(tmp_path: Path, method: str, path: str) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/gone?connect_timeout=2"
    runtime = Runtime.from_settings(Settings(database_url=url, data_dir=tmp_path))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        response = client.request(
            method, path, headers={"authorization": "Bearer chk_" + "x" * 43}, content=b"{}"
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["type"].endswith("/unavailable")
    assert body["instance"] == path
    assert "database" in body["detail"]
    runtime.close()


def test_postgresql_connections_are_pinged_before_use() -> None:
    database = Database("postgresql+psycopg://postgres@127.0.0.1:1/never-connected")
    assert database.engine.pool._pre_ping is True
    database.dispose()

"""``clearinghouse demo --serve``: after the demo, the address and one sign-in token per demo
organization are printed and the API + web app is served on loopback from the demo's own data
directory (the demo itself and the server are replaced by fakes here; ``make demo`` runs both)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from clearinghouse.cli.main import app
from clearinghouse.pipeline import demo


def test_demo_serve_prints_tokens_then_serves_the_demo_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: dict[str, Any] = {}

    def fake_demo(*, data_dir: Path | None, echo: Any, with_tokens: bool = False) -> dict[str, Any]:
        asked["with_tokens"] = with_tokens
        report: dict[str, Any] = {"data_dir": str(tmp_path / "demo")}
        if with_tokens:
            report["sign_in"] = [
                {"organization": "Coordination Center", "token": "chk_one"},
                {"organization": "Lab Alpha", "token": "chk_two"},
            ]
        return report

    def fake_run(target: str, **options: Any) -> None:
        asked["target"] = target
        asked["options"] = options
        asked["data_dir"] = os.environ.get("CLEARINGHOUSE_DATA_DIR")
        asked["database_url"] = os.environ.get("CLEARINGHOUSE_DATABASE_URL")

    monkeypatch.setattr(demo, "run_demo", fake_demo)
    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("CLEARINGHOUSE_DATA_DIR", "/somewhere/else")
    monkeypatch.setenv("CLEARINGHOUSE_DATABASE_URL", "postgresql://elsewhere/db")
    result = CliRunner().invoke(app, ["demo", "--serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert asked["with_tokens"] is True
    assert "http://127.0.0.1:8123/" in result.output
    assert "Coordination Center" in result.output
    assert "chk_one" in result.output
    assert "chk_two" in result.output
    assert asked["target"] == "clearinghouse.web.app:create_app"
    assert asked["options"]["host"] == "127.0.0.1"
    assert asked["options"]["port"] == 8123
    assert asked["data_dir"] == str(tmp_path / "demo")
    assert asked["database_url"] is None  # the demo's own SQLite, whatever was configured


def test_demo_without_serve_only_reports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served: list[str] = []

    def fake_demo(*, data_dir: Path | None, echo: Any, with_tokens: bool = False) -> dict[str, Any]:
        assert with_tokens is False
        return {"data_dir": str(tmp_path)}

    monkeypatch.setattr(demo, "run_demo", fake_demo)
    monkeypatch.setattr(uvicorn, "run", lambda target, **_: served.append(target))
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    assert served == []
    assert "sign_in" not in result.output

"""The outbox survives kill -9: a deliverer killed after committing, or while it holds a
message mid-delivery, loses nothing and sends nothing twice; a real SMTP server on loopback and
a real webhook receiver count what arrives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from clearinghouse.access.roles import OrgKind, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import case_flow, inventory_flow, publish_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.cases.test_disclosure_flow import finding
from tests.integration.channels.test_email import free_port
from tests.integration.channels.test_webhook import WebhookReceiver
from tests.integration.helpers import import_bytes
from tests.integration.test_inventory_flow import cyclonedx


class StallingSmtp:
    """Accepts mail; the first DATA stalls (its sender is killed meanwhile) and is dropped."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.stalled = threading.Event()
        self.stall_first = True
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> StallingSmtp:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall_first:
            self.stall_first = False
            self.stalled.set()
            await asyncio.sleep(20)  # the sender dies before this ends; nothing is accepted
            return "451 4.3.0 gave up"
        self.messages.append(BytesParser(policy=default).parsebytes(envelope.content))
        return "250 OK"


def _published(runtime: Runtime, make_org: OrgFactory, operators: int, webhook: str) -> None:
    runtime.settings = runtime.settings.model_copy(update={"webhook_allow_private": True})
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    for n in range(operators):
        name = f"Hospital {n:02d}"
        make_org(name, kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
        inventory_flow.import_inventory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=name,
            chunks=[cyclonedx("PACS", "1", ["pkg:pypi/tiffkit@2.3.0"])],
        )
        case_flow.set_directory(
            runtime, viewer=LOCAL_ADMIN, organization=name, email=f"it{n}@hospital.example"
        )
    case_flow.set_directory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Hospital 00",
        webhook=webhook,
        webhook_secret="s3cret-s3cret-s3cret",
    )
    import_bytes(runtime, "Lab Alpha", finding("pkg:pypi/tiffkit@2.3.0", "Heap overflow"))
    from sqlalchemy import select

    from clearinghouse.pipeline.models import Vulnerability

    with runtime.db.session() as session:
        vuln = session.scalars(select(Vulnerability.public_id)).one()
    case = case_flow.open_case(runtime, viewer=LOCAL_ADMIN, vuln_ids=[vuln], allow_unvalidated=True)
    case_flow.embargo_action(
        runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="break", reason="leaked"
    )
    publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])


def _deliverer(settings: Settings, smtp_port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        CLEARINGHOUSE_DATA_DIR=str(settings.data_dir),
        CLEARINGHOUSE_SMTP_HOST="127.0.0.1",
        CLEARINGHOUSE_SMTP_PORT=str(smtp_port),
        CLEARINGHOUSE_OUTBOX_LEASE_S="1",
        CLEARINGHOUSE_WEBHOOK_ALLOW_PRIVATE="true",
    )
    if settings.database_url:
        env["CLEARINGHOUSE_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [sys.executable, "-m", "clearinghouse.cli.main", "outbox", "deliver", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_delivery_loses_nothing_and_sends_nothing_twice(
    runtime: Runtime, make_org: OrgFactory, settings: Settings, tmp_path: Path
) -> None:
    with StallingSmtp() as smtp, WebhookReceiver() as hooks:
        _published(runtime, make_org, operators=5, webhook=hooks.url)
        pending = publish_flow.list_outbox(runtime, status="pending")
        assert len(pending) == 6  # five e-mails and one webhook, committed with the publication
        # The deliverer stalls on the first e-mail; kill -9 it there.
        process = _deliverer(settings, smtp.port)
        assert smtp.stalled.wait(60), process.communicate(timeout=5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        time.sleep(1.2)  # the dead deliverer's lease lapses
        live = Runtime.from_settings(
            settings.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "outbox_lease_s": 1.0,
                    "webhook_allow_private": True,
                }
            )
        )
        try:
            first = publish_flow.deliver_due(live)
            again = publish_flow.deliver_due(live)
        finally:
            live.close()
        keys = [m["Message-ID"] for m in smtp.messages]
        assert len(keys) == 5, keys
        assert len(set(keys)) == 5, keys
        assert sorted(str(m["To"]) for m in smtp.messages) == [
            f"it{n}@hospital.example" for n in range(5)
        ]
        hook_ids = Counter(r.headers["webhook-id"] for r in hooks.requests)
        assert list(hook_ids.values()) == [1]
        assert again["sent"] == 0
        assert first["waiting"] == 0
        assert {row["status"] for row in publish_flow.list_outbox(runtime)} == {"sent"}

"""Loopback model servers that replay recorded transcripts, for the adapter and agent tests.

A recording (``tests/assets/evaluation/*.json``) is the sequence of HTTP answers a model server
gave, in its own wire format::

    {"api": "openai" | "anthropic",
     "description": "...",
     "repeat": false,                  # true: start over when the replies run out
     "replies": [{"status": 200, "headers": {...}, "body": {...}} | {"drop": true}, ...]}

``{"drop": true}`` closes the connection without answering (a crashed server). The server
answers each POST to the API's path with the next reply and records what it received, so a
test can assert what the adapter sent (tools, tool results, the auth header). These stand in
for a real model server: llama.cpp's ``llama-server`` speaks the same OpenAI API.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Final

ASSETS: Final = Path(__file__).resolve().parents[2] / "assets" / "evaluation"
PATHS: Final[Mapping[str, str]] = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: object = None
    headers: Mapping[str, str] | None = None
    drop: bool = False


@dataclass(frozen=True, slots=True)
class Recording:
    api: str
    replies: tuple[Reply, ...]
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: dict[str, object]

    def messages(self) -> list[dict[str, object]]:
        messages = self.body["messages"]
        assert isinstance(messages, list)
        return messages


def load_recording(name: str) -> Recording:
    document = json.loads((ASSETS / f"{name}.json").read_text())
    assert document["api"] in PATHS, document["api"]
    replies = tuple(
        Reply(
            status=item.get("status", 200),
            body=item.get("body"),
            headers=item.get("headers"),
            drop=item.get("drop", False),
        )
        for item in document["replies"]
    )
    return Recording(api=document["api"], replies=replies, repeat=document.get("repeat", False))


class ReplayServer:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) replaying one recording."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.requests: list[ReceivedRequest] = []
        self._next = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The base URL an adapter takes: ``/v1`` for OpenAI, the root for Anthropic."""
        return f"{self.root}/v1" if self.recording.api == "openai" else self.root

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def take(self, request: ReceivedRequest) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            replies = self.recording.replies
            if self._next >= len(replies):
                if not self.recording.repeat:
                    return None
                self._next = 0
            reply = replies[self._next]
            self._next += 1
            return reply


def _handler_for(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            if self.path != PATHS[replay.recording.api]:
                self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            request = ReceivedRequest(
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=json.loads(raw),
            )
            reply = replay.take(request)
            if reply is None:
                self._send(418, {"error": {"message": "the recording has no more replies"}}, {})
            elif reply.drop:
                self.close_connection = True
                self.connection.close()
            else:
                self._send(reply.status, reply.body, reply.headers or {})

        def _send(self, status: int, body: object, headers: Mapping[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    return Handler

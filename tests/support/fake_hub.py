"""A Hugging Face hub double on 127.0.0.1 that serves one model folder.

It answers exactly what huggingface_hub 1.x asks during ``snapshot_download``:
``GET /api/models/{repo}/revision/{rev}`` (siblings, with sizes when ``blobs=True``),
``GET /api/models/{repo}/tree/{rev}`` (used when siblings are missing), and
``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with the headers the client insists on
(``X-Repo-Commit``, ``ETag``, ``Content-Length``) and ``Range``. Every request is
recorded so tests can assert on calls and on the ``authorization`` header.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MODES = ("ok", "gated", "not_found", "revision_not_found", "server_error")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names


@dataclass
class FakeHub:
    """Serves ``folder`` as ``repo_id``; switch ``mode`` or ``truncate`` at any time."""

    repo_id: str
    folder: Path
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    mode: str = "ok"
    # Path -> bytes actually sent on GET, while HEAD still announces the full size.
    truncate: dict[str, int] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    # When set to an Event, file bodies wait for it: a download that can be watched mid-way.
    hold_downloads: threading.Event | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _connections: set[socket.socket] = field(default_factory=set)

    url: str = ""  # kept after stop(): a stopped hub is a hub that is down, not forgotten

    def files(self) -> dict[str, bytes]:
        return {
            path.relative_to(self.folder).as_posix(): path.read_bytes()
            for path in sorted(self.folder.rglob("*"))
            if path.is_file()
        }

    def requested_paths(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if method in (None, r.method)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def start(self) -> FakeHub:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self  # type: ignore[attr-defined]
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        # A short poll: shutdown() waits up to one interval, on every test's teardown.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Hub down: close the listener and every kept-alive connection."""
        if self._server is None:
            return
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins handlers: no thread outlives a test
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops mid-download (a server being shut down) is expected here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<kind>revision|tree)/(?P<rev>[^/]+)/?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real hub
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined,no-any-return]

    def setup(self) -> None:
        super().setup()
        with self.hub._lock:
            self.hub._connections.add(self.connection)

    def finish(self) -> None:
        with self.hub._lock:
            self.hub._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests assert on ``hub.requests`` instead."""

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _dispatch(self, head: bool) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.hub._record(RecordedRequest(self.command, path, parse_qs(split.query), headers))
        hub = self.hub
        if match := _API.match(path):
            if self._refused(match["repo"], match["rev"], api=True):
                return
            listing = [
                {"rfilename": name, "size": len(data), "blobId": _oid(data)}
                for name, data in hub.files().items()
            ]
            if match["kind"] == "tree":
                tree = [
                    {"type": "file", "path": f["rfilename"], "size": f["size"], "oid": f["blobId"]}
                    for f in listing
                ]
                self._send_json(200, tree)
            else:
                self._send_json(200, {"id": hub.repo_id, "sha": hub.commit, "siblings": listing})
        elif match := _RESOLVE.match(path):
            if self._refused(match["repo"], match["rev"], api=False):
                return
            self._send_file(match["path"], head)
        else:
            self._send_error(404, "EntryNotFound")

    def _refused(self, repo: str, revision: str, api: bool) -> bool:
        """Answer the error the current mode asks for; True if one was sent."""
        hub = self.hub
        if hub.mode == "server_error":
            self._send_error(503, None)
        elif hub.mode == "not_found" or repo != hub.repo_id:
            self._send_error(404, "RepoNotFound")
        elif hub.mode == "revision_not_found" or revision not in ("main", hub.commit):
            self._send_error(404, "RevisionNotFound")
        elif hub.mode == "gated" and not api:
            # The real hub lists a gated repo to anyone but refuses its files: 401 without a
            # token, 403 with one whose account has not accepted the licence.
            self._send_error(403 if "authorization" in self.headers else 401, "GatedRepo")
        else:
            return False
        return True

    def _send_file(self, relative: str, head: bool) -> None:
        data = self.hub.files().get(relative)
        if data is None:
            self._send_error(404, "EntryNotFound")
            return
        status, body = 200, data
        extra: dict[str, str] = {}
        if (wanted := self.headers.get("Range")) and (
            rng := re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
        ):
            start = int(rng[1])
            end = int(rng[2]) if rng[2] else len(data) - 1
            status, body = 206, data[start : end + 1]
            extra["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
        if not head and self.hub.hold_downloads is not None:
            self.hub.hold_downloads.wait(60)
        if not head and relative in self.hub.truncate:
            body = body[: self.hub.truncate[relative]]
        self.send_response(status)
        self.send_header("X-Repo-Commit", self.hub.commit)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, status: int, code: str | None) -> None:
        body = json.dumps({"error": code or "Service unavailable"}).encode()
        self.send_response(status)
        if code is not None:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _oid(data: bytes) -> str:
    """A git blob id, as the hub reports for ``blobId``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@contextmanager
def running_hub(repo_id: str, folder: Path) -> Iterator[FakeHub]:
    hub = FakeHub(repo_id=repo_id, folder=folder).start()
    try:
        yield hub
    finally:
        hub.stop()

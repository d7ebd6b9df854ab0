"""Idle and slow clients against a real `local-sd serve`: uvicorn's own limits, the bounds
on a request's line, headers and body and on one address's connections
(entrypoints.bounded_http, json_body), and the event stream's send timeout and per-client
cap, with the timeouts set small. Other loopback addresses (127.0.0.2 ...) stand in for
other machines."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live_server import LiveServer, live_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

ENV = {
    "USE_MOCKS": "true",
    "KEEP_ALIVE_SECONDS": "1",
    "HEADER_TIMEOUT_SECONDS": "1",
    "SSE_SEND_TIMEOUT_SECONDS": "1",
    "MAX_STREAMS_PER_CLIENT": "2",
    "MAX_CONNECTIONS": "8",
    "MAX_CONNECTIONS_PER_CLIENT": "8",
    "PREVIEW_EVERY": "1",
}
# Connections held until the test closes them: timeouts longer than any test here.
CROWDED_ENV = {
    "USE_MOCKS": "true",
    "KEEP_ALIVE_SECONDS": "120",
    "HEADER_TIMEOUT_SECONDS": "120",
    "MAX_CONNECTIONS": "8",
    "MAX_CONNECTIONS_PER_CLIENT": "3",
}
# Enough events to fill the socket buffers of a client that never reads: a preview image
# at every one of 400 steps.
TALKATIVE_JOB = {
    "prompt": "a lighthouse",
    "width": 512,
    "height": 512,
    "num_inference_steps": 100,
    "num_images": 4,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("slow-clients")
    env = {
        **ENV,
        "MODEL_DIR": str(folder / "models"),
        "GENERATED_DIR": str(folder / "generated"),
        "MOCK_STEP_SECONDS": "0.01",
    }
    with live_server(env, folder / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("crowded")
    env = {
        **CROWDED_ENV,
        "MODEL_DIR": str(folder / "models"),
        "GENERATED_DIR": str(folder / "generated"),
    }
    with live_server(env, folder / "server.log") as running:
        yield running


def _connect(
    server: LiveServer, receive_buffer: int | None = None, source: str = "127.0.0.1"
) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        # Set before connecting, so the window the client offers stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((source, 0))
    sock.connect((host, int(port)))
    return sock


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _read_answer(sock: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """One answer with a Content-Length: its head, its body and what came after it."""
    sock.settimeout(30)
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {buffered!r}"
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        rest += chunk
    return head, rest[:length], rest[length:]


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has ended the connection, without waiting for it to."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    finally:
        sock.setblocking(True)


def _submit(server: LiveServer, body: dict[str, object]) -> str:
    answer = httpx.post(f"{server.base_url}/jobs", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["job_id"]
    return job_id


def _job(server: LiveServer, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{server.base_url}/jobs/{job_id}", timeout=10).json()
    return job


def test_an_idle_keep_alive_connection_is_closed_by_the_server(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_request("/health/live"))
        # The answer, then nothing: the server ends the connection once idle for 1 s.
        received = _read_until_closed(sock, timeout=30)
    assert received.startswith(b"HTTP/1.1 200 ")


def test_endless_headers_are_refused_once_past_the_limit(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # Headers that never end: the server stops buffering them at its limit.
        sock.sendall(b"X-Padding: " + b"a" * 40_000)
        received = _read_until_closed(sock, timeout=30)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body)["error"]["type"] == "headers_too_large"


def test_a_client_that_connects_and_sends_nothing_is_closed_after_the_header_timeout(
    server: LiveServer,
) -> None:
    with _connect(server) as sock:
        received = _read_until_closed(sock, timeout=30)
    assert received == b""
    assert "request_headers_timed_out" in server.log()


def test_a_client_trickling_its_headers_is_closed_after_the_header_timeout(
    server: LiveServer,
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        # A byte every 50 ms, forever: the headers never end, and no byte is the last
        # for long, so only a timeout on the whole of them ends this.
        trickle = iter(b"X-Padding: " + b"a" * 100_000)
        sent = 0
        while not _closed_by_server(sock):
            try:
                sock.sendall(bytes([next(trickle)]))
            except ConnectionError:
                break
            sent += 1
            time.sleep(0.05)
    assert sent < 100_000


def test_a_keep_alive_client_is_unaffected_by_the_header_timeout(server: LiveServer) -> None:
    # Requests one after another on one connection for longer than the header timeout.
    with _connect(server) as sock:
        started, answers = time.monotonic(), 0
        while time.monotonic() - started < 3:
            sock.sendall(_request("/health/live"))
            head, _, rest = _read_answer(sock)
            assert head.startswith(b"HTTP/1.1 200 ") and rest == b""
            answers += 1
        assert not _closed_by_server(sock)
    assert answers > 1


def test_pipelined_requests_are_answered_in_order(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(
            _request("/health/live") + _request("/no-such-page") + _request("/health/ready")
        )
        statuses, rest = [], b""
        for _ in range(3):
            head, _, rest = _read_answer(sock, rest)
            statuses.append(head.split(b" ")[1])
    assert statuses == [b"200", b"404", b"200"]


def _live_status(server: LiveServer, source: str = "127.0.0.1") -> int:
    """The status of GET /health/live on a new connection from `source`."""
    with _connect(server, source=source) as sock:
        sock.sendall(_request("/health/live"))
        received = _read_until_closed_or_answered(sock)
    return int(received.split(b" ")[1])


def _read_until_closed_or_answered(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    received = b""
    while b"\r\n\r\n" not in received and (chunk := sock.recv(65536)):
        received += chunk
    return received


def test_past_max_connections_requests_get_503_until_connections_close(
    crowded: LiveServer,
) -> None:
    # 8 silent connections from three addresses, each within its share of 3.
    sources = ["127.0.0.2"] * 3 + ["127.0.0.3"] * 3 + ["127.0.0.4"] * 2
    waiting = [_connect(crowded, source=source) for source in sources]
    try:
        wait_until(
            lambda: _live_status(crowded) == 503,
            "a request past MAX_CONNECTIONS to get 503",
            context=crowded.log,
        )
    finally:
        for sock in waiting:
            sock.close()
    wait_until(
        lambda: _live_status(crowded) == 200,
        "the server to answer again once the silent connections closed",
        context=crowded.log,
    )


def test_one_address_holds_at_most_its_share_of_connections(crowded: LiveServer) -> None:
    held = [_connect(crowded, source="127.0.0.5") for _ in range(3)]
    try:
        with _connect(crowded, source="127.0.0.5") as refused:
            received = _read_until_closed(refused, timeout=30)
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ")
        error = json.loads(body)["error"]
        assert error["type"] == "service_unavailable" and "3 connections" in error["message"]
        # Other addresses are served meanwhile.
        assert _live_status(crowded, source="127.0.0.6") == 200
        held.pop().close()
        # The closed connection's place is given back once the server sees it go.
        wait_until(
            lambda: _live_status(crowded, source="127.0.0.5") == 200,
            "a connection from the address to be served again",
            context=crowded.log,
        )
    finally:
        for sock in held:
            sock.close()
    assert crowded.log().count("connections_per_client_exceeded") == 1


def test_a_body_that_stops_arriving_gets_408_and_the_connection_closes(
    server: LiveServer,
) -> None:
    # The public sign-in route, which reads its body before any check.
    with _connect(server) as sock:
        sock.sendall(
            b"POST /session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        received = _read_until_closed(sock, timeout=30)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["error"]["type"] == "request_timeout"


def test_a_body_answered_early_closes_the_connection_when_it_stops_arriving(
    server: LiveServer,
) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n{"
        )
        # 413 at once from the declared length; then the rest of the body has the rest of
        # the header timeout to arrive. A byte now and then keeps uvicorn's own keep-alive
        # timer from ever running: only that bound ends the connection.
        head, _, _ = _read_answer(sock)
        assert head.startswith(b"HTTP/1.1 413 ")
        sent = 0
        while not _closed_by_server(sock):
            try:
                sock.sendall(b" ")
            except ConnectionError:
                break
            sent += 1
            time.sleep(0.1)
    assert sent < 1_000_000
    assert "request_body_timed_out" in server.log()


def test_a_stream_client_that_never_reads_is_disconnected_and_the_job_goes_on(
    server: LiveServer,
) -> None:
    job_id = _submit(server, TALKATIVE_JOB)
    with _connect(server, receive_buffer=4096) as sock:
        sock.sendall(_request(f"/jobs/{job_id}/events"))
        wait_until(
            lambda: "stream_closed_client_not_reading" in server.log(),
            "the server to give up on the stream whose client does not read",
            timeout=60,
            context=server.log,
        )
        assert httpx.get(f"{server.base_url}/health/live", timeout=10).status_code == 200
        # Reading now, the client gets what was buffered and then the end of the
        # connection, before the job's last event.
        received = _read_until_closed(sock, timeout=30)
    assert b"event: succeeded" not in received
    # The job goes on without its stream (then this test cancels it, to save the time).
    step = _job(server, job_id)["progress"]["step"]

    def went_on() -> bool:
        job = _job(server, job_id)
        return bool(job["progress"]["step"] > step or job["status"] == "succeeded")

    wait_until(went_on, "the job to go on after its stream closed", timeout=60, context=server.log)
    if _job(server, job_id)["status"] == "running":
        httpx.delete(f"{server.base_url}/jobs/{job_id}", timeout=60)


def test_a_client_holds_at_most_max_streams_per_client(server: LiveServer) -> None:
    job_id = _submit(server, {**TALKATIVE_JOB, "num_images": 1, "width": 64, "height": 64})
    url = f"{server.base_url}/jobs/{job_id}/events"
    with httpx.Client(timeout=30) as client:
        with client.stream("GET", url) as first, client.stream("GET", url) as second:
            assert (first.status_code, second.status_code) == (200, 200)
            third = client.get(url)
            assert third.status_code == 429 and third.headers["retry-after"] == "5"
            error = third.json()["error"]
            assert error["type"] == "rate_limited" and "2 event streams" in error["message"]
            # X-Forwarded-For from a local process does not make it another client.
            forwarded = client.get(url, headers={"X-Forwarded-For": "192.0.2.99"})
            assert forwarded.status_code == 429
        # Both closed: the client's slots come back once the server sees them go.
        wait_until(
            lambda: (
                client.get(f"{url}", headers={"Accept": "text/event-stream"}).status_code != 429
            ),
            "a stream slot to be free again",
            context=server.log,
        )


def test_an_unknown_job_s_stream_does_not_hold_a_slot(server: LiveServer) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            missing = client.get(f"{server.base_url}/jobs/no-such-job/events")
            assert missing.status_code == 404
            assert json.loads(missing.text)["error"]["type"] == "not_found"

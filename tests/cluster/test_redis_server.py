"""The test Redis and SAQ together: what the cluster tests stand on works as they assume.

A job goes through SAQ on the fixture's server from enqueue to result; a password is
enforced; a persistent server keeps its data across a restart; and a server leaves no
process and no file behind. Async code runs under `asyncio.run`, as elsewhere in the suite.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import redis
from saq import Job, Queue, Status, Worker
from saq.types import Context

from tests.support.redis_server import RedisServer, running_redis


async def double(ctx: Context, *, value: int) -> int:
    """The job: SAQ passes its context first and the job's kwargs after it."""
    return value * 2


async def run_one_job(url: str) -> Job:
    """Enqueue `double` on ``url``'s queue, let a worker on the same loop run it, and
    return the job as Redis holds it once complete."""
    queue = Queue.from_url(url)
    worker = Worker(queue, functions=[double])
    working = asyncio.create_task(worker.start())
    try:
        job = await queue.enqueue("double", value=21)
        assert job is not None  # None only for a key already enqueued
        await job.refresh(until_complete=10)
        return job
    finally:
        await worker.stop()
        await working
        await queue.disconnect()


def test_a_saq_worker_runs_a_job_enqueued_on_the_server(redis_server: RedisServer) -> None:
    job = asyncio.run(run_one_job(redis_server.url))

    assert job.status == Status.COMPLETE
    assert job.result == 42


def test_a_password_protected_server_refuses_a_client_without_it(
    redis_executable: str, tmp_path: Path
) -> None:
    with running_redis(tmp_path, password="s3cret", executable=redis_executable) as server:
        with (
            server.client(with_password=False) as stranger,
            pytest.raises(redis.AuthenticationError),
        ):
            stranger.ping()
        with redis.Redis.from_url(server.url) as member:
            assert member.ping()
        assert server.url == f"redis://:s3cret@127.0.0.1:{server.port}/0"


def test_a_persistent_server_keeps_its_data_across_a_restart(
    redis_executable: str, tmp_path: Path
) -> None:
    with running_redis(tmp_path, persist=True, executable=redis_executable) as server:
        with server.client() as client:
            client.set("kept", "yes")
        port = server.port

        server.stop()
        assert not server.running()
        server.start()

        assert server.port == port
        with server.client() as client:
            assert client.get("kept") == b"yes"


def test_a_server_without_persistence_forgets_on_restart(
    redis_executable: str, tmp_path: Path
) -> None:
    """The default really writes nothing: what a test leaves is gone after a restart."""
    with running_redis(tmp_path, executable=redis_executable) as server:
        with server.client() as client:
            client.set("kept", "no")
        server.stop()
        server.start()
        with server.client() as client:
            assert client.get("kept") is None


def test_leaving_the_context_stops_the_server_and_removes_its_files(
    redis_executable: str, tmp_path: Path
) -> None:
    (tmp_path / "the-test's.txt").write_text("mine", encoding="utf-8")
    with running_redis(tmp_path, persist=True, executable=redis_executable) as server:
        with server.client() as client:
            client.set("written", "to disk")
        process = server.process
        assert process is not None
        assert server.written_files(), "a persistent server writes its log and append-only file"

    assert process.returncode is not None, "the process was waited for, not left running"
    with socket.socket() as sock:
        sock.settimeout(2)
        with pytest.raises(ConnectionRefusedError):
            sock.connect(("127.0.0.1", server.port))
    assert [path.name for path in tmp_path.iterdir()] == ["the-test's.txt"]

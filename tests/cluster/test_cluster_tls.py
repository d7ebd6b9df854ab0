"""The shared queue over TLS (`rediss://`): a real handshake with Redis's own TLS, the
server's certificate checked against the CA the URL names, and refused without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis
import trustme
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.cluster_workers import running_worker
from tests.support.live_server import live_server
from tests.support.redis_server import RedisServer

PASSWORD = "tls-s3cret"


class TlsRedisServer(RedisServer):
    """redis-server answering TLS only, with a certificate for 127.0.0.1 from a test CA."""

    def __init__(self, folder: Path, certificates: Path, executable: str) -> None:
        super().__init__(folder, password=PASSWORD, executable=executable)
        self.ca_file = certificates / "ca.pem"

    def command(self) -> list[str]:
        folder = self.ca_file.parent
        return [
            *super().command(),
            "--port", "0", "--tls-port", str(self.port),
            "--tls-cert-file", str(folder / "server.pem"),
            "--tls-key-file", str(folder / "server.key"),
            "--tls-ca-cert-file", str(self.ca_file),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"{self.plain_url}?ssl_ca_certs={quote(str(self.ca_file))}"

    @property
    def plain_url(self) -> str:
        """Without the CA: the system's CAs, which do not know the test CA."""
        return f"rediss://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def client(self, *, with_password: bool = True) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=PASSWORD if with_password else None,
            ssl=True,
            ssl_ca_certs=str(self.ca_file),
            socket_connect_timeout=2,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )


@pytest.fixture
def tls_redis(tmp_path: Path, redis_executable: str) -> Iterator[TlsRedisServer]:
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(certificates / "ca.pem"))
    issued.private_key_pem.write_to_path(str(certificates / "server.key"))
    issued.cert_chain_pems[0].write_to_path(str(certificates / "server.pem"))
    server = TlsRedisServer(tmp_path / "redis", certificates, redis_executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.remove_files()


def test_the_cluster_runs_over_tls_with_the_certificate_checked(
    tls_redis: TlsRedisServer, tmp_path: Path
) -> None:
    worker_env = {"QUEUE_URL": tls_redis.url, "USE_MOCKS": "true"}
    service_env = {
        "QUEUE_URL": tls_redis.url,
        "LOCAL_WORKER": "false",
        "GENERATED_DIR": str(tmp_path / "generated"),
    }
    with (
        running_worker(worker_env, tmp_path / "worker.log"),
        live_server(service_env, tmp_path / "server.log") as server,
    ):
        server.wait_until_ready(timeout=60)
        answer = httpx.post(
            f"{server.base_url}/image",
            json={"prompt": "x", "num_inference_steps": 2, "width": 64, "height": 64},
            timeout=60,
        )
        assert answer.status_code == 200, server.log()
        log = server.log()
    assert PASSWORD not in log
    with tls_redis.client() as client:  # the handshake a plain client cannot make
        assert client.ping()


def test_without_the_ca_the_server_is_not_trusted(
    tls_redis: TlsRedisServer, tmp_path: Path
) -> None:
    service_env = {
        "QUEUE_URL": tls_redis.plain_url,
        "LOCAL_WORKER": "false",
        "GENERATED_DIR": str(tmp_path / "generated"),
    }
    with live_server(service_env, tmp_path / "server.log") as server:
        health = server.wait_for_health(
            lambda h: "does not answer" in (h.get("reason") or ""), "the refusal", timeout=60
        )
        log = server.log()
    assert "rediss://***@127.0.0.1" in health["reason"]
    assert "CERTIFICATE_VERIFY_FAILED" in log or "certificate verify failed" in log
    assert PASSWORD not in log

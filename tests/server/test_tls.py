"""HTTPS through uvicorn's own TLS: SSL_CERTFILE and SSL_KEYFILE, with a certificate the
test makes (trustme), checked by a real handshake against the test's own CA."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

from entrypoints.server_options import serving_url, tls_files, uvicorn_options
from entrypoints.settings import SettingsError
from tests.conftest import make_settings
from tests.support.live_server import PROJECT_ROOT, environment_without_settings, free_port
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def pem_files(authority: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    return cert, key


def test_both_files_give_uvicorn_its_tls_options(
    tmp_path: Path, pem_files: tuple[Path, Path]
) -> None:
    cert, key = pem_files
    settings = make_settings(tmp_path, ssl_certfile=cert, ssl_keyfile=key, port=8443)
    assert tls_files(settings) == (cert, key)
    options = uvicorn_options(settings)
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == (str(cert), str(key))
    assert serving_url(settings) == "https://127.0.0.1:8443/"


def test_without_files_the_server_speaks_plain_http(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, host="::1")
    assert tls_files(settings) is None
    assert "ssl_certfile" not in uvicorn_options(settings)
    assert serving_url(settings) == "http://[::1]:8000/"


@pytest.mark.parametrize("given", ["ssl_certfile", "ssl_keyfile"])
def test_one_file_alone_is_a_one_line_setting_error(
    tmp_path: Path, pem_files: tuple[Path, Path], given: str
) -> None:
    settings = make_settings(tmp_path, **{given: pem_files[0]})
    with pytest.raises(SettingsError) as refused:
        uvicorn_options(settings)
    message = str(refused.value)
    assert "\n" not in message
    assert "SSL_CERTFILE" in message and "SSL_KEYFILE" in message and "both" in message


def test_a_file_that_does_not_exist_is_a_one_line_setting_error(
    tmp_path: Path, pem_files: tuple[Path, Path]
) -> None:
    missing = tmp_path / "no-such-key.pem"
    settings = make_settings(tmp_path, ssl_certfile=pem_files[0], ssl_keyfile=missing)
    with pytest.raises(SettingsError) as refused:
        uvicorn_options(settings)
    message = str(refused.value)
    assert "\n" not in message
    assert "SSL_KEYFILE" in message and str(missing) in message and "no such file" in message


@contextmanager
def tls_server(cert: Path, key: Path, folder: Path, trusted: ssl.SSLContext) -> Iterator[str]:
    """`python -m entrypoints.cli serve` over HTTPS; yields its https:// base URL."""
    port = free_port()
    env = {
        **environment_without_settings(),
        "ENV_FILE": "",
        "USE_MOCKS": "true",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "MODEL_DIR": str(folder / "models"),
        "GENERATED_DIR": str(folder / "generated"),
        "SSL_CERTFILE": str(cert),
        "SSL_KEYFILE": str(key),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log_path = folder / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base_url = f"https://127.0.0.1:{port}"

    def live() -> bool:
        assert process.poll() is None, log_path.read_text(encoding="utf-8")
        try:
            answer = httpx.get(f"{base_url}/health/live", verify=trusted, timeout=2)
        except httpx.TransportError:
            return False
        return answer.status_code == 200

    try:
        wait_until(live, "the TLS server to answer", timeout=60, context=log_path.read_text)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.mark.server
def test_the_service_serves_https_with_a_verified_handshake(
    authority: trustme.CA, pem_files: tuple[Path, Path], tmp_path: Path
) -> None:
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    with (
        tls_server(*pem_files, tmp_path, trusted) as base_url,
        httpx.Client(base_url=base_url, verify=trusted, timeout=10) as client,
    ):
        answer = client.get("/health/live")
        assert answer.status_code == 200 and answer.json() == {"status": "alive"}
        assert answer.http_version == "HTTP/1.1"
        # Without the test's CA the certificate is not trusted: a real handshake ran.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base_url}/health/live", timeout=10)
        # Plain HTTP to the TLS port fails as a connection error, not an answer ...
        with pytest.raises(httpx.TransportError):
            httpx.get(base_url.replace("https://", "http://") + "/health/live", timeout=10)
        # ... and the server goes on serving HTTPS.
        assert client.get("/health/live").status_code == 200
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert f"Uvicorn running on {base_url}" in log
    serving = next(line for line in log.splitlines() if '"serving"' in line)
    assert f'"url": "{base_url}/"' in serving
    assert "Traceback" not in log

"""One rule for loopback and for how an address is written, wherever the service asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from entrypoints.bootstrap import shared
from entrypoints.cli import open_network_refusal
from entrypoints.network_addresses import is_loopback, normal_address
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "sd.local", "localhost.evil"])
def test_network_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_an_ipv4_address_over_a_dual_stack_socket_is_written_as_ipv4() -> None:
    assert normal_address("::ffff:192.168.1.5") == "192.168.1.5"
    assert normal_address("[2001:DB8::1]") == "2001:db8::1"
    assert normal_address("fe80::1%eth0") == "fe80::1"
    assert normal_address("Sd.Local") == "sd.local"


@pytest.mark.parametrize(
    ("values", "is_shared"),
    [
        ({}, False),
        ({"host": "127.0.0.2"}, False),
        ({"host": "0.0.0.0"}, True),
        ({"api_keys": SecretStr("k")}, True),
        # Open access serves the network: one client must not fill the queue there either.
        ({"allow_open_access": True}, True),
    ],
)
def test_what_makes_the_service_shared(
    tmp_path: Path, values: dict[str, object], is_shared: bool
) -> None:
    settings = make_settings(tmp_path, **values)
    assert shared(settings) is is_shared


def test_the_start_up_refusal_and_the_wiring_agree_on_loopback(tmp_path: Path) -> None:
    assert open_network_refusal(make_settings(tmp_path, host="127.0.0.2")) is None
    assert open_network_refusal(make_settings(tmp_path, host="0.0.0.0")) is not None

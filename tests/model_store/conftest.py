"""Fixtures: a small model folder in the real repo's layout, served by a fake hub on 127.0.0.1."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import constants

from adapters.hf_model_store import HuggingFaceModelStore
from adapters.model_layout import REQUIRED_FILES
from tests.support.fake_hub import FakeHub, running_hub

REPO_ID = "OpenVINO/tiny-sd-ov"

# The rest of the real repo's files, including the two the store must skip.
EXTRA_FILES = (
    ".gitattributes",
    "README.md",
    "text_encoder/config.json",
    "unet/config.json",
    "vae_decoder/config.json",
    "vae_encoder/openvino_model.xml",
    "vae_encoder/openvino_model.bin",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "tokenizer/openvino_detokenizer.xml",
    "tokenizer/openvino_detokenizer.bin",
    "feature_extractor/preprocessor_config.json",
    "safety_checker/config.json",
    "safety_checker/model.safetensors",
    "unet/.ipynb_checkpoints/config-checkpoint.json",
)
SKIPPED = ("safety_checker/config.json", "safety_checker/model.safetensors",
           "unet/.ipynb_checkpoints/config-checkpoint.json")  # fmt: skip


def build_model(folder: Path, files: tuple[str, ...] = REQUIRED_FILES + EXTRA_FILES) -> Path:
    generator = random.Random(folder.name)  # same bytes on every run
    for index, relative in enumerate(files):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generator.randbytes(1000 + 373 * index))
    return folder


@pytest.fixture(autouse=True)
def _isolated_hub_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback only, no Xet, no ambient token or offline flag, a fresh HTTP client per test."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    for name in ("HF_TOKEN", "HUGGINGFACE_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    # huggingface_hub read these when it was imported; tests must not depend on the shell.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    huggingface_hub.close_session()  # the shared client was built with another env
    yield
    huggingface_hub.close_session()  # no pooled connection outlives the test


@pytest.fixture
def model_source(tmp_path: Path) -> Path:
    return build_model(tmp_path / "hub-repo")


@pytest.fixture
def hub(model_source: Path) -> Iterator[FakeHub]:
    with running_hub(REPO_ID, model_source) as running:
        yield running


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return tmp_path / "models" / "stable-diffusion"


StoreFactory = Callable[..., HuggingFaceModelStore]


@pytest.fixture
def make_store(hub: FakeHub, model_dir: Path) -> StoreFactory:
    def make(**options: Any) -> HuggingFaceModelStore:
        settings: dict[str, Any] = {"repo_id": REPO_ID, "directory": model_dir, "token": None,
                                    "endpoint": hub.url, **options}  # fmt: skip
        return HuggingFaceModelStore(**settings)

    return make


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return forbid_network(monkeypatch)


def forbid_network(monkeypatch: pytest.MonkeyPatch, loopback: bool = False) -> list[object]:
    """Fail any attempt to resolve or connect (but to 127.0.0.1 when ``loopback``).

    Returns the refused attempts, for assertions.
    """
    attempts: list[object] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def allowed(host: object) -> bool:
        return loopback and host in ("127.0.0.1", "localhost")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if not allowed(address[0] if isinstance(address, tuple) else address):
            attempts.append(address)
            raise OSError(f"network use is forbidden in this test: {address}")
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        guarded_connect(sock, address)  # raises when refused, else connects
        return 0

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not allowed(host):
            attempts.append(host)
            raise socket.gaierror(f"name resolution is forbidden in this test: {host}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts

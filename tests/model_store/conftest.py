"""Fixtures: a small model folder in the real repo's layout, served by a fake hub on 127.0.0.1."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import huggingface_hub
import pytest
from huggingface_hub import constants

from adapters.hf_model_store import HuggingFaceModelStore
from adapters.model_layout import REQUIRED_FILES
from tests.support.fake_hub import FakeHub, running_hub
from tests.support.network_guard import forbid_network

REPO_ID = "OpenVINO/tiny-sd-ov"

# The rest of the real repo's files, including the two the store must skip.
EXTRA_FILES = (
    ".gitattributes",
    "README.md",
    "vae_encoder/config.json",
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


class DiskUsage(NamedTuple):
    """What ``shutil.disk_usage`` answers, for tests that fill the disk on paper."""

    total: int
    used: int
    free: int


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

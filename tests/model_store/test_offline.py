"""Once the model is present, nothing opens a connection: not status(), not download()."""

from __future__ import annotations

import os
import sys

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import OfflineModeIsEnabled
from huggingface_hub.utils import _detect_agent as utils_detect_agent

from adapters.hf_model_store import disable_offline_mode, enable_offline_mode
from domain.errors import DownloadFailure, ModelDownloadFailed
from tests.model_store.conftest import REPO_ID, StoreFactory
from tests.support.fake_hub import FakeHub
from tests.support.network_guard import forbid_network


def test_complete_model_needs_no_socket(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store().download()
    attempts = forbid_network(monkeypatch)  # from here on, every socket is refused
    store = make_store()

    assert store.status().cached
    assert store.download().cached
    assert attempts == []


def test_download_talks_to_the_configured_endpoint_only(
    make_store: StoreFactory, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # huggingface_hub 1.x builds its user-agent by fetching {HF_ENDPOINT read at import}
    # /api/agent-harnesses (huggingface.co by default) unless telemetry is off: the store
    # must send nothing but the download's own requests, and only to its endpoint.
    monkeypatch.setattr(utils_detect_agent, "_registry", None, raising=False)  # fresh process
    attempts = forbid_network(monkeypatch, loopback=True)

    assert make_store().download().cached

    assert attempts == []
    assert not [p for p in hub.requested_paths() if "agent-harnesses" in p]


def test_status_of_an_empty_folder_needs_no_socket(
    make_store: StoreFactory, no_network: list[object]
) -> None:
    status = make_store().status()

    assert status.cached is False
    assert no_network == []


def test_guard_really_blocks(make_store: StoreFactory, no_network: list[object]) -> None:
    with pytest.raises(ModelDownloadFailed) as failure:
        make_store().download()

    assert failure.value.kind is DownloadFailure.UNREACHABLE
    assert no_network  # the download did try, and the guard stopped it


def test_offline_switch_blocks_the_hub_at_run_time(
    make_store: StoreFactory, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test, like the constant

    enable_offline_mode()

    assert constants.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(OfflineModeIsEnabled):
        HfApi(endpoint=hub.url, token=False).model_info(REPO_ID)
    with pytest.raises(ModelDownloadFailed) as failure:
        make_store().download()
    assert failure.value.kind is DownloadFailure.UNREACHABLE
    assert "HF_HUB_OFFLINE" in failure.value.message
    assert hub.requests == []

    disable_offline_mode()

    assert make_store().download().cached


def test_status_does_not_import_huggingface_hub(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [
        m for m in sys.modules if m == "huggingface_hub" or m.startswith("huggingface_hub.")
    ]:
        monkeypatch.delitem(sys.modules, name)

    make_store().status()

    assert "huggingface_hub" not in sys.modules

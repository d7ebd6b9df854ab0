"""Each way a download fails becomes one ModelDownloadFailed: its kind, facts and remedies.

The sentences built from them are the CLI's and the HTTP layer's (see test_cli.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.hf_model_store import HuggingFaceModelStore
from domain.errors import DownloadFailure, ModelDownloadFailed, Remedy
from tests.model_store.conftest import REPO_ID, StoreFactory, build_model
from tests.support.fake_hub import FakeHub, running_hub


def failure_of(store_factory: StoreFactory, **options: object) -> ModelDownloadFailed:
    with pytest.raises(ModelDownloadFailed) as caught:
        store_factory(**options).download()
    assert "\n" not in caught.value.message  # one line, fit for a log or a terminal
    assert isinstance(caught.value.kind, DownloadFailure)
    return caught.value


def test_gated_without_token(make_store: StoreFactory, hub: FakeHub, model_dir: Path) -> None:
    hub.mode = "gated"

    failure = failure_of(make_store)

    assert failure.kind is DownloadFailure.GATED
    assert REPO_ID in failure.message
    assert f"{hub.url}/{REPO_ID}" in failure.message  # where to accept the licence
    assert "no hub token is set" in failure.message
    assert failure.remedies == (Remedy.SET_HUB_TOKEN,)
    assert make_store().status().cached is False


def test_gated_with_a_refused_token(make_store: StoreFactory, hub: FakeHub) -> None:
    hub.mode = "gated"

    failure = failure_of(make_store, token="hf_not_accepted")

    assert failure.kind is DownloadFailure.GATED
    assert "refused" in failure.message
    assert failure.remedies == (Remedy.SET_HUB_TOKEN,)
    assert "hf_not_accepted" not in failure.message  # the secret never reaches a message


def test_gated_on_forced_download_still_reads_as_gated(
    make_store: StoreFactory, hub: FakeHub
) -> None:
    # A forced download wraps the hub's error in a ValueError: the cause must still show.
    make_store().download()
    hub.mode = "gated"

    assert make_store().download().cached  # complete: answered without the hub
    with pytest.raises(ModelDownloadFailed) as caught:
        make_store().download(force=True)
    assert caught.value.kind is DownloadFailure.GATED


def test_repository_not_found(make_store: StoreFactory, hub: FakeHub) -> None:
    hub.mode = "not_found"

    failure = failure_of(make_store)

    assert failure.kind is DownloadFailure.NOT_FOUND
    assert REPO_ID in failure.message and hub.url in failure.message
    assert failure.remedies == (Remedy.CHECK_REPO_ID,)


def test_unknown_repository_id(make_store: StoreFactory) -> None:
    failure = failure_of(make_store, repo_id="OpenVINO/no-such-model")

    assert failure.kind is DownloadFailure.NOT_FOUND
    assert "OpenVINO/no-such-model" in failure.message
    assert failure.remedies == (Remedy.CHECK_REPO_ID,)


def test_revision_not_found(make_store: StoreFactory) -> None:
    failure = failure_of(make_store, revision="v9.9")

    assert failure.kind is DownloadFailure.NOT_FOUND
    assert "v9.9" in failure.message


def test_repository_that_is_not_an_openvino_export(tmp_path: Path, model_dir: Path) -> None:
    folder = build_model(tmp_path / "not-ov", files=("model_index.json", "unet/model.safetensors"))
    with running_hub("someone/pytorch-model", folder) as other:
        failure = failure_of(
            lambda: HuggingFaceModelStore("someone/pytorch-model", model_dir, None, other.url)
        )
        assert not [p for p in other.requested_paths() if "/resolve/" in p]  # nothing fetched

    assert failure.kind is DownloadFailure.NOT_FOUND
    assert "unet/openvino_model.xml" in failure.message
    assert failure.remedies == (Remedy.CHECK_REPO_ID,)


def test_hub_down(make_store: StoreFactory, hub: FakeHub) -> None:
    hub.stop()

    failure = failure_of(make_store)

    assert failure.kind is DownloadFailure.UNREACHABLE
    assert hub.url in failure.message
    # The way around the hub, not only the cause.
    assert failure.remedies == (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE)


def test_hub_error_reads_as_unreachable(make_store: StoreFactory, hub: FakeHub) -> None:
    hub.mode = "server_error"

    failure = failure_of(make_store)

    assert failure.kind is DownloadFailure.UNREACHABLE
    assert "HTTP 5" in failure.message
    assert failure.remedies == (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE)


def test_hub_down_with_a_partial_folder_is_not_reported_as_ready(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path
) -> None:
    # huggingface_hub alone would hand back the existing local_dir when the hub is down.
    make_store().download()
    (model_dir / "unet/openvino_model.bin").write_bytes(b"partial")
    hub.stop()

    failure = failure_of(make_store)

    assert failure.kind is DownloadFailure.UNREACHABLE
    assert make_store().status().missing == ("unet/openvino_model.bin",)


def test_hand_staged_model_is_accepted_when_the_hub_is_down(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    shutil.copytree(model_source, model_dir)  # "copy the repo's files into MODEL_DIR"
    hub.stop()

    status = make_store().download()

    assert status.cached
    assert make_store().status().cached

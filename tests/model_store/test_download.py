"""Downloads against the fake hub: layout, idempotence, force, token, progress, repair."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import file_download

from adapters.model_layout import MANIFEST_NAME, REQUIRED_FILES
from application.ports import ModelStore
from domain.errors import DownloadFailure, ModelDownloadFailed, Remedy
from tests.model_store.conftest import (
    EXTRA_FILES,
    REPO_ID,
    SKIPPED,
    DiskUsage,
    StoreFactory,
)
from tests.support.fake_hub import FakeHub

WANTED = sorted(set(REQUIRED_FILES + EXTRA_FILES) - set(SKIPPED))


def downloaded(model_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and ".cache" not in p.parts and p.name != MANIFEST_NAME
    )


def test_store_implements_the_port(make_store: StoreFactory) -> None:
    port: ModelStore = make_store()  # checked by mypy; the rest by the other tests

    assert port.status().repo_id == REPO_ID


def test_fresh_download_fetches_the_model_but_not_the_safety_checker(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    store = make_store()
    assert store.status().cached is False

    status = store.download()

    assert status.cached and status.missing == ()
    assert status.revision == hub.commit  # recorded in every image's provenance
    assert downloaded(model_dir) == WANTED
    for relative in WANTED:
        assert (model_dir / relative).read_bytes() == (model_source / relative).read_bytes()
        assert not (model_dir / relative).is_symlink()  # plain files, not cache links
    assert not any("safety_checker" in p or "ipynb" in p for p in hub.requested_paths())
    manifest = json.loads((model_dir / MANIFEST_NAME).read_text())
    assert manifest["repo_id"] == REPO_ID and manifest["commit"] == hub.commit
    assert manifest["complete"] is True
    assert sorted(manifest["files"]) == WANTED


def test_safety_checker_is_fetched_when_asked_for(
    make_store: StoreFactory, model_dir: Path
) -> None:
    make_store(include_safety_checker=True).download()

    assert (model_dir / "safety_checker/model.safetensors").is_file()
    assert not (model_dir / "unet/.ipynb_checkpoints").exists()


def test_second_download_makes_no_request(make_store: StoreFactory, hub: FakeHub) -> None:
    make_store().download()
    hub.clear()

    status = make_store().download()

    assert status.cached
    assert hub.requests == []


def test_hand_staged_complete_folder_makes_no_request(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    shutil.copytree(model_source, model_dir)  # "copy the repo's files into MODEL_DIR"

    status = make_store().download()

    assert status.cached
    assert hub.requests == []
    assert not (model_dir / MANIFEST_NAME).exists()  # nothing was downloaded


def test_force_fetches_a_hand_staged_folder_again(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    shutil.copytree(model_source, model_dir)

    assert make_store().download(force=True).cached

    fetched = [p.split(f"/resolve/{hub.commit}/", 1)[1] for p in hub.requested_paths("GET")
               if "/resolve/" in p]  # fmt: skip
    assert sorted(fetched) == WANTED


def test_force_downloads_every_file_again(make_store: StoreFactory, hub: FakeHub) -> None:
    make_store().download()
    hub.clear()

    assert make_store().download(force=True).cached

    fetched = [p.split(f"/resolve/{hub.commit}/", 1)[1] for p in hub.requested_paths("GET")
               if "/resolve/" in p]  # fmt: skip
    assert sorted(fetched) == WANTED


def test_token_goes_to_the_hub_on_every_request(make_store: StoreFactory, hub: FakeHub) -> None:
    make_store(token="hf_test_secret").download()

    assert hub.requests
    assert {r.headers.get("authorization") for r in hub.requests} == {"Bearer hf_test_secret"}


def test_without_a_token_none_is_sent_even_if_one_is_in_the_environment(
    make_store: StoreFactory, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_ambient_should_not_leak")

    make_store().download()

    assert all("authorization" not in r.headers for r in hub.requests)


def test_progress_reports_bytes_up_to_the_total(
    make_store: StoreFactory, model_source: Path
) -> None:
    reports: list[tuple[int, int]] = []
    make_store().download(on_progress=lambda done, total: reports.append((done, total)))

    expected = sum((model_source / p).stat().st_size for p in WANTED)
    assert reports[-1] == (expected, expected)
    assert all(0 < done <= total for done, total in reports)
    dones = [done for done, _ in reports]
    assert dones == sorted(dones)


def test_truncated_file_is_reported_and_repaired(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    make_store().download()
    damaged = model_dir / "unet/openvino_model.bin"
    damaged.write_bytes(damaged.read_bytes()[:100])

    status = make_store().status()
    assert status.cached is False
    assert status.missing == ("unet/openvino_model.bin",)

    hub.clear()
    assert make_store().download().cached
    assert damaged.read_bytes() == (model_source / "unet/openvino_model.bin").read_bytes()
    assert [p for p in hub.requested_paths("GET") if "/resolve/" in p] == [
        f"/{REPO_ID}/resolve/{hub.commit}/unet/openvino_model.bin"
    ]


def test_missing_file_is_reported_and_fetched(make_store: StoreFactory, model_dir: Path) -> None:
    make_store().download()
    (model_dir / "tokenizer/openvino_tokenizer.xml").unlink()

    assert make_store().status().missing == ("tokenizer/openvino_tokenizer.xml",)
    assert make_store().download().cached


def test_lost_component_config_makes_the_model_incomplete_and_is_fetched_alone(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path
) -> None:
    # openvino-genai opens each component's config.json: without it the model cannot load.
    make_store().download()
    (model_dir / "unet/config.json").unlink()

    status = make_store().status()
    assert status.cached is False
    assert status.missing == ("unet/config.json",)

    hub.clear()
    assert make_store().download().cached
    assert [p for p in hub.requested_paths("GET") if "/resolve/" in p] == [
        f"/{REPO_ID}/resolve/{hub.commit}/unet/config.json"
    ]


def test_lost_extra_file_leaves_the_model_usable_and_is_fetched_back(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path
) -> None:
    make_store().download()
    (model_dir / "tokenizer/vocab.json").unlink()  # not one the engine needs

    assert make_store().status().cached
    hub.clear()
    assert make_store().download().cached
    assert (model_dir / "tokenizer/vocab.json").is_file()
    assert [p for p in hub.requested_paths("GET") if "/resolve/" in p] == [
        f"/{REPO_ID}/resolve/{hub.commit}/tokenizer/vocab.json"
    ]


def test_truncated_transfer_fails_as_incomplete_then_recovers(
    make_store: StoreFactory, hub: FakeHub
) -> None:
    hub.truncate["unet/openvino_model.bin"] = 200

    with pytest.raises(ModelDownloadFailed) as failure:
        make_store().download()

    assert failure.value.kind is DownloadFailure.INCOMPLETE
    assert failure.value.remedies == (Remedy.DOWNLOAD_MODEL,)
    assert REPO_ID in failure.value.message
    status = make_store().status()
    assert status.cached is False and "unet/openvino_model.bin" in status.missing

    hub.truncate.clear()
    assert make_store().download().cached


def test_folder_of_another_repo_does_not_count(make_store: StoreFactory, model_dir: Path) -> None:
    make_store().download()

    status = make_store(repo_id="OpenVINO/other-model").status()

    assert status.cached is False
    assert status.missing == REQUIRED_FILES


def test_not_enough_space_fails_before_downloading(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    almost_full = DiskUsage(total=10**9, used=10**9 - 10, free=10)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: almost_full)

    with pytest.raises(ModelDownloadFailed) as failure:
        make_store().download()

    assert failure.value.kind is DownloadFailure.DISK_FULL
    assert str(model_dir) in failure.value.message
    assert failure.value.remedies == (Remedy.LARGER_DISK,)
    assert not [p for p in hub.requested_paths("GET") if "/resolve/" in p]


def test_disk_full_while_writing_is_reported(
    make_store: StoreFactory, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(file_download, "http_get", no_space)

    with pytest.raises(ModelDownloadFailed) as failure:
        make_store().download()

    assert failure.value.kind is DownloadFailure.DISK_FULL
    assert "\n" not in failure.value.message
    assert make_store().status().cached is False
    assert downloaded(model_dir) == []  # no partial file under a final name

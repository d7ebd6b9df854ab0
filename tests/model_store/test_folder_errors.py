"""A model folder that cannot take the files: one ModelDownloadFailed naming what is in the
way and the fix, before any request to the hub; never a traceback or "failed unexpectedly".

chmod does not stop root, so the read-only cases run through a store whose folder check
refuses as a read-only folder would; one real chmod test runs where it can (not as root).
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from adapters.hf_model_store import HuggingFaceModelStore
from adapters.hub_download_failures import DownloadFailures
from domain.errors import ModelDownloadFailed
from entrypoints.app import create_app
from entrypoints.settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings
from tests.model_store.conftest import REPO_ID, StoreFactory
from tests.model_store.test_cli import run_cli
from tests.support.fake_hub import FakeHub
from tests.support.waiting import wait_until


def refusing(error_number: int) -> Callable[[Path], None]:
    """A folder check that fails as the OS does for a folder this user cannot write."""

    def prepare(directory: Path) -> None:
        raise OSError(error_number, os.strerror(error_number), str(directory / ".write-check"))

    return prepare


def failure_of(store: HuggingFaceModelStore) -> ModelDownloadFailed:
    with pytest.raises(ModelDownloadFailed) as caught:
        store.download()
    assert "\n" not in caught.value.message
    return caught.value


def test_a_read_only_folder_is_named_with_the_fix_before_any_request(
    make_store: StoreFactory, hub: FakeHub, model_dir: Path
) -> None:
    model_dir.mkdir(parents=True)
    failure = failure_of(make_store(prepare_folder=refusing(errno.EACCES)))
    assert f"{model_dir} is read-only" in failure.message
    assert f"Make {model_dir} writable" in failure.message
    assert hub.requests == []


def test_a_read_only_file_system_is_named_as_such(
    make_store: StoreFactory, model_dir: Path
) -> None:
    failure = failure_of(make_store(prepare_folder=refusing(errno.EROFS)))
    assert "read-only file system" in failure.message


def test_a_folder_under_a_read_only_parent_names_the_parent(
    make_store: StoreFactory, model_dir: Path
) -> None:
    model_dir.parent.mkdir(parents=True)

    def parent_refuses(directory: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    failure = failure_of(make_store(prepare_folder=parent_refuses))
    assert f"{model_dir.parent} is read-only" in failure.message


@pytest.mark.parametrize("depth", ["the folder", "a parent"])
def test_a_model_dir_that_is_a_file_is_named(hub: FakeHub, tmp_path: Path, depth: str) -> None:
    blocking = tmp_path / "models"
    blocking.write_text("not a folder")
    directory = blocking if depth == "the folder" else blocking / "stable-diffusion"
    store = HuggingFaceModelStore(REPO_ID, directory, token=None, endpoint=hub.url)
    failure = failure_of(store)
    assert f"{blocking} is a file, not a folder" in failure.message
    assert hub.requests == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="chmod does not stop root"
)
def test_a_really_read_only_parent(make_store: StoreFactory, model_dir: Path) -> None:
    parent = model_dir.parent
    parent.mkdir(parents=True)
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        failure = failure_of(make_store())
    finally:
        parent.chmod(stat.S_IRWXU)
    assert f"{parent} is read-only" in failure.message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts a tmpfs")
def test_a_really_read_only_file_system(make_store: StoreFactory, tmp_path: Path) -> None:
    mount_point = tmp_path / "read-only"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount_point)],
        capture_output=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip("this user cannot mount a read-only tmpfs")
    try:
        failure = failure_of(make_store(directory=mount_point / "stable-diffusion"))
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
    assert f"{mount_point} is on a read-only file system" in failure.message


def test_a_complete_model_in_a_read_only_folder_needs_no_write(
    make_store: StoreFactory,
) -> None:
    make_store().download()
    assert make_store(prepare_folder=refusing(errno.EACCES)).download().cached


def test_permission_refused_mid_download_gets_the_fix_not_a_bare_incomplete(
    tmp_path: Path,
) -> None:
    failures = DownloadFailures(REPO_ID, "main", "http://127.0.0.1:9", tmp_path, False)
    lock = tmp_path / ".cache" / "huggingface" / "download" / "x.lock"
    denied = PermissionError(errno.EACCES, "Permission denied", str(lock))
    wrapped = RuntimeError("download failed")
    wrapped.__cause__ = denied
    failure = failures.explain(wrapped)
    assert failure is not None
    assert f"{tmp_path} is read-only" in failure.message and "writable" in failure.message


@pytest.fixture
def blocked_model_dir(tmp_path: Path) -> Path:
    blocking = tmp_path / "models"
    blocking.write_text("not a folder")
    return blocking


def test_the_download_command_prints_one_error_line(hub: FakeHub, blocked_model_dir: Path) -> None:
    result = run_cli(hub, blocked_model_dir)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert f"{blocked_model_dir} is a file" in lines[0]


@pytest.mark.parametrize(
    "repo_id",
    ["../etc", "a/..", "./x", "a/.", "-a/b", "a/b-", "a/.b", "a--b/c", "a/b.git", "a/b/c", "é/x"],
)
def test_path_like_or_invalid_repo_ids_are_refused(repo_id: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, model_repo_id=repo_id)  # type: ignore[call-arg]


@pytest.mark.parametrize("repo_id", ["OpenVINO/stable-diffusion-v1-5-int8-ov", "a_b/c.d-e"])
def test_hub_style_repo_ids_are_accepted(repo_id: str) -> None:
    settings = Settings(_env_file=None, model_repo_id=repo_id)  # type: ignore[call-arg]
    assert settings.model_repo_id == repo_id


def test_a_path_like_repo_id_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MODEL_"))}
    env.update(ENV_FILE="", MODEL_REPO_ID="../etc", MODEL_DIR=str(tmp_path / "m"))
    result = subprocess.run(
        [sys.executable, "download_models.py"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "MODEL_REPO_ID='../etc'" in lines[0]


def test_health_says_the_folder_is_read_only_with_auto_download(
    hub: FakeHub, tmp_path: Path, model_dir: Path
) -> None:
    model_dir.mkdir(parents=True)
    settings = make_settings(tmp_path, auto_download_models=True, model_dir=model_dir)
    store = HuggingFaceModelStore(
        REPO_ID, model_dir, token=None, endpoint=hub.url, prepare_folder=refusing(errno.EACCES)
    )
    with TestClient(create_app(settings, model_store=store), base_url="http://127.0.0.1") as client:
        reason = wait_until(
            lambda: (r := client.get("/health").json().get("reason", "")) and "failed" in r and r,
            "/health to report the failed download",
        )
    assert f"{model_dir} is read-only" in reason and "writable" in reason
    assert "unexpectedly" not in reason

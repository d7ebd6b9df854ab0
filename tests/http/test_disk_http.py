"""A full disk over HTTP: 507 `insufficient_storage`, `/health` degraded, recovery by itself."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.ports import RenderedImage
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend, FakeImageStore
from tests.support.waiting import wait_until

SMALL = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 1}


class FullDisk(FakeImageStore):
    """Every write fails as a full disk does."""

    def save(self, name: str, image: RenderedImage, text_chunks: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_answers_507_naming_the_folder_and_the_free_space(tmp_path: Path) -> None:
    images = FullDisk(directory=tmp_path / "generated")
    app = create_app(make_settings(tmp_path), backend=FakeBackend(), image_store=images)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        answer = client.post("/image", json=SMALL)
        assert answer.status_code == 507
        error = answer.json()["error"]
        assert error["type"] == "insufficient_storage"
        assert str(tmp_path / "generated") in error["message"]
        assert " MB free" in error["message"]
        job = client.get("/jobs").json()["jobs"][0]
        assert job["status"] == "failed" and job["error"]["type"] == "insufficient_storage"
        # Not an engine failure: the service still answers and still takes jobs.
        assert client.get("/health").json()["status"] == "ok"


def test_below_min_free_disk_new_jobs_get_507_before_they_run(tmp_path: Path) -> None:
    # A floor no disk reaches: the real reading is below it.
    settings = make_settings(tmp_path, use_mocks=True, min_free_disk_mb=10**12)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        answer = client.post("/jobs", json=SMALL)
        assert answer.status_code == 507
        assert answer.json()["error"]["type"] == "insufficient_storage"
        assert client.get("/jobs").json()["jobs"] == []
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert "Too little disk space" in health["reason"]
        assert health["disk"]["min_free_mb"] == 10**12
        assert health["disk"]["generated"]["dir"] == str(tmp_path / "generated")
        assert health["disk"]["models"]["free_mb"] > 0
        assert client.get("/health/ready").status_code == 503


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs, where the machine lets the test mount one."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("tmpfs needs Linux and mount")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace')}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write until the disk is full; returns the file to remove to free it."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as stream:
        while _written(stream, chunk):
            pass
    return filler


def _written(stream: Any, chunk: bytes) -> bool:
    """False once the disk is full (only that: any other error fails the test)."""
    try:
        stream.write(chunk)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        return False
    return True


def test_a_real_full_disk_then_freed_space(small_disk: Path, tmp_path: Path) -> None:
    generated = small_disk / "generated"
    settings = make_settings(tmp_path, use_mocks=True, generated_dir=generated, min_free_disk_mb=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        filler = fill(small_disk)
        full = client.post("/image", json={**SMALL, "seed": 1})
        assert full.status_code == 507, full.text
        assert full.json()["error"]["type"] == "insufficient_storage"
        assert not list(generated.glob("*.png"))
        filler.unlink()
        fine = client.post("/image", json={**SMALL, "seed": 2})
        assert fine.status_code == 200, fine.text
        assert client.get(fine.json()["image_url"]).status_code == 200
        # The full disk refused the first job's record at acceptance: it was never queued.
        assert str(generated) in full.json()["error"]["message"]
        listed = [job["job_id"] for job in client.get("/jobs").json()["jobs"]]
        assert listed == [fine.json()["job_id"]]


def test_below_the_floor_on_a_real_disk_and_back(small_disk: Path, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, use_mocks=True, generated_dir=small_disk / "generated", min_free_disk_mb=2
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.post("/jobs", json=SMALL).status_code == 202
        filler = fill(small_disk)
        wait_until(
            lambda: client.post("/jobs", json=SMALL).status_code == 507,
            "submissions to be refused on the full disk",
        )
        assert client.get("/health").json()["status"] == "degraded"
        filler.unlink()
        wait_until(
            lambda: client.post("/jobs", json=SMALL).status_code == 202,
            "submissions to be accepted once space is freed",
        )
        assert client.get("/health").json()["status"] == "ok"

"""Uploads on disk: added, listed, found, removed; never a path outside the folder, and
nothing left behind by a refusal."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from adapters.file_upload_store import FileUploadStore
from domain.errors import InvalidImage
from tests.unit.test_windows_files import Holder, holder, names_in  # noqa: F401 (a fixture)

START = datetime(2026, 6, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def png(colour: str = "red", size: tuple[int, int] = (16, 8)) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", size, colour).save(stream, format="PNG")
    return stream.getvalue()


def store_in(tmp_path: Path) -> FileUploadStore:
    return FileUploadStore(tmp_path / "uploads", max_bytes=2**20, clock=Clock())


def test_an_added_upload_is_found_listed_and_served(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), owner="alice")
    assert len(upload.id) == 32
    assert (upload.width, upload.height, upload.source_format) == (16, 8, "PNG")
    assert upload.owner == "alice"
    assert store.get(upload.id) == upload
    assert store.all() == [upload]
    path = store.path_of(upload.id)
    assert path is not None
    assert path.parent == store.directory
    stored = path.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == upload.sha256
    assert len(stored) == upload.size_bytes
    assert names_in(store.directory) == [f"{upload.id}.json", f"{upload.id}.png"]


def test_the_record_is_plain_json(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), owner=None)
    record = json.loads((store.directory / f"{upload.id}.json").read_text("utf-8"))
    assert record["created_at"] == upload.created_at.isoformat()
    assert record["owner"] is None
    assert record["sha256"] == upload.sha256


def test_uploads_are_listed_newest_first(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    first, second = store.add(png("red"), None), store.add(png("blue"), None)
    assert [upload.id for upload in store.all()] == [second.id, first.id]
    assert first.id != second.id


def test_a_deleted_upload_is_gone(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload, kept = store.add(png(), None), store.add(png("blue"), None)
    assert store.delete(upload.id)
    assert store.get(upload.id) is None
    assert store.path_of(upload.id) is None
    assert store.all() == [kept]
    assert not store.delete(upload.id)
    assert names_in(store.directory) == [f"{kept.id}.json", f"{kept.id}.png"]


def test_the_folder_is_made_only_when_something_is_stored(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    assert store.all() == []
    assert store.get("0" * 32) is None
    assert not store.delete("0" * 32)
    assert not store.directory.exists()


@pytest.mark.parametrize(
    "upload_id",
    [
        "../secret",
        "..",
        "",
        "a" * 31,
        "A" * 32,
        "g" * 32,
        "0" * 32 + ".png",
        "0" * 32 + "/../x",
        "0" * 32 + "\x00",
        "CON",
        "/etc/passwd",
    ],
)
def test_an_id_of_another_shape_is_never_a_path(tmp_path: Path, upload_id: str) -> None:
    store = store_in(tmp_path)
    store.add(png(), None)
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "secret.png").write_bytes(png())
    assert store.get(upload_id) is None
    assert store.path_of(upload_id) is None
    assert not store.delete(upload_id)
    assert (tmp_path / "secret.png").exists()


def test_a_symlink_is_not_an_upload(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), None)
    outside = tmp_path / "outside.png"
    outside.write_bytes(png())
    linked = "f" * 32
    try:
        (store.directory / f"{linked}.png").symlink_to(outside)
    except OSError:
        pytest.skip("symlinks need privileges here")
    (store.directory / f"{linked}.json").write_text(
        (store.directory / f"{upload.id}.json").read_text()
    )
    assert store.path_of(linked) is None
    assert store.get(linked) is None


@pytest.mark.parametrize("data", [b"", b"<svg/>", png()[:40], b"GIF89a" + bytes(20)])
def test_a_refusal_leaves_nothing_behind(tmp_path: Path, data: bytes) -> None:
    store = store_in(tmp_path)
    with pytest.raises(InvalidImage) as refused:
        store.add(data, None, field="init_image")
    assert refused.value.field == "init_image"
    assert not store.directory.exists() or names_in(store.directory) == []


def test_a_file_over_the_limit_is_refused_as_too_large(tmp_path: Path) -> None:
    store = FileUploadStore(tmp_path / "uploads", max_bytes=100)
    with pytest.raises(InvalidImage) as refused:
        store.add(png(size=(64, 64)), None)
    assert refused.value.too_large
    assert not store.directory.exists()


def test_a_failed_record_write_takes_the_png_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_in(tmp_path)
    real_replace = os.replace

    def full_disk_for_records(source: object, target: object) -> None:
        if str(target).endswith(".json"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", full_disk_for_records)
    with pytest.raises(OSError, match="No space"):
        store.add(png(), None)
    assert names_in(store.directory) == []


def test_leftovers_of_a_killed_process_are_removed_at_start(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), None)
    store.directory.joinpath(f"{'a' * 32}.png").write_bytes(png())  # its record never came
    store.directory.joinpath(".partial-x.png").write_bytes(b"half")
    assert store.remove_leftovers() == 2
    assert names_in(store.directory) == [f"{upload.id}.json", f"{upload.id}.png"]
    assert store.all() == [upload]


def test_an_unreadable_record_is_not_an_upload(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), None)
    (store.directory / f"{upload.id}.json").write_text('{"created_at": 3}')
    assert store.get(upload.id) is None
    assert store.all() == []


def test_an_upload_held_open_is_gone_at_once_and_removed_at_the_next_pass(
    tmp_path: Path,
    holder: Holder,  # noqa: F811 (the fixture imported above)
) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), None)
    holder.hold(f"{upload.id}.png")  # a browser still downloading it, on Windows
    assert store.delete(upload.id)
    assert store.get(upload.id) is None
    assert store.path_of(upload.id) is None
    assert store.all() == []
    assert (store.directory / f"{upload.id}.png").exists()
    holder.release(f"{upload.id}.png")
    assert store.all() == []
    assert names_in(store.directory) == []

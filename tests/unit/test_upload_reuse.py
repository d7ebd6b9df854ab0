"""The same image added again by the same client is the upload it already has, marked as
used; a request's use is recorded in the upload's record."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from PIL import Image

from adapters.file_upload_store import FileUploadStore
from tests.unit.test_file_upload_store import START, Clock, png, store_in
from tests.unit.test_windows_files import names_in


def test_the_same_image_again_is_the_same_upload_marked_as_used(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    first = store.add(png(), owner="alice")
    assert first.last_used is None
    again = store.add(png(), owner="alice")
    assert again.id == first.id and again.created_at == first.created_at
    assert again.last_used == START + timedelta(seconds=2)
    assert store.get(first.id) == again
    assert names_in(store.directory) == [f"{first.id}.json", f"{first.id}.png"]


def test_the_same_pixels_in_another_format_are_the_same_stored_png(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    stream = io.BytesIO()
    Image.open(io.BytesIO(png())).save(stream, format="WEBP", lossless=True)
    first = store.add(png(), owner=None)
    assert store.add(stream.getvalue(), owner=None).id == first.id


def test_another_clients_or_another_image_is_a_new_upload(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    alices = store.add(png(), owner="alice")
    ids = {alices.id, store.add(png(), "bob").id, store.add(png(), None).id}
    ids.add(store.add(png("blue"), "alice").id)
    assert len(ids) == 4
    assert all(upload.last_used is None for upload in store.all())


def test_a_deleted_upload_is_not_reused(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    first = store.add(png(), owner="alice")
    assert store.delete(first.id)
    second = store.add(png(), owner="alice")
    assert second.id != first.id and second.last_used is None
    assert names_in(store.directory) == [f"{second.id}.json", f"{second.id}.png"]


def test_a_new_store_finds_the_uploads_already_in_the_folder(tmp_path: Path) -> None:
    first = store_in(tmp_path).add(png(), owner="alice")
    restarted = store_in(tmp_path)
    assert restarted.add(png(), owner="alice").id == first.id


def test_an_upload_removed_behind_the_stores_back_is_stored_again(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    first = store.add(png(), owner="alice")
    assert store_in(tmp_path).delete(first.id)  # another process's retention
    second = store.add(png(), owner="alice")
    assert second.id != first.id and store.get(second.id) == second


def test_marking_an_upload_used_writes_the_time_in_its_record(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), owner="alice")
    used = store.mark_used(upload.id)
    assert used is not None and used.last_used == START + timedelta(seconds=2)
    record = json.loads((store.directory / f"{upload.id}.json").read_text("utf-8"))
    assert record["last_used"] == used.last_used.isoformat()
    assert FileUploadStore(store.directory, 2**20, Clock()).get(upload.id) == used
    assert store.mark_used("0" * 32) is None
    assert store.mark_used("../x") is None


def test_a_record_from_before_last_used_reads_as_never_used(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), owner="alice")
    path = store.directory / f"{upload.id}.json"
    record = json.loads(path.read_text("utf-8"))
    del record["last_used"]
    path.write_text(json.dumps(record), "utf-8")
    assert store.get(upload.id) == upload


def test_a_last_used_without_a_time_zone_is_not_an_upload(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    upload = store.add(png(), owner="alice")
    path = store.directory / f"{upload.id}.json"
    record = json.loads(path.read_text("utf-8"))
    record["last_used"] = "2026-06-01T00:00:00"
    path.write_text(json.dumps(record), "utf-8")
    assert store.get(upload.id) is None


def test_an_unused_upload_is_discarded_and_a_used_one_kept(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    unused = store.add(png(), owner="alice")
    assert store.discard_unused(unused.id)
    assert store.get(unused.id) is None and names_in(store.directory) == []
    kept = store.add(png(), owner="alice")
    store.add(png(), owner="alice")  # sent again by another request: marked used
    assert not store.discard_unused(kept.id)
    assert store.get(kept.id) is not None
    assert not store.discard_unused("0" * 32)

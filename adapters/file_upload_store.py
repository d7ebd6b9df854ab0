"""Uploaded input images on disk: each a normalised RGB PNG beside a small JSON record.

An upload is `<id>.png` (what jobs read and `GET /uploads/<id>.png` serves) and
`<id>.json` (its sha256, size, source format, time and owner). Ids are 32 random hex
digits, so they cannot be guessed from one another, and only that shape is ever turned
into a path: no id reaches outside the folder. Both files are written atomically, the
PNG first, so a record always has its picture; a PNG whose record never came (a killed
process) is not an upload and `remove_leftovers` clears it at the next start. A file
Windows will not let us remove yet is treated as gone at once (`held_files`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from adapters import held_files
from adapters.atomic_file import remove_partial_files, write_bytes_atomically
from adapters.stored_file import stored_file
from adapters.upload_decoding import normalise_image
from application.ports import StoredUpload

log = structlog.get_logger("uploads")

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FileUploadStore:
    def __init__(
        self, directory: Path, max_bytes: int, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._clock = clock
        # Adds, marks and deletes run in worker threads: one at a time, so that a mark
        # cannot write back the record of an upload being deleted.
        self._lock = threading.Lock()
        self._by_content: dict[tuple[str | None, str], str] | None = None
        """(owner, sha256 of the PNG) -> upload id; read from the records on first use."""

    @property
    def directory(self) -> Path:
        return self._directory

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        image = normalise_image(data, max_bytes=self._max_bytes, field=field)
        sha256 = hashlib.sha256(image.png).hexdigest()
        with self._lock:
            known = self._content_index().get((owner, sha256))
            if known is not None and (again := self._marked(known)) is not None:
                return again
            upload = StoredUpload(
                id=secrets.token_hex(16),
                sha256=sha256,
                width=image.width,
                height=image.height,
                size_bytes=len(image.png),
                source_format=image.source_format,
                created_at=self._clock(),
                owner=owner,
            )
            picture = self._directory / f"{upload.id}.png"
            write_bytes_atomically(picture, image.png)
            try:
                write_bytes_atomically(self._directory / f"{upload.id}.json", _record(upload))
            except BaseException:
                # The error that brought us here matters more than a PNG left for the next
                # start's `remove_leftovers`.
                with contextlib.suppress(OSError):
                    held_files.remove(picture)
                raise
            self._content_index()[(owner, sha256)] = upload.id
            return upload

    def mark_used(self, upload_id: str) -> StoredUpload | None:
        with self._lock:
            return self._marked(upload_id)

    def _marked(self, upload_id: str) -> StoredUpload | None:
        upload = self.get(upload_id)
        if upload is None:
            return None
        used = replace(upload, last_used=self._clock())
        write_bytes_atomically(self._directory / f"{upload_id}.json", _record(used))
        return used

    def _content_index(self) -> dict[tuple[str | None, str], str]:
        if self._by_content is None:
            # Oldest first: of two copies an older server stored, the newer is kept.
            self._by_content = {
                (upload.owner, upload.sha256): upload.id for upload in reversed(self.all())
            }
        return self._by_content

    def get(self, upload_id: str) -> StoredUpload | None:
        record = self._file(upload_id, "json")
        if record is None or self._file(upload_id, "png") is None:
            return None
        try:
            text = held_files.retry_while_held(partial(record.read_text, "utf-8"))
            return _upload(upload_id, json.loads(text))
        except (OSError, ValueError, TypeError, KeyError, RecursionError) as error:
            log.warning("upload_record_unreadable", upload_id=upload_id, reason=str(error)[:200])
            return None

    def path_of(self, upload_id: str) -> Path | None:
        if self._file(upload_id, "json") is None:
            return None  # a PNG without its record is a write a killed process left
        return self._file(upload_id, "png")

    def all(self) -> list[StoredUpload]:
        if not self._directory.is_dir():
            return []
        held_files.finish_pending_removals(self._directory)
        uploads = [
            upload
            for path in self._directory.glob("*.json")
            if (upload := self.get(path.stem)) is not None
        ]
        return sorted(uploads, key=lambda upload: (upload.created_at, upload.id), reverse=True)

    def delete(self, upload_id: str) -> bool:
        with self._lock:
            return self._delete(upload_id)

    def discard_unused(self, upload_id: str) -> bool:
        # Under the lock `add` marks a reused upload with: a request sending the same image
        # either finds it gone (and stores it anew) or has marked it, and it stays.
        with self._lock:
            upload = self.get(upload_id)
            if upload is None or upload.last_used is not None:
                return False
            return self._delete(upload_id)

    def _delete(self, upload_id: str) -> bool:
        held_files.finish_pending_removals(self._directory)
        record = self._file(upload_id, "json")
        if record is None:
            return False
        if self._by_content is not None:
            self._by_content = {
                content: known for content, known in self._by_content.items() if known != upload_id
            }
        # The record first: without it the upload is gone, whatever happens to the PNG.
        held_files.remove(record)
        picture = self._file(upload_id, "png")
        if picture is not None:
            held_files.remove(picture)
        return True

    def remove_leftovers(self) -> int:
        """At start, before anything is added: temporary files and PNGs without a record
        (a killed process's), and removals deferred earlier. Returns how many went."""
        if not self._directory.is_dir():
            return 0
        removed = remove_partial_files(self._directory)
        removed += held_files.finish_pending_removals(self._directory)
        for picture in self._directory.glob("*.png"):
            if _UPLOAD_ID.fullmatch(picture.stem) and self._file(picture.stem, "json") is None:
                with contextlib.suppress(OSError):
                    removed += held_files.remove(picture)
        return removed

    def _file(self, upload_id: str, extension: str) -> Path | None:
        """The upload's file when it is a regular file not marked for removal."""
        if not _UPLOAD_ID.fullmatch(upload_id):
            return None
        return stored_file(self._directory / f"{upload_id}.{extension}")


def _record(upload: StoredUpload) -> bytes:
    record = {
        "id": upload.id,
        "sha256": upload.sha256,
        "width": upload.width,
        "height": upload.height,
        "size_bytes": upload.size_bytes,
        "source_format": upload.source_format,
        "created_at": upload.created_at.isoformat(),
        "owner": upload.owner,
        "last_used": None if upload.last_used is None else upload.last_used.isoformat(),
    }
    # ASCII with escapes: an owner's name in any script makes a readable file.
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=True).encode("ascii")


def _upload(upload_id: str, record: dict[str, Any]) -> StoredUpload:
    """Raises KeyError, TypeError or ValueError on a record of another shape."""
    created_at = datetime.fromisoformat(record["created_at"])
    # Records written before last_used existed have none.
    last_used = record.get("last_used")
    used_at = None if last_used is None else datetime.fromisoformat(last_used)
    if created_at.tzinfo is None or (used_at is not None and used_at.tzinfo is None):
        raise ValueError("created_at or last_used has no time zone")
    owner = record["owner"]
    values = (record["sha256"], record["source_format"])
    sizes = (record["width"], record["height"], record["size_bytes"])
    if not all(isinstance(value, str) for value in values) or not (
        owner is None or isinstance(owner, str)
    ):
        raise TypeError("sha256, source_format and owner must be strings")
    if not all(isinstance(size, int) and not isinstance(size, bool) for size in sizes):
        raise TypeError("width, height and size_bytes must be integers")
    return StoredUpload(
        id=upload_id,
        sha256=record["sha256"],
        width=record["width"],
        height=record["height"],
        size_bytes=record["size_bytes"],
        source_format=record["source_format"],
        created_at=created_at,
        owner=owner,
        last_used=used_at,
    )

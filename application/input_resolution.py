"""A request's input images, from the references a client gives to stored uploads.

A client names an input image three ways: an upload's id, a gallery image's file name,
or the image itself (base64, or a ``data:`` URL). Each becomes an upload before the
request is built, so that the job reads its pixels from one place, a queued job survives
a restart, and the result can be traced to the exact input. Uploads made here for a
request that is then refused are deleted again: a refused request leaves nothing behind.

Who may use what follows the jobs' rule: a client uses its own uploads and the images of
its own jobs (an admin any); another client's is answered as one that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import structlog

from application.inline_images import decode_inline_image
from application.ports import ImageStore, StoredUpload, UploadStore
from domain.errors import ImageNotFound, InvalidImage, UploadNotFound
from domain.input_image import ORIGINS, InputImage
from domain.job import Job

log = structlog.get_logger("service")

INPUT_FIELDS = ("init_image", "mask_image")

MaySee = Callable[[str | None], bool]
"""Whether the asking client may use what ``owner`` (a job's or an upload's) owns."""


@dataclass
class ResolvedInputs:
    values: dict[str, Any]
    """The request's fields with an `InputImage` for each reference."""
    created: list[str] = field(default_factory=list)
    """Ids of the uploads made for this request: to delete if it is refused."""


class InputResolution:
    def __init__(
        self,
        uploads: UploadStore,
        images: ImageStore,
        job_by_id: Callable[[str], Job],
        max_bytes: int,
        executor: Executor | None = None,
    ) -> None:
        self._uploads = uploads
        self._images = images
        self._job_by_id = job_by_id
        """A job of the history; raises ImageNotFound for an unknown id."""
        self._max_bytes = max_bytes
        self._executor = executor
        """Where the blocking work runs; None: the event loop's default threads."""

    async def resolve(
        self, fields: Mapping[str, Any], owner: str | None, may_see: MaySee
    ) -> ResolvedInputs:
        """``fields`` with every input-image reference resolved. Raises UploadNotFound,
        ImageNotFound or InvalidImage, and then has left no upload of its own behind."""
        if all(fields.get(name) is None for name in INPUT_FIELDS):
            return ResolvedInputs(dict(fields))  # text-to-image: no thread hop
        # Reading files, decoding base64 and storing (a Pillow decode) block.
        loop = asyncio.get_running_loop()
        work = partial(self._resolve, fields, owner, may_see)
        return await loop.run_in_executor(self._executor, work)

    async def discard(self, resolved: ResolvedInputs) -> None:
        """Delete the uploads made for a request that was refused after all."""
        if resolved.created:
            await asyncio.to_thread(self._delete, resolved.created)

    def _resolve(
        self, fields: Mapping[str, Any], owner: str | None, may_see: MaySee
    ) -> ResolvedInputs:
        resolved = ResolvedInputs(dict(fields))
        try:
            for name in INPUT_FIELDS:
                reference = fields.get(name)
                if reference is not None:
                    resolved.values[name] = self._input_image(
                        name, reference, owner, may_see, resolved.created
                    )
        except BaseException:
            self._delete(resolved.created)
            raise
        return resolved

    def _input_image(
        self,
        name: str,
        reference: object,
        owner: str | None,
        may_see: MaySee,
        created: list[str],
    ) -> InputImage:
        if isinstance(reference, str):
            reference = {"data": reference}
        if not isinstance(reference, Mapping):
            raise InvalidImage(name, "Must be an upload, a gallery image or base64 data.")
        if isinstance(reference.get("upload_id"), str):
            return self._upload(name, reference, may_see)
        if isinstance(reference.get("image_id"), str):
            data = self._gallery_bytes(name, reference["image_id"], may_see)
            stored = self._store(data, owner, name, created)
            return _input(stored, "gallery", reference["image_id"])
        if isinstance(reference.get("data"), str):
            data = decode_inline_image(name, reference["data"], self._max_bytes)
            stored = self._store(data, owner, name, created)
            return _input(stored, "inline")
        raise InvalidImage(name, "Must be an upload, a gallery image or base64 data.")

    def _upload(self, name: str, reference: Mapping[str, Any], may_see: MaySee) -> InputImage:
        upload_id = reference["upload_id"]
        upload = self._uploads.get(upload_id)
        if upload is None or not may_see(upload.owner):
            raise UploadNotFound(f"{name}: no upload {upload_id}.")
        # Used now: retention leaves it its grace until the job that names it is queued.
        upload = self._uploads.mark_used(upload_id)
        if upload is None:  # removed meanwhile
            raise UploadNotFound(f"{name}: no upload {upload_id}.")
        # A job's params posted again name the upload with how it first came (a gallery
        # image, inline); kept when they describe this very picture.
        origin, origin_id = reference.get("origin"), reference.get("origin_id")
        if reference.get("sha256") == upload.sha256 and origin in ORIGINS:
            return _input(upload, origin, origin_id if isinstance(origin_id, str) else None)
        return _input(upload, "upload")

    def _gallery_bytes(self, name: str, image_id: str, may_see: MaySee) -> bytes:
        missing = ImageNotFound(f"{name}: no gallery image {image_id}.")
        job_id = image_id.split(".", 1)[0].split("-", 1)[0]  # `<job>.png`, `<job>-<n>.png`
        try:
            job = self._job_by_id(job_id)
        except ImageNotFound:
            raise missing from None
        if not may_see(job.owner) or image_id not in {ref.name for ref in job.images}:
            raise missing
        path = self._images.path_of(image_id)
        if path is None:
            raise missing
        try:
            return path.read_bytes()
        except OSError:  # removed meanwhile (retention, a DELETE)
            raise missing from None

    def _store(self, data: bytes, owner: str | None, name: str, created: list[str]) -> StoredUpload:
        stored = self._uploads.add(data, owner, field=name)
        if stored.last_used is None:
            # New: this request's to delete if it is refused. One the client had already
            # (the same image again) is not.
            created.append(stored.id)
        return stored

    def _delete(self, upload_ids: list[str]) -> None:
        for upload_id in upload_ids:
            try:
                # Unless another request sent the same image meanwhile: that one's job
                # reads this very upload (one owner's image is stored once).
                self._uploads.discard_unused(upload_id)
            except OSError as error:
                # Unreferenced; retention of uploads removes it later.
                log.error("upload_not_removed", upload_id=upload_id, detail=str(error))


def _input(upload: StoredUpload, origin: str, origin_id: str | None = None) -> InputImage:
    return InputImage(
        upload_id=upload.id,
        sha256=upload.sha256,
        width=upload.width,
        height=upload.height,
        origin=origin,
        origin_id=origin_id,
    )

"""Input images: `POST /uploads` (a raw image or a form's one file), `GET /uploads`,
`GET /uploads/<id>.png`, `DELETE /uploads/<id>` (one template, `/uploads/{name}`).

A client sees and deletes its own uploads only (an admin all of them); another client's
upload answers as an unknown id does. Decoding and storing run in a worker thread: a
large photo takes a noticeable moment of CPU, which must not hold the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.free_space import is_disk_full
from application.ports import StoredUpload
from domain.errors import InsufficientStorage, Remedy, UploadNotFound
from entrypoints.app_state import services
from entrypoints.client_identity import client_of
from entrypoints.image_files import stored_png
from entrypoints.presenters import iso
from entrypoints.upload_body import read_upload

log = structlog.get_logger("uploads")


def upload_json(upload: StoredUpload) -> dict[str, Any]:
    return {
        "id": upload.id,
        "width": upload.width,
        "height": upload.height,
        "sha256": upload.sha256,
        "size_bytes": upload.size_bytes,
        "source_format": upload.source_format,
        "created_at": iso(upload.created_at),
        "url": f"/uploads/{upload.id}.png",
    }


def _visible_upload(request: Request, upload_id: str) -> StoredUpload:
    upload = services(request).upload_store.get(upload_id)
    if upload is None or not client_of(request).may_see(upload.owner):
        raise UploadNotFound("No such upload.")
    return upload


async def create_upload(request: Request) -> Response:
    built = services(request)
    built.service.free_space.check()
    data = await read_upload(request, built.settings.max_upload_mb * 2**20)
    store = built.upload_store
    try:
        loop = asyncio.get_running_loop()
        owner = client_of(request).id
        upload = await loop.run_in_executor(built.image_decoding, store.add, data, owner)
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise InsufficientStorage(
            f"The disk of {store.directory} is full: the upload was not stored.",
            (Remedy.FREE_DISK_SPACE,),
        ) from error
    log.info(
        "upload_stored",
        upload_id=upload.id,
        width=upload.width,
        height=upload.height,
        size_bytes=upload.size_bytes,
        source_format=upload.source_format,
        reused=upload.last_used is not None,  # the client's same image: its upload again
    )
    body = upload_json(upload)
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


async def list_uploads(request: Request) -> Response:
    client = client_of(request)
    uploads = await asyncio.to_thread(services(request).upload_store.all)
    visible = [upload_json(upload) for upload in uploads if client.may_see(upload.owner)]
    return JSONResponse({"uploads": visible})


async def get_upload_png(request: Request) -> Response:
    # One path template for GET and DELETE, as /images/{name} has: GET takes the file's
    # name, DELETE the id, and no URL falls under two templates.
    upload_id, dot, extension = request.path_params["name"].rpartition(".")
    if not (dot and extension == "png"):
        raise UploadNotFound("No such upload.")
    _visible_upload(request, upload_id)
    path = services(request).upload_store.path_of(upload_id)
    return stored_png(path, UploadNotFound("No such upload."))


async def delete_upload(request: Request) -> Response:
    upload_id = request.path_params["name"]
    _visible_upload(request, upload_id)
    if not await asyncio.to_thread(services(request).upload_store.delete, upload_id):
        raise UploadNotFound("No such upload.")
    log.info("upload_deleted", upload_id=upload_id)
    return Response(status_code=204)


UPLOAD_ROUTES = [
    Route("/uploads", create_upload, methods=["POST"]),
    Route("/uploads", list_uploads, methods=["GET"]),
    Route("/uploads/{name}", get_upload_png, methods=["GET"]),
    Route("/uploads/{name}", delete_upload, methods=["DELETE"]),
]

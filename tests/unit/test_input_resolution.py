"""Input-image references become uploads: an upload by id, a gallery image, inline base64;
another client's is not found; a refusal leaves no upload of the request's behind."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from application.input_resolution import InputResolution, ResolvedInputs
from application.ports import StoredUpload
from domain.errors import ImageNotFound, InvalidImage, UploadNotFound
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job, JobStatus
from tests.support.fakes import FakeClock, FakeUploadStore

ALICE, BOB = "alice", "bob"


class FolderImages:
    """Gallery images as files in a folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, name: str) -> Path | None:
        path = self.directory / name
        return path if path.is_file() else None


def finished_job(job_id: str, owner: str, names: list[str]) -> Job:
    return Job(
        id=job_id,
        request=GenerationRequest(prompt="x"),
        seed=1,
        created_at=FakeClock().now,
        status=JobStatus.SUCCEEDED,
        owner=owner,
        images=[ImageRef(name, 1, 64, 64) for name in names],
    )


@pytest.fixture
def uploads() -> FakeUploadStore:
    return FakeUploadStore(max_bytes=300)


@pytest.fixture
def resolution(tmp_path: Path, uploads: FakeUploadStore) -> InputResolution:
    (tmp_path / "aa11.png").write_bytes(b"IMG64x48")
    (tmp_path / "bb22-1.png").write_bytes(b"IMG32x32")
    jobs = {
        "aa11": finished_job("aa11", ALICE, ["aa11.png"]),
        "bb22": finished_job("bb22", BOB, ["bb22-0.png", "bb22-1.png"]),
    }

    def job_by_id(job_id: str) -> Job:
        if job_id not in jobs:
            raise ImageNotFound(f"No image record {job_id}.")
        return jobs[job_id]

    return InputResolution(uploads, FolderImages(tmp_path), job_by_id, uploads.max_bytes)  # type: ignore[arg-type]


def missing_job(job_id: str) -> Job:
    raise ImageNotFound(f"No image record {job_id}.")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def own(owner: str | None) -> bool:
    return owner == ALICE


def resolve(resolution: InputResolution, **fields: Any) -> ResolvedInputs:
    return asyncio.run(resolution.resolve({"prompt": "x", **fields}, ALICE, own))


def test_an_upload_by_id_is_used_as_it_is(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    upload = uploads.add(b"IMG80x64", ALICE)
    resolved = resolve(resolution, init_image={"upload_id": upload.id, "sha256": "ignored"})
    image = resolved.values["init_image"]
    assert (image.upload_id, image.sha256, image.width, image.height) == (
        upload.id,
        upload.sha256,
        80,
        64,
    )
    assert (image.origin, image.origin_id, resolved.created) == ("upload", None, [])
    assert resolved.values["prompt"] == "x"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ({"origin": "gallery", "origin_id": "aa11.png"}, ("gallery", "aa11.png")),
        ({"origin": "inline", "origin_id": None}, ("inline", None)),
        ({"origin": "inline", "sha256": "0" * 64}, ("upload", None)),  # another picture
        ({"origin": "elsewhere"}, ("upload", None)),
        ({"origin_id": "aa11.png"}, ("upload", None)),
    ],
)
def test_params_posted_again_keep_the_inputs_origin_when_the_sha256_matches(
    resolution: InputResolution,
    uploads: FakeUploadStore,
    given: dict[str, Any],
    kept: tuple[str, str | None],
) -> None:
    upload = uploads.add(b"IMG80x64", ALICE)
    reference = {"upload_id": upload.id, "sha256": upload.sha256, **given}
    image = resolve(resolution, init_image=reference).values["init_image"]
    assert (image.origin, image.origin_id) == kept


def test_another_clients_upload_is_not_found_unless_the_client_sees_all(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    theirs = uploads.add(b"IMG8x8", BOB)
    with pytest.raises(UploadNotFound):
        resolve(resolution, init_image={"upload_id": theirs.id})
    with pytest.raises(UploadNotFound):
        resolve(resolution, init_image={"upload_id": "0" * 32})
    admin = asyncio.run(
        resolution.resolve({"init_image": {"upload_id": theirs.id}}, ALICE, lambda _: True)
    )
    assert admin.values["init_image"].upload_id == theirs.id


def test_a_gallery_image_is_stored_as_a_new_upload_of_the_client(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    resolved = resolve(resolution, init_image={"image_id": "aa11.png"})
    image = resolved.values["init_image"]
    assert (image.origin, image.origin_id, image.width, image.height) == (
        "gallery",
        "aa11.png",
        64,
        48,
    )
    assert resolved.created == [image.upload_id]
    stored = uploads.get(image.upload_id)
    assert stored is not None and stored.owner == ALICE


@pytest.mark.parametrize(
    "image_id", ["bb22-1.png", "cc33.png", "aa11-5.png", "aa11", "../aa11.png", ".png"]
)
def test_a_gallery_image_of_another_client_or_none_at_all_is_not_found(
    resolution: InputResolution, uploads: FakeUploadStore, image_id: str
) -> None:
    with pytest.raises(ImageNotFound):
        resolve(resolution, init_image={"image_id": image_id})
    assert uploads.added == []


@pytest.mark.parametrize(
    "reference",
    [
        base64.b64encode(b"IMG16x16").decode(),
        {"data": base64.b64encode(b"IMG16x16").decode()},
        "data:image/png;base64," + base64.b64encode(b"IMG16x16").decode(),
        "DATA:image/webp;BASE64," + base64.b64encode(b"IMG16x16").decode(),
        # MIME line breaks, and padding some clients drop.
        base64.b64encode(b"IMG16x16").decode()[:4] + "\r\n" + "SU1HMTZ4MTY"[4:],
    ],
)
def test_inline_base64_and_data_urls_are_decoded_and_stored(
    resolution: InputResolution, uploads: FakeUploadStore, reference: object
) -> None:
    resolved = resolve(resolution, init_image=reference)
    image = resolved.values["init_image"]
    assert (image.origin, image.width, image.height) == ("inline", 16, 16)
    assert uploads.uploads[image.upload_id][1] == b"IMG16x16"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not base64!", "Not base64"),
        ("", "Not base64"),
        ("   ", "Not base64"),
        ("QUJD=QUJD", "Not base64"),
        ("A", "Not base64"),
        ("caf\u00e9", "Not base64"),
        ("QU\ud800JD", "Not base64"),
        ("QUJD-_==", "Not base64"),  # the URL-safe alphabet is another format
        ("data:image/png,IMG16x16", "must hold base64"),
        ("data:image/png;base64", "must hold base64"),
    ],
)
def test_bad_base64_is_an_invalid_image_on_its_field(
    resolution: InputResolution, uploads: FakeUploadStore, text: str, words: str
) -> None:
    with pytest.raises(InvalidImage) as refused:
        resolve(resolution, mask_image=text)
    assert refused.value.field == "mask_image" and words in refused.value.message
    assert not refused.value.too_large
    assert uploads.added == []


def test_inline_data_over_the_upload_limit_is_refused_before_decoding(
    resolution: InputResolution,
) -> None:
    with pytest.raises(InvalidImage) as refused:
        resolve(resolution, init_image="A" * 404)
    assert refused.value.too_large and refused.value.field == "init_image"


@pytest.mark.parametrize("size", [298, 299, 300])
def test_inline_data_up_to_the_limit_is_taken_whatever_its_padding(
    resolution: InputResolution, uploads: FakeUploadStore, size: int
) -> None:
    data = b"IMG8x8" + b" " * (size - 6)
    resolved = resolve(resolution, init_image=b64(data))
    assert uploads.uploads[resolved.values["init_image"].upload_id][1] == data


def test_inline_data_one_byte_over_the_limit_is_too_large(resolution: InputResolution) -> None:
    with pytest.raises(InvalidImage) as refused:
        resolve(resolution, init_image=b64(b"IMG8x8" + b" " * 295))
    assert refused.value.too_large


def test_a_refused_mask_deletes_the_init_image_stored_for_the_same_request(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    with pytest.raises(InvalidImage):
        resolve(
            resolution,
            init_image={"image_id": "aa11.png"},
            mask_image=base64.b64encode(b"GIF89a").decode(),
        )
    assert len(uploads.added) == 1 and uploads.uploads == {}


def test_discard_deletes_only_the_uploads_the_request_made(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    kept = uploads.add(b"IMG64x48", ALICE)
    resolved = resolve(
        resolution,
        init_image={"upload_id": kept.id},
        mask_image=base64.b64encode(b"IMG64x48").decode(),
    )
    asyncio.run(resolution.discard(resolved))
    assert list(uploads.uploads) == [kept.id]


def test_an_upload_named_by_id_is_marked_used(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    upload = uploads.add(b"IMG64x48", ALICE)
    resolved = resolve(resolution, init_image={"upload_id": upload.id})
    assert uploads.marked == [upload.id]
    assert resolved.values["init_image"].upload_id == upload.id


class ReusingUploads(FakeUploadStore):
    """Answers the same owner's same bytes with the upload it has, marked, as the real
    store does."""

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        for known, kept in self.uploads.values():
            if known.owner == owner and kept == data:
                used = self.mark_used(known.id)
                assert used is not None
                return used
        return super().add(data, owner, field)


def test_an_inline_image_the_client_had_already_is_not_deleted_by_a_refusal(
    tmp_path: Path,
) -> None:
    uploads = ReusingUploads(max_bytes=300)
    had = uploads.add(b"IMG64x48", ALICE)
    resolution = InputResolution(uploads, FolderImages(tmp_path), missing_job, 300)  # type: ignore[arg-type]
    resolved = resolve(resolution, init_image=b64(b"IMG64x48"), mask_image=b64(b"IMG64x48"))
    assert resolved.values["init_image"].upload_id == had.id
    assert resolved.created == []
    asyncio.run(resolution.discard(resolved))
    assert list(uploads.uploads) == [had.id]


def test_a_refusal_keeps_its_new_upload_when_another_request_sent_the_same_image(
    tmp_path: Path,
) -> None:
    """Two requests of one client with the same new image: the second reuses the first's
    upload, and the first, refused afterwards, must not take it from the second's job."""
    uploads = ReusingUploads(max_bytes=300)
    resolution = InputResolution(uploads, FolderImages(tmp_path), missing_job, 300)  # type: ignore[arg-type]
    refused = resolve(resolution, init_image=b64(b"IMG64x48"))
    accepted = resolve(resolution, init_image=b64(b"IMG64x48"))
    shared = refused.values["init_image"].upload_id
    assert refused.created == [shared] and accepted.values["init_image"].upload_id == shared
    asyncio.run(resolution.discard(refused))
    assert list(uploads.uploads) == [shared]


def test_a_request_naming_an_upload_removed_meanwhile_is_not_found(
    resolution: InputResolution, uploads: FakeUploadStore
) -> None:
    class Vanishing(FakeUploadStore):
        def mark_used(self, upload_id: str) -> StoredUpload | None:
            return None  # retention removed it between the lookup and the mark

    vanishing = Vanishing()
    upload = vanishing.add(b"IMG8x8", ALICE)
    resolution = InputResolution(vanishing, FolderImages(Path()), missing_job, 300)  # type: ignore[arg-type]
    with pytest.raises(UploadNotFound):
        resolve(resolution, init_image={"upload_id": upload.id})


def test_text_to_image_fields_pass_through(resolution: InputResolution) -> None:
    resolved = resolve(resolution, init_image=None, strength=0.2)
    assert resolved.values == {"prompt": "x", "init_image": None, "strength": 0.2}
    assert resolved.created == []

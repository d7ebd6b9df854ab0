"""PillowEditPixels: the inputs of an edit at the output size, and inpainting's paste-back."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.edit_pixels import PillowEditPixels
from adapters.file_upload_store import FileUploadStore
from application.ports import EditImages, RenderedImage, StoredUpload
from domain.errors import UploadNotFound
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@dataclass
class DictUploadStore:
    """Uploads as PNG files in a folder, found by id; ``path_of`` answers even for a file
    removed behind the store's back, as a real store's lookup may just before a delete."""

    directory: Path
    uploads: dict[str, tuple[Path, StoredUpload]] = field(default_factory=dict)

    def put(self, upload_id: str, image: Image.Image) -> InputImage:
        path = self.directory / f"{upload_id}.png"
        image.save(path, format="PNG")
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        stored = StoredUpload(
            upload_id, sha256, image.width, image.height, path.stat().st_size, "PNG",
            datetime.now(timezone.utc),
        )  # fmt: skip
        self.uploads[upload_id] = (path, stored)
        return InputImage(upload_id, sha256, image.width, image.height)

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        raise NotImplementedError

    def mark_used(self, upload_id: str) -> StoredUpload | None:
        raise NotImplementedError

    def get(self, upload_id: str) -> StoredUpload | None:
        entry = self.uploads.get(upload_id)
        return None if entry is None else entry[1]

    def path_of(self, upload_id: str) -> Path | None:
        entry = self.uploads.get(upload_id)
        return None if entry is None else entry[0]

    def all(self) -> list[StoredUpload]:
        return [stored for _, stored in self.uploads.values()]

    def delete(self, upload_id: str) -> bool:
        return self.uploads.pop(upload_id, None) is not None

    def discard_unused(self, upload_id: str) -> bool:
        raise NotImplementedError

    def remove_leftovers(self) -> int:
        return 0


@pytest.fixture
def store(tmp_path: Path) -> DictUploadStore:
    return DictUploadStore(tmp_path)


def banded(
    size: tuple[int, int], colours: tuple[tuple[int, ...], ...], mode: str = "RGB"
) -> Image.Image:
    """Three bands along the long side: the outer quarters ``colours[0]`` and ``[2]``,
    the middle half ``colours[1]``."""
    width, height = size
    image = Image.new(mode, size, colours[1])
    if width >= height:
        image.paste(colours[0], (0, 0, width // 4, height))
        image.paste(colours[2], (width - width // 4, 0, width, height))
    else:
        image.paste(colours[0], (0, 0, width, height // 4))
        image.paste(colours[2], (0, height - height // 4, width, height))
    return image


def rgb_of(edit: EditImages) -> np.ndarray:
    return np.frombuffer(edit.init_rgb, np.uint8).reshape(edit.height, edit.width, 3)


def mask_of(edit: EditImages) -> np.ndarray:
    assert edit.mask is not None
    return np.frombuffer(edit.mask, np.uint8).reshape(edit.height, edit.width)


def near(pixel: np.ndarray, colour: tuple[int, ...], tolerance: int = 3) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(colour)) <= tolerance))


def edit_request(
    init: InputImage, mask: InputImage | None = None, **fields: Any
) -> GenerationRequest:
    return GenerationRequest(
        prompt="a heron", init_image=init, mask_image=mask, width=64, height=64, **fields
    )


def test_text_to_image_needs_no_pixels(store: DictUploadStore) -> None:
    assert PillowEditPixels(store).prepare(GenerationRequest(prompt="a heron")) is None


@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
def test_fill_covers_the_output_and_crops_the_long_side_evenly(
    store: DictUploadStore, portrait: bool
) -> None:
    size = (64, 128) if portrait else (128, 64)
    init = store.put("a", banded(size, (RED, GREEN, BLUE)))
    edit = PillowEditPixels(store).prepare(edit_request(init, resize_mode="fill"))
    assert edit is not None and (edit.width, edit.height, edit.mask) == (64, 64, None)
    pixels = rgb_of(edit)
    # Scale 1, 32 px cropped from each end: exactly the green middle half is left.
    for y, x in [(0, 0), (0, 63), (63, 0), (63, 63), (32, 32)]:
        assert near(pixels[y, x], GREEN), (y, x, pixels[y, x])


@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
def test_fit_shows_the_whole_input_and_stretches_its_edges_into_the_bands(
    store: DictUploadStore, portrait: bool
) -> None:
    size = (64, 128) if portrait else (128, 64)
    init = store.put("a", banded(size, (RED, GREEN, BLUE)))
    edit = PillowEditPixels(store).prepare(edit_request(init, resize_mode="fit"))
    assert edit is not None and (edit.width, edit.height) == (64, 64)
    pixels = rgb_of(edit) if not portrait else rgb_of(edit).transpose(1, 0, 2)
    # Scaled by 1/2 to 64x32, placed at rows 16..47; the bands repeat its edge rows.
    assert near(pixels[32, 2], RED) and near(pixels[32, 32], GREEN) and near(pixels[32, 61], BLUE)
    for row in range(16):
        assert np.array_equal(pixels[row], pixels[16])
        assert np.array_equal(pixels[63 - row], pixels[47])
    assert near(pixels[0, 2], RED) and near(pixels[0, 61], BLUE)


@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
def test_stretch_squeezes_the_long_side(store: DictUploadStore, portrait: bool) -> None:
    size = (64, 128) if portrait else (128, 64)
    init = store.put("a", banded(size, (RED, GREEN, BLUE)))
    edit = PillowEditPixels(store).prepare(edit_request(init, resize_mode="stretch"))
    assert edit is not None
    pixels = rgb_of(edit) if not portrait else rgb_of(edit).transpose(1, 0, 2)
    # Every band kept, each half as long: red 0..15, green 16..47, blue 48..63, full height.
    for y in (0, 32, 63):
        assert near(pixels[y, 4], RED) and near(pixels[y, 32], GREEN) and near(pixels[y, 59], BLUE)


def test_an_input_of_the_output_size_is_read_as_it_is(store: DictUploadStore) -> None:
    source = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8))
    init = store.put("a", source)
    for mode in ("fill", "fit", "stretch"):
        edit = PillowEditPixels(store).prepare(edit_request(init, resize_mode=mode))
        assert edit is not None and edit.init_rgb == source.tobytes()


def test_the_mask_takes_the_images_geometry_and_its_luminance(store: DictUploadStore) -> None:
    white, black = (255, 255, 255), (0, 0, 0)
    init = store.put("a", banded((128, 64), (RED, GREEN, BLUE)))
    # An RGB mask (as the upload store normalises it): white over the red band only.
    mask = store.put("m", banded((128, 64), (white, black, black)))
    request = edit_request(init, mask, resize_mode="fit", mask_blur=0)
    edit = PillowEditPixels(store).prepare(request)
    assert edit is not None
    pixels, grey = rgb_of(edit), mask_of(edit)
    reds = np.all(np.abs(pixels.astype(int) - RED) <= 3, axis=-1)
    assert reds.sum() > 0
    assert np.all(grey[reds] >= 250) and np.all(grey[pixels[..., 1] > 250] <= 5)


def test_invert_and_blur(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    half = Image.new("L", (64, 64), 0)
    half.paste(255, (32, 0, 64, 64))
    mask = store.put("m", half)
    pixels = PillowEditPixels(store)

    hard = pixels.prepare(edit_request(init, mask, mask_blur=0))
    assert hard is not None and hard.mask == half.tobytes()

    inverted = pixels.prepare(edit_request(init, mask, mask_blur=0, invert_mask=True))
    assert inverted is not None
    assert np.array_equal(mask_of(inverted), 255 - np.asarray(half))

    soft = pixels.prepare(edit_request(init, mask, mask_blur=4))
    assert soft is not None
    row = mask_of(soft)[32].astype(int)
    assert row[0] == 0 and row[63] == 255
    assert 0 < row[31] < row[32] < 255  # the hard edge became a ramp
    assert np.all(np.diff(row) >= 0)


def strokes_on_transparent(colour: tuple[int, int, int]) -> Image.Image:
    """A mask as GIMP or a canvas export draws it: a vertical stroke at x 16..23 and a
    horizontal one at y 40..47, of ``colour``, on a fully transparent background of the
    same hidden colour: only the alpha channel tells the strokes apart."""
    mask = Image.new("RGBA", (64, 64), (*colour, 0))
    mask.paste((*colour, 255), (16, 0, 24, 64))
    mask.paste((*colour, 255), (0, 40, 64, 48))
    return mask


def stroke_pixels() -> np.ndarray:
    expected = np.zeros((64, 64), np.uint8)
    expected[:, 16:24] = 255
    expected[40:48, :] = 255
    return expected


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0)], ids=["white", "black"])
def test_a_mask_with_transparency_repaints_its_opaque_strokes_whatever_their_colour(
    store: DictUploadStore, colour: tuple[int, int, int]
) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    mask = store.put("m", strokes_on_transparent(colour))
    pixels = PillowEditPixels(store)

    edit = pixels.prepare(edit_request(init, mask, mask_blur=0))
    assert edit is not None
    assert np.array_equal(mask_of(edit), stroke_pixels())

    inverted = pixels.prepare(edit_request(init, mask, mask_blur=0, invert_mask=True))
    assert inverted is not None
    assert np.array_equal(mask_of(inverted), 255 - stroke_pixels())


def test_a_mask_keeps_partial_alpha_as_a_soft_edge(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    soft = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
    soft.paste((255, 255, 255, 128), (0, 0, 32, 64))
    mask = store.put("m", soft)
    edit = PillowEditPixels(store).prepare(edit_request(init, mask, mask_blur=0))
    assert edit is not None
    assert set(mask_of(edit)[:, :32].flat) == {128} and set(mask_of(edit)[:, 32:].flat) == {0}


def test_a_mask_with_an_opaque_alpha_channel_is_its_luminance(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    opaque = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    opaque.paste((255, 255, 255, 255), (32, 0, 64, 64))
    mask = store.put("m", opaque)
    edit = PillowEditPixels(store).prepare(edit_request(init, mask, mask_blur=0))
    assert edit is not None
    assert set(mask_of(edit)[:, :32].flat) == {0} and set(mask_of(edit)[:, 32:].flat) == {255}


def test_an_init_image_with_transparency_is_flattened_on_white(store: DictUploadStore) -> None:
    picture = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # red, but fully transparent
    picture.paste((0, 0, 0, 128), (0, 0, 32, 64))
    picture.paste((*GREEN, 255), (32, 0, 64, 64))
    init = store.put("a", picture)
    edit = PillowEditPixels(store).prepare(edit_request(init))
    assert edit is not None
    pixels = rgb_of(edit)
    assert near(pixels[8, 8], (127, 127, 127), 1) and near(pixels[8, 48], GREEN, 0)

    clear = Image.new("RGBA", (128, 64), (255, 0, 0, 0))
    clear.paste((*GREEN, 255), (64, 0, 128, 64))
    resized = PillowEditPixels(store).prepare(
        edit_request(store.put("b", clear), resize_mode="stretch")
    )
    assert resized is not None
    # Flattened before resizing: the hidden red never bleeds into the picture.
    reddish = rgb_of(resized)[..., 0].astype(int) - rgb_of(resized)[..., 1] > 8
    assert not reddish.any()
    assert near(rgb_of(resized)[32, 8], (255, 255, 255), 0)


def test_a_transparent_mask_through_the_real_upload_store(tmp_path: Path) -> None:
    uploads = FileUploadStore(tmp_path / "uploads", max_bytes=1 << 20)
    photo, drawn = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64), GREEN).save(photo, format="JPEG", quality=95)
    strokes_on_transparent((255, 255, 255)).save(drawn, format="PNG")
    init_upload = uploads.add(photo.getvalue(), owner=None)
    mask_upload = uploads.add(drawn.getvalue(), owner=None, field="mask_image")

    for upload, mode in ((init_upload, "RGB"), (mask_upload, "RGBA")):
        path = uploads.path_of(upload.id)
        assert path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == upload.sha256
        with Image.open(path) as stored:
            assert stored.mode == mode

    def input_of(upload: StoredUpload) -> InputImage:
        return InputImage(upload.id, upload.sha256, upload.width, upload.height)

    request = edit_request(input_of(init_upload), input_of(mask_upload), mask_blur=0)
    edit = PillowEditPixels(uploads).prepare(request)
    assert edit is not None
    assert np.array_equal(mask_of(edit), stroke_pixels())


def test_finish_pastes_the_original_back_outside_the_mask() -> None:
    original = np.full((64, 64, 3), 40, np.uint8)
    generated = np.full((64, 64, 3), 200, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 255
    mask[:, 28:32] = [32, 64, 96, 127]  # a blurred edge
    edit = EditImages(64, 64, original.tobytes(), mask.tobytes())
    image = RenderedImage(64, 64, generated.tobytes(), 7, {"unet_per_call": 12.5})

    done = PillowEditPixels(DictUploadStore(Path())).finish(image, edit)

    assert (done.seed, done.timings_ms) == (7, {"unet_per_call": 12.5})
    out = np.frombuffer(done.rgb, np.uint8).reshape(64, 64, 3)
    assert np.all(out[:, :28] == 40)  # kept: the input's own bytes
    assert np.all(out[:, 32:] == 200)  # repainted
    # The overlay doubles the blurred mask, as AUTOMATIC1111's: from 25% to all generated.
    edge = out[0, 28:32, 0].astype(int)
    assert edge.tolist() == [40 + round(160 * a / 255) for a in (64, 128, 192, 254)]


def test_finish_leaves_an_image_to_image_result_alone() -> None:
    image = RenderedImage(64, 64, bytes(64 * 64 * 3), 1)
    edit = EditImages(64, 64, bytes([9]) * (64 * 64 * 3))
    assert PillowEditPixels(DictUploadStore(Path())).finish(image, edit) is image


def test_a_missing_upload_is_not_found(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    store.delete("a")
    with pytest.raises(UploadNotFound, match="no longer stored"):
        PillowEditPixels(store).prepare(edit_request(init))


def test_an_upload_whose_file_went_is_not_found(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    store.uploads["a"][0].unlink()
    with pytest.raises(UploadNotFound, match="no longer stored"):
        PillowEditPixels(store).prepare(edit_request(init))


def test_a_changed_upload_is_not_taken_for_the_one_accepted(store: DictUploadStore) -> None:
    init = store.put("a", Image.new("RGB", (64, 64), GREEN))
    mask = store.put("m", Image.new("L", (64, 64), 255))
    store.put("m", Image.new("L", (64, 64), 0))
    with pytest.raises(UploadNotFound, match="mask_image upload m has changed"):
        PillowEditPixels(store).prepare(edit_request(init, mask))


def test_reads_what_the_real_upload_store_keeps(tmp_path: Path) -> None:
    uploads = FileUploadStore(tmp_path / "uploads", max_bytes=1 << 20)
    jpeg = io.BytesIO()
    banded((128, 64), (RED, GREEN, BLUE)).save(jpeg, format="JPEG", quality=95)
    stored = uploads.add(jpeg.getvalue(), owner=None)
    init = InputImage(stored.id, stored.sha256, stored.width, stored.height)

    edit = PillowEditPixels(uploads).prepare(edit_request(init, resize_mode="stretch"))
    assert edit is not None
    assert near(rgb_of(edit)[32, 4], RED, 12) and near(rgb_of(edit)[32, 59], BLUE, 12)

    uploads.delete(stored.id)
    with pytest.raises(UploadNotFound):
        PillowEditPixels(uploads).prepare(edit_request(init))

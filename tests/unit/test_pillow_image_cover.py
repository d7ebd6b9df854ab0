"""What a flagged image becomes: nothing of it recoverable, same size and seed, a notice
that reads at every size the service makes; previews washed at their own size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from adapters.pillow_image_cover import PillowImageCover, draw_notice
from application.ports import RenderedImage

SIZES = [(512, 512), (768, 512), (64, 64), (96, 96), (1024, 64), (64, 1024)]


def blocky(width: int, height: int, seed: int) -> np.ndarray:
    """An image of 8x8 flat blocks (one per pixel of the cover's thumbnail), colours
    kept away from 0 and 255 so that detail can be added without clipping."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 216, (8, 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((height // 8, width // 8, 1), dtype=np.uint8))


def with_detail(flat: np.ndarray, seed: int) -> np.ndarray:
    """``flat`` with a strong pattern whose average over every block is zero: the kind
    of detail a cover must not keep (an edge, a face) at no change of block colour."""
    height, width, _ = flat.shape
    rng = np.random.default_rng(seed)
    tile = rng.integers(-30, 31, (height // 16, width // 16, 3))
    # Each 2x2 group sums to zero: +t, -t / -t, +t.
    group = np.kron(tile, np.array([[1, -1], [-1, 1]])[:, :, None])
    detail = np.kron(group, np.ones((8, 8, 1), dtype=np.int64))
    return (flat.astype(np.int64) + detail).astype(np.uint8)


def rendered(pixels: np.ndarray, seed: int = 7) -> RenderedImage:
    height, width, _ = pixels.shape
    return RenderedImage(width, height, pixels.tobytes(), seed, {"generation": 12.5})


def as_array(image: RenderedImage) -> np.ndarray:
    return np.frombuffer(image.rgb, dtype=np.uint8).reshape(image.height, image.width, 3)


def test_the_blur_keeps_nothing_but_the_colours_of_an_8_pixel_thumbnail() -> None:
    flat = blocky(512, 512, seed=1)
    detailed = with_detail(flat, seed=2)
    other_detail = with_detail(flat, seed=3)
    assert np.abs(detailed.astype(int) - flat).max() >= 25  # the detail is really there

    covers = [PillowImageCover("blur").cover(rendered(p)) for p in (flat, detailed, other_detail)]

    # Whatever the detail, the same cover: none of it can be recovered from the cover.
    assert covers[0].rgb == covers[1].rgb == covers[2].rgb
    assert covers[0].rgb != flat.tobytes()


def test_a_cover_has_the_images_size_seed_and_timings() -> None:
    for action in ("blur", "block"):
        for width, height in SIZES:
            image = rendered(blocky(width, height, seed=4), seed=99)
            covered = PillowImageCover(action).cover(image)
            assert (covered.width, covered.height, covered.seed) == (width, height, 99)
            assert len(covered.rgb) == width * height * 3
            assert covered.timings_ms == {"generation": 12.5}


def test_block_is_one_placeholder_whatever_the_image() -> None:
    cover = PillowImageCover("block")
    first = cover.cover(rendered(blocky(256, 256, seed=5)))
    second = cover.cover(rendered(with_detail(blocky(256, 256, seed=6), seed=7)))

    assert first.rgb == second.rgb
    pixels = as_array(first)
    grey = np.all(pixels == 128, axis=2)
    assert grey.mean() > 0.8  # a plain placeholder, the notice across its middle


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_notice_is_drawn_at_every_size_the_service_makes(width: int, height: int) -> None:
    for action in ("blur", "block"):
        pixels = as_array(PillowImageCover(action).cover(rendered(blocky(width, height, seed=8))))
        # White letters on a black band: neither colour is in a cover without the notice.
        white = np.all(pixels >= 200, axis=2).sum()
        black = np.all(pixels <= 10, axis=2).sum()
        assert white > 0 and black > 0, (action, width, height)


def test_the_notice_fits_inside_small_pictures() -> None:
    for width, height in [(64, 64), (64, 1024), (1024, 64)]:
        picture = Image.new("RGB", (width, height), (128, 128, 128))
        draw_notice(picture)
        pixels = np.asarray(picture)
        changed = np.any(pixels != 128, axis=2)
        rows, columns = np.nonzero(changed)
        assert rows.size
        # The band stays inside the picture, with the grey around it.
        assert columns.min() >= 0 and columns.max() <= width - 1
        assert not changed[0].all() and not changed[-1].all()


def test_a_picture_too_small_for_any_notice_keeps_the_plain_cover() -> None:
    for size in [(1, 1), (8, 8), (20, 12)]:
        picture = Image.new("RGB", size, (128, 128, 128))
        draw_notice(picture)
        assert picture.getcolors() == [(size[0] * size[1], (128, 128, 128))]
        flat = np.full((size[1], size[0], 3), 90, dtype=np.uint8)
        covered = PillowImageCover("blur").cover(rendered(flat))
        assert (covered.width, covered.height) == size


def jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("side", [64, 96, 256])
def test_a_preview_is_washed_at_its_own_size_without_a_notice(side: int) -> None:
    detailed = with_detail(blocky(side, side, seed=10), seed=11)

    washed = PillowImageCover("blur").cover_preview(jpeg(detailed))

    with Image.open(io.BytesIO(washed)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (side, side)
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    # The detail is gone: neighbouring pixels differ by a little, not by the pattern's 60.
    assert np.abs(np.diff(pixels, axis=1)).max() < 20
    # No notice: nothing was filtered, every preview is washed while a checker is on.
    assert not np.all(pixels <= 10, axis=2).any()


def test_block_washes_previews_too() -> None:
    washed = PillowImageCover("block").cover_preview(jpeg(with_detail(blocky(64, 64, 12), 13)))
    with Image.open(io.BytesIO(washed)) as picture:
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    assert np.abs(np.diff(pixels, axis=0)).max() < 20


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="blur or block"):
        PillowImageCover("pixelate")

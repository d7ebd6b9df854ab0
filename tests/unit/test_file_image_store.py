"""PNGs are written whole or not at all: a temporary file, then a rename."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from adapters.file_image_store import FileImageStore
from application.ports import RenderedImage

GREY = RenderedImage(8, 8, bytes([128]) * 8 * 8 * 3, seed=1)


def test_a_saved_image_is_complete_and_carries_its_text_chunks(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)

    store.save("job1.png", GREY, {"parameters": "a fox"})

    assert [path.name for path in tmp_path.iterdir()] == ["job1.png"]
    with Image.open(tmp_path / "job1.png") as picture:
        assert picture.size == (8, 8)
        assert getattr(picture, "text", {}) == {"parameters": "a fox"}


def test_a_failed_save_leaves_neither_the_image_nor_a_partial_file(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)
    # A folder in the image's place makes the final rename fail after the data is written.
    (tmp_path / "job1.png").mkdir()
    (tmp_path / "job1.png" / "keep").write_text("x", encoding="utf-8")

    with pytest.raises(IsADirectoryError):
        store.save("job1.png", GREY, {})

    assert sorted(path.name for path in tmp_path.iterdir()) == ["job1.png"]
    assert (tmp_path / "job1.png").is_dir()

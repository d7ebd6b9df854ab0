"""Generated images as PNG files in one folder.

Writes are atomic (`atomic_file`): never a partial PNG under a final name. Lookups accept
only names this store could have written (`stored_names`). An image Windows would not let
us remove yet, because a browser or our own response still reads it, is treated as gone
at once and removed at a later pass (`held_files`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from adapters import held_files
from adapters.atomic_file import write_atomically
from adapters.stored_file import stored_file
from adapters.stored_names import is_image_name
from application.ports import RenderedImage

# Level 1 is several times faster than the default and only slightly larger on photos.
_PNG_COMPRESS_LEVEL = 1


class FileImageStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return self._directory

    def save(self, name: str, image: RenderedImage, text_chunks: Mapping[str, str]) -> None:
        if not is_image_name(name):
            raise ValueError(f"Not a valid image name: {name!r}")
        picture = Image.frombytes("RGB", (image.width, image.height), image.rgb)
        info = PngInfo()
        for key, value in text_chunks.items():
            # tEXt, or iTXt (UTF-8) when not Latin-1. A lone surrogate cannot be UTF-8:
            # written as its escape, so an old bad request cannot fail a save.
            info.add_text(key, _encodable(value))

        def write(stream: BinaryIO) -> None:
            picture.save(stream, format="PNG", pnginfo=info, compress_level=_PNG_COMPRESS_LEVEL)

        write_atomically(self._directory / name, write)

    def delete(self, name: str) -> bool:
        held_files.finish_pending_removals(self._directory)
        path = self.path_of(name)
        return path is not None and held_files.remove(path)

    def path_of(self, name: str) -> Path | None:
        if not is_image_name(name):
            return None
        return stored_file(self._directory / name)


def _encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

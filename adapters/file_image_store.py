"""Generated images as PNG files in one folder.

Writes go to a temporary file in the same folder, are flushed to disk, then
renamed, so a crash or a full disk never leaves a partial PNG under a final
name. Lookups accept only plain names this store could have written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from application.ports import RenderedImage

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.png")
# Level 1 is several times faster than the default and only slightly larger on photos.
_PNG_COMPRESS_LEVEL = 1


class FileImageStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return self._directory

    def save(self, name: str, image: RenderedImage, text_chunks: Mapping[str, str]) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"Not a valid image name: {name!r}")
        self._directory.mkdir(parents=True, exist_ok=True)
        picture = Image.frombytes("RGB", (image.width, image.height), image.rgb)
        info = PngInfo()
        for key, value in text_chunks.items():
            info.add_text(key, value)  # tEXt, or iTXt when not Latin-1
        handle, temp_name = tempfile.mkstemp(prefix=".partial-", suffix=".png", dir=self._directory)
        try:
            with os.fdopen(handle, "wb") as stream:
                picture.save(stream, format="PNG", pnginfo=info, compress_level=_PNG_COMPRESS_LEVEL)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp_name, self._directory / name)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def delete(self, name: str) -> bool:
        path = self.path_of(name)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True

    def path_of(self, name: str) -> Path | None:
        if not _NAME.fullmatch(name):
            return None
        path = self._directory / name
        if path.is_symlink() or not path.is_file():
            return None
        return path

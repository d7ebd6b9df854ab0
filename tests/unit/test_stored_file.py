"""`stored_file`: what both file stores count as one of their files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.stored_file import stored_file


def test_a_regular_file_is_stored_and_nothing_else_is(tmp_path: Path) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(b"png")
    (tmp_path / "folder.png").mkdir()
    assert stored_file(picture) == picture
    assert stored_file(tmp_path / "folder.png") is None
    assert stored_file(tmp_path / "absent.png") is None


@pytest.mark.skipif(os.name == "nt", reason="symlinks need a privilege on Windows")
def test_a_symlink_is_not_stored_even_to_a_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    assert stored_file(tmp_path / "b.png") is None

"""Every name the service creates is a legal Windows name, and every path stays short.

Checked with `PureWindowsPath` under a typical install, `C:\\Users\\<20 characters>\\
local-sd-service\\`, with the default data folders: far from the 260-character limit that
Windows applies unless long paths are enabled.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path, PurePath, PureWindowsPath

import pytest

from adapters.atomic_file import PARTIAL_PREFIX, write_bytes_atomically
from adapters.held_files import REMOVAL_MARKER_PREFIX
from adapters.model_layout import MANIFEST_NAME, REQUIRED_FILES
from adapters.stored_names import is_image_name, is_stem
from domain.generation_request import GenerationRequest
from domain.job import Job
from entrypoints.settings import Settings, anchored_path

INSTALL = PureWindowsPath("C:/Users/abcdefghijklmnopqrst/local-sd-service")
WINDOWS_PATH_LIMIT = 260
OUR_BUDGET = 200  # room for a longer user name or install folder

FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)),
           *(f"LPT{n}" for n in range(10))}  # fmt: skip
LONGEST_STEM = "a" * 72
LONGEST_JOB_ID = "a" * 70  # its images, `<job id>-<n>.png`, are still accepted
TEMP_PART = "x" * 8  # mkstemp's random part
# OpenVINO names a compiled blob by a 64-bit hash: at most 20 digits.
CACHE_BLOB = "18446744073709551615.blob"


def windows_problem(name: str) -> str | None:
    """Why Windows would refuse ``name`` as a file or folder name, or None."""
    if not name:
        return "empty"
    if FORBIDDEN.search(name):
        return "forbidden character"
    if name[-1] in ". ":
        return "ends in a dot or space"
    if name.split(".")[0].rstrip(" ").upper() in DEVICES:
        return "reserved device name"
    if PureWindowsPath(name).name != name:
        return "read as a path"
    return None


def job_names(job_id: str, num_images: int) -> list[str]:
    job = Job(
        id=job_id,
        request=GenerationRequest(prompt="p", num_images=num_images),
        seed=1,
        created_at=datetime(2026, 6, 1, tzinfo=timezone.utc),
    )
    return [f"{job_id}.json", *job.image_names()]


def default_folder(name: str) -> PureWindowsPath:
    default = Settings.model_fields[name].default
    assert isinstance(default, PurePath) and not default.is_absolute()
    return anchored_path(str(default), INSTALL)


def every_path_we_create() -> list[PureWindowsPath]:
    generated, models = default_folder("generated_dir"), default_folder("model_dir")
    generated_names = [
        name
        for job_id in (uuid.uuid4().hex, LONGEST_JOB_ID)
        for count in (1, 4)
        for name in job_names(job_id, count)
    ]
    assert all(is_image_name(name) for name in generated_names if name.endswith(".png"))
    temporary = [f"{PARTIAL_PREFIX}{TEMP_PART}{suffix}" for suffix in (".png", ".json")]
    markers = [f"{REMOVAL_MARKER_PREFIX}{name}" for name in generated_names]
    return [
        *(generated / name for name in [*generated_names, *temporary, *markers]),
        *(models / relative for relative in [*REQUIRED_FILES, MANIFEST_NAME, *temporary]),
        default_folder("ov_cache_dir") / CACHE_BLOB,
    ]


def test_temporary_names_are_legal_and_as_long_as_assumed_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary: list[str] = []
    real_replace = os.replace

    def replace(source: str, target: Path) -> None:
        temporary.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    for index in range(20):
        write_bytes_atomically(tmp_path / f"job{index}.json", b"{}")

    assert {windows_problem(name) for name in temporary} == {None}
    assert {len(name) for name in temporary} == {len(f"{PARTIAL_PREFIX}{TEMP_PART}.json")}


def test_every_name_we_create_is_a_legal_windows_name() -> None:
    problems = {
        part: windows_problem(part)
        for path in every_path_we_create()
        for part in path.relative_to(INSTALL).parts
        if windows_problem(part)
    }
    assert problems == {}


def test_the_longest_path_we_create_stays_far_from_the_windows_limit() -> None:
    longest = max(every_path_we_create(), key=lambda path: len(str(path)))
    assert len(str(longest)) < OUR_BUDGET < WINDOWS_PATH_LIMIT, str(longest)


@pytest.mark.parametrize(
    "stem", ["CON", "nul", "Com1", "lpt9", "PRN", "aux", "a.b", "a:b", "a b", "a\\b", "", "-a",
             "a" * 73, "ab\x01"],
)  # fmt: skip
def test_names_windows_would_refuse_or_misread_are_not_ours(stem: str) -> None:
    assert not is_stem(stem)
    assert not is_image_name(f"{stem}.png")


@pytest.mark.parametrize("stem", [uuid.uuid4().hex, LONGEST_STEM, "CON1", "nul-0", "job_1"])
def test_names_we_accept_are_legal_windows_names(stem: str) -> None:
    assert is_stem(stem)
    assert windows_problem(f"{stem}.png") is None

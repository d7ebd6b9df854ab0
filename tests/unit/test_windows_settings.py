"""Settings as Windows users write them: CRLF `.env` files, a BOM, drive letters, backslashes."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from entrypoints.settings import (
    PROJECT_ROOT,
    SettingsError,
    anchored_path,
    env_file_from,
    load_settings,
)

WINDOWS_ROOT = PureWindowsPath("C:/Users/someone/local-sd-service")
POSIX_ROOT = PurePosixPath("/home/someone/local-sd-service")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])  # Notepad wrote a BOM until 2019
def test_an_env_file_with_crlf_line_endings_loads_without_stray_carriage_returns(
    tmp_path: Path, encoding: str
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(
        "USE_MOCKS=true\r\nLOG_LEVEL=debug\r\nALLOWED_HOSTS=studio.local\r\n"
        "GENERATED_DIR=/srv/out\r\nMODEL_REPO_ID=OpenVINO/m\r\nMAX_QUEUE=3\r\n".encode(encoding)
    )

    settings = load_settings(env_file=env_file)

    assert settings.use_mocks is True
    assert settings.log_level == "DEBUG"
    assert settings.allowed_hosts == "studio.local"
    assert settings.generated_dir == Path("/srv/out")
    assert settings.model_repo_id == "OpenVINO/m"
    assert settings.max_queue == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\models\\sd", "C:/models/sd"),
        ("D:\\out", "D:/out"),
        ("d:/out", "d:/out"),
        ("\\\\nas\\share\\sd", "//nas/share/sd"),
        ("data\\generated", "C:/Users/someone/local-sd-service/data/generated"),
        ("data/generated", "C:/Users/someone/local-sd-service/data/generated"),
        ("\\models", "C:/models"),  # rooted without a drive: the install's drive
    ],
)
def test_on_windows_paths_with_drive_letters_and_backslashes_are_taken_as_given(
    raw: str, expected: str
) -> None:
    assert anchored_path(raw, WINDOWS_ROOT) == PureWindowsPath(expected)


def test_on_windows_a_drive_relative_path_is_refused() -> None:
    # `D:out` depends on the current folder of drive D: when the service starts.
    with pytest.raises(ValueError, match=r"D:\\folder"):
        anchored_path("D:out", WINDOWS_ROOT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/srv/models", "/srv/models"),
        ("data/generated", "/home/someone/local-sd-service/data/generated"),
    ],
)
def test_on_linux_paths_are_absolute_or_under_the_project(raw: str, expected: str) -> None:
    assert anchored_path(raw, POSIX_ROOT) == PurePosixPath(expected)


@pytest.mark.parametrize("name", ["MODEL_DIR", "GENERATED_DIR", "OV_CACHE_DIR"])
def test_on_linux_a_windows_path_is_refused_instead_of_becoming_a_folder_name(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "C:\\models\\sd")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert str(caught.value).startswith(f"Invalid setting {name}='C:\\\\models\\\\sd'")
    assert "Windows path" in str(caught.value)


def test_the_settings_take_paths_by_the_same_rule() -> None:
    settings = load_settings(env_file=None)
    assert settings.model_dir == anchored_path("data/models/stable-diffusion", PROJECT_ROOT)


def test_an_env_file_named_by_a_windows_path_on_linux_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="ENV_FILE"):
        env_file_from({"ENV_FILE": "C:\\sd\\.env"})

"""The commands a Windows user runs without `make`: `local-sd ...` or `python -m entrypoints.cli`.

Serving itself is tested by the server tests, which all start `python -m entrypoints.cli
serve` (tests/support/live_server.py); the Ctrl+Break exit is in tests/server.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints import cli
from entrypoints.settings import PROJECT_ROOT, Settings


class RecordingServe:
    """Stands in for `cli.serve`: records the settings it would have served with."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []

    def __call__(self, settings: Settings) -> int:
        self.settings.append(settings)
        return 0


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> RecordingServe:
    recording = RecordingServe()
    monkeypatch.setattr(cli, "serve", recording)
    monkeypatch.setenv("ENV_FILE", "")  # a developer's .env stays out
    return recording


def test_the_console_script_is_the_cli() -> None:
    # pip writes `local-sd` (`local-sd.exe` on Windows) calling exactly this.
    if sys.version_info < (3, 11):  # no tomllib: read the one line
        text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
        target = next(
            line.split("=", 1)[1].strip().strip('"')
            for line in text.splitlines()
            if line.startswith("local-sd =")
        )
    else:
        import tomllib

        project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        target = project["project"]["scripts"]["local-sd"]
    module, _, function = target.partition(":")
    assert getattr(importlib.import_module(module), function) is cli.main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        cli.main(["--help"])
    assert leaving.value.code == 0
    usage = capsys.readouterr().out
    assert all(command in usage for command in ("serve", "demo", "download", "retention"))


def test_a_bad_setting_is_one_line_and_exit_code_2(
    served: RecordingServe, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")

    assert cli.main(["serve"]) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Invalid setting PORT='eighty'")
    assert served.settings == []


def test_serve_download_missing_is_what_make_serve_runs(served: RecordingServe) -> None:
    assert cli.main(["serve", "--download-missing"]) == 0
    assert cli.main(["serve"]) == 0
    assert [s.auto_download_models for s in served.settings] == [True, False]


def test_a_set_auto_download_wins_over_download_missing(
    served: RecordingServe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTO_DOWNLOAD_MODELS", "false")
    cli.main(["serve", "--download-missing"])
    assert served.settings[0].auto_download_models is False


def test_demo_is_make_demo_in_any_shell(
    served: RecordingServe, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.main(["demo"])
    monkeypatch.setenv("MOCK_STEP_SECONDS", "0")
    cli.main(["demo"])
    assert [(s.use_mocks, s.mock_step_seconds) for s in served.settings] == [
        (True, cli.DEMO_STEP_SECONDS),
        (True, 0.0),
    ]


def test_python_dash_m_runs_the_cli_from_any_folder(tmp_path: Path) -> None:
    # What `.venv\Scripts\python -m entrypoints.cli --help` runs, without make or a shell.
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "--help"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: local-sd")

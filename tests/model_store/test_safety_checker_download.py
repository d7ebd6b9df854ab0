"""`download --safety-checker`: the model's checker fetched from a fake hub and converted.

The hub serves the tiny random-weight checker (tests/support/tiny_safety_checker.py) in
the repository's layout. The real conversion runs in subprocesses (torch stays out of the
test process); the failures run in process with a conversion that records its calls.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.hf_safety_checker_download import HubSafetyCheckerDownload
from adapters.model_layout import REQUIRED_FILES
from entrypoints.cli import main
from entrypoints.safety_checker_download import run_safety_checker_download
from entrypoints.settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings
from tests.model_store.conftest import REPO_ID, DiskUsage, build_model
from tests.support.fake_hub import FakeHub, running_hub
from tests.support.safety_fixtures import SafetyCheckerBuild

SOURCE_FILES = (
    "safety_checker/config.json",
    "safety_checker/model.safetensors",
    "feature_extractor/preprocessor_config.json",
)
CHECKER_FILES = (
    "openvino_model.xml",
    "openvino_model.bin",
    "safety_checker.json",
    "preprocessor_config.json",
)


@pytest.fixture(autouse=True)
def _libraries_left_as_found(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command quietens torch's libraries for its process: not for the next tests."""
    for variable in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        monkeypatch.setenv(variable, "error")
    names = ("transformers", "diffusers", "torch", "huggingface_hub")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def hub_folder(folder: Path, checker_source: Path | None) -> Path:
    """A model repository: the OpenVINO export, and the checker's source when given."""
    build_model(folder, REQUIRED_FILES)
    if checker_source is not None:
        shutil.copytree(checker_source, folder, dirs_exist_ok=True)
        # The same weights in the older format, which the download must not fetch.
        (folder / "safety_checker" / "pytorch_model.bin").write_bytes(b"\0" * 4096)
    return folder


@pytest.fixture
def checker_source(tiny_safety_checker_source: SafetyCheckerBuild) -> Path:
    return tiny_safety_checker_source("flag_all")


@pytest.fixture
def checker_hub(tmp_path: Path, checker_source: Path) -> Iterator[FakeHub]:
    with running_hub(REPO_ID, hub_folder(tmp_path / "hub-repo", checker_source)) as hub:
        yield hub


@pytest.fixture
def checker_dir(tmp_path: Path) -> Path:
    return tmp_path / "models" / "safety-checker"


def run_cli(
    hub: FakeHub, checker_dir: Path, *args: str, block: tuple[str, ...] = (), **extra: str
) -> subprocess.CompletedProcess[str]:
    """`python download_models.py --safety-checker ARGS`, with ``block`` unimportable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_", "MODEL_", "SAFETY_"))}  # fmt: skip
    env.update(
        ENV_FILE="",
        MODEL_REPO_ID=REPO_ID,
        SAFETY_CHECKER_DIR=str(checker_dir),
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    # None in sys.modules makes `import torch` fail as if it were not installed.
    script = (
        f"import sys; sys.modules.update(dict.fromkeys({list(block)!r})); "
        "from entrypoints.cli import main; "
        f"sys.exit(main(['download', '--safety-checker', *{list(args)!r}]))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def fetched(hub: FakeHub) -> list[str]:
    return sorted(path.split("/resolve/", 1)[1].split("/", 1)[1]
                  for path in hub.requested_paths("GET") if "/resolve/" in path)  # fmt: skip


def staging_of(checker_dir: Path) -> Path:
    return checker_dir.parent / f".{checker_dir.name}.download"


def test_download_converts_then_nothing_to_do(
    checker_hub: FakeHub, checker_dir: Path, checker_source: Path
) -> None:
    # The tiny checker can come from another interpreter's build (make test-py310 shares the
    # cache); the conversion itself needs torch in this one.
    if not all(importlib.util.find_spec(name) for name in ("torch", "diffusers", "transformers")):
        pytest.skip('converting the checker needs the optimum extra: pip install -e ".[optimum]"')
    first = run_cli(checker_hub, checker_dir, HUGGINGFACE_TOKEN="hf_checker_secret")

    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no bar off a terminal, and the libraries kept quiet
    assert str(checker_dir) in first.stdout and "ready" in first.stdout
    assert sorted(p.name for p in checker_dir.iterdir()) == sorted(CHECKER_FILES)
    assert all((checker_dir / name).stat().st_size > 0 for name in CHECKER_FILES)
    # Only what the conversion reads; nothing of the model, not the .bin copy of the weights.
    assert fetched(checker_hub) == sorted(SOURCE_FILES)
    assert {r.headers.get("authorization") for r in checker_hub.requests} == {
        "Bearer hf_checker_secret"
    }
    assert "hf_checker_secret" not in first.stdout + first.stderr
    description = json.loads((checker_dir / "safety_checker.json").read_text(encoding="utf-8"))
    weights = (checker_source / "safety_checker" / "model.safetensors").read_bytes()
    assert description["source"] == {
        "repo_id": REPO_ID,
        "revision": checker_hub.commit,
        "sha256": hashlib.sha256(weights).hexdigest(),
    }
    assert description["version"] in first.stdout
    assert (checker_dir / "preprocessor_config.json").read_bytes() == (
        checker_source / "feature_extractor" / "preprocessor_config.json"
    ).read_bytes()
    # The PyTorch source is gone: it is not needed to serve.
    assert sorted(p.name for p in checker_dir.parent.iterdir()) == [checker_dir.name]

    checker_hub.clear()
    second = run_cli(checker_hub, checker_dir)

    assert second.returncode == 0, second.stderr
    assert "already" in second.stdout and description["version"] in second.stdout
    assert checker_hub.requests == []


def test_without_the_optimum_extra_it_says_how_to_install_before_any_request(
    checker_hub: FakeHub, checker_dir: Path
) -> None:
    result = run_cli(checker_hub, checker_dir, block=("torch", "diffusers", "transformers"))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "torch" in lines[0]
    assert "make install-dev" in lines[0] and 'pip install -e ".[optimum]"' in lines[0]
    assert checker_hub.requests == []
    assert not checker_dir.parent.exists()


# In process: a conversion that records its calls stands in for torch.


class RecordingConversion:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, source_dir: Path, preprocessor: Path, out_dir: Path, **source: Any) -> None:
        self.calls.append({"files": sorted(p.name for p in source_dir.iterdir()), **source})
        assert preprocessor.is_file()
        if self.error is not None:
            raise self.error
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in CHECKER_FILES:
            (out_dir / name).write_bytes(b"<converted/>")
        version = {"version": "c0ffee", "source": {"repo_id": source["repo_id"]}}
        (out_dir / "safety_checker.json").write_text(json.dumps(version), encoding="utf-8")


def run_in_process(
    settings: Settings,
    conversion: RecordingConversion,
    force: bool = False,
    **options: Any,
) -> int:
    fetch = HubSafetyCheckerDownload(
        settings.model_repo_id,
        settings.safety_checker_dir,
        token=None,
        endpoint=settings.hf_endpoint,
        convert=conversion,
        missing_modules=list,
        **options,
    )
    return run_safety_checker_download(settings, force=force, fetch=fetch)


def settings_for(tmp_path: Path, hub: FakeHub, checker_dir: Path) -> Settings:
    return make_settings(
        tmp_path, model_repo_id=REPO_ID, hf_endpoint=hub.url, safety_checker_dir=checker_dir
    )


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    output = capsys.readouterr()
    # Earlier tests in this process may route library logs to stderr: the subprocess
    # tests show that the command itself prints nothing else.
    errors = [line for line in output.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output.err
    return errors[0]


def test_a_repository_without_a_checker_is_named(
    tmp_path: Path, checker_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conversion = RecordingConversion()
    with running_hub(REPO_ID, hub_folder(tmp_path / "lcm-repo", None)) as hub:
        code = run_in_process(settings_for(tmp_path, hub, checker_dir), conversion)

        assert fetched(hub) == []
    assert code == 1
    line = one_error_line(capsys)
    assert f"{REPO_ID} ships no safety checker" in line and "MODEL_REPO_ID" in line
    assert conversion.calls == []
    assert not checker_dir.exists() and not staging_of(checker_dir).exists()


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        ("gated", ("is gated", "Set HUGGINGFACE_TOKEN")),
        ("not_found", ("was not found", "MODEL_REPO_ID")),
        ("hub_down", ("Cannot reach the model hub",)),
        ("disk_full", ("Not enough disk space", "free 0.0 GB more")),
        ("truncated", ("arrived truncated", "nothing was kept", "download-safety-checker")),
        ("read_only", ("Cannot write into", "read-only")),
        ("conversion", ("Converting the safety checker", "RuntimeError: graph broke")),
        ("conversion_disk_full", ("Not enough disk space",)),
    ],
)
def test_every_failure_is_one_line_and_leaves_nothing_behind(
    failure: str,
    says: tuple[str, ...],
    checker_hub: FakeHub,
    checker_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conversion = RecordingConversion()
    options: dict[str, Any] = {}
    if failure in ("gated", "not_found"):
        checker_hub.mode = failure
    elif failure == "hub_down":
        checker_hub.stop()
    elif failure == "disk_full":
        full = DiskUsage(total=10**9, used=10**9 - 10, free=10)
        monkeypatch.setattr(shutil, "disk_usage", lambda _: full)
    elif failure == "truncated":
        checker_hub.truncate["safety_checker/config.json"] = 10
    elif failure == "read_only":

        def refuse(folder: Path) -> None:  # what a read-only parent does for a non-root user
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))

        options["prepare_folder"] = refuse
    elif failure == "conversion":
        conversion.error = RuntimeError("graph broke\nat node 7")
    else:
        conversion.error = OSError(errno.ENOSPC, "No space left on device")

    code = run_in_process(settings_for(tmp_path, checker_hub, checker_dir), conversion, **options)

    assert code == 1
    line = one_error_line(capsys)
    assert all(words in line for words in says), line
    assert "MODEL_DIR" not in line and "make demo" not in line  # the model's remedies
    assert not checker_dir.exists()
    assert not staging_of(checker_dir).exists()


def test_a_failed_force_keeps_the_checker_in_place(
    checker_hub: FakeHub,
    checker_dir: Path,
    tmp_path: Path,
    tiny_safety_checker_ir: SafetyCheckerBuild,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(tiny_safety_checker_ir("flag_all"), checker_dir)
    before = {p.name: p.read_bytes() for p in checker_dir.iterdir()}
    settings = settings_for(tmp_path, checker_hub, checker_dir)

    checker_hub.mode = "server_error"
    assert run_in_process(settings, RecordingConversion(), force=True) == 1
    assert "answered HTTP 503" in one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in checker_dir.iterdir()} == before

    checker_hub.mode = "ok"
    conversion = RecordingConversion()
    assert run_in_process(settings, conversion, force=True) == 0
    assert conversion.calls == [
        {"files": ["config.json", "model.safetensors"], "repo_id": REPO_ID,
         "revision": checker_hub.commit}
    ]  # fmt: skip
    assert "c0ffee" in capsys.readouterr().out
    assert not staging_of(checker_dir).exists()


def test_a_checker_in_place_needs_no_hub_and_no_torch(
    checker_hub: FakeHub,
    checker_dir: Path,
    tmp_path: Path,
    tiny_safety_checker_ir: SafetyCheckerBuild,
    no_network: list[object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(tiny_safety_checker_ir("flag_all"), checker_dir)
    conversion = RecordingConversion()
    settings = settings_for(tmp_path, checker_hub, checker_dir)

    fetch = HubSafetyCheckerDownload(
        REPO_ID, checker_dir, token=None, endpoint=checker_hub.url, convert=conversion,
        missing_modules=lambda: pytest.fail("nothing to convert, nothing to import"),
    )  # fmt: skip
    code = run_safety_checker_download(settings, force=False, fetch=fetch)

    assert code == 0
    assert "already" in capsys.readouterr().out
    assert (conversion.calls, checker_hub.requests, no_network) == ([], [], [])


def test_a_damaged_checker_is_fetched_again(
    checker_hub: FakeHub,
    checker_dir: Path,
    tmp_path: Path,
    tiny_safety_checker_ir: SafetyCheckerBuild,
) -> None:
    shutil.copytree(tiny_safety_checker_ir("flag_all"), checker_dir)
    (checker_dir / "openvino_model.bin").write_bytes(b"")
    conversion = RecordingConversion()

    code = run_in_process(settings_for(tmp_path, checker_hub, checker_dir), conversion)

    assert code == 0
    assert len(conversion.calls) == 1
    assert fetched(checker_hub) == sorted(SOURCE_FILES)


def test_the_command_the_remedies_name_runs_the_same_download(
    checker_dir: Path,
    tiny_safety_checker_ir: SafetyCheckerBuild,
    monkeypatch: pytest.MonkeyPatch,
    no_network: list[object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(tiny_safety_checker_ir("flag_none"), checker_dir)
    monkeypatch.setenv("ENV_FILE", "")
    monkeypatch.setenv("SAFETY_CHECKER_DIR", str(checker_dir))

    assert main(["download-safety-checker"]) == 0
    assert main(["download", "--safety-checker"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(f"already in {checker_dir}" in line for line in out), out
    assert no_network == []

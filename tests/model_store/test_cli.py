"""`python download_models.py` end to end, in a subprocess, against the fake hub."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.model_download import run_download
from entrypoints.settings import PROJECT_ROOT
from tests.conftest import make_settings
from tests.model_store.conftest import REPO_ID, DiskUsage
from tests.support.fake_hub import FakeHub


def run_cli(
    hub: FakeHub, model_dir: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_", "MODEL_"))}  # fmt: skip
    env.update(
        MODEL_DIR=str(model_dir),
        MODEL_REPO_ID=REPO_ID,
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "download_models.py", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_download_then_nothing_to_do(hub: FakeHub, model_dir: Path) -> None:
    first = run_cli(hub, model_dir)

    assert first.returncode == 0, first.stderr
    assert str(model_dir) in first.stdout
    assert (model_dir / "unet/openvino_model.bin").is_file()
    assert not (model_dir / "safety_checker").exists()

    hub.clear()
    second = run_cli(hub, model_dir)

    assert second.returncode == 0, second.stderr
    assert hub.requests == []


def test_hand_staged_model_needs_no_request(
    hub: FakeHub, model_dir: Path, model_source: Path
) -> None:
    shutil.copytree(model_source, model_dir)

    result = run_cli(hub, model_dir)

    assert result.returncode == 0, result.stderr
    assert str(model_dir) in result.stdout
    assert hub.requests == []


def test_force_and_token(hub: FakeHub, model_dir: Path) -> None:
    assert run_cli(hub, model_dir).returncode == 0
    hub.clear()

    forced = run_cli(hub, model_dir, "--force", HUGGINGFACE_TOKEN="hf_cli_secret")

    assert forced.returncode == 0, forced.stderr
    assert any("/resolve/" in p for p in hub.requested_paths("GET"))
    assert {r.headers.get("authorization") for r in hub.requests} == {"Bearer hf_cli_secret"}, [
        (r.method, r.path, r.headers) for r in hub.requests if "authorization" not in r.headers
    ]
    assert "hf_cli_secret" not in forced.stdout + forced.stderr


def test_gated_exits_non_zero_with_one_clear_line(hub: FakeHub, model_dir: Path) -> None:
    hub.mode = "gated"

    result = run_cli(hub, model_dir)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "gated" in lines[0]
    assert "Set HUGGINGFACE_TOKEN to a read token" in lines[0]


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        ("not_found", ("was not found", "MODEL_REPO_ID")),
        ("hub_down", ("offline once the model is staged", "MODEL_DIR", "`make demo`")),
        ("disk_full", ("Not enough disk space", "MODEL_DIR can point to a larger disk")),
    ],
)
def test_every_failure_exits_1_with_one_line(
    failure: str,
    says: tuple[str, ...],
    hub: FakeHub,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In process: the disk cannot be filled for a subprocess, and the front is the same code.
    if failure == "not_found":
        hub.mode = "not_found"
    elif failure == "hub_down":
        hub.stop()
    else:
        full = DiskUsage(total=10**9, used=10**9 - 10, free=10)
        monkeypatch.setattr(shutil, "disk_usage", lambda _: full)
    settings = make_settings(
        tmp_path, model_dir=model_dir, model_repo_id=REPO_ID, hf_endpoint=hub.url
    )

    code = run_download(settings, force=False)

    output = capsys.readouterr()
    assert code == 1
    # Earlier tests in this process may have routed library logs to stderr; the
    # subprocess test above shows that the command prints nothing else.
    errors = [line for line in output.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output.err
    assert all(words in errors[0] for words in says), errors[0]
    assert output.out == ""

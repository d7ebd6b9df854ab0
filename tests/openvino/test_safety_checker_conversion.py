"""Converting the checker: what the folder holds, that it replaces an old one whole, and
what happens without torch. The conversion runs in subprocesses (it imports torch)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.safety_checker_conversion import CHECKER_JSON, MODEL_XML, PREPROCESSOR_JSON
from tests.support.safety_fixtures import SafetyCheckerBuild
from tests.support.sd15_build import offline_env

pytestmark = pytest.mark.openvino

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_CONVERT = """
import sys
from pathlib import Path

BLOCKED = sys.argv[4].split(",") if sys.argv[4] else []


class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, Unimportable())
from adapters.safety_checker_conversion import convert_safety_checker

source = Path(sys.argv[1])
try:
    convert_safety_checker(
        source / "safety_checker",
        source / "feature_extractor" / "preprocessor_config.json",
        Path(sys.argv[2]),
        repo_id="tests/repo",
        revision=sys.argv[3] or None,
    )
except Exception as error:
    print(type(error).__name__, error)
else:
    print("converted")
"""


def _convert(source: Path, out: Path, revision: str = "", blocked: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(source), str(out), revision, blocked],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_a_conversion_replaces_the_old_folder_whole(
    tiny_safety_checker_source: SafetyCheckerBuild, tmp_path: Path
) -> None:
    source = tiny_safety_checker_source("flag_none")
    out = tmp_path / "checker"
    out.mkdir()
    (out / "stale.txt").write_text("from an older conversion", encoding="utf-8")

    assert _convert(source, out, revision="abc123") == "converted"

    assert sorted(path.name for path in out.iterdir()) == sorted(
        [MODEL_XML, "openvino_model.bin", CHECKER_JSON, PREPROCESSOR_JSON]
    )
    assert [path.name for path in tmp_path.iterdir()] == ["checker"]  # no work folders left
    preprocessor = source / "feature_extractor" / "preprocessor_config.json"
    assert (out / PREPROCESSOR_JSON).read_bytes() == preprocessor.read_bytes()
    description = json.loads((out / CHECKER_JSON).read_text(encoding="utf-8"))
    sha256 = hashlib.sha256((source / "safety_checker" / "model.safetensors").read_bytes())
    assert description["source"] == {
        "repo_id": "tests/repo",
        "revision": "abc123",
        "sha256": sha256.hexdigest(),
    }
    assert description["version"] == sha256.hexdigest()[:12]
    assert description["concept_embeds_weights"] == [2.0] * 17
    assert description["special_care_embeds_weights"] == [2.0] * 3
    assert set(description["converted_with"]) == {"openvino", "diffusers", "torch", "transformers"}
    assert all(description["converted_with"].values())


def test_a_missing_source_file_leaves_the_old_folder_alone(
    tiny_safety_checker_source: SafetyCheckerBuild, tmp_path: Path
) -> None:
    source = tiny_safety_checker_source("flag_none")
    partial = tmp_path / "partial"
    (partial / "safety_checker").mkdir(parents=True)
    (partial / "feature_extractor").mkdir()
    for name in ("safety_checker/config.json", "feature_extractor/preprocessor_config.json"):
        (partial / name).write_bytes((source / name).read_bytes())
    out = tmp_path / "checker"
    out.mkdir()
    (out / "kept.txt").write_text("the working checker", encoding="utf-8")

    answer = _convert(partial, out)

    assert answer.startswith("FileNotFoundError") and "model.safetensors" in answer
    assert [path.name for path in out.iterdir()] == ["kept.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checker", "partial"]


@pytest.mark.parametrize("blocked", ["torch", "diffusers"])
def test_without_torch_or_diffusers_it_raises_import_error_and_writes_nothing(
    blocked: str, tiny_safety_checker_source: SafetyCheckerBuild, tmp_path: Path
) -> None:
    answer = _convert(tiny_safety_checker_source("flag_none"), tmp_path / "checker", "", blocked)

    assert answer.startswith("ImportError") or answer.startswith("ModuleNotFoundError")
    assert not (tmp_path / "checker").exists()
    assert list(tmp_path.iterdir()) == []

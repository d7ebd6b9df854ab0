"""The serving side of the safety checker: openvino alone (torch unimportable), and every
way its folder can be wrong named in a SafetyCheckerUnavailable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.openvino_devices import available_devices
from adapters.openvino_safety_checker import REMEDIES, load_safety_checker
from adapters.safety_checker_conversion import CHECKER_JSON, MODEL_XML, PREPROCESSOR_JSON
from domain.errors import SafetyCheckerUnavailable
from tests.support.safety_fixtures import SafetyCheckerBuild
from tests.support.sd15_build import offline_env

pytestmark = pytest.mark.openvino

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NO_GPU = not any(name.startswith("GPU") for name in available_devices())

# Installed before anything else: any import of these fails, as without the optimum extra.
_TORCHLESS_CHECK = """
import sys

BLOCKED = ("torch", "torchvision", "diffusers", "transformers", "optimum")


class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is unimportable in this test")
        return None


sys.meta_path.insert(0, Unimportable())

import json
from pathlib import Path

from adapters.openvino_safety_checker import load_safety_checker
from tests.support.tiny_safety_checker import sample_pictures

checker = load_safety_checker(Path(sys.argv[1]), "CPU", Path(sys.argv[2]))
verdicts = checker.check(sample_pictures())
print(json.dumps({
    "flagged": [verdict.flagged for verdict in verdicts],
    "imported": sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED),
}))
"""


def test_the_checker_runs_with_torch_diffusers_and_transformers_unimportable(
    tiny_safety_checker_ir: SafetyCheckerBuild, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _TORCHLESS_CHECK,
            str(tiny_safety_checker_ir("equivalence")),
            str(tmp_path / "cache"),
        ],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"flagged": [True, False, False], "imported": []}


@pytest.fixture
def checker_copy(tiny_safety_checker_flag_none_dir: Path, tmp_path: Path) -> Path:
    """A copy of a converted checker, to damage."""
    return Path(shutil.copytree(tiny_safety_checker_flag_none_dir, tmp_path / "safety-checker"))


def _unavailable(directory: Path, cache: Path) -> SafetyCheckerUnavailable:
    with pytest.raises(SafetyCheckerUnavailable) as caught:
        load_safety_checker(directory, "CPU", cache)
    assert str(directory) in caught.value.message
    assert caught.value.remedies == REMEDIES
    return caught.value


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    error = _unavailable(tmp_path / "nowhere", tmp_path / "cache")
    assert "not in" in error.message


@pytest.mark.parametrize(
    "missing", [MODEL_XML, "openvino_model.bin", CHECKER_JSON, PREPROCESSOR_JSON]
)
def test_a_missing_file_is_named(missing: str, checker_copy: Path, tmp_path: Path) -> None:
    (checker_copy / missing).unlink()
    error = _unavailable(checker_copy, tmp_path / "cache")
    assert f"{missing} missing" in error.message


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        (CHECKER_JSON, "{not json", "safety_checker.json"),
        (CHECKER_JSON, json.dumps({"version": "x"}), "safety_checker.json"),
        (CHECKER_JSON, json.dumps({"concept_embeds_weights": [0.1] * 3,
                                   "special_care_embeds_weights": [0.1] * 3,
                                   "version": "x"}), "does not match"),
        (MODEL_XML, "<net>truncated", "openvino_model.xml"),
        (PREPROCESSOR_JSON, "[]", "preprocessor_config.json"),
        (PREPROCESSOR_JSON, json.dumps({"do_pad": True}), "do_pad"),
    ],
)  # fmt: skip
def test_a_damaged_file_is_named(
    name: str, content: str, words: str, checker_copy: Path, tmp_path: Path
) -> None:
    (checker_copy / name).write_text(content, encoding="utf-8")
    error = _unavailable(checker_copy, tmp_path / "cache")
    assert words in error.message


def _warnings(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["log_level"] == "warning"]


@pytest.mark.skipif(not NO_GPU, reason="this machine has an Intel GPU")
def test_gpu_on_a_machine_without_one_runs_on_cpu_with_one_warning(
    tiny_safety_checker_flag_all_dir: Path, openvino_cache_dir: Path
) -> None:
    with capture_logs() as logs:
        checker = load_safety_checker(tiny_safety_checker_flag_all_dir, "gpu", openvino_cache_dir)

    [warning] = _warnings(logs)
    assert warning["event"] == "safety_checker_device_unavailable_using_cpu"
    assert warning["target"] == "GPU"
    assert warning["device"] == "CPU"
    assert warning["cause"] and "\n" not in str(warning["cause"])
    assert warning["remedies"] == ["install_gpu_driver", "use_cpu"]
    assert checker.device == "CPU"
    assert checker.check([]) == []


def test_cpu_loads_without_a_warning_and_the_cache_stays_outside(
    checker_copy: Path, tmp_path: Path
) -> None:
    before = sorted(checker_copy.iterdir())
    with capture_logs() as logs:
        load_safety_checker(checker_copy, "CPU", tmp_path / "cache")
        # A cache folder inside the checker's (replaced on re-download) is not used.
        inside = load_safety_checker(checker_copy, "CPU", checker_copy / "cache")

    assert [entry["event"] for entry in _warnings(logs)] == ["safety_checker_cache_off"]
    assert sorted(checker_copy.iterdir()) == before
    assert any((tmp_path / "cache").iterdir())  # the compiled blob went there
    assert inside.device == "CPU"

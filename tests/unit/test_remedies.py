"""Every Remedy has its words, and describe() puts facts and remedies into one paragraph."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import Problem, Remedy
from entrypoints.remedies import describe, remedy_text
from tests.conftest import make_settings


@pytest.mark.parametrize("remedy", list(Remedy))
def test_every_remedy_is_one_sentence(remedy: Remedy, tmp_path: Path) -> None:
    text = remedy_text(remedy, make_settings(tmp_path))

    assert text[:1].isupper() and text.endswith("."), text
    assert "\n" not in text


def test_describe_gives_the_facts_then_each_remedy_in_order(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_repo_id="OpenVINO/tiny-sd-ov")
    problem = Problem(
        "Cannot reach the model hub at http://127.0.0.1:9.",
        (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE),
    )

    text = describe(problem, settings)

    stage = remedy_text(Remedy.STAGE_MODEL_BY_HAND, settings)
    demo = remedy_text(Remedy.DEMO_MODE, settings)
    assert text == f"{problem.message} {stage} {demo}"
    assert f"copy the files of OpenVINO/tiny-sd-ov into {settings.model_dir}" in stage
    assert "`make demo` or `local-sd demo` (USE_MOCKS=true)" in demo


def test_facts_without_a_full_stop_get_one_before_the_remedies(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    problem = Problem("GPU unavailable: [GPU] no supported OCL devices found", (Remedy.USE_CPU,))

    text = describe(problem, settings)

    assert text.startswith("GPU unavailable: [GPU] no supported OCL devices found. ")
    assert text.endswith(remedy_text(Remedy.USE_CPU, settings))


def test_a_problem_without_remedies_is_its_message(tmp_path: Path) -> None:
    problem = Problem("Revision 'v9.9' does not exist in OpenVINO/tiny-sd-ov")

    assert describe(problem, make_settings(tmp_path)) == problem.message

"""The OpenVINO safety checker says what diffusers' own says, on the tiny checker.

diffusers' verdicts come from the build (tests.support.tiny_safety_checker runs its
``StableDiffusionSafetyChecker.forward``, fed by transformers' ``CLIPImageProcessor``, in
the build subprocess and records them in expected.json): this process imports no torch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest

from adapters.clip_image_processing import ClipImageProcessing
from adapters.openvino_safety_checker import load_safety_checker
from adapters.safety_checker_conversion import CHECKER_JSON, MODEL_XML, PREPROCESSOR_JSON
from adapters.safety_decision import decide
from tests.support.safety_fixtures import SafetyCheckerBuild
from tests.support.tiny_safety_checker import EXPECTED_JSON, MARGIN, sample_pictures

pytestmark = pytest.mark.openvino

# fp32 IR against torch: the cosines agreed to ~1e-7 when this was written.
COSINE_TOLERANCE = 1e-5


def _expected(build: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((build / EXPECTED_JSON).read_text(encoding="utf-8"))
    return result


def test_flags_and_scores_equal_diffusers(
    tiny_safety_checker_build: SafetyCheckerBuild, openvino_cache_dir: Path
) -> None:
    build = tiny_safety_checker_build("equivalence")
    expected = _expected(build)
    checker = load_safety_checker(build / "ir", "CPU", openvino_cache_dir)

    verdicts = checker.check(sample_pictures())

    assert expected["flagged"] == [True, False, False]  # the build did what it says
    assert [v is not None and v.flagged for v in verdicts] == expected["flagged"]
    thresholds = json.loads((build / "ir" / CHECKER_JSON).read_text(encoding="utf-8"))
    torch_verdicts = decide(
        np.array(expected["cos_dist"]),
        np.array(expected["special_cos_dist"]),
        thresholds["concept_embeds_weights"],
        thresholds["special_care_embeds_weights"],
    )
    for ours, theirs in zip(verdicts, torch_verdicts, strict=True):
        assert ours is not None
        # One rounding step at most, should a cosine sit on a thousandth's edge.
        np.testing.assert_allclose(ours.concept_scores, theirs.concept_scores, atol=0.0011)
        np.testing.assert_allclose(ours.special_scores, theirs.special_scores, atol=0.0011)
    # The flagged picture's concept 0 is clear of the edge, the others' too: no flip possible.
    assert verdicts[0] is not None and verdicts[0].concept_scores[0] > MARGIN / 2
    assert verdicts[0].special_scores[0] > 0  # the special-care adjustment is at work
    assert all(v is not None and max(v.concept_scores) < -MARGIN / 2 for v in verdicts[1:])


def test_the_ir_and_the_preprocessing_match_torch_and_transformers(
    tiny_safety_checker_build: SafetyCheckerBuild,
) -> None:
    build = tiny_safety_checker_build("equivalence")
    expected = _expected(build)
    processing = ClipImageProcessing.from_file(build / "ir" / PREPROCESSOR_JSON)
    pixels = processing.pixels(sample_pictures())
    # transformers' pixels, hashed at build time: ours are the same bytes.
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == expected["clip_input_sha256"]

    # As the adapter compiles it: f32, which CPUs with AMX would otherwise run as bf16.
    compiled = ov.Core().compile_model(
        build / "ir" / MODEL_XML, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    outputs = compiled({"clip_input": pixels})
    for name in ("cos_dist", "special_cos_dist"):
        got = outputs[compiled.output(name)]
        np.testing.assert_allclose(got, np.array(expected[name]), rtol=0, atol=COSINE_TOLERANCE)


def test_each_image_of_a_batch_is_judged_alone(
    tiny_safety_checker_ir: SafetyCheckerBuild, openvino_cache_dir: Path
) -> None:
    checker = load_safety_checker(tiny_safety_checker_ir("equivalence"), "CPU", openvino_cache_dir)
    pictures = sample_pictures()

    together = checker.check(pictures)
    alone = [checker.check([picture])[0] for picture in pictures]
    reversed_batch = checker.check(pictures[::-1])[::-1]

    assert [v and v.flagged for v in together] == [True, False, False]
    for verdicts in (alone, reversed_batch):
        assert [v and v.flagged for v in verdicts] == [True, False, False]
        for a, b in zip(verdicts, together, strict=True):
            assert a is not None and b is not None
            np.testing.assert_allclose(a.concept_scores, b.concept_scores, atol=0.0011)
    assert checker.check([]) == []


@pytest.mark.parametrize(("variant", "flagged"), [("flag_all", True), ("flag_none", False)])
def test_the_threshold_variants_flag_everything_or_nothing(
    variant: str,
    flagged: bool,
    tiny_safety_checker_build: SafetyCheckerBuild,
    openvino_cache_dir: Path,
) -> None:
    build = tiny_safety_checker_build(variant)
    checker = load_safety_checker(build / "ir", "CPU", openvino_cache_dir)

    verdicts = checker.check(sample_pictures())

    assert [v and v.flagged for v in verdicts] == [flagged] * 3 == _expected(build)["flagged"]
    assert checker.name == "sd_checker"
    assert checker.device == "CPU"
    source = json.loads((build / "ir" / CHECKER_JSON).read_text(encoding="utf-8"))["source"]
    assert checker.version == source["sha256"][:12]

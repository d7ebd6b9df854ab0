"""The model's own safety checker (diffusers' StableDiffusionSafetyChecker), converted to
OpenVINO IR by `download-safety-checker`, run with `openvino` alone: no torch here.

SKELETON (lead): the helper who owns this file fills it in. The folder layout it reads
(the checker folder setting), written by `safety_checker_conversion.py`:
  openvino_model.xml/.bin     clip_input [N,3,224,224] f32 -> cos_dist [N,17],
                              special_cos_dist [N,3]
  safety_checker.json         thresholds (concept_embeds_weights, special_care_embeds_weights),
                              source (repo_id, revision, sha256), version, converted_with
  preprocessor_config.json    the repository's feature_extractor config (CLIPImageProcessor)
"""

from __future__ import annotations

from pathlib import Path

from domain.errors import Remedy, SafetyCheckerUnavailable

CHECKER_NAME = "sd_checker"
REMEDIES = (Remedy.DOWNLOAD_SAFETY_CHECKER, Remedy.SAFETY_CHECKER_OFF)


def load_safety_checker(directory: Path, device: str, cache_dir: Path) -> object:
    """The checker in ``directory``, compiled on ``device`` (CPU, with one WARNING, when
    that device fails). Raises ``SafetyCheckerUnavailable`` naming what is missing."""
    raise SafetyCheckerUnavailable(
        f"The safety checker is not in {directory}.",
        REMEDIES,
    )

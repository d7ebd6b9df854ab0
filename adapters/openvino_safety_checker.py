"""The model's own safety checker (diffusers' StableDiffusionSafetyChecker), converted to
OpenVINO IR by `download-safety-checker`, run with `openvino` alone: no torch here.

The folder it reads (the checker folder setting), written by `safety_checker_conversion.py`:
  openvino_model.xml/.bin     clip_input [N,3,224,224] f32 -> cos_dist [N,17],
                              special_cos_dist [N,3]
  safety_checker.json         thresholds (concept_embeds_weights, special_care_embeds_weights),
                              source (repo_id, revision, sha256), version, converted_with
  preprocessor_config.json    the repository's feature_extractor config (CLIPImageProcessor)
Per call: CLIP's preprocessing in numpy (`clip_image_processing.py`), one inference for the
batch, diffusers' decision on the cosines (`safety_decision.py`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import structlog

from adapters.clip_image_processing import ClipImageProcessing, UnsupportedPreprocessing
from adapters.openvino_devices import driver_remedy, shorten_runtime_error, unavailable_reason
from adapters.safety_checker_conversion import (
    CHECKER_JSON,
    INPUT_NAME,
    MODEL_XML,
    OUTPUT_NAMES,
    PREPROCESSOR_JSON,
)
from adapters.safety_decision import decide
from application.ports import RenderedImage
from application.safety_ports import SafetyVerdict
from domain.errors import Remedy, SafetyCheckerUnavailable

log = structlog.get_logger("safety")

CHECKER_NAME = "sd_checker"
REMEDIES = (Remedy.DOWNLOAD_SAFETY_CHECKER, Remedy.SAFETY_CHECKER_OFF)


@dataclass(frozen=True)
class _Description:
    concept_thresholds: tuple[float, ...]
    special_thresholds: tuple[float, ...]
    version: str


class OpenVINOSafetyChecker:
    """The SafetyChecker port on a compiled IR. One call at a time (the engine thread's);
    a lock keeps it so should another caller appear, since it shares one infer request."""

    def __init__(
        self,
        compiled: ov.CompiledModel,
        device: str,
        processing: ClipImageProcessing,
        description: _Description,
    ) -> None:
        self._request = compiled.create_infer_request()
        self._device = device
        self._processing = processing
        self._description = description
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return CHECKER_NAME

    @property
    def version(self) -> str:
        return self._description.version

    @property
    def device(self) -> str:
        return self._device

    def check(self, images: Sequence[RenderedImage]) -> list[SafetyVerdict | None]:
        if not images:
            return []
        pixels = self._processing.pixels(images)
        with self._lock:
            self._request.infer({INPUT_NAME: pixels})
            cos_dist, special_cos_dist = (
                np.array(self._request.get_tensor(name).data) for name in OUTPUT_NAMES
            )
        verdicts: list[SafetyVerdict | None] = list(
            decide(
                cos_dist,
                special_cos_dist,
                self._description.concept_thresholds,
                self._description.special_thresholds,
            )
        )
        return verdicts


def load_safety_checker(directory: Path, device: str, cache_dir: Path) -> OpenVINOSafetyChecker:
    """The checker in ``directory``, compiled on ``device`` (CPU, with one WARNING, when
    that device fails). Raises ``SafetyCheckerUnavailable`` naming what is missing."""
    if not directory.is_dir():
        raise SafetyCheckerUnavailable(f"The safety checker is not in {directory}.", REMEDIES)
    missing = [
        name
        for name in (MODEL_XML, MODEL_XML.replace(".xml", ".bin"), CHECKER_JSON, PREPROCESSOR_JSON)
        if not (directory / name).is_file()
    ]
    if missing:
        raise SafetyCheckerUnavailable(
            f"The safety checker in {directory} is incomplete: {', '.join(missing)} missing.",
            REMEDIES,
        )
    description = _read_description(directory)
    try:
        processing = ClipImageProcessing.from_file(directory / PREPROCESSOR_JSON)
    except (OSError, ValueError) as error:  # UnsupportedPreprocessing is a ValueError
        what = "unsupported" if isinstance(error, UnsupportedPreprocessing) else "unreadable"
        raise SafetyCheckerUnavailable(
            f"The safety checker's {PREPROCESSOR_JSON} in {directory} is {what}: {error}",
            REMEDIES,
        ) from error
    core = ov.Core()
    model = _read_model(core, directory, description)
    cache = _cache_dir(cache_dir, directory)
    compiled, used = _compile(core, model, device.strip().upper(), cache, directory)
    log.info("safety_checker_loaded", device=used, version=description.version)
    return OpenVINOSafetyChecker(compiled, used, processing, description)


def _read_description(directory: Path) -> _Description:
    path = directory / CHECKER_JSON
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        concepts = tuple(float(v) for v in data["concept_embeds_weights"])
        specials = tuple(float(v) for v in data["special_care_embeds_weights"])
        version = str(data["version"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SafetyCheckerUnavailable(
            f"The safety checker's {CHECKER_JSON} in {directory} is damaged "
            f"({type(error).__name__}: {error}).",
            REMEDIES,
        ) from error
    return _Description(concepts, specials, version)


def _read_model(core: ov.Core, directory: Path, description: _Description) -> ov.Model:
    try:
        model = core.read_model(directory / MODEL_XML)
        names = {name for port in model.outputs for name in port.get_names()}
        concepts = model.output(OUTPUT_NAMES[0]).get_partial_shape()[1]
        specials = model.output(OUTPUT_NAMES[1]).get_partial_shape()[1]
        model.input(INPUT_NAME)
    except RuntimeError as error:
        raise SafetyCheckerUnavailable(
            f"The safety checker's {MODEL_XML} in {directory} is damaged or not a checker "
            f"({shorten_runtime_error(error)}).",
            REMEDIES,
        ) from error
    expected = (len(description.concept_thresholds), len(description.special_thresholds))
    if not set(OUTPUT_NAMES) <= names or (concepts, specials) != expected:
        raise SafetyCheckerUnavailable(
            f"The safety checker in {directory} does not match its {CHECKER_JSON}: "
            f"the model has {concepts} and {specials} concepts, the thresholds "
            f"{expected[0]} and {expected[1]}.",
            REMEDIES,
        )
    return model


def _cache_dir(cache_dir: Path, directory: Path) -> Path | None:
    """The compile cache, never inside the checker folder (replaced on re-download)."""
    resolved = cache_dir.resolve()
    if resolved.is_relative_to(directory.resolve()):
        log.warning("safety_checker_cache_off", cache_dir=str(cache_dir), reason="inside checker")
        return None
    resolved.mkdir(parents=True, exist_ok=True)
    return resolved


def _compile(
    core: ov.Core, model: ov.Model, target: str, cache: Path | None, directory: Path
) -> tuple[ov.CompiledModel, str]:
    # f32 everywhere: GPUs default to f16 and recent CPUs to bf16, which move the cosines by
    # far more than the decision's 1e-3 rounding; the checker is small next to the UNet.
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    if cache is not None:
        config["CACHE_DIR"] = str(cache)
    if target != "CPU":
        cause = unavailable_reason(target)
        if cause is None:
            try:
                return core.compile_model(model, target, config), target
            except RuntimeError as error:
                cause = shorten_runtime_error(error)
        log.warning(
            "safety_checker_device_unavailable_using_cpu",
            target=target,
            cause=cause,
            remedies=[remedy.value for remedy in (driver_remedy(target), Remedy.USE_CPU)],
            device="CPU",
        )
    try:
        return core.compile_model(model, "CPU", config), "CPU"
    except RuntimeError as error:
        raise SafetyCheckerUnavailable(
            f"The safety checker in {directory} does not compile on CPU "
            f"({shorten_runtime_error(error)}).",
            REMEDIES,
        ) from error

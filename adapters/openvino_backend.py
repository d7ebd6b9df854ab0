"""The OpenVINO image backend: one class for every device (GPU, CPU, NPU, AUTO...).

Two engines sit behind a small internal interface: openvino-genai (the default; no
torch) and optimum-intel (optional; imported only when chosen). This module owns what
they share: choosing the engine, falling back to CPU when the device cannot be used,
retrying on CPU when the device fails mid-generation, progress and cancellation.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import numpy as np
import numpy.typing as npt
import structlog

from adapters.latent_preview import latents_to_jpeg
from adapters.model_layout import missing_files, pipeline_class
from adapters.openvino_devices import (
    available_devices,
    fix_for,
    shorten_runtime_error,
    unavailable_reason,
)
from application.ports import CancelCheck, PreviewSource, ProgressCallback, RenderedImage
from domain.errors import DomainError, GenerationCancelled
from domain.generation_request import GenerationRequest

__all__ = [
    "BackendLoadError",
    "OpenVINOBackend",
    "available_devices",
    "load_openvino_backend",
    "optimum_installed",
]

log = structlog.get_logger("openvino")

ENGINES = ("genai", "optimum")
FEW_STEP_DEFAULTS: dict[str, int | float] = {"num_inference_steps": 4, "guidance_scale": 1.0}
OPTIMUM_EXTRA = 'pip install -e ".[optimum]"'

LatentSource = Callable[[], npt.NDArray[np.float32]]
"""The current latents, ``(1, 4, h/8, w/8)``; valid only during the step callback."""

StepCallback = Callable[[int, int, "LatentSource | None"], bool]
"""``(index from 0, the engine's own step count, latents) -> True to stop``; never raises."""


class Engine(Protocol):
    """One loaded pipeline on one device."""

    @property
    def name(self) -> str:
        """``"genai"`` or ``"optimum"``."""

    @property
    def schedulers(self) -> tuple[str, ...]:
        """The request scheduler names this engine maps onto its own."""

    @property
    def device(self) -> str: ...

    @property
    def provenance(self) -> Mapping[str, str]:
        """Engine, versions, pipeline and default scheduler."""

    def run(
        self, request: GenerationRequest, seed: int, on_step: StepCallback
    ) -> npt.NDArray[np.uint8] | None:
        """An ``(height, width, 3)`` uint8 image, or None when ``on_step`` asked to stop."""

    def last_timings_ms(self) -> Mapping[str, float]:
        """The last run's stage times (see RenderedImage.timings_ms)."""


EngineLoader = Callable[[Path, str, Path], Engine]
"""``(model_dir, device, cache_dir) -> Engine``; raises RuntimeError when the device fails."""


class BackendLoadError(DomainError):
    """The backend cannot be loaded; the message says what to do (shown in /health)."""


class OpenVINOBackend:
    """Implements the ImageBackend port. ``reload(device)`` loads the same model elsewhere."""

    provider = "openvino"
    is_mock = False

    def __init__(
        self,
        engine: Engine,
        reload: Callable[[str], Engine],
        fallback_reason: str | None = None,
    ) -> None:
        self._engine = engine
        self._reload = reload
        self._fallback_reason = fallback_reason
        # The service already runs one generation at a time; this keeps a CPU reload
        # from racing a second caller (tests, a CLI) all the same.
        self._lock = threading.Lock()

    @property
    def engine(self) -> str:
        return self._engine.name

    @property
    def device(self) -> str:
        return self._engine.device

    @property
    def fallback_reason(self) -> str | None:
        return self._fallback_reason

    @property
    def schedulers(self) -> tuple[str, ...]:
        return self._engine.schedulers

    @property
    def provenance(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self._engine.provenance))

    @property
    def request_defaults(self) -> Mapping[str, int | float]:
        # A consistency model is made for a few steps without classifier-free guidance.
        if self._engine.provenance.get("scheduler") == "lcm":
            return MappingProxyType(FEW_STEP_DEFAULTS)
        return MappingProxyType({})

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> RenderedImage:
        steps = _Steps(request.num_inference_steps, on_progress, should_cancel)
        if should_cancel():
            raise GenerationCancelled("The generation was cancelled before it started.")
        with self._lock:
            pixels = self._run_retrying_on_cpu(request, seed, steps)
            timings = dict(self._engine.last_timings_ms())
        steps.finish()
        height, width = pixels.shape[:2]
        return RenderedImage(width, height, pixels.tobytes(), seed, timings)

    def _run_retrying_on_cpu(
        self, request: GenerationRequest, seed: int, steps: _Steps
    ) -> npt.NDArray[np.uint8]:
        engine = self._engine
        try:
            pixels = engine.run(request, seed, steps.on_step)
        except RuntimeError as error:
            steps.raise_callback_error()  # the caller's own exception, not the device's
            if engine.device == "CPU":
                raise
            cause = shorten_runtime_error(error)
            log.warning(
                "device_failed_retrying_on_cpu",
                device=engine.device,
                cause=cause,
                fix="the service now runs on CPU until restarted; if the device ran out of "
                "memory, use a smaller size, else update its driver; OPENVINO_DEVICE=CPU "
                "skips the device at start-up",
            )
            self._engine = self._reload("CPU")
            self._fallback_reason = f"{engine.device} failed during a generation: {cause}"
            pixels = self._engine.run(request, seed, steps.on_step)
        steps.raise_callback_error()
        if pixels is None or steps.cancelled:
            raise GenerationCancelled(f"The generation was cancelled at step {steps.reported}.")
        return pixels


@dataclass
class _Steps:
    """Maps an engine's step callbacks onto the port's contract.

    ``on_progress(step, total)`` is called exactly once for each step 1..total, total
    being the steps the request asked for, whatever the engine counts (PNDM in both
    engines calls back N + 1 times for N steps), with a preview of the latents when the
    engine passes them. ``should_cancel`` is polled at every engine callback.
    Exceptions from either are kept and re-raised after the engine returns: raising
    inside a genai callback would abort the process.
    """

    total: int
    on_progress: ProgressCallback
    should_cancel: CancelCheck
    reported: int = 0
    cancelled: bool = False
    error: BaseException | None = field(default=None, repr=False)

    def on_step(self, index: int, engine_total: int, latents: LatentSource | None) -> bool:
        try:
            done = min(self.total, (index + 1) * self.total // max(engine_total, 1))
            preview = None if latents is None else partial(latent_preview, latents)
            self._report_up_to(done, preview)
            self.cancelled = self.cancelled or self.should_cancel()
        except BaseException as error:
            self.error = error
            return True
        return self.cancelled

    def finish(self) -> None:
        self._report_up_to(self.total, None)

    def raise_callback_error(self) -> None:
        if self.error is not None:
            raise self.error

    def _report_up_to(self, done: int, preview: PreviewSource | None) -> None:
        while self.reported < done:
            self.reported += 1
            self.on_progress(self.reported, self.total, preview)


def latent_preview(latents: LatentSource) -> bytes:
    """A small JPEG of what the latents will roughly decode to, without the VAE."""
    return latents_to_jpeg(latents())


def load_openvino_backend(
    model_dir: Path,
    device: str,
    cache_dir: Path,
    engine: str = "genai",
    *,
    static_shape: bool = False,
    engine_loader: EngineLoader | None = None,
) -> OpenVINOBackend:
    """Load the model on ``device``, or on CPU with one WARNING when that device fails.

    Blocking (seconds for SD 1.5, minutes for a first GPU compile); call it off the
    event loop. ``static_shape`` compiles genai for the default request's shape (the
    optimum engine stays dynamic). ``engine_loader`` replaces the real engines in tests.
    """
    target = device.strip().upper()
    cache_dir = _checked_cache_dir(cache_dir, model_dir)
    if engine_loader is None:
        engine = choose_engine(model_dir, engine)
        engine_loader = _real_loader(engine, model_dir, static_shape)
    load = partial(_load_on, engine_loader, model_dir, cache_dir)
    if target == "CPU":
        return OpenVINOBackend(load("CPU"), load)
    cause = unavailable_reason(target)
    if cause is None:
        try:
            return OpenVINOBackend(load(target), load)
        except RuntimeError as error:
            cause = shorten_runtime_error(error)
    log.warning(
        "device_unavailable_using_cpu",
        target=target,
        cause=cause,
        fix=fix_for(target),
        device="CPU",
    )
    return OpenVINOBackend(load("CPU"), load, fallback_reason=f"{target} unavailable: {cause}")


def choose_engine(model_dir: Path, requested: str) -> str:
    """The engine that can load this model: older optimum exports need optimum."""
    if requested not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {requested!r}")
    exported_by = pipeline_class(model_dir) or ""
    needs_optimum = exported_by.startswith("OV")  # e.g. OVStableDiffusionPipeline
    if requested == "genai" and not needs_optimum:
        return "genai"
    if not optimum_installed():
        why = (
            f"The model in {model_dir} is an older optimum-intel export ({exported_by}), "
            "which openvino-genai cannot load"
            if needs_optimum
            else "OPENVINO_ENGINE=optimum is set"
        )
        raise BackendLoadError(
            f"{why}, but the optimum engine is not installed. Install it with "
            f"{OPTIMUM_EXTRA}, or download a current export of the model."
        )
    if requested == "genai":
        log.info(
            "engine_switched",
            engine="optimum",
            pipeline=exported_by,
            reason="older optimum-intel export; openvino-genai cannot load it",
        )
    return "optimum"


def _real_loader(engine: str, model_dir: Path, static_shape: bool) -> EngineLoader:
    if engine == "optimum":
        try:
            from adapters.optimum_engine import load_optimum_engine
        except ImportError as error:  # e.g. a CUDA torchvision beside the CPU torch
            raise BackendLoadError(
                f"The optimum engine is installed but fails to import ({error}). "
                f"Reinstall it with {OPTIMUM_EXTRA}."
            ) from error
        return load_optimum_engine
    missing = missing_files(model_dir)
    if missing:  # genai's own errors for these come late or not at all
        raise BackendLoadError(
            f"The model in {model_dir} lacks {', '.join(missing)}; download it again."
        )
    from adapters.openvino_genai_engine import load_genai_engine

    return partial(load_genai_engine, static_shape=static_shape)


def _load_on(loader: EngineLoader, model_dir: Path, cache_dir: Path, device: str) -> Engine:
    log.info("model_loading", device=device, model_dir=str(model_dir))
    return loader(model_dir, device, cache_dir)


def _checked_cache_dir(cache_dir: Path, model_dir: Path) -> Path:
    cache_dir = cache_dir.resolve()
    if cache_dir.is_relative_to(model_dir.resolve()):
        # Model folders are replaced on re-download; the blobs are large and per device.
        raise BackendLoadError(f"OV_CACHE_DIR ({cache_dir}) must not be inside the model folder.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    return cache_dir


def optimum_installed() -> bool:
    """Whether the optional optimum engine's packages are installed (without importing them)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("optimum.intel", "diffusers", "torch")
        )
    except ModuleNotFoundError:  # find_spec imports "optimum" to look inside it
        return False

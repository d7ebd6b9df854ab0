"""The OpenVINO image backend: one class for every device (GPU, CPU, NPU, AUTO...).

Two engines sit behind a small interface (`openvino_engine.Engine`): openvino-genai (the
default; no torch) and optimum-intel (optional; imported only when chosen). This class
owns what they share at run time: retrying on CPU when the device fails mid-generation,
progress and cancellation. `openvino_loading` chooses the engine and the device.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import structlog

from adapters.engine_steps import EngineSteps
from adapters.openvino_devices import driver_remedy, shorten_runtime_error
from adapters.openvino_engine import Engine, edit_arrays
from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from domain.errors import GenerationCancelled, Problem, Remedy
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

log = structlog.get_logger("openvino")

FEW_STEP_DEFAULTS: dict[str, int | float] = {"num_inference_steps": 4, "guidance_scale": 1.0}


class OpenVINOBackend:
    """Implements the ImageBackend port. ``reload(device)`` loads the same model elsewhere."""

    provider = "openvino"
    is_mock = False

    def __init__(
        self,
        engine: Engine,
        reload: Callable[[str], Engine],
        fallback_reason: Problem | None = None,
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
    def fallback_reason(self) -> Problem | None:
        return self._fallback_reason

    @property
    def schedulers(self) -> tuple[str, ...]:
        return self._engine.schedulers

    @property
    def provenance(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self._engine.provenance))

    @property
    def modes(self) -> frozenset[EditMode]:
        return self._engine.modes

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
        edit: EditImages | None = None,
    ) -> RenderedImage:
        edit_arrays(request, edit)  # a misfit (or a 0-step edit) fails before any work
        steps = EngineSteps(request.denoising_steps, on_progress, should_cancel)
        if should_cancel():
            raise GenerationCancelled("The generation was cancelled before it started.")
        with self._lock:
            pixels = self._run_retrying_on_cpu(request, seed, steps, edit)
            timings = dict(self._engine.last_timings_ms())
        steps.finish()
        height, width = pixels.shape[:2]
        return RenderedImage(width, height, pixels.tobytes(), seed, timings)

    def _run_retrying_on_cpu(
        self,
        request: GenerationRequest,
        seed: int,
        steps: EngineSteps,
        edit: EditImages | None,
    ) -> npt.NDArray[np.uint8]:
        engine = self._engine
        try:
            pixels = engine.run(request, seed, steps.on_step, edit)
        except RuntimeError as error:
            steps.raise_callback_error()  # the caller's own exception, not the device's
            if engine.device == "CPU":
                raise
            cause = shorten_runtime_error(error)
            # Out of memory or a driver fault: the next request could fail the same way,
            # so the service stays on CPU until restarted.
            reason = Problem(
                f"{engine.device} failed during a generation: {cause}",
                (Remedy.SMALLER_IMAGE, driver_remedy(engine.device), Remedy.USE_CPU),
            )
            log.warning(
                "device_failed_retrying_on_cpu",
                device=engine.device,
                cause=cause,
                remedies=[remedy.value for remedy in reason.remedies],
            )
            self._engine = self._reload("CPU")
            self._fallback_reason = reason
            pixels = self._engine.run(request, seed, steps.on_step, edit)
        steps.raise_callback_error()
        if pixels is None or steps.cancelled:
            raise GenerationCancelled(f"The generation was cancelled at step {steps.reported}.")
        return pixels

"""The default engine: openvino-genai's C++ ``Text2ImagePipeline``.

Nothing on this path imports torch, diffusers or optimum: the default install has none.

With ``static_shape`` the pipeline is compiled for the default request's exact shape
(512x512, one image, with or without classifier-free guidance), which the CPU runs faster
than the dynamic pipeline (see BENCHMARKS.md). A request of another shape swaps in a
dynamic pipeline, and the next default request swaps the static one back: each swap is
a compile, read from the compile cache after the first time. One pipeline is held at a time,
so memory stays that of one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import openvino_genai as ov_genai
import structlog

from adapters.model_layout import pipeline_class
from adapters.openvino_engine import (
    guided,
    negative_prompt_argument,
    pipeline_takes_negative_prompt,
)
from adapters.openvino_schedulers import GENAI_TYPES, offered, provenance
from adapters.stage_timer import timings_ms
from domain.generation_request import DEFAULT_GUIDANCE, DEFAULT_SIZE, GenerationRequest

if TYPE_CHECKING:
    from adapters.openvino_engine import StepCallback
    from application.ports import EditImages

log = structlog.get_logger("openvino")


@dataclass(frozen=True)
class Shape:
    """What a static pipeline is compiled for; any guidance scale on the same side of 1."""

    width: int
    height: int
    guided: bool  # classifier-free guidance doubles the UNet's batch


class GenaiEngine:
    name = "genai"
    schedulers = offered(GENAI_TYPES)

    def __init__(
        self, model_dir: Path, device: str, cache_dir: Path, static_shape: bool = False
    ) -> None:
        self._model_dir = model_dir
        self._cache_dir = cache_dir
        self._scheduler_config = str(model_dir / "scheduler" / "scheduler_config.json")
        self._device = device
        self._active_scheduler: str | None = None  # None: the model's own
        # An LCM pipeline never doubles its batch for guidance: one static shape for all.
        self.takes_negative_prompt = pipeline_takes_negative_prompt(pipeline_class(model_dir))
        self.provenance = provenance(model_dir, "openvino-genai", "openvino-genai")
        guidance = DEFAULT_GUIDANCE if self.takes_negative_prompt else 1.0
        self._static: Shape | None = (
            self._shape_of(DEFAULT_SIZE, DEFAULT_SIZE, guidance) if static_shape else None
        )
        self._shape: Shape | None = None  # what the loaded pipeline is compiled for
        self._pipe: ov_genai.Text2ImagePipeline | None = None
        self._pipe = self._compile(self._static)

    @property
    def device(self) -> str:
        return self._device

    def last_timings_ms(self) -> dict[str, float]:
        # Aggregates are in ms, raw per-call durations in µs; both reset per generate().
        if self._pipe is None:
            return {}
        metrics = self._pipe.get_performance_metrics()
        return timings_ms(
            sum(metrics.get_text_encoder_infer_duration().values()) / 1e3,
            [duration / 1e6 for duration in metrics.raw_metrics.unet_inference_durations],
            metrics.get_vae_decoder_infer_duration() / 1e3,
        )

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
        edit: EditImages | None = None,
    ) -> npt.NDArray[np.uint8] | None:
        if edit is not None:
            raise NotImplementedError("image-to-image and inpainting come next")
        shape = self._shape_of(request.width, request.height, request.guidance_scale)
        wanted = self._static if shape == self._static else None
        if self._pipe is None or wanted != self._shape:
            self._pipe = self._compile(wanted)
        pipe = self._pipe
        self._use_scheduler(pipe, request.scheduler)

        def callback(step: int, num_steps: int, latent: Any) -> bool:
            # Runs inside C++: an exception escaping here aborts the whole process
            # (SIGABRT). The backend's on_step never raises; returning True stops.
            return on_step(step, num_steps, lambda: np.array(latent.data, dtype=np.float32))

        tensor = pipe.generate(
            request.prompt,
            width=request.width,
            height=request.height,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=1,
            rng_seed=seed,
            callback=callback,
            **negative_prompt_argument(request, self),
        )
        images = tensor.data
        if images.ndim != 4:  # stopped by the callback: a shapeless tensor comes back
            return None
        return np.ascontiguousarray(images[0], dtype=np.uint8)

    def _shape_of(self, width: int, height: int, guidance_scale: float) -> Shape:
        return Shape(width, height, guided(guidance_scale, self.takes_negative_prompt))

    def _compile(self, shape: Shape | None) -> ov_genai.Text2ImagePipeline:
        """A pipeline for ``shape``, or a dynamic one for None; replaces the loaded one."""
        started = time.perf_counter()
        self._pipe = None  # free the old pipeline's memory before compiling the new one
        model, cache = str(self._model_dir), str(self._cache_dir)
        if shape is None:
            pipe = ov_genai.Text2ImagePipeline(model, self._device, CACHE_DIR=cache)
        else:
            pipe = ov_genai.Text2ImagePipeline(model)
            guidance = DEFAULT_GUIDANCE if shape.guided else 1.0
            pipe.reshape(1, shape.height, shape.width, guidance)
            pipe.compile(self._device, CACHE_DIR=cache)
        self._shape = shape
        self._active_scheduler = None  # a new pipeline has the model's own
        log.info(
            "pipeline_compiled",
            device=self._device,
            shape="dynamic" if shape is None else f"{shape.width}x{shape.height}",
            guided=None if shape is None else shape.guided,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return pipe

    def _use_scheduler(self, pipe: ov_genai.Text2ImagePipeline, name: str | None) -> None:
        # Swapped only on change, and swapped back for requests that want the model's
        # own, so one request's choice never leaks into the next.
        if name == self._active_scheduler:
            return
        if name is None:
            scheduler = ov_genai.Scheduler.from_config(self._scheduler_config)
        else:
            kind = getattr(ov_genai.Scheduler.Type, GENAI_TYPES[name])
            scheduler = ov_genai.Scheduler.from_config(self._scheduler_config, kind)
        pipe.set_scheduler(scheduler)
        self._active_scheduler = name


def load_genai_engine(
    model_dir: Path, device: str, cache_dir: Path, *, static_shape: bool = False
) -> GenaiEngine:
    """Read and compile the pipeline on ``device``; compiled blobs are cached in ``cache_dir``."""
    return GenaiEngine(model_dir, device, cache_dir, static_shape)

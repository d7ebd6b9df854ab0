"""The default engine: openvino-genai's C++ pipelines (text, image-to-image, inpainting).

Nothing on this path imports torch, diffusers or optimum: the default install has none.

One loaded set of weights serves the three modes (see genai_pipelines). With
``static_shape`` it is compiled for the default request's exact shape (512x512, one image,
with or without classifier-free guidance), which the CPU runs faster than the dynamic
pipeline (see BENCHMARKS.md), for every mode at once. A request of another shape swaps in
a dynamic compile, and the next default request swaps the static one back: each swap is a
compile, read from the compile cache after the first time. One compiled set is held at a
time, so memory stays that of one; changing the mode compiles nothing.

Steps from an image: genai's schedulers run ``int(steps * strength)`` of ``steps``, except
its LCM scheduler (the model's own or the request's "lcm", on any model), which runs all
it is given over a schedule shortened to the strength; that one is given
``int(steps * strength)`` steps (see ``step_arguments``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import openvino as ov

from adapters.genai_pipelines import GenaiPipeline, GenaiPipelines, Shape
from adapters.model_layout import pipeline_class
from adapters.openvino_engine import (
    edit_arrays,
    guided,
    negative_prompt_argument,
    pipeline_takes_negative_prompt,
    served_modes,
    step_arguments,
)
from adapters.openvino_schedulers import GENAI_TYPES, offered, provenance
from adapters.stage_timer import timings_ms
from domain.generation_request import DEFAULT_GUIDANCE, GenerationRequest
from domain.input_image import EditMode
from domain.output_size import DEFAULT_SIZE

if TYPE_CHECKING:
    from adapters.openvino_engine import StepCallback
    from application.ports import EditImages


class GenaiEngine:
    name = "genai"
    schedulers = offered(GENAI_TYPES)

    def __init__(
        self, model_dir: Path, device: str, cache_dir: Path, static_shape: bool = False
    ) -> None:
        self._device = device
        # An LCM pipeline never doubles its batch for guidance: one static shape for all.
        self.takes_negative_prompt = pipeline_takes_negative_prompt(pipeline_class(model_dir))
        self.provenance = provenance(model_dir, "openvino-genai", "openvino-genai")
        guidance = DEFAULT_GUIDANCE if self.takes_negative_prompt else 1.0
        self._static: Shape | None = (
            self._shape_of(DEFAULT_SIZE, DEFAULT_SIZE, guidance) if static_shape else None
        )
        self.pipelines = GenaiPipelines(model_dir, device, cache_dir)
        """The compiled set and the pipeline of each mode built on it (its ``compiles``
        and ``modes`` tell tests and the bench what was compiled and built)."""
        self.pipelines.compile(self._static)
        self.modes = served_modes(self.pipelines.edits)
        self._last: tuple[EditMode, GenaiPipeline] | None = None

    @property
    def device(self) -> str:
        return self._device

    def last_timings_ms(self) -> dict[str, float]:
        # Aggregates are in ms, raw per-call durations in µs; both reset per generate().
        if self._last is None:
            return {}
        mode, pipe = self._last
        metrics = pipe.get_performance_metrics()
        return timings_ms(
            sum(metrics.get_text_encoder_infer_duration().values()) / 1e3,
            [duration / 1e6 for duration in metrics.raw_metrics.unet_inference_durations],
            metrics.get_vae_decoder_infer_duration() / 1e3,
            None
            if mode is EditMode.TEXT_TO_IMAGE
            else metrics.get_vae_encoder_infer_duration() / 1e3,
        )

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
        edit: EditImages | None = None,
    ) -> npt.NDArray[np.uint8] | None:
        init, mask = edit_arrays(request, edit)
        shape = self._shape_of(request.width, request.height, request.guidance_scale)
        wanted = self._static if shape == self._static else None

        def callback(step: int, num_steps: int, latent: Any) -> bool:
            # Runs inside C++: an exception escaping here aborts the whole process
            # (SIGABRT). The backend's on_step never raises; returning True stops.
            return on_step(step, num_steps, lambda: np.array(latent.data, dtype=np.float32))

        options: dict[str, Any] = {
            "width": request.width,
            "height": request.height,
            **step_arguments(request, self._lcm_schedule(request.scheduler)),
            "guidance_scale": request.guidance_scale,
            "num_images_per_prompt": 1,
            "rng_seed": seed,
            "callback": callback,
            **negative_prompt_argument(request, self),
        }
        pipe: GenaiPipeline
        if init is None:
            pipe = self.pipelines.text_to_image(wanted, request.scheduler)
            self._last = (request.mode, pipe)
            tensor = pipe.generate(request.prompt, **options)
        else:
            # NHWC uint8, as genai reads images; copies, since ov.Tensor wraps its array.
            image = ov.Tensor(np.array(init[None]))
            if mask is None:
                pipe = self.pipelines.image_to_image(wanted, request.scheduler)
                self._last = (request.mode, pipe)
                tensor = pipe.generate(request.prompt, image, **options)
            else:
                pipe = self.pipelines.inpainting(wanted, request.scheduler)
                self._last = (request.mode, pipe)
                # One grey channel: genai takes (1, h, w, 1) as well as RGB, 255 repaints.
                grey = ov.Tensor(np.array(mask[None, :, :, None]))
                tensor = pipe.generate(request.prompt, image, grey, **options)
        images = tensor.data
        if images.ndim != 4:  # stopped by the callback: a shapeless tensor comes back
            return None
        return np.ascontiguousarray(images[0], dtype=np.uint8)

    def _lcm_schedule(self, scheduler: str | None) -> bool:
        return (scheduler or self.provenance["scheduler"]) == "lcm"

    def _shape_of(self, width: int, height: int, guidance_scale: float) -> Shape:
        return Shape(width, height, guided(guidance_scale, self.takes_negative_prompt))


def load_genai_engine(
    model_dir: Path, device: str, cache_dir: Path, *, static_shape: bool = False
) -> GenaiEngine:
    """Read and compile the pipelines on ``device``; compiled blobs are cached in ``cache_dir``."""
    return GenaiEngine(model_dir, device, cache_dir, static_shape)

"""The default engine: openvino-genai's C++ ``Text2ImagePipeline``.

Nothing on this path imports torch, diffusers or optimum: the default install has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import openvino_genai as ov_genai

from adapters.model_layout import pipeline_class
from adapters.openvino_schedulers import provenance
from domain.generation_request import GenerationRequest

if TYPE_CHECKING:
    from adapters.openvino_backend import StepCallback

_TYPES = ov_genai.Scheduler.Type
# Request names -> genai's scheduler types (genai also has LMS, but no DPM++).
SCHEDULER_TYPES = {
    "pndm": _TYPES.PNDM,
    "euler": _TYPES.EULER_DISCRETE,
    "euler_a": _TYPES.EULER_ANCESTRAL_DISCRETE,
    "ddim": _TYPES.DDIM,
    "lcm": _TYPES.LCM,
}

LCM_PIPELINES = ("LatentConsistencyModelPipeline", "OVLatentConsistencyModelPipeline")


class GenaiEngine:
    name = "genai"
    schedulers = tuple(SCHEDULER_TYPES)

    def __init__(self, pipe: ov_genai.Text2ImagePipeline, model_dir: Path, device: str) -> None:
        self._pipe = pipe
        self._scheduler_config = str(model_dir / "scheduler" / "scheduler_config.json")
        self._device = device
        self._active_scheduler: str | None = None  # None: the model's own
        # genai's LCM pipeline rejects a negative prompt outright (LCM runs without CFG).
        self.takes_negative_prompt = pipeline_class(model_dir) not in LCM_PIPELINES
        self.provenance = provenance(model_dir, "openvino-genai", "openvino-genai")

    @property
    def device(self) -> str:
        return self._device

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
    ) -> npt.NDArray[np.uint8] | None:
        self._use_scheduler(request.scheduler)

        def callback(step: int, num_steps: int, latent: Any) -> bool:
            # Runs inside C++: an exception escaping here aborts the whole process
            # (SIGABRT). The backend's on_step never raises; returning True stops.
            return on_step(step, num_steps, lambda: np.array(latent.data, dtype=np.float32))

        # Without CFG (guidance <= 1) a negative prompt has no effect, and genai rejects it.
        optional = {}
        if request.negative_prompt and self.takes_negative_prompt and request.guidance_scale > 1:
            optional["negative_prompt"] = request.negative_prompt
        tensor = self._pipe.generate(
            request.prompt,
            width=request.width,
            height=request.height,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=1,
            rng_seed=seed,
            callback=callback,
            **optional,
        )
        images = tensor.data
        if images.ndim != 4:  # stopped by the callback: a shapeless tensor comes back
            return None
        return np.ascontiguousarray(images[0], dtype=np.uint8)

    def _use_scheduler(self, name: str | None) -> None:
        # Swapped only on change, and swapped back for requests that want the model's
        # own, so one request's choice never leaks into the next.
        if name == self._active_scheduler:
            return
        if name is None:
            scheduler = ov_genai.Scheduler.from_config(self._scheduler_config)
        else:
            scheduler = ov_genai.Scheduler.from_config(
                self._scheduler_config, SCHEDULER_TYPES[name]
            )
        self._pipe.set_scheduler(scheduler)
        self._active_scheduler = name


def load_genai_engine(model_dir: Path, device: str, cache_dir: Path) -> GenaiEngine:
    """Read and compile the pipeline on ``device``; compiled blobs are cached in ``cache_dir``."""
    pipe = ov_genai.Text2ImagePipeline(str(model_dir), device, CACHE_DIR=str(cache_dir))
    return GenaiEngine(pipe, model_dir, device)

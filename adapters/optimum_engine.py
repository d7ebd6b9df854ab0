"""The optional engine: optimum-intel's ``OVDiffusionPipeline`` (needs torch and diffusers).

Imported only when the optimum engine is chosen (``pip install -e ".[optimum]"``). It
also loads older exports whose ``model_index.json`` names optimum's own classes.
Image-to-image and inpainting run optimum's Img2Img and Inpaint pipelines over the text
pipeline's compiled models (see optimum_pipelines), built on first use.

Steps from an image: diffusers' SD pipelines run ``int(steps * strength)`` of ``steps``,
whatever the scheduler (LCMScheduler on an SD model too); its LCM image-to-image pipeline
runs all it is given over a schedule shortened to the strength, so it is given
``int(steps * strength)`` (see ``step_arguments``). diffusers' LCM pipelines run
LCMScheduler only (they pass it arguments and unpack results no other scheduler has), so
an LCM model offers "lcm" alone here and other names are refused before a job is queued.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import diffusers
import numpy as np
import numpy.typing as npt
import torch
from optimum.intel import OVDiffusionPipeline
from PIL import Image

from adapters.model_layout import pipeline_class
from adapters.openvino_engine import (
    edit_arrays,
    negative_prompt_argument,
    pipeline_takes_negative_prompt,
    served_modes,
    step_arguments,
)
from adapters.openvino_schedulers import DIFFUSERS_CLASSES, offered, provenance
from adapters.optimum_pipelines import edit_pipeline, runs_lcm_schedule
from adapters.stage_timer import (
    TEXT_ENCODER,
    UNET,
    VAE_DECODE,
    VAE_ENCODE,
    StageTimer,
    timings_ms,
)
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

if TYPE_CHECKING:
    from adapters.openvino_engine import StepCallback
    from application.ports import EditImages


class _Stopped(Exception):
    """Raised from the step callback: diffusers lets it propagate, skipping the VAE decode."""


class OptimumEngine:
    name = "optimum"

    def __init__(self, pipe: Any, model_dir: Path, device: str) -> None:
        self._pipe = pipe
        self._device = device
        self._default_scheduler = pipe.scheduler
        self._swapped: dict[str, Any] = {}
        self.takes_negative_prompt = pipeline_takes_negative_prompt(pipeline_class(model_dir))
        self.schedulers = offered(DIFFUSERS_CLASSES) if self.takes_negative_prompt else ("lcm",)
        self.modes = served_modes(pipe.vae_encoder is not None)
        pipe.set_progress_bar_config(disable=True)
        self._timer = StageTimer()
        self._timer.wrap_pipeline(pipe)  # the edit pipelines run the same, wrapped, parts
        self._edit_pipes: dict[EditMode, Any] = {}
        self._timings: dict[str, float] = {}
        self.provenance = provenance(model_dir, "optimum-intel", "optimum-intel")

    @property
    def device(self) -> str:
        return self._device

    def last_timings_ms(self) -> dict[str, float]:
        return self._timings

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
        edit: EditImages | None = None,
    ) -> npt.NDArray[np.uint8] | None:
        init, mask = edit_arrays(request, edit)
        pipe = self._pipe if init is None else self._edit_pipe(request.mode)
        # Set on every call, so a swap never leaks into a request for the model's own.
        pipe.scheduler = self._scheduler(request.scheduler)
        self._timer.take()  # drop anything from outside this call

        def callback(pipeline: Any, index: int, _timestep: Any, tensors: Any) -> Any:
            # num_timesteps is the loop length: PNDM runs N + 1 evaluations for N steps;
            # from an image N is the reduced count.
            latents = tensors.get("latents")  # in callback_on_step_end_tensor_inputs by default
            source = None if latents is None else lambda: latents.detach().float().cpu().numpy()
            if on_step(index, pipeline.num_timesteps, source):
                raise _Stopped
            return tensors

        options: dict[str, Any] = {
            "prompt": request.prompt,
            **step_arguments(request, runs_lcm_schedule(pipe)),
            "guidance_scale": request.guidance_scale,
            "num_images_per_prompt": 1,
            "generator": torch.Generator().manual_seed(seed),
            "output_type": "np",
            "callback_on_step_end": callback,
            **negative_prompt_argument(request, self),
        }
        if init is not None:
            # Image-to-image takes its size from the image (it has no width/height).
            options["image"] = Image.fromarray(init)
        if init is None or mask is not None:
            options |= {"width": request.width, "height": request.height}
        if mask is not None:
            options["mask_image"] = Image.fromarray(mask)  # (h, w) uint8: mode L
        try:
            output = pipe(**options)
        except _Stopped:
            return None
        seconds = self._timer.take()
        self._timings = timings_ms(
            sum(seconds[TEXT_ENCODER]),
            seconds[UNET],
            sum(seconds[VAE_DECODE]),
            None if init is None else sum(seconds[VAE_ENCODE]),
        )
        image = np.clip(output.images[0], 0.0, 1.0)
        # The same rounding as diffusers' numpy_to_pil, so PNGs match diffusers' own.
        return np.ascontiguousarray((image * 255).round().astype(np.uint8))

    def _edit_pipe(self, mode: EditMode) -> Any:
        if mode not in self._edit_pipes:
            self._edit_pipes[mode] = edit_pipeline(self._pipe, mode)
        return self._edit_pipes[mode]

    def _scheduler(self, name: str | None) -> Any:
        if name is None:
            return self._default_scheduler
        if name not in self._swapped:
            config = self._default_scheduler.config
            scheduler_class = getattr(diffusers, DIFFUSERS_CLASSES[name])
            self._swapped[name] = scheduler_class.from_config(config)
        return self._swapped[name]


def load_optimum_engine(model_dir: Path, device: str, cache_dir: Path) -> OptimumEngine:
    """Read and compile the pipeline on ``device``; compiled blobs are cached in ``cache_dir``.

    CACHE_DIR is always set: on GPU optimum would otherwise cache inside the model folder.
    """
    pipe = OVDiffusionPipeline.from_pretrained(
        str(model_dir),
        device=device,
        ov_config={"CACHE_DIR": str(cache_dir)},
        local_files_only=True,  # a local folder; never ask the hub
        compile=False,
    )
    pipe.compile()  # now, not at the first image: device errors surface while loading
    return OptimumEngine(pipe, model_dir, device)

"""The raw engines as their own users run them, each with per-stage timings.

Imported only inside a worker subprocess. openvino-genai reports its own stage times
(``get_performance_metrics``); diffusers and optimum-intel get timing wrappers on the
text encoder, the UNet and the VAE decode, the three calls that take the time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from adapters.stage_timer import TEXT_ENCODER, UNET, VAE_DECODE, StageTimer
from bench.configs import Params


@dataclass(frozen=True)
class Stages:
    text_encoder_seconds: float
    unet_call_seconds: list[float]  # one entry per UNet evaluation (batch 2 under CFG)
    vae_decode_seconds: float


class Runner(Protocol):
    def generate(self, params: Params) -> tuple[Image.Image, Stages]: ...


class DiffusersRunner:
    """A diffusers-style pipeline: stock diffusers in PyTorch, or optimum-intel's."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self._torch: Any = importlib.import_module("torch")
        pipe.set_progress_bar_config(disable=True)
        self._timer = StageTimer()
        self._timer.wrap_pipeline(pipe)

    def generate(self, params: Params) -> tuple[Image.Image, Stages]:
        self._timer.take()  # drop anything from outside this call
        output = self._pipe(
            prompt=params.prompt,
            width=params.width,
            height=params.height,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance_scale,
            generator=self._torch.Generator().manual_seed(params.seed),
            output_type="pil",
        )
        image: Image.Image = output.images[0]
        seconds = self._timer.take()
        stages = Stages(sum(seconds[TEXT_ENCODER]), list(seconds[UNET]), sum(seconds[VAE_DECODE]))
        return image, stages


class GenaiRunner:
    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe

    def generate(self, params: Params) -> tuple[Image.Image, Stages]:
        tensor = self._pipe.generate(
            params.prompt,
            width=params.width,
            height=params.height,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance_scale,
            rng_seed=params.seed,
        )
        # Aggregates are in ms, raw per-call durations in µs; both reset per generate().
        metrics = self._pipe.get_performance_metrics()
        stages = Stages(
            sum(metrics.get_text_encoder_infer_duration().values()) / 1e3,
            [d / 1e6 for d in metrics.raw_metrics.unet_inference_durations],
            metrics.get_vae_decoder_infer_duration() / 1e3,
        )
        return Image.fromarray(tensor.data[0]), stages


_MODULES = {
    "stock_diffusers_fp32": ("torch", "diffusers"),
    "optimum_int8": ("torch", "diffusers", "optimum.intel"),
    "optimum_int8_static": ("torch", "diffusers", "optimum.intel"),
    "genai_int8_dynamic": ("openvino_genai",),
    "genai_int8_static": ("openvino_genai",),
    "genai_fp16_static": ("openvino_genai",),
}


def import_engine(config: str) -> None:
    """Import ``config``'s libraries, so that load time is the model's, not Python's."""
    for name in _MODULES[config]:
        importlib.import_module(name)


def load(config: str, model_dir: Path, cache_dir: Path, device: str, params: Params) -> Runner:
    """Load (and compile) ``config``'s pipeline: the part measured as load time."""
    if config == "stock_diffusers_fp32":
        torch: Any = importlib.import_module("torch")
        diffusers: Any = importlib.import_module("diffusers")
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            str(model_dir), torch_dtype=torch.float32, local_files_only=True
        )
        return DiffusersRunner(pipe)
    if config in ("optimum_int8", "optimum_int8_static"):
        optimum: Any = importlib.import_module("optimum.intel")
        pipe = optimum.OVDiffusionPipeline.from_pretrained(
            str(model_dir),
            device=device,
            ov_config={"CACHE_DIR": str(cache_dir)},
            local_files_only=True,
            compile=False,
        )
        if config == "optimum_int8_static":  # one image per prompt; the UNet batch doubles
            pipe.reshape(1, params.height, params.width, num_images_per_prompt=1)
        pipe.compile()
        return DiffusersRunner(pipe)
    if config in ("genai_int8_dynamic", "genai_int8_static", "genai_fp16_static"):
        genai: Any = importlib.import_module("openvino_genai")
        if config == "genai_int8_dynamic":
            pipe = genai.Text2ImagePipeline(str(model_dir), device, CACHE_DIR=str(cache_dir))
            return GenaiRunner(pipe)
        pipe = genai.Text2ImagePipeline(str(model_dir))
        pipe.reshape(1, params.height, params.width, params.guidance_scale)
        pipe.compile(device, CACHE_DIR=str(cache_dir))
        return GenaiRunner(pipe)
    raise ValueError(f"not a raw configuration: {config!r}")

"""The raw engines as their own users run them, each with per-stage timings.

Imported only inside a worker subprocess. openvino-genai reports its own stage times
(``get_performance_metrics``); diffusers and optimum-intel get timing wrappers on the
text encoder, the UNet and the VAE decode, the three calls that take the time.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from bench.configs import Params


@dataclass(frozen=True)
class Stages:
    text_encoder_seconds: float
    unet_call_seconds: list[float]  # one entry per UNet evaluation (batch 2 under CFG)
    vae_decode_seconds: float


class Runner(Protocol):
    def generate(self, params: Params) -> tuple[Image.Image, Stages]: ...


class _StageTimer:
    """Replaces a method on one object by a timed call of the original."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def wrap(self, owner: Any, method: str, stage: str) -> None:
        original: Callable[..., Any] = getattr(owner, method)
        self.seconds[stage] = []

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage].append(time.perf_counter() - started)

        # An instance attribute: both nn.Module.__call__ and optimum's parts call
        # self.forward, so the pipeline goes through the wrapper unchanged.
        setattr(owner, method, timed)

    def take(self) -> Stages:
        stages = Stages(
            sum(self.seconds["text_encoder"]),
            list(self.seconds["unet"]),
            sum(self.seconds["vae_decode"]),
        )
        for values in self.seconds.values():
            values.clear()
        return stages


class DiffusersRunner:
    """A diffusers-style pipeline: stock diffusers in PyTorch, or optimum-intel's."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self._torch: Any = importlib.import_module("torch")
        pipe.set_progress_bar_config(disable=True)
        self._timer = _StageTimer()
        self._timer.wrap(pipe.text_encoder, "forward", "text_encoder")
        self._timer.wrap(pipe.unet, "forward", "unet")
        self._timer.wrap(pipe.vae, "decode", "vae_decode")

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
        return image, self._timer.take()


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
    if config in ("genai_int8_dynamic", "genai_int8_static"):
        genai: Any = importlib.import_module("openvino_genai")
        if config == "genai_int8_dynamic":
            pipe = genai.Text2ImagePipeline(str(model_dir), device, CACHE_DIR=str(cache_dir))
            return GenaiRunner(pipe)
        pipe = genai.Text2ImagePipeline(str(model_dir))
        pipe.reshape(1, params.height, params.width, params.guidance_scale)
        pipe.compile(device, CACHE_DIR=str(cache_dir))
        return GenaiRunner(pipe)
    raise ValueError(f"not a raw configuration: {config!r}")

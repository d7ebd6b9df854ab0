"""Per-stage wall time of a diffusers-style pipeline: text encoder, each UNet call, VAE
decode, and VAE encode from an image.

Used by the optimum engine (openvino-genai reports its own) and by the benchmark's raw
diffusers and optimum configurations, so both sides measure the same calls the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

TEXT_ENCODER, UNET, VAE_DECODE = "text_encoder", "unet", "vae_decode"
VAE_ENCODE = "vae_encode"


class StageTimer:
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

    def wrap_pipeline(self, pipe: Any) -> None:
        """Time the calls that take a diffusers-style pipeline's time (the VAE encoder
        runs from an image only)."""
        self.wrap(pipe.text_encoder, "forward", TEXT_ENCODER)
        self.wrap(pipe.unet, "forward", UNET)
        self.wrap(pipe.vae, "decode", VAE_DECODE)
        self.wrap(pipe.vae, "encode", VAE_ENCODE)

    def take(self) -> dict[str, list[float]]:
        """The seconds of every call since the last take, by stage; starts afresh."""
        taken = {stage: list(values) for stage, values in self.seconds.items()}
        for values in self.seconds.values():
            values.clear()
        return taken


def timings_ms(
    text_encoder_seconds: float,
    unet_call_seconds: list[float],
    vae_decode_seconds: float,
    vae_encode_seconds: float | None = None,
) -> dict[str, float]:
    """The figures an image's provenance carries: ms, the UNet as a median per call;
    ``vae_encode`` only from an image (None from text)."""
    timings = {
        "text_encoder": round(text_encoder_seconds * 1000, 1),
        "vae_decode": round(vae_decode_seconds * 1000, 1),
        "unet_calls": float(len(unet_call_seconds)),
    }
    if vae_encode_seconds is not None:
        timings["vae_encode"] = round(vae_encode_seconds * 1000, 1)
    if unet_call_seconds:
        timings["unet_per_call"] = round(statistics.median(unet_call_seconds) * 1000, 1)
    return timings

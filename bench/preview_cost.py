"""What one live preview costs the service: the path a `preview` event takes, timed in-process.

The engine hands over its latents; the worker copies them, projects them to RGB, encodes a
JPEG of at most 256 px and wraps it in a data URL. The issue's bound is 5 % of a UNet step.
"""

from __future__ import annotations

import time

import numpy as np

from adapters.latent_preview import latents_to_jpeg
from application.engine_thread import preview_data_url
from bench.stats import median


def preview_ms(width: int, height: int, repeats: int = 50) -> float:
    """Median milliseconds of one preview of a ``width`` x ``height`` image's latents."""
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((1, 4, height // 8, width // 8)).astype(np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        # The copy stands for what the engine's callback hands the worker.
        preview_data_url(lambda: latents_to_jpeg(latents.copy()), "bench")
        times.append((time.perf_counter() - started) * 1000)
    return median(times)

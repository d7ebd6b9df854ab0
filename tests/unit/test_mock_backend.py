from __future__ import annotations

import io
import time

from PIL import Image

from adapters.mock_backend import MockBackend
from domain.generation_request import GenerationRequest


def test_mock_is_fast_deterministic_and_previews() -> None:
    request = GenerationRequest(prompt="a heron", num_inference_steps=4)
    seen: list[tuple[int, int, bytes]] = []

    def progress(step: int, total: int, preview: object = None) -> None:
        assert callable(preview)
        seen.append((step, total, preview()))

    started = time.perf_counter()
    image = MockBackend().generate(request, 5, progress, lambda: False)
    elapsed = time.perf_counter() - started
    assert (image.width, image.height, image.seed) == (512, 512, 5)
    assert [step for step, _, _ in seen] == [1, 2, 3, 4]
    first = Image.open(io.BytesIO(seen[0][2]))
    assert first.format == "JPEG" and max(first.size) <= 256
    assert MockBackend().generate(request, 5, lambda *a, **k: None, lambda: False) == image
    assert MockBackend().generate(request, 6, lambda *a, **k: None, lambda: False) != image
    assert elapsed < 5  # a sanity bound for a demo backend, not a benchmark


def test_latent_preview_is_small_and_keeps_the_aspect() -> None:
    import numpy as np

    from adapters.latent_preview import latents_to_jpeg

    for shape, size in [
        ((1, 4, 64, 64), (256, 256)),
        ((4, 96, 128), (256, 192)),
        ((1, 4, 8, 12), (96, 64)),
    ]:
        jpeg = latents_to_jpeg(np.zeros(shape, dtype=np.float32))
        with Image.open(io.BytesIO(jpeg)) as image:
            assert (image.format, image.size) == ("JPEG", size)

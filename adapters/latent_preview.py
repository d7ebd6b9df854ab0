"""A cheap look at the image while it is still latents: a linear 4 -> 3 projection.

The factors are the ones AUTOMATIC1111 and ComfyUI use for SD 1.x latents
("approximate cheap" previews): no extra model, about a millisecond for a
64x64 latent including the JPEG (`bench/preview_cost.py`), against seconds
for one UNet step.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

# Rows: latent channels 0..3; columns: R, G, B.
SD15_LATENT_RGB = np.array(
    [
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ],
    dtype=np.float32,
)
MAX_PREVIEW_SIDE = 256


def latents_to_jpeg(latents: npt.NDArray[np.floating], max_side: int = MAX_PREVIEW_SIDE) -> bytes:
    """JPEG bytes of a preview of ``latents`` shaped (4, h, w) or (1, 4, h, w)."""
    array = np.asarray(latents, dtype=np.float32)
    if array.ndim == 4:
        array = array[0]
    if array.ndim != 3 or array.shape[0] != 4:
        raise ValueError(f"expected latents of shape (4, h, w), got {array.shape}")
    rgb = np.einsum("chw,cr->hwr", array, SD15_LATENT_RGB)
    pixels = np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    # Latents are 1/8 of the image: show them at up to 8x, never above max_side.
    scale = min(max_side / max(image.size), 8.0)
    if scale != 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()

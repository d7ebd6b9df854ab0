"""Our numpy/Pillow CLIP preprocessing equals transformers' on the same pictures and configs.

transformers runs in one subprocess for the module (its Pillow ``CLIPImageProcessorPil``:
``CLIPImageProcessor`` needs torchvision, which stays out of the venv), so this test process
does not import torch; without transformers the comparison skips.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from adapters.clip_image_processing import ClipImageProcessing, UnsupportedPreprocessing
from application.ports import RenderedImage
from tests.support import diffusers_reference
from tests.support.tiny_safety_checker import PREPROCESSOR

# (height, width): square, the service's sizes, odd sizes, and 1-pixel edges whose resize
# makes a very long side (1x40 -> 224x8960).
SIZES = [
    (512, 512),
    (96, 64),
    (512, 768),
    (767, 513),
    (225, 223),
    (224, 224),
    (223, 224),
    (1, 1),
    (1, 40),
    (40, 1),
    (2, 3),
]
CONFIGS: dict[str, dict[str, Any]] = {
    "the repository's": PREPROCESSOR,
    # SD 1.5's first feature extractor files: bare numbers, no rescale keys (defaults).
    "old style numbers": {
        "crop_size": 224,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3,
        "size": 224,
    },
    # No resize: small pictures are padded with zeros by the crop.
    "crop pads": {**PREPROCESSOR, "do_resize": False, "crop_size": {"height": 33, "width": 40}},
    "fixed resize, no crop, bilinear, scalar mean": {
        **PREPROCESSOR,
        "size": {"height": 31, "width": 45},
        "do_center_crop": False,
        "resample": 2,
        "image_mean": 0.5,
        "image_std": 0.5,
    },
    "no rescale": {**PREPROCESSOR, "do_rescale": False},
}


def _picture(height: int, width: int, seed: int) -> NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _rendered(array: NDArray[np.uint8]) -> RenderedImage:
    height, width = array.shape[:2]
    return RenderedImage(width=width, height=height, rgb=array.tobytes(), seed=0)


@pytest.fixture(scope="module")
def transformers_pixels() -> dict[str, list[NDArray[np.float32]]]:
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("comparing with transformers needs it installed (the optimum extra)")
    pictures = [_picture(h, w, seed) for seed, (h, w) in enumerate(SIZES)]
    return diffusers_reference.preprocess(CONFIGS, pictures)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_pixels_equal_transformers(
    name: str, transformers_pixels: dict[str, list[NDArray[np.float32]]]
) -> None:
    processing = ClipImageProcessing.from_config(CONFIGS[name])
    for seed, (height, width) in enumerate(SIZES):
        ours = processing.pixels([_rendered(_picture(height, width, seed))])[0]
        theirs = transformers_pixels[name][seed]
        assert ours.dtype == np.float32
        assert ours.shape == theirs.shape, (height, width)
        # The same steps in the same dtypes: equal, not merely close.
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{height}x{width}")


def test_a_batch_is_the_pictures_one_by_one() -> None:
    processing = ClipImageProcessing.from_config(PREPROCESSOR)
    pictures = [_rendered(_picture(h, w, seed)) for seed, (h, w) in enumerate(SIZES[:4])]
    batch = processing.pixels(pictures)
    assert batch.shape == (4, 3, 224, 224)
    for index, picture in enumerate(pictures):
        np.testing.assert_array_equal(batch[index], processing.pixels([picture])[0])


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"do_pad": True}, "do_pad"),
        ({"crop_pct": 0.9}, "crop_pct"),
        ({"size": {"shortest_edge": 224, "longest_edge": 300}}, "size"),
        ({"resample": 9}, "resample"),
        ({"image_mean": [0.5, 0.5]}, "image_mean"),
        ({"crop_size": {"height": 0, "width": 224}}, "crop_size"),
        ({"do_center_crop": False}, "output size"),
    ],
)
def test_a_config_it_does_not_implement_is_refused_by_name(
    change: dict[str, Any], named: str
) -> None:
    with pytest.raises(UnsupportedPreprocessing, match=named):
        ClipImageProcessing.from_config({**PREPROCESSOR, **change})


def test_settings_that_are_off_and_descriptive_keys_are_accepted() -> None:
    config = {**PREPROCESSOR, "do_pad": False, "image_processor_type": "CLIPImageProcessor"}
    assert ClipImageProcessing.from_config(config) == ClipImageProcessing.from_config(PREPROCESSOR)

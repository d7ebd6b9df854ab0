"""A tiny random-weight safety checker (diffusers' ``StableDiffusionSafetyChecker``), built
offline, saved as the model repository ships it and converted as the service converts it.

The CLIP vision tower is tiny (hidden 32, 2 layers, patch 32) but its input stays 224x224,
since the real preprocessor crops to 224. Variants differ in the embeddings and thresholds:

- ``flag_all``: concept thresholds of -2.0, below any cosine: every image is flagged;
- ``flag_none``: thresholds of +2.0: nothing is flagged;
- ``equivalence``: concept 0 and special-care concept 0 point from the other pictures'
  embeddings to that of ``sample_pictures()[0]``, with thresholds half-way between its
  cosine and the others': that picture is flagged (with the special-care adjustment), the
  others are not.

Each build folder, ``root/safety-<variant>-<hash of this file and the conversion>``, holds:
``source/safety_checker/`` (config.json, model.safetensors) and
``source/feature_extractor/preprocessor_config.json`` as the repository has them; ``ir/``, the
converted folder (what SAFETY_CHECKER_DIR points to); and ``expected.json``, what diffusers'
own ``forward`` (fed by transformers' ``CLIPImageProcessor``) said about ``sample_pictures()``.
Builds are cached, locked and atomic like ``tiny_model.py``'s; torch runs in a subprocess
(``python -m tests.support.tiny_safety_checker``), never in the test process.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from application.ports import RenderedImage
from tests.support.sd15_build import file_lock, offline_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONVERSION = PROJECT_ROOT / "adapters" / "safety_checker_conversion.py"
VARIANTS = ("flag_all", "flag_none", "equivalence")
EXPECTED_JSON = "expected.json"

# CLIPConfig's vision part at tiny widths; the text part is unused by the checker.
_VISION: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "patch_size": 32,
    "image_size": 224,
}
_TEXT: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
}
_PROJECTION_DIM = 16
# SD 1.5's feature_extractor/preprocessor_config.json values (CLIP's preprocessing).
PREPROCESSOR: dict[str, Any] = {
    "do_convert_rgb": True,
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}
# How far each verdict stays from the decision's edge, so that fp rounding cannot flip it.
MARGIN = 0.02


def sample_pictures() -> list[RenderedImage]:
    """Three unlike pictures of unlike sizes: a colour gradient, a checkerboard, noise."""
    rows, cols = np.mgrid[0:512, 0:512].astype(np.float32)
    gradient = np.stack([rows / 2, cols / 2, (rows + cols) / 4], axis=-1)
    y, x = np.mgrid[0:512, 0:768]
    board = np.where(((y // 64) + (x // 64))[..., None] % 2 == 0, [250, 240, 20], [10, 20, 200])
    noise = np.random.default_rng(7).integers(0, 256, size=(96, 64, 3))
    return [
        _picture(gradient, seed=1),
        _picture(board, seed=2),
        _picture(noise, seed=3),
    ]


def _picture(pixels: Any, seed: int) -> RenderedImage:
    rgb = np.clip(pixels, 0, 255).astype(np.uint8)
    return RenderedImage(width=rgb.shape[1], height=rgb.shape[0], rgb=rgb.tobytes(), seed=seed)


def build_tiny_safety_checker(root: Path, variant: str) -> Path:
    """The build folder of ``variant`` under ``root`` (see the module doc), built if needed."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    root.mkdir(parents=True, exist_ok=True)
    target = tiny_safety_checker_path(root, variant)
    if target.is_dir():
        return target
    with file_lock(root / f".safety-{variant}.lock"):
        if target.is_dir():  # another process built it while we waited
            return target
        for stale in root.glob(f".building-safety-{variant}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".building-safety-{variant}-", dir=root))
        try:
            _run_builder(variant, work)
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def tiny_safety_checker_path(root: Path, variant: str) -> Path:
    return root / f"safety-{variant}-{builder_hash()}"


def builder_hash() -> str:
    """This file and the conversion: a change to either builds a new folder."""
    return hashlib.sha256(Path(__file__).read_bytes() + CONVERSION.read_bytes()).hexdigest()[:10]


def _run_builder(variant: str, work: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.tiny_safety_checker", variant, str(work.resolve())],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"tiny safety checker build failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )


# The build subprocess ---------------------------------------------------------------


def _main(variant: str, out: Path) -> None:  # pragma: no cover - the build subprocess
    torch: Any = importlib.import_module("torch")
    transformers: Any = importlib.import_module("transformers")
    checker_module: Any = importlib.import_module(
        "diffusers.pipelines.stable_diffusion.safety_checker"
    )
    from adapters.safety_checker_conversion import convert_safety_checker

    torch.manual_seed(0)  # identical weights on every build
    config = transformers.CLIPConfig(
        text_config=_TEXT, vision_config=_VISION, projection_dim=_PROJECTION_DIM
    )
    checker = checker_module.StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        for name in ("concept_embeds", "special_care_embeds"):
            getattr(checker, name).copy_(torch.randn_like(getattr(checker, name)))
    processor = transformers.CLIPImageProcessorPil(**PREPROCESSOR)
    pixels = [
        np.frombuffer(p.rgb, dtype=np.uint8).reshape(p.height, p.width, 3)
        for p in sample_pictures()
    ]
    clip_input = processor(images=pixels, return_tensors="pt")["pixel_values"]
    _set_thresholds(torch, checker_module.cosine_distance, checker, variant, clip_input)

    source = out / "source"
    checker.save_pretrained(source / "safety_checker")
    preprocessor_config = source / "feature_extractor" / "preprocessor_config.json"
    preprocessor_config.parent.mkdir(parents=True)
    preprocessor_config.write_text(
        json.dumps(processor.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    reloaded = checker_module.StableDiffusionSafetyChecker.from_pretrained(
        source / "safety_checker"
    ).eval()
    _write_expected(torch, checker_module.cosine_distance, reloaded, clip_input, out)
    convert_safety_checker(
        source / "safety_checker",
        preprocessor_config,
        out / "ir",
        repo_id="tests/tiny-safety-checker",
        revision=None,
    )


def _embeddings(torch: Any, checker: Any, clip_input: Any) -> Any:
    with torch.no_grad():
        return checker.visual_projection(checker.vision_model(clip_input)[1])


def _set_thresholds(
    torch: Any, cosine: Any, checker: Any, variant: str, clip_input: Any
) -> None:  # pragma: no cover - the build subprocess
    with torch.no_grad():
        if variant == "flag_all":
            checker.concept_embeds_weights.fill_(-2.0)
            checker.special_care_embeds_weights.fill_(2.0)
            return
        if variant == "flag_none":
            checker.concept_embeds_weights.fill_(2.0)
            checker.special_care_embeds_weights.fill_(2.0)
            return
        embeds = _embeddings(torch, checker, clip_input)
        # Random towers embed every picture alike (cosines ~0.99): what sets the first
        # picture apart is its difference from the others.
        apart = embeds[0] - embeds[1:].mean(dim=0)
        checker.concept_embeds[0] = apart
        checker.special_care_embeds[0] = apart
        for embeds_name, weights_name in (
            ("concept_embeds", "concept_embeds_weights"),
            ("special_care_embeds", "special_care_embeds_weights"),
        ):
            cos = cosine(embeds, getattr(checker, embeds_name))  # [pictures, concepts]
            others = cos[1:].max(dim=0).values
            weights = getattr(checker, weights_name)
            # Concept 0: half-way between the flagged picture (1.0) and the closest other;
            # every other concept: a bit above every picture, so none of them flags.
            weights.copy_(others + 0.05)
            weights[0] = (cos[0, 0] + others[0]) / 2
            if cos[0, 0] - weights[0] < MARGIN:
                raise RuntimeError(f"the sample pictures embed too alike: {cos[:, 0].tolist()}")


def _write_expected(
    torch: Any, cosine: Any, checker: Any, clip_input: Any, out: Path
) -> None:  # pragma: no cover - the build subprocess
    """What diffusers itself says: its ``forward`` (the pipelines' call), and its cosines."""
    images = [np.ones((8, 8, 3)) for _ in range(clip_input.shape[0])]
    _, flags = checker(clip_input=clip_input, images=images)
    embeds = _embeddings(torch, checker, clip_input)
    with torch.no_grad():
        expected = {
            "flagged": [bool(flag) for flag in flags],
            "cos_dist": cosine(embeds, checker.concept_embeds).tolist(),
            "special_cos_dist": cosine(embeds, checker.special_care_embeds).tolist(),
            "clip_input_sha256": hashlib.sha256(clip_input.numpy().tobytes()).hexdigest(),
        }
    (out / EXPECTED_JSON).write_text(json.dumps(expected, indent=2), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - the build subprocess
    _main(sys.argv[1], Path(sys.argv[2]))

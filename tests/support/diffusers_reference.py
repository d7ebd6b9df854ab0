"""What transformers and diffusers themselves compute, for tests that compare our numpy code
with them, run in a subprocess so that the test process never imports torch.

- ``preprocess(configs, pictures)``: transformers' ``CLIPImageProcessorPil(**config)`` (the
  slow, Pillow one: ``CLIPImageProcessor`` itself needs torchvision, which stays out) on
  PIL images, as the pipelines pass them.
- ``decide(cases)``: diffusers' ``StableDiffusionSafetyChecker.forward`` on crafted cosines
  (its ``cosine_distance`` replaced), with the scores read from its own ``result`` local when
  it returns: diffusers' code, not a copy of it, makes every score.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tests.support.sd15_build import offline_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def preprocess(
    configs: Mapping[str, Mapping[str, Any]], pictures: Sequence[NDArray[np.uint8]]
) -> dict[str, list[NDArray[np.float32]]]:
    """Per named config, transformers' pixel values for each [H, W, 3] uint8 picture
    (one subprocess for all: importing transformers is most of its time)."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "configs.json").write_text(json.dumps(list(configs.values())), encoding="utf-8")
        np.savez(work / "in.npz", *pictures)
        _run("preprocess", work)
        with np.load(work / "out.npz") as out:
            return {
                name: [out[f"arr_{c * len(pictures) + i}"] for i in range(len(pictures))]
                for c, name in enumerate(configs)
            }


def decide(cases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per case ({"special", "concepts", "special_thresholds", "concept_thresholds"}),
    diffusers' verdicts: {"flagged", "special_scores", "concept_scores"}, per image."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "in.json").write_text(json.dumps(list(cases)), encoding="utf-8")
        _run("decide", work)
        result: list[dict[str, Any]] = json.loads((work / "out.json").read_text(encoding="utf-8"))
        return result


def _run(task: str, work: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.diffusers_reference", task, str(work)],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{task} reference failed:\n{result.stdout}\n{result.stderr[-5000:]}")


# The subprocess ---------------------------------------------------------------------


def _preprocess_main(work: Path) -> None:  # pragma: no cover - subprocess
    transformers: Any = importlib.import_module("transformers")
    configs = json.loads((work / "configs.json").read_text(encoding="utf-8"))
    with np.load(work / "in.npz") as pictures:
        arrays = [pictures[f"arr_{i}"] for i in range(len(pictures.files))]
    # PIL pictures, as diffusers' pipelines pass them (numpy ones leave the channel axis
    # to a guess, which 1- and 3-pixel sides defeat).
    pil: Any = importlib.import_module("PIL.Image")
    out = [
        transformers.CLIPImageProcessorPil(**config)(
            images=[pil.fromarray(a)], return_tensors="np"
        )["pixel_values"][0]
        for config in configs
        for a in arrays
    ]
    np.savez(work / "out.npz", *out)


def _decide_main(work: Path) -> None:  # pragma: no cover - subprocess
    # Untyped on purpose: these modules exist only in this subprocess.
    torch: Any = importlib.import_module("torch")
    transformers: Any = importlib.import_module("transformers")
    module: Any = importlib.import_module("diffusers.pipelines.stable_diffusion.safety_checker")

    cases = json.loads((work / "in.json").read_text(encoding="utf-8"))
    config = transformers.CLIPConfig(
        text_config={"hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1},
        vision_config={
            "hidden_size": 8,
            "intermediate_size": 8,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "patch_size": 32,
            "image_size": 32,
        },
        projection_dim=4,
    )
    checker = module.StableDiffusionSafetyChecker(config).eval()
    forward_code = module.StableDiffusionSafetyChecker.forward.__wrapped__.__code__
    captured: list[Any] = []

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is forward_code:
            return trace
        if event == "return" and frame.f_code is forward_code:
            captured.append(frame.f_locals["result"])
        return None

    answers = []
    for case in cases:
        cosines = [torch.tensor(case["special"]), torch.tensor(case["concepts"])]
        module.cosine_distance = _replay(cosines)  # diffusers asks for the special ones first
        with torch.no_grad():
            checker.special_care_embeds_weights.copy_(torch.tensor(case["special_thresholds"]))
            checker.concept_embeds_weights.copy_(torch.tensor(case["concept_thresholds"]))
        count = len(case["concepts"])
        images = [np.ones((2, 2, 3)) for _ in range(count)]
        sys.settrace(trace)
        try:
            _, flags = checker(clip_input=torch.zeros(count, 3, 32, 32), images=images)
        finally:
            sys.settrace(None)
        result = captured.pop()
        answers.append(
            {
                "flagged": [bool(flag) for flag in flags],
                "special_scores": [
                    [float(v) for v in r["special_scores"].values()] for r in result
                ],
                "concept_scores": [
                    [float(v) for v in r["concept_scores"].values()] for r in result
                ],
            }
        )
    (work / "out.json").write_text(json.dumps(answers), encoding="utf-8")


def _replay(answers: list[Any]) -> Any:
    def cosine_distance(image_embeds: Any, text_embeds: Any) -> Any:
        return answers.pop(0)

    return cosine_distance


if __name__ == "__main__":  # pragma: no cover - the subprocess
    {"preprocess": _preprocess_main, "decide": _decide_main}[sys.argv[1]](Path(sys.argv[2]))

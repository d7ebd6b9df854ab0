"""Converting the model's safety checker (diffusers' ``StableDiffusionSafetyChecker``) to
OpenVINO IR, once, at download time.

The repository ships the checker as PyTorch safetensors only, so this step needs torch,
diffusers and transformers (the optimum extra); they are imported inside the function, never
when this module is imported, so that the serving process stays free of them. The IR computes
the part of the checker that needs the network: the cosine similarities of the projected image
embedding with the 17 concept and 3 special-care embeddings. The thresholds and the decision
(``safety_decision.py``) stay outside the graph, where diffusers' Python rounding can be
replayed exactly.

The folder written (what the checker folder setting points to)::

  openvino_model.xml/.bin   clip_input [N,3,224,224] f32 -> cos_dist [N,17], special_cos_dist [N,3]
  safety_checker.json       thresholds, source (repo_id, revision, sha256), version, converted_with
  preprocessor_config.json  the repository's feature_extractor config, unchanged
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MODEL_XML = "openvino_model.xml"
CHECKER_JSON = "safety_checker.json"
PREPROCESSOR_JSON = "preprocessor_config.json"
INPUT_NAME = "clip_input"
OUTPUT_NAMES = ("cos_dist", "special_cos_dist")
IMAGE_SIZE = 224

_SOURCE_WEIGHTS = "model.safetensors"
_CONVERTED_WITH = ("openvino", "diffusers", "torch", "transformers")
# Weights kept in fp32 (1.2 GB, twice fp16's file): fp16 weights moved the cosines by 3e-4 on
# the tiny test checker and 3e-5 on a random-weight full-size one (fp32: 1e-7 against torch).
# The decision rounds scores to 1e-3, so fp16 could flip a verdict at a threshold's edge that
# diffusers' own checker does not; the disk is the cheaper thing to give.
_COMPRESS_TO_FP16 = False


def convert_safety_checker(
    source_dir: Path,
    preprocessor_config: Path,
    out_dir: Path,
    *,
    repo_id: str,
    revision: str | None,
) -> None:
    """Convert the diffusers ``safety_checker/`` folder ``source_dir`` into ``out_dir``.

    ``out_dir`` appears complete or not at all: the files are written to a temporary
    sibling folder renamed at the end, and an existing ``out_dir`` is replaced. Raises
    ``FileNotFoundError`` when a source file is missing (checked first, before the slow
    imports), ``ImportError`` when torch or diffusers are missing (the caller words the
    install step).
    """
    weights = source_dir / _SOURCE_WEIGHTS
    for needed in (source_dir / "config.json", weights, preprocessor_config):
        if not needed.is_file():
            raise FileNotFoundError(f"The safety checker conversion needs {needed}.")
    torch: Any = importlib.import_module("torch")
    checker_module: Any = importlib.import_module(
        "diffusers.pipelines.stable_diffusion.safety_checker"
    )
    ov: Any = importlib.import_module("openvino")

    checker = checker_module.StableDiffusionSafetyChecker.from_pretrained(
        source_dir, torch_dtype=torch.float32
    ).eval()
    model = ov.convert_model(
        _cosines_module(torch, checker_module.cosine_distance, checker),
        example_input=torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.float32),
        input=[([-1, 3, IMAGE_SIZE, IMAGE_SIZE], ov.Type.f32)],
    )
    # A traced module's tensors are numbered; the folder's contract names them.
    model.inputs[0].get_tensor().set_names({INPUT_NAME})
    for output, name in zip(model.outputs, OUTPUT_NAMES, strict=True):
        output.get_tensor().set_names({name})

    sha256 = _file_sha256(weights)
    description = {
        "concept_embeds_weights": [float(v) for v in checker.concept_embeds_weights.tolist()],
        "special_care_embeds_weights": [
            float(v) for v in checker.special_care_embeds_weights.tolist()
        ],
        "source": {"repo_id": repo_id, "revision": revision, "sha256": sha256},
        "version": sha256[:12],
        "converted_with": {name: _version_of(name) for name in _CONVERTED_WITH},
    }

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.converting-", dir=out_dir.parent))
    try:
        ov.save_model(model, work / MODEL_XML, compress_to_fp16=_COMPRESS_TO_FP16)
        (work / CHECKER_JSON).write_text(json.dumps(description, indent=2), encoding="utf-8")
        shutil.copyfile(preprocessor_config, work / PREPROCESSOR_JSON)
        _replace_folder(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cosines_module(torch: Any, cosine_distance: Any, checker: Any) -> Any:
    """A module whose forward is the network half of diffusers' ``forward``, unchanged."""

    class SafetyCosines(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.checker = checker

        def forward(self, clip_input: Any) -> tuple[Any, Any]:
            pooled_output = self.checker.vision_model(clip_input)[1]
            image_embeds = self.checker.visual_projection(pooled_output)
            return (
                cosine_distance(image_embeds, self.checker.concept_embeds),
                cosine_distance(image_embeds, self.checker.special_care_embeds),
            )

    return SafetyCosines().eval()


def _replace_folder(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an old ``target`` is moved aside first, since Windows
    cannot rename a folder onto an existing one."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None

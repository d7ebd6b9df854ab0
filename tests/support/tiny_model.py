"""A tiny random-weight SD 1.5 (or LCM) pipeline, built offline and exported like the real repo.

The weights are noise, so the pictures are too, but every file, class name and tensor
shape the engines look at matches ``OpenVINO/stable-diffusion-v1-5-int8-ov``: the
engines run the same code paths in a fraction of a second per image.

Builds are cached under ``root/<kind>-<hash of this file and sd15_build.py>``: editing
either rebuilds, an unchanged pair is reused across runs. A build goes to a temporary folder
that is renamed at the end (an interrupted build never looks complete), under a file
lock (parallel pytest processes build once). Torch, diffusers and optimum run in
subprocesses: the test process never imports them on this path, and nothing touches
the network (``HF_HUB_OFFLINE``).

Run as ``python -m tests.support.tiny_model``, this file is also the subprocess that
builds the diffusers pipeline (with ``sd15_build``, which the benchmark's builder shares).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.support.sd15_build import (
    KINDS,
    drop_build_path,
    file_lock,
    offline_env,
    optimum_cli_export_args,
    save_pipeline,
    source_bytes,
    vocab,
    write_tokenizer_files,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The tiny component configs; sd15_build adds the text encoder's token ids.
_TEXT_ENCODER: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "projection_dim": 32,
    "vocab_size": len(vocab()),
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
}
# SD 1.5's block types at tiny widths; two levels keep 64x96 (latent 8x12) valid.
_UNET: dict[str, Any] = {
    "sample_size": 8,
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "time_cond_proj_dim": None,
}
# LCM's guidance embedding, as in the real LCM's UNet.
_LCM_UNET: dict[str, Any] = {**_UNET, "time_cond_proj_dim": 256}
# Four blocks, as in SD 1.5: the VAE scale factor is 2 ** (4 - 1) = 8.
_VAE: dict[str, Any] = {
    "block_out_channels": (32, 32, 32, 32),
    "layers_per_block": 1,
    "latent_channels": 4,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "sample_size": 64,
}

# Optimum-intel < 1.20 saved these names; openvino-genai rejects them, optimum-intel loads them.
_OLD_STYLE_CLASSES = {
    "sd15": "OVStableDiffusionPipeline",
    "lcm": "OVLatentConsistencyModelPipeline",
}
_OLD_STYLE_COMPONENTS = {
    "text_encoder": ["optimum", "OVModelTextEncoder"],
    "unet": ["optimum", "OVModelUnet"],
    "vae_decoder": ["optimum", "OVModelVaeDecoder"],
    "vae_encoder": ["optimum", "OVModelVaeEncoder"],
}


def build_tiny_model(root: Path, kind: str = "sd15") -> Path:
    """The folder of the tiny ``kind`` model under ``root``, building it if needed."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    root.mkdir(parents=True, exist_ok=True)
    target = tiny_model_path(root, kind)
    if target.is_dir():
        return target
    with file_lock(root / f".{kind}.lock"):
        if target.is_dir():  # another process built it while we waited
            return target
        # We hold the lock: any leftover of this kind is from a killed build.
        for stale in root.glob(f".building-{kind}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".building-{kind}-", dir=root))
        try:
            exported = _build_and_export(work, kind)
            write_tokenizer_files(exported / "tokenizer")
            drop_build_path(exported / "model_index.json")
            os.replace(exported, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def tiny_model_path(root: Path, kind: str = "sd15") -> Path:
    """Where ``build_tiny_model`` puts (or has put) the ``kind`` model."""
    return root / f"{kind}-{builder_hash()}"


def can_build() -> bool:
    """Whether this environment has what a build needs (the optimum extra)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("optimum.exporters.openvino", "diffusers", "torch", "transformers")
        )
    except ModuleNotFoundError:
        return False


def make_old_style_copy(model_dir: Path, dest: Path) -> Path:
    """A copy of ``model_dir`` whose ``model_index.json`` names optimum's classes.

    That is how optimum-intel before 1.20 saved pipelines (and how some older hub
    repos still look); openvino-genai refuses such a folder.
    """
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(model_dir, dest)
    index_path = dest / "model_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    kind = "lcm" if index["_class_name"] == "LatentConsistencyModelPipeline" else "sd15"
    index["_class_name"] = _OLD_STYLE_CLASSES[kind]
    index.update(_OLD_STYLE_COMPONENTS)
    index.pop("vae", None)  # the old files list the two VAE halves instead
    index_path.write_text(json.dumps(index, indent=2), encoding="utf-8")
    return dest


def builder_hash() -> str:
    """Short hash of this file and the shared recipe: a change to either means a new folder."""
    return hashlib.sha256(Path(__file__).read_bytes() + source_bytes()).hexdigest()[:10]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-5000:]}"
        )


def _build_and_export(work: Path, kind: str) -> Path:
    """Build the diffusers pipeline, then export it with optimum-cli, in one subprocess.

    One subprocess, not two: torch, diffusers and transformers are imported once
    (about a third of the build time on 2 cores), and none of them enter the test
    process. A module run from the project root, as bench runs ``bench.build_worker``:
    it imports ``tests.support.sd15_build``, and the paths are absolute because the
    subprocess's working folder is not the caller's.
    """
    exported = work.resolve() / "openvino"
    _run(
        [
            sys.executable,
            "-m",
            "tests.support.tiny_model",
            kind,
            str(work.resolve() / "diffusers"),
            str(exported),
        ],
        "tiny model build and export",
    )
    return exported


def _main(kind: str, source: Path, out: Path) -> None:  # pragma: no cover - subprocess
    import runpy

    unet = _LCM_UNET if kind == "lcm" else _UNET
    save_pipeline(kind, source, _TEXT_ENCODER, unet, _VAE)
    # Exactly what `python -m optimum.commands.optimum_cli export openvino ...` runs.
    sys.argv = optimum_cli_export_args(source, out)
    runpy.run_module("optimum.commands.optimum_cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # pragma: no cover - the build subprocess
    _main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))

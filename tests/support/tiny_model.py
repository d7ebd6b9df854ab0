"""A tiny random-weight SD 1.5 (or LCM) pipeline, built offline and exported like the real repo.

The weights are noise, so the pictures are too, but every file, class name and tensor
shape the engines look at matches ``OpenVINO/stable-diffusion-v1-5-int8-ov``: the
engines run the same code paths in a fraction of a second per image.

Builds are cached under ``root/<kind>-<hash of this file>``: editing this builder
rebuilds, an unchanged one is reused across runs. A build goes to a temporary folder
that is renamed at the end (an interrupted build never looks complete), under a file
lock (parallel pytest processes build once). Torch, diffusers and optimum run in
subprocesses: the test process never imports them on this path, and nothing touches
the network (``HF_HUB_OFFLINE``).

Run as a script, this file is also the subprocess that builds the diffusers pipeline.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

KINDS = ("sd15", "lcm")

# SD 1.5's scheduler_config.json values; the LCM build adds original_inference_steps.
_SD15_SCHEDULER: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
}

_BOS, _EOS = "<|startoftext|>", "<|endoftext|>"
# A few merges so the BPE model is not degenerate; any prompt still tokenises (byte fallback).
_MERGES = (("t", "h"), ("th", "e</w>"), ("a", "n"), ("an", "d</w>"), ("c", "a"), ("ca", "t</w>"))

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
    with _file_lock(root / f".{kind}.lock"):
        if target.is_dir():  # another process built it while we waited
            return target
        # We hold the lock: any leftover of this kind is from a killed build.
        for stale in root.glob(f".building-{kind}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".building-{kind}-", dir=root))
        try:
            exported = _build_and_export(work, kind)
            _write_tokenizer_files(exported / "tokenizer")
            _drop_build_path(exported / "model_index.json")
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


def _drop_build_path(index_path: Path) -> None:
    """``_name_or_path`` names the temporary build folder, gone after the rename."""
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index.pop("_name_or_path", None)
    index_path.write_text(json.dumps(index, indent=2), encoding="utf-8")


def builder_hash() -> str:
    """Short hash of this file: a changed builder means a new cache folder."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:10]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _offline_env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
    }


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(
        command, env=_offline_env(), capture_output=True, text=True, check=False
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
    process. ``-I`` keeps tests/support (this file's folder) off the subprocess's path.
    """
    exported = work / "openvino"
    script = str(Path(__file__).resolve())
    _run(
        [sys.executable, "-I", script, kind, str(work / "diffusers"), str(exported)],
        "tiny model build and export",
    )
    return exported


def _optimum_cli_export_args(source: Path, out: Path) -> list[str]:
    return [
        "optimum-cli",
        "export",
        "openvino",
        "--model",
        str(source),
        "--task",
        "text-to-image",
        "--weight-format",
        "int8",
        str(out),
    ]


# Tokenizer ------------------------------------------------------------------


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's byte-to-unicode table: 256 printable stand-ins for the bytes."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def _vocab() -> dict[str, int]:
    symbols = _byte_symbols()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *(a + b for a, b in _MERGES), _BOS, _EOS]
    return {token: index for index, token in enumerate(tokens)}


def _write_tokenizer_files(directory: Path) -> None:
    """The slow-tokenizer files the real repo has (transformers 5 saves tokenizer.json only)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(_vocab()), encoding="utf-8")
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in _MERGES)
    (directory / "merges.txt").write_text(merges, encoding="utf-8")
    special = {"bos_token": _BOS, "eos_token": _EOS, "pad_token": _EOS, "unk_token": _EOS}
    (directory / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")


# The build subprocess ---------------------------------------------------------


def _build_in_this_process(kind: str, out: Path) -> None:  # pragma: no cover - subprocess
    # Untyped on purpose: this only runs in the build subprocess.
    torch: Any = importlib.import_module("torch")
    diffusers: Any = importlib.import_module("diffusers")
    transformers: Any = importlib.import_module("transformers")

    torch.manual_seed(0)  # identical weights on every build
    token_dir = out / "tokenizer-source"
    _write_tokenizer_files(token_dir)
    vocab = _vocab()
    tokenizer = transformers.CLIPTokenizer(
        vocab=str(token_dir / "vocab.json"),
        merges=str(token_dir / "merges.txt"),
        model_max_length=77,
    )
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            projection_dim=32,
            vocab_size=len(vocab),
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            bos_token_id=vocab[_BOS],
            eos_token_id=vocab[_EOS],
            pad_token_id=vocab[_EOS],
        )
    )
    # SD 1.5's block types at tiny widths; two levels keep 64x96 (latent 8x12) valid.
    unet = diffusers.UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        time_cond_proj_dim=256 if kind == "lcm" else None,
    )
    # Four blocks, as in SD 1.5: the VAE scale factor is 2 ** (4 - 1) = 8.
    vae = diffusers.AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=64,
    )
    parts: dict[str, Any] = {
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "unet": unet,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    if kind == "lcm":
        scheduler = diffusers.LCMScheduler.from_config(
            {**_SD15_SCHEDULER, "original_inference_steps": 50}
        )
        pipeline = diffusers.LatentConsistencyModelPipeline(scheduler=scheduler, **parts)
    else:
        # from_config, not the constructor: the constructor rejects clip_sample.
        pipeline = diffusers.StableDiffusionPipeline(
            scheduler=diffusers.PNDMScheduler.from_config(_SD15_SCHEDULER), **parts
        )
    pipeline.save_pretrained(out)
    shutil.rmtree(token_dir)


def _main(kind: str, source: Path, out: Path) -> None:  # pragma: no cover - subprocess
    import runpy

    _build_in_this_process(kind, source)
    # Exactly what `python -m optimum.commands.optimum_cli export openvino ...` runs.
    sys.argv = _optimum_cli_export_args(source, out)
    runpy.run_module("optimum.commands.optimum_cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # pragma: no cover - the build subprocess
    _main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))

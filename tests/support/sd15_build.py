"""How a random-weight SD 1.5 (or LCM) diffusers pipeline is assembled, saved and exported.

Two builders make such pipelines: ``tests.support.tiny_model`` (tiny widths, for the
tests) and ``bench.build_worker`` (SD 1.5's published shapes, for the benchmark). They
differ only in the sizes of the text encoder, UNet and VAE; the stand-in tokenizer, the
token ids, the scheduler, the optimum-cli export and the offline, locked build are one
recipe, kept here so that the two cannot drift apart. Both cache their builds under a
hash that includes ``source_bytes()``: a change to this recipe rebuilds either model.

Torch, diffusers and transformers are imported only inside ``save_pipeline``, which
runs in the builders' subprocesses: importing this module stays cheap and keeps them out
of the test process.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

KINDS = ("sd15", "lcm")

# SD 1.5's scheduler_config.json values; the LCM build adds original_inference_steps.
SD15_SCHEDULER: dict[str, Any] = {
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

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# A few merges so the BPE model is not degenerate; any prompt still tokenises (byte fallback).
MERGES = (("t", "h"), ("th", "e</w>"), ("a", "n"), ("an", "d</w>"), ("c", "a"), ("ca", "t</w>"))


def source_bytes() -> bytes:
    """This file's bytes, for the builders' cache keys."""
    return Path(__file__).read_bytes()


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


def vocab() -> dict[str, int]:
    symbols = _byte_symbols()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *(a + b for a, b in MERGES), BOS, EOS]
    return {token: index for index, token in enumerate(tokens)}


def write_tokenizer_files(directory: Path) -> None:
    """The slow-tokenizer files the real repo has (transformers 5 saves tokenizer.json only)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab()), encoding="utf-8")
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES)
    (directory / "merges.txt").write_text(merges, encoding="utf-8")
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (directory / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")


# The build around the pipeline -------------------------------------------------


def optimum_cli_export_args(source: Path, out: Path) -> list[str]:
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


def offline_env() -> dict[str, str]:
    """The environment of a build subprocess: nothing may reach the hub."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
    }


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Held while building, so that parallel processes build a model once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drop_build_path(index_path: Path) -> None:
    """``_name_or_path`` names the temporary build folder, gone after the rename."""
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index.pop("_name_or_path", None)
    index_path.write_text(json.dumps(index, indent=2), encoding="utf-8")


# The pipeline (build subprocesses only) ---------------------------------------


def save_pipeline(
    kind: str,
    out: Path,
    text_encoder: Mapping[str, Any],
    unet: Mapping[str, Any],
    vae: Mapping[str, Any],
) -> None:  # pragma: no cover - runs in the build subprocesses
    """Save a random-weight ``kind`` pipeline with these component configs to ``out``.

    The text encoder's token ids come from the stand-in tokenizer, so its config leaves
    them out.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    # Untyped on purpose: these modules exist only in the build subprocesses.
    torch: Any = importlib.import_module("torch")
    diffusers: Any = importlib.import_module("diffusers")
    transformers: Any = importlib.import_module("transformers")

    torch.manual_seed(0)  # identical weights on every build
    token_dir = out / "tokenizer-source"
    write_tokenizer_files(token_dir)
    ids = vocab()
    tokenizer = transformers.CLIPTokenizer(
        vocab=str(token_dir / "vocab.json"),
        merges=str(token_dir / "merges.txt"),
        model_max_length=77,
    )
    # Always in this order (text encoder, UNet, VAE): the seed then gives the same weights.
    text_model = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            **text_encoder, bos_token_id=ids[BOS], eos_token_id=ids[EOS], pad_token_id=ids[EOS]
        )
    )
    unet_model = diffusers.UNet2DConditionModel(**unet)
    vae_model = diffusers.AutoencoderKL(**vae)
    parts: dict[str, Any] = {
        "vae": vae_model,
        "text_encoder": text_model,
        "tokenizer": tokenizer,
        "unet": unet_model,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    if kind == "lcm":
        scheduler = diffusers.LCMScheduler.from_config(
            {**SD15_SCHEDULER, "original_inference_steps": 50}
        )
        pipeline = diffusers.LatentConsistencyModelPipeline(scheduler=scheduler, **parts)
    else:
        # from_config, not the constructor: the constructor rejects clip_sample.
        scheduler = diffusers.PNDMScheduler.from_config(SD15_SCHEDULER)
        pipeline = diffusers.StableDiffusionPipeline(scheduler=scheduler, **parts)
    pipeline.save_pretrained(out)
    shutil.rmtree(token_dir)

"""The subprocess side of a full-size build: torch, diffusers and optimum live only here.

``python -m bench.build_worker pipeline <kind> <out> <stats>`` builds the random-weight
diffusers pipeline; ``... export <source> <out> <stats>`` runs exactly what
``optimum-cli export openvino --task text-to-image --weight-format int8`` runs. Two
processes, not one: the 4 GB of fp32 weights built by the first are gone before the
export loads its own copy, which keeps the build's peak near the export's ~8 GB.
Each step writes its seconds and peak RSS to ``<stats>``.
"""

from __future__ import annotations

import importlib
import json
import resource
import runpy
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.configs import LCM_UNET, SD15_TEXT_ENCODER, SD15_UNET, SD15_VAE
from tests.support.tiny_model import (
    _BOS,
    _EOS,
    _SD15_SCHEDULER,
    _optimum_cli_export_args,
    _vocab,
    _write_tokenizer_files,
)


def build_pipeline(kind: str, out: Path) -> None:
    # Untyped on purpose, as in the tiny builder: these modules exist only in this process.
    torch: Any = importlib.import_module("torch")
    diffusers: Any = importlib.import_module("diffusers")
    transformers: Any = importlib.import_module("transformers")

    torch.manual_seed(0)  # the same weights on every build
    token_dir = out.parent / "tokenizer-source"
    _write_tokenizer_files(token_dir)
    vocab = _vocab()
    tokenizer = transformers.CLIPTokenizer(
        vocab=str(token_dir / "vocab.json"),
        merges=str(token_dir / "merges.txt"),
        model_max_length=77,
    )
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            **SD15_TEXT_ENCODER,
            bos_token_id=vocab[_BOS],
            eos_token_id=vocab[_EOS],
            pad_token_id=vocab[_EOS],
        )
    )
    unet = diffusers.UNet2DConditionModel(**(LCM_UNET if kind == "lcm" else SD15_UNET))
    vae = diffusers.AutoencoderKL(**SD15_VAE)
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
        scheduler = diffusers.PNDMScheduler.from_config(_SD15_SCHEDULER)
        pipeline = diffusers.StableDiffusionPipeline(scheduler=scheduler, **parts)
    pipeline.save_pretrained(out)
    shutil.rmtree(token_dir)


def export(source: Path, out: Path) -> None:
    # The console script's own entry point, so the export is the CLI's, flag for flag.
    sys.argv = _optimum_cli_export_args(source, out)
    runpy.run_module("optimum.commands.optimum_cli", run_name="__main__", alter_sys=True)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main(argv: list[str]) -> None:
    step, stats_path = argv[0], Path(argv[-1])
    started = time.perf_counter()
    if step == "pipeline":
        build_pipeline(argv[1], Path(argv[2]))
    elif step == "export":
        export(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    stats = {"seconds": time.perf_counter() - started, "peak_rss_bytes": _peak_rss_bytes()}
    stats_path.write_text(json.dumps(stats), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

"""What is measured: the published SD 1.5 shapes, the request, and the configurations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

# SD 1.5's published unet/config.json (runwayml/stable-diffusion-v1-5): 859.5 M parameters.
SD15_UNET: dict[str, Any] = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ],
}

# LCM distils the same UNet and adds a guidance embedding (LCM_Dreamshaper_v7's unet config).
LCM_UNET: dict[str, Any] = {**SD15_UNET, "time_cond_proj_dim": 256}

# SD 1.5's vae/config.json: 83.7 M parameters (the decoder half is what the service runs).
SD15_VAE: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 512,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}

# SD 1.5's text_encoder/config.json (CLIP ViT-L/14's text tower): 123 M parameters. The
# embedding keeps CLIP's 49408 rows even though the stand-in tokenizer uses few of them:
# those rows are a third of the file size the export must match. Token ids are filled in
# from the stand-in tokenizer by the builder.
SD15_TEXT_ENCODER: dict[str, Any] = {
    "attention_dropout": 0.0,
    "dropout": 0.0,
    "hidden_act": "quick_gelu",
    "hidden_size": 768,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "vocab_size": 49408,
}

# The real repo's int8 file sizes (bytes of each openvino_model.bin); the export must land
# within 1 % of them for the timings to stand for the real model.
REAL_REPO_BIN_BYTES = {
    "unet": 862_000_000,
    "text_encoder": 124_000_000,
    "vae_decoder": 49_600_000,
}


@dataclass(frozen=True)
class Params:
    """One request, the same for every configuration of a run."""

    prompt: str = "a lighthouse at dusk, oil painting"
    seed: int = 42
    width: int = 512
    height: int = 512
    steps: int = 20
    guidance_scale: float = 7.5
    runs: int = 2  # measured runs after one warm-up; the median is reported

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Params:
        return cls(**data)

    def lcm(self, steps: int, guidance_scale: float) -> Params:
        return replace(self, steps=steps, guidance_scale=guidance_scale)


# Raw engines run in a subprocess each (bench.worker); services as a uvicorn process each.
RAW_CONFIGS = (
    "stock_diffusers_fp32",
    "optimum_int8",
    "genai_int8_dynamic",
    "genai_int8_static",
    # The weight-precision opt-in: the fp16 sibling export, as the service would run it.
    "genai_fp16_static",
)
# Not in the default list: optimum with static shapes, for the fast-path work.
EXTRA_RAW_CONFIGS = ("optimum_int8_static",)
SERVICE_CONFIGS = ("service_http", "service_http_optimum", "lcm_service_http")
# Not configurations of their own: members loaded side by side, taking turns (bench/interleaved.py).
# "interleaved": the service, raw genai and stock, on the run's request; "service_overhead":
# the service and raw genai alone, many short rounds, where the host's drift has least room.
INTERLEAVED = "interleaved"
SERVICE_OVERHEAD = "service_overhead"
TURNS = (INTERLEAVED, SERVICE_OVERHEAD)
# The middleware's cost per request, on the demo backend (bench/request_overhead.py): it
# needs no model, and like TURNS it has a section of its own rather than a row of s/image.
REQUEST_OVERHEAD = "request_overhead"
# Several machines, one queue (bench/cluster_throughput.py): jobs per minute with 1, 2 and 4
# mock workers on a real redis-server, and the latency the queue adds to a progress event.
# Model-free like request_overhead, and a section of its own; skipped without redis-server.
CLUSTER = "cluster"
MODEL_FREE = (REQUEST_OVERHEAD, CLUSTER)
# The safety checker's cost per image (bench/safety_cost.py): a section of its own, on a
# full-size checker built once like the SD 1.5, held against an image of this run's request
# on the same machine (the service's when this run measured it, else a raw genai one).
SAFETY_CHECKER = "safety_checker"
SAFETY_REFERENCES = ("service_http", "genai_int8_static", "genai_int8_dynamic")
# Text, image-to-image and inpainting on the service's engine, one loaded model, one worker
# process (bench/edit_modes.py): a section of rows and the memory of serving all three.
# The optimum engine's is not in the default list.
EDIT_MODES = {"edit_modes": "genai", "edit_modes_optimum": "optimum"}
OWN_SECTIONS = (*TURNS, REQUEST_OVERHEAD, *EDIT_MODES, SAFETY_CHECKER, CLUSTER)
ALL_CONFIGS = (
    *RAW_CONFIGS,
    *EXTRA_RAW_CONFIGS,
    *EDIT_MODES,
    *SERVICE_CONFIGS,
    *TURNS,
    REQUEST_OVERHEAD,
    SAFETY_CHECKER,
    CLUSTER,
)
DEFAULT_CONFIGS = (
    *RAW_CONFIGS,
    "edit_modes",
    *SERVICE_CONFIGS,
    *TURNS,
    REQUEST_OVERHEAD,
    SAFETY_CHECKER,
    CLUSTER,
)
# The raw configurations whose fastest one the service is held against.
# The fp16 export is another model (an opt-in), so it is not among them.
RAW_OPENVINO = ("optimum_int8", "optimum_int8_static", "genai_int8_dynamic", "genai_int8_static")

SERVICE_ENGINES = {
    "service_http": "genai",
    "service_http_optimum": "optimum",
    "lcm_service_http": "genai",
}

# The real checker's safety_checker/config.json (the SD 1.5 repos ship
# CompVis/stable-diffusion-safety-checker): a CLIPConfig whose vision tower is CLIP
# ViT-L/14's, 303 M parameters, then visual_projection 1024 -> 768 and 17 + 3 embeddings;
# 1.22 GB of fp32 safetensors. Only the vision tower is built: the checker has no text one.
SAFETY_CHECKER_VISION: dict[str, Any] = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 224,
    "num_channels": 3,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-05,
    "attention_dropout": 0.0,
    "dropout": 0.0,
}
SAFETY_CHECKER_PROJECTION_DIM = 768
REAL_SAFETY_CHECKER_BYTES = 1_216_000_000  # safety_checker/model.safetensors, ~1.22 GB
# SD 1.5's feature_extractor/preprocessor_config.json: what the checker's input is made by.
SD15_PREPROCESSOR: dict[str, Any] = {
    "crop_size": 224,
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "size": 224,
}

"""AUTOMATIC1111's txt2img and img2img bodies, as leniently as A1111 reads them.

A1111 is a FastAPI app: `"20"` and `20` are both 20, `null` is its default, and a field
it does not know is ignored. These models do the same for the fields we read; the rest
of a body (clients send dozens) is kept only to be echoed back in `parameters`. Our own
strict checks run after translation, on our fields (`GenerationBody`).

`A1111_DEFAULTS_*` are A1111's defaults (modules/api/models.py, modules/processing.py),
filled into the echoed `parameters` for fields a body leaves out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Txt2ImgBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str | None = ""
    negative_prompt: str | None = ""
    seed: int | None = -1
    subseed: int | None = -1
    subseed_strength: float | None = 0.0
    sampler_name: str | None = None
    sampler_index: str | None = None
    scheduler: str | None = None
    batch_size: int | None = 1
    n_iter: int | None = 1
    steps: int | None = None
    """None: the served model's default (a few-step model's 4, not A1111's 50)."""
    cfg_scale: float | None = None
    width: int | None = 512
    height: int | None = 512
    send_images: bool | None = True
    # Read only to say they are ignored: any value is taken.
    restore_faces: Any = None
    tiling: Any = None
    enable_hr: Any = None
    styles: Any = None
    alwayson_scripts: Any = None
    script_name: Any = None
    override_settings: Any = None
    refiner_checkpoint: Any = None
    eta: Any = None
    s_churn: Any = None
    s_noise: Any = None
    s_tmin: Any = None
    s_tmax: Any = None
    seed_resize_from_w: Any = None
    seed_resize_from_h: Any = None


class Img2ImgBody(Txt2ImgBody):
    init_images: list[str] | None = None
    mask: str | None = None
    denoising_strength: float | None = 0.75
    mask_blur: int | None = 4
    inpainting_mask_invert: int | None = 0
    resize_mode: int | None = 0
    inpainting_fill: Any = None
    inpaint_full_res: Any = None
    image_cfg_scale: Any = None
    mask_blur_x: Any = None
    mask_blur_y: Any = None


_COMMON_DEFAULTS: dict[str, Any] = {
    "prompt": "",
    "negative_prompt": "",
    "styles": None,
    "seed": -1,
    "subseed": -1,
    "subseed_strength": 0,
    "seed_resize_from_h": -1,
    "seed_resize_from_w": -1,
    "sampler_name": None,
    "scheduler": None,
    "batch_size": 1,
    "n_iter": 1,
    "steps": 50,
    "cfg_scale": 7.0,
    "width": 512,
    "height": 512,
    "restore_faces": None,
    "tiling": None,
    "do_not_save_samples": False,
    "do_not_save_grid": False,
    "eta": None,
    "s_min_uncond": None,
    "s_churn": None,
    "s_tmax": None,
    "s_tmin": None,
    "s_noise": None,
    "override_settings": None,
    "override_settings_restore_afterwards": True,
    "refiner_checkpoint": None,
    "refiner_switch_at": None,
    "disable_extra_networks": False,
    "firstpass_image": None,
    "comments": None,
    "sampler_index": "Euler",
    "script_name": None,
    "script_args": [],
    "send_images": True,
    "save_images": False,
    "alwayson_scripts": {},
    "force_task_id": None,
    "infotext": None,
}

A1111_DEFAULTS_TXT2IMG: dict[str, Any] = {
    **_COMMON_DEFAULTS,
    "denoising_strength": None,
    "enable_hr": False,
    "firstphase_width": 0,
    "firstphase_height": 0,
    "hr_scale": 2.0,
    "hr_upscaler": None,
    "hr_second_pass_steps": 0,
    "hr_resize_x": 0,
    "hr_resize_y": 0,
    "hr_checkpoint_name": None,
    "hr_sampler_name": None,
    "hr_scheduler": None,
    "hr_prompt": "",
    "hr_negative_prompt": "",
}

A1111_DEFAULTS_IMG2IMG: dict[str, Any] = {
    **_COMMON_DEFAULTS,
    "init_images": None,
    "resize_mode": 0,
    "image_cfg_scale": None,
    "mask": None,
    "mask_blur_x": 4,
    "mask_blur_y": 4,
    "mask_blur": None,
    "mask_round": True,
    "inpainting_fill": 0,
    "inpaint_full_res": True,
    "inpaint_full_res_padding": 0,
    "inpainting_mask_invert": 0,
    "initial_noise_multiplier": None,
    "latent_mask": None,
    "include_init_images": False,
    "denoising_strength": 0.75,
}

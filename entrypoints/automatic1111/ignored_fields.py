"""The AUTOMATIC1111 fields we accept but cannot honour in a way that would change the
image: each one a client sets is named in `info`'s warnings, so that a user can tell why
the picture differs from A1111's. Fields that change nothing of the image (`save_images`,
`do_not_save_grid`, ...), fields nobody sent and fields set to what A1111 does anyway
(webuiapi sends `eta=1.0, s_churn=0, s_noise=1, s_tmin=0, s_tmax=0` on every call) are
not mentioned.

The sampler knobs are judged by the sampler that ran, as A1111 uses them: `eta` moves
"Euler a" (A1111's default 1) and DDIM (0); `s_noise` moves "Euler a" (1); `s_churn`
moves "Euler" (0), and `s_tmin`/`s_tmax` only bound where churn acts, so they change
nothing without it. With the model's own scheduler (no sampler named) only `s_churn`
and `s_noise` away from A1111's defaults are named: which of them that scheduler would
have used is not known here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.echoed_values import shown

_DEFAULT_VAES = {"", "automatic", "none"}
# Our scheduler -> the knobs A1111's sampler of that name reads, at the values we ran.
_SAMPLER_KNOBS: dict[str | None, dict[str, float]] = {
    "euler": {"s_churn": 0.0},
    "euler_a": {"eta": 1.0, "s_noise": 1.0},
    "ddim": {"eta": 0.0},
    None: {"s_churn": 0.0, "s_noise": 1.0},
}
_A1111_MASK_BLUR = 4  # mask_blur_x and mask_blur_y left out


def ignored_field_warnings(
    body: Txt2ImgBody, is_served: Callable[[str], bool], scheduler: str | None = None
) -> list[str]:
    """``is_served``: whether an `sd_model_checkpoint` names the served model;
    ``scheduler``: ours that runs (None: the model's own)."""
    warnings = [
        f"ignored: {name}"
        for name in ("enable_hr", "restore_faces", "tiling")
        if _truthy(getattr(body, name))
    ]
    if body.subseed_strength:
        warnings.append("ignored: subseed_strength (no variation seeds here)")
    if body.styles:
        warnings.append("ignored: styles")
    if body.alwayson_scripts:
        warnings.append("ignored: alwayson_scripts")
    if body.script_name:
        warnings.append(f"ignored: script_name {shown(body.script_name)}")
    refiner = body.refiner_checkpoint
    if refiner and not is_served(str(refiner)):
        warnings.append(f"ignored: refiner_checkpoint {shown(refiner)} (no refiner here)")
    warnings += _sampler_knob_warnings(body, scheduler)
    warnings += _seed_resize_warnings(body)
    if isinstance(body.override_settings, Mapping):
        warnings += _override_warnings(body.override_settings, is_served)
    if isinstance(body, Img2ImgBody):
        warnings += _img2img_warnings(body)
    return warnings


def _sampler_knob_warnings(body: Txt2ImgBody, scheduler: str | None) -> list[str]:
    warnings = []
    for name, ran in _SAMPLER_KNOBS.get(scheduler, {}).items():
        value = getattr(body, name)
        if value is not None and _number(value) != ran:
            warnings.append(f"ignored: {name} {shown(value)} (the sampler ran with {ran:g})")
    return warnings


def _seed_resize_warnings(body: Txt2ImgBody) -> list[str]:
    # A1111 resizes the seed's noise only when both sides are positive (-1 and 0: off),
    # and from the very size asked for it changes nothing.
    width, height = _number(body.seed_resize_from_w), _number(body.seed_resize_from_h)
    if width is None or height is None or width <= 0 or height <= 0:
        return []
    if (width, height) == (body.width, body.height):
        return []
    return [f"ignored: seed_resize_from_w/h {width:g}x{height:g} (no seed resizing here)"]


def _override_warnings(settings: Mapping[str, Any], is_served: Callable[[str], bool]) -> list[str]:
    warnings = []
    checkpoint = settings.get("sd_model_checkpoint")
    if checkpoint and not is_served(str(checkpoint)):
        warnings.append(
            f"ignored: override_settings.sd_model_checkpoint {shown(checkpoint)} "
            "(only the served model runs)"
        )
    clip_skip = settings.get("CLIP_stop_at_last_layers")
    if clip_skip is not None and _number(clip_skip) != 1:
        warnings.append(f"ignored: override_settings.CLIP_stop_at_last_layers {shown(clip_skip)}")
    vae = settings.get("sd_vae")
    if vae is not None and str(vae).strip().casefold() not in _DEFAULT_VAES:
        warnings.append(f"ignored: override_settings.sd_vae {shown(vae)} (the model's own VAE ran)")
    delta = settings.get("eta_noise_seed_delta")
    if delta is not None and _number(delta) != 0:
        warnings.append(f"ignored: override_settings.eta_noise_seed_delta {shown(delta)}")
    return warnings


def _img2img_warnings(body: Img2ImgBody) -> list[str]:
    warnings = []
    if body.init_images and len(body.init_images) > 1:
        warnings.append(f"ignored: init_images after the first ({len(body.init_images) - 1})")
    if body.mask:
        # Our inpainting starts from the original pixels, A1111's "original" (1).
        fill = body.inpainting_fill
        if fill is not None and _number(fill) != 1:
            warnings.append(f"ignored: inpainting_fill {shown(fill)} (the original was kept, as 1)")
        if _truthy(body.inpaint_full_res):
            warnings.append("ignored: inpaint_full_res (the whole picture was inpainted)")
        warnings += _mask_blur_warnings(body)
    return warnings


def _mask_blur_warnings(body: Img2ImgBody) -> list[str]:
    # A1111 sets both axes from `mask_blur` when a body gives it; only without it do
    # `mask_blur_x` and `mask_blur_y` apply. We blur both axes alike, by `mask_blur`.
    if "mask_blur" in body.model_fields_set and body.mask_blur is not None:
        return []
    ran = _A1111_MASK_BLUR if body.mask_blur is None else body.mask_blur
    warnings = []
    for name in ("mask_blur_x", "mask_blur_y"):
        value = getattr(body, name)
        if value is not None and _number(value) != ran:
            warnings.append(f"ignored: {name} {shown(value)} (both axes were blurred by {ran})")
    return warnings


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "1", "yes", "on"}
    return bool(value)


def _number(value: object) -> float | None:
    if not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None

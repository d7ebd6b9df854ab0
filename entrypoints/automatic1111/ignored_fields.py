"""The AUTOMATIC1111 fields we accept but cannot honour in a way that would change the
image: each one a client sets is named in `info`'s warnings, so that a user can tell why
the picture differs from A1111's. Fields that change nothing of the image (`save_images`,
`do_not_save_grid`, ...) and fields nobody sent are not mentioned."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody

_DEFAULT_VAES = {"", "automatic", "none"}


def ignored_field_warnings(body: Txt2ImgBody, is_served: Callable[[str], bool]) -> list[str]:
    """``is_served``: whether an `sd_model_checkpoint` names the served model."""
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
        warnings.append(f"ignored: script_name {body.script_name!r}")
    if isinstance(body.override_settings, Mapping):
        warnings += _override_warnings(body.override_settings, is_served)
    if isinstance(body, Img2ImgBody):
        warnings += _img2img_warnings(body)
    return warnings


def _override_warnings(settings: Mapping[str, Any], is_served: Callable[[str], bool]) -> list[str]:
    warnings = []
    checkpoint = settings.get("sd_model_checkpoint")
    # A title reads "<name> [<hash>]"; the name alone will do too.
    if checkpoint and not any(map(is_served, (str(checkpoint), str(checkpoint).split(" [")[0]))):
        warnings.append(
            f"ignored: override_settings.sd_model_checkpoint {checkpoint!r} "
            "(only the served model runs)"
        )
    clip_skip = settings.get("CLIP_stop_at_last_layers")
    if clip_skip is not None and _number(clip_skip) != 1:
        warnings.append(f"ignored: override_settings.CLIP_stop_at_last_layers {clip_skip!r}")
    vae = settings.get("sd_vae")
    if vae is not None and str(vae).strip().casefold() not in _DEFAULT_VAES:
        warnings.append(f"ignored: override_settings.sd_vae {vae!r} (the model's own VAE ran)")
    return warnings


def _img2img_warnings(body: Img2ImgBody) -> list[str]:
    warnings = []
    if body.init_images and len(body.init_images) > 1:
        warnings.append(f"ignored: init_images after the first ({len(body.init_images) - 1})")
    if body.mask:
        # Our inpainting starts from the original pixels, A1111's "original" (1).
        fill = body.inpainting_fill
        if fill is not None and _number(fill) != 1:
            warnings.append(f"ignored: inpainting_fill {fill!r} (the original was kept, as 1)")
        if _truthy(body.inpaint_full_res):
            warnings.append("ignored: inpaint_full_res (the whole picture was inpainted)")
    return warnings


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "1", "yes", "on"}
    return bool(value)


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None

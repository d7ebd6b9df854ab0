"""`GET` and `POST /sdapi/v1/options`: the few settings A1111 clients read, and a setter
that accepts them all back.

Clients read `sd_model_checkpoint` (Open WebUI, SillyTavern: which model is loaded),
`sd_vae`, `CLIP_stop_at_last_layers`, `samples_format`; Open WebUI posts the whole object
back to switch models. One model is served: naming it (by its title, even with an older
hash, its name, repository id or hash: `ServedModel.is_named_by`) changes nothing, naming
another is a 422. Every other key is accepted and
ignored: these are the server's settings, not a client's to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import FieldError, InvalidRequest
from entrypoints.automatic1111.served_model import ServedModel
from entrypoints.echoed_values import shown
from entrypoints.settings import Settings


def options_json(model: ServedModel, settings: Settings) -> dict[str, Any]:
    return {
        "sd_model_checkpoint": model.title,
        "sd_checkpoint_hash": model.sha256,
        "sd_checkpoints_limit": 1,
        "sd_vae": "Automatic",
        "CLIP_stop_at_last_layers": 1,
        "eta_noise_seed_delta": 0,
        "samples_format": "png",
        "samples_save": True,
        # The folder's name, not its path: a key-holder learns no path of the server's.
        "outdir_samples": settings.generated_dir.name or "outputs",
        "enable_pnginfo": True,
        "live_previews_enable": settings.preview_every > 0,
        "show_progress_every_n_steps": settings.preview_every,
        "live_previews_image_format": "jpeg",
    }


def check_options(body: Mapping[str, Any], model: ServedModel) -> None:
    """Raises 422 unless every model ``body`` names is the served one."""
    asked = body.get("sd_model_checkpoint")
    if asked is None:
        return
    if not isinstance(asked, str) or not model.is_named_by(asked):
        raise InvalidRequest(
            [
                FieldError(
                    "sd_model_checkpoint",
                    f"Only {model.title} is served here; it cannot be switched to "
                    f"{shown(asked)} (set MODEL_REPO_ID and restart to serve another model).",
                )
            ]
        )

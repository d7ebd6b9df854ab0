"""optimum-intel's image-to-image and inpainting pipelines over the text pipeline's models.

optimum has no constructor that takes another pipeline, and diffusers' ``from_pipe``
cannot build its OV classes (their ``__init__`` takes ``openvino.Model`` objects named
``vae_decoder``/``vae_encoder``, which are not the source's registered components). So
each edit pipeline is constructed uncompiled over the text pipeline's own
``openvino.Model`` objects (no copy of the weights, no reshape), and then its parts are
replaced by the text pipeline's compiled parts: the three pipelines run the same compiled
UNet, text encoder and VAE, and the StageTimer wrapped around those parts times every mode.
Building one takes milliseconds and no memory beyond a few Python objects; what is not
shared is each pipeline's image processors (a few kB).

The VAE encoder is loaded with the text pipeline when the export has one (optimum loads
every part it finds) and compiled on its first use, so text-to-image alone never pays
for compiling it.
"""

from __future__ import annotations

import logging
from typing import Any

from optimum.intel import (
    OVLatentConsistencyModelImg2ImgPipeline,
    OVLatentConsistencyModelPipeline,
    OVStableDiffusionImg2ImgPipeline,
    OVStableDiffusionInpaintPipeline,
)

from domain.errors import UnsupportedOption
from domain.input_image import EditMode

PARTS = ("unet", "text_encoder", "vae_decoder", "vae_encoder", "vae")


def edit_pipeline(text: Any, mode: EditMode) -> Any:
    """A pipeline for ``mode`` (an edit) that runs ``text``'s compiled models."""
    if text.vae_encoder is None:
        raise UnsupportedOption(
            "init_image",
            "The loaded model has no VAE encoder (vae_encoder/), which image-to-image and "
            "inpainting need; a complete export of the model has one.",
        )
    lcm = isinstance(text, OVLatentConsistencyModelPipeline)
    if mode is EditMode.IMAGE_TO_IMAGE:
        pipe_class = (
            OVLatentConsistencyModelImg2ImgPipeline if lcm else OVStableDiffusionImg2ImgPipeline
        )
    else:
        # diffusers has no LCM inpainting class; its SD one feeds an LCM UNet's
        # guidance embedding all the same.
        pipe_class = OVStableDiffusionInpaintPipeline
    # diffusers warns of the missing safety checker when an SD pipeline is constructed
    # (from_pretrained silences it): the service never had one.
    diffusers_log = logging.getLogger(pipe_class.auto_model_class.__module__)
    level = diffusers_log.level
    diffusers_log.setLevel(logging.ERROR)
    try:
        pipe = _construct(pipe_class, text)
    finally:
        diffusers_log.setLevel(level)
    for part in PARTS:
        setattr(pipe, part, getattr(text, part))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def runs_lcm_schedule(pipe: Any) -> bool:
    """Whether ``pipe`` runs every step it is given from an image (over a schedule
    shortened to the strength) rather than ``int(steps * strength)`` of them: diffusers'
    LCM image-to-image pipeline does."""
    return isinstance(pipe, OVLatentConsistencyModelImg2ImgPipeline)


def _construct(pipe_class: Any, text: Any) -> Any:
    return pipe_class(
        scheduler=text.scheduler,
        unet=text.unet.model,
        vae_decoder=text.vae_decoder.model,
        vae_encoder=text.vae_encoder.model,
        text_encoder=text.text_encoder.model,
        tokenizer=text.tokenizer,
        feature_extractor=text.feature_extractor,
        device=text._device,  # the device the text pipeline compiled for
        compile=False,
        dynamic_shapes=False,  # the models are already dynamic: reshaping them is not ours
        ov_config=text.ov_config,
        model_save_dir=text.model_save_dir,
    )

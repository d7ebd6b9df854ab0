"""AUTOMATIC1111 txt2img/img2img bodies translated into our request's fields, without a
server: prompt tags, samplers, sizes, seeds, batches, edit fields, ignored fields, and
our field names turned back into A1111's in refusals."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import FieldError, InvalidRequest, UnsupportedOption
from domain.generation_request import SCHEDULERS
from entrypoints.automatic1111.prompt_syntax import without_extra_networks
from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.automatic1111.request_translation import (
    EngineChoices,
    Translation,
    in_a1111_terms,
    translate,
)
from entrypoints.automatic1111.sampler_names import choose_scheduler
from entrypoints.automatic1111.served_model import ServedModel
from entrypoints.request_validation import validated

SERVED = ServedModel("OpenVINO/sd-model", "sd-model", "ab" * 32, "sd-model")
MODEL = EngineChoices(SCHEDULERS, SERVED.is_named_by)


def txt2img(**body: Any) -> Translation:
    return translate(validated(Txt2ImgBody, {"prompt": "a lighthouse", **body}), MODEL)


def img2img(**body: Any) -> Translation:
    full = {"prompt": "a lighthouse", "init_images": ["aGVsbG8="], **body}
    return translate(validated(Img2ImgBody, full), MODEL)


def refused_fields(error: pytest.ExceptionInfo[InvalidRequest]) -> list[str]:
    return [detail.field for detail in error.value.details]


def test_a_plain_body_maps_to_our_fields() -> None:
    made = txt2img(
        negative_prompt="fog",
        seed=42,
        steps=12,
        cfg_scale=6.5,
        width=640,
        height=448,
        sampler_name="DDIM",
    )
    assert made.fields == {
        "prompt": "a lighthouse",
        "negative_prompt": "fog",
        "seed": 42,
        "num_inference_steps": 12,
        "guidance_scale": 6.5,
        "scheduler": "ddim",
        "width": 640,
        "height": 448,
    }
    assert made.total_images == 1
    assert made.warnings == []


def test_numbers_as_strings_are_read_as_a1111_reads_them() -> None:
    made = txt2img(steps="20", cfg_scale="7", width="512", batch_size="2")
    assert made.fields["num_inference_steps"] == 20
    assert made.fields["guidance_scale"] == 7.0
    assert made.total_images == 2


def test_left_out_fields_take_the_models_defaults_not_a1111s() -> None:
    made = txt2img()
    assert made.fields == {"prompt": "a lighthouse", "width": 512, "height": 512}


@pytest.mark.parametrize("seed", [-1, None])
def test_seed_minus_one_or_null_is_random(seed: int | None) -> None:
    assert "seed" not in txt2img(seed=seed).fields


def test_another_negative_seed_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        txt2img(seed=-5)
    assert refused_fields(refused) == ["seed"]


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("Euler", "euler"),
        ("Euler a", "euler_a"),
        ("euler A", "euler_a"),
        ("k_euler_a", "euler_a"),
        ("k_euler", "euler"),
        ("DDIM", "ddim"),
        ("PNDM", "pndm"),
        ("LCM", "lcm"),
        ("k_lcm", "lcm"),
    ],
)
def test_a1111_sampler_names_and_aliases(name: str, ours: str) -> None:
    assert txt2img(sampler_name=name).fields["scheduler"] == ours


def test_sampler_index_is_read_when_sampler_name_is_not_given() -> None:
    assert txt2img(sampler_index="Euler").fields["scheduler"] == "euler"
    assert txt2img(sampler_name="DDIM", sampler_index="Euler").fields["scheduler"] == "ddim"


def test_an_unknown_sampler_falls_back_to_the_models_own_and_says_so() -> None:
    made = txt2img(sampler_name="DPM++ 2M Karras")
    assert "scheduler" not in made.fields
    assert any("DPM++ 2M Karras" in warning for warning in made.warnings)


def test_a_sampler_the_engine_lacks_falls_back_too() -> None:
    choice = choose_scheduler("LCM", None, None, offered=("euler", "ddim"))
    assert choice.scheduler is None
    assert any("not offered" in warning for warning in choice.warnings)


@pytest.mark.parametrize("schedule", [None, "", "Automatic", "automatic"])
def test_the_automatic_noise_schedule_is_what_we_do(schedule: str | None) -> None:
    assert txt2img(sampler_name="Euler", scheduler=schedule).warnings == []


def test_another_noise_schedule_is_ignored_with_a_warning() -> None:
    made = txt2img(sampler_name="Euler", scheduler="Karras")
    assert made.fields["scheduler"] == "euler"
    assert made.warnings == ["ignored: scheduler 'Karras' (the sampler's own schedule ran)"]


def test_extra_network_tags_are_removed_and_named() -> None:
    made = txt2img(
        prompt="a (red:1.2) lighthouse <lora:foggy:0.8>, [night] <hypernet:x:1>",
        negative_prompt="<lyco:blur:0.5> blur",
    )
    assert made.fields["prompt"] == "a (red:1.2) lighthouse , [night]"
    assert made.fields["negative_prompt"] == "blur"
    assert made.warnings == [
        "ignored: <lora:foggy:0.8>",
        "ignored: <hypernet:x:1>",
        "ignored: <lyco:blur:0.5>",
    ]


def test_emphasis_is_passed_through_as_text() -> None:
    assert without_extra_networks("((a cat)), [dog:0.5]") == ("((a cat)), [dog:0.5]", [])


@pytest.mark.parametrize("prompt", ["", "   ", None, "<lora:foggy:0.8>", " <lora:a:1> <lyco:b:1> "])
def test_an_empty_prompt_is_refused_on_prompt(prompt: str | None) -> None:
    with pytest.raises(InvalidRequest) as refused:
        txt2img(prompt=prompt)
    assert refused_fields(refused) == ["prompt"]


@pytest.mark.parametrize(
    ("size", "fitted"),
    [
        ((2048, 1024), (1024, 512)),
        ((1000, 500), (1000, 496)),
        ((32, 64), (64, 128)),
        ((1536, 1536), (1024, 1024)),
    ],
)
def test_sizes_outside_our_bounds_are_scaled_keeping_the_aspect(
    size: tuple[int, int], fitted: tuple[int, int]
) -> None:
    made = txt2img(width=size[0], height=size[1])
    assert (made.fields["width"], made.fields["height"]) == fitted
    assert made.warnings == [
        f"size {size[0]}x{size[1]} changed to {fitted[0]}x{fitted[1]}: sides must be "
        "64 to 1024 and multiples of 8"
    ]


@pytest.mark.parametrize("field", ["width", "height"])
def test_a_size_that_is_not_a_size_is_refused(field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        txt2img(**{field: 0})
    assert refused_fields(refused) == [field]
    with pytest.raises(InvalidRequest) as refused:
        txt2img(**{field: "wide"})
    assert refused_fields(refused) == [field]


def test_batch_size_times_n_iter_is_the_number_of_images() -> None:
    assert txt2img(batch_size=2, n_iter=3).total_images == 6
    assert txt2img(batch_size=4, n_iter=8).total_images == 32


def test_more_than_32_images_is_refused_naming_both_fields() -> None:
    with pytest.raises(InvalidRequest) as refused:
        txt2img(batch_size=8, n_iter=5)
    assert refused_fields(refused) == ["batch_size", "n_iter"]
    assert "32" in refused.value.details[0].message


@pytest.mark.parametrize("field", ["batch_size", "n_iter"])
def test_no_images_is_refused(field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        txt2img(**{field: 0})
    assert refused_fields(refused) == [field]


def test_fields_we_cannot_honour_are_named() -> None:
    made = txt2img(
        enable_hr=True,
        restore_faces=True,
        tiling=True,
        subseed_strength=0.3,
        styles=["cinematic"],
        alwayson_scripts={"controlnet": {"args": []}},
        script_name="x/y/z plot",
        override_settings={
            "sd_model_checkpoint": "other-model [0123456789]",
            "CLIP_stop_at_last_layers": 2,
            "sd_vae": "vae-ft-mse.safetensors",
        },
    )
    assert made.warnings == [
        "ignored: enable_hr",
        "ignored: restore_faces",
        "ignored: tiling",
        "ignored: subseed_strength (no variation seeds here)",
        "ignored: styles",
        "ignored: alwayson_scripts",
        "ignored: script_name 'x/y/z plot'",
        "ignored: override_settings.sd_model_checkpoint 'other-model [0123456789]' "
        "(only the served model runs)",
        "ignored: override_settings.CLIP_stop_at_last_layers 2",
        "ignored: override_settings.sd_vae 'vae-ft-mse.safetensors' (the model's own VAE ran)",
    ]


def test_what_webuiapi_and_sillytavern_send_by_default_warns_of_nothing() -> None:
    made = txt2img(
        enable_hr=False,
        restore_faces=False,
        tiling=False,
        subseed_strength=0.0,
        styles=[],
        alwayson_scripts={},
        script_name=None,
        script_args=[],
        save_images=False,
        do_not_save_grid=False,
        eta=1.0,
        hr_upscaler="Latent",
        override_settings={
            "sd_model_checkpoint": "sd-model [0123456789]",
            "CLIP_stop_at_last_layers": 1,
            "sd_vae": "Automatic",
        },
        override_settings_restore_afterwards=True,
        sampler_name="Euler a",
        sampler_index="Euler a",
        scheduler="automatic",
    )
    assert made.warnings == []


def test_img2img_fields() -> None:
    made = img2img(
        mask="data:image/png;base64,aGVsbG8=",
        denoising_strength=0.4,
        mask_blur=8,
        inpainting_mask_invert=1,
        resize_mode=2,
        inpainting_fill=1,
        inpaint_full_res=False,
    )
    assert made.fields == {
        "prompt": "a lighthouse",
        "width": 512,
        "height": 512,
        "init_image": "aGVsbG8=",
        "mask_image": "data:image/png;base64,aGVsbG8=",
        "strength": 0.4,
        "mask_blur": 8,
        "invert_mask": True,
        "resize_mode": "fit",
    }
    assert made.warnings == []


def test_img2img_defaults_are_a1111s() -> None:
    made = img2img()
    assert made.fields["strength"] == 0.75
    assert made.fields["invert_mask"] is False
    assert made.fields["resize_mode"] == "stretch"  # A1111's 0, "just resize"


@pytest.mark.parametrize(("mode", "ours"), [(0, "stretch"), (1, "fill"), (2, "fit")])
def test_resize_modes(mode: int, ours: str) -> None:
    assert img2img(resize_mode=mode).fields["resize_mode"] == ours


def test_latent_upscale_resize_runs_as_just_resize_with_a_warning() -> None:
    made = img2img(resize_mode=3)
    assert made.fields["resize_mode"] == "stretch"
    assert made.warnings == ["resize_mode 3 (latent upscale) ran as 0 (just resize)"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"init_images": []}, "init_images"),
        ({"init_images": None}, "init_images"),
        ({"init_images": [""]}, "init_images"),
        ({"init_images": "aGVsbG8="}, "init_images"),
        ({"resize_mode": 4}, "resize_mode"),
        ({"inpainting_mask_invert": 2}, "inpainting_mask_invert"),
    ],
)
def test_img2img_refusals_name_a1111_fields(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        img2img(**body)
    assert refused_fields(refused) == [field]


def test_inpainting_fields_we_cannot_honour_are_named_with_a_mask_only() -> None:
    webuiapi_defaults = {"inpainting_fill": 0, "inpaint_full_res": True, "image_cfg_scale": 1.5}
    # image_cfg_scale matters to instruct-pix2pix models only: A1111 ignores it for the
    # others too, and webuiapi always sends it, so it is never worth a warning.
    assert img2img(**webuiapi_defaults).warnings == []
    masked = img2img(mask="aGVsbG8=", init_images=["aGVsbG8=", "aGVsbG8="], **webuiapi_defaults)
    assert masked.warnings == [
        "ignored: init_images after the first (1)",
        "ignored: inpainting_fill 0 (the original was kept, as 1)",
        "ignored: inpaint_full_res (the whole picture was inpainted)",
    ]


def test_our_field_names_in_a_refusal_become_a1111s() -> None:
    ours = InvalidRequest(
        [
            FieldError("guidance_scale", "Must be between 0 and 20."),
            FieldError("num_inference_steps", "Must be between 1 and 100."),
            FieldError("strength", "x"),
            FieldError("init_image", "x"),
            FieldError("mask_image", "x"),
            FieldError("prompt", "x"),
        ]
    )
    theirs = in_a1111_terms(ours)
    assert isinstance(theirs, InvalidRequest)
    assert [detail.field for detail in theirs.details] == [
        "cfg_scale",
        "steps",
        "denoising_strength",
        "init_images",
        "mask",
        "prompt",
    ]
    assert theirs.details[0].message == "Must be between 0 and 20."
    unsupported = in_a1111_terms(UnsupportedOption("init_image", "No VAE encoder."))
    assert isinstance(unsupported, UnsupportedOption)
    assert unsupported.details == [FieldError("init_images", "No VAE encoder.")]

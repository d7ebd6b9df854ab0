"""Readiness refuses a request the loaded backend has no mode for, before it is queued."""

from __future__ import annotations

import hashlib

import pytest

from application.readiness import Readiness
from domain.errors import UnsupportedOption
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode, InputImage
from tests.support.fakes import FakeBackend


def edit_request(mode: EditMode) -> GenerationRequest:
    fields: dict[str, object] = {"prompt": "a lake", "width": 64, "height": 64}
    picture = InputImage("up1", hashlib.sha256(b"picture").hexdigest(), 64, 64)
    if mode is not EditMode.TEXT_TO_IMAGE:
        fields["init_image"] = picture
    if mode is EditMode.INPAINTING:
        fields["mask_image"] = InputImage("up2", hashlib.sha256(b"mask").hexdigest(), 64, 64)
    return GenerationRequest.from_mapping(fields)


def ready(modes: frozenset[EditMode]) -> Readiness:
    readiness = Readiness()
    readiness.attach(FakeBackend(modes=modes))
    return readiness


@pytest.mark.parametrize("mode", [EditMode.IMAGE_TO_IMAGE, EditMode.INPAINTING])
def test_an_edit_on_a_text_only_backend_is_unsupported_on_init_image(mode: EditMode) -> None:
    readiness = ready(frozenset({EditMode.TEXT_TO_IMAGE}))

    with pytest.raises(UnsupportedOption, match="no VAE encoder") as refused:
        readiness.check(edit_request(mode))

    assert [detail.field for detail in refused.value.details] == ["init_image"]


def test_text_on_a_text_only_backend_and_every_mode_on_a_full_one_pass() -> None:
    ready(frozenset({EditMode.TEXT_TO_IMAGE})).check(edit_request(EditMode.TEXT_TO_IMAGE))
    full = ready(frozenset(EditMode))
    for mode in EditMode:
        full.check(edit_request(mode))

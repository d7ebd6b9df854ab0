"""The mock backend's edits: visible, in proportion to strength, only where a mask repaints."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from adapters.mock_backend import MockBackend
from application.ports import EditImages, RenderedImage
from domain.errors import GenerationCancelled
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage

SIZE = 64
INIT = InputImage("u1", "0" * 64, SIZE, SIZE)
MASK = InputImage("u2", "1" * 64, SIZE, SIZE)


def request(mask: bool = False, **fields: Any) -> GenerationRequest:
    return GenerationRequest(
        prompt="a heron",
        width=SIZE,
        height=SIZE,
        init_image=INIT,
        mask_image=MASK if mask else None,
        **{"num_inference_steps": 10, **fields},
    )


def inputs(mask: np.ndarray | None = None) -> EditImages:
    gradient = np.linspace(0, 255, SIZE, dtype=np.float32).astype(np.uint8)
    init = np.stack(np.broadcast_arrays(gradient[None, :], gradient[:, None], 128), axis=-1)
    return EditImages(
        SIZE, SIZE, init.astype(np.uint8).tobytes(), None if mask is None else mask.tobytes()
    )


def right_half() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[:, SIZE // 2 :] = 255
    return mask


def pixels(data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.uint8).reshape(SIZE, SIZE, 3).astype(int)


def run_edit(req: GenerationRequest, edit: EditImages, seed: int = 3) -> RenderedImage:
    return MockBackend().generate(req, seed, lambda *a, **k: None, lambda: False, edit)


def text_image(seed: int = 3) -> RenderedImage:
    return MockBackend().generate(
        GenerationRequest(prompt="a heron", width=SIZE, height=SIZE, num_inference_steps=10),
        seed,
        lambda *a, **k: None,
        lambda: False,
    )


def test_strength_blends_the_input_with_the_pattern() -> None:
    edit = inputs()
    init = pixels(edit.init_rgb)

    kept = run_edit(request(strength=0.0), edit)
    assert kept.rgb == edit.init_rgb  # no step ran: the input itself, unstamped

    # Strength 1 ignores the input: the text-to-image picture, stamp and all.
    assert run_edit(request(strength=1.0), edit).rgb == text_image().rgb

    half = pixels(run_edit(request(strength=0.5), edit).rgb)
    pattern = pixels(text_image().rgb)
    corner = (slice(0, 8), slice(SIZE - 8, SIZE))  # away from the stamp and the seed label
    assert np.all(np.abs(half[corner] - (init[corner] + pattern[corner]) / 2) <= 1)
    assert not np.array_equal(half, init) and not np.array_equal(half, pattern)


def test_inpainting_repaints_only_inside_the_mask_and_stamps_there() -> None:
    edit = inputs(right_half())
    init = pixels(edit.init_rgb)

    out = pixels(run_edit(request(mask=True, strength=1.0), edit).rgb)

    assert np.array_equal(out[:, : SIZE // 2], init[:, : SIZE // 2])
    assert np.all(np.any(out[:, SIZE // 2 :] != init[:, SIZE // 2 :], axis=-1))
    # The stamp's white letters fall inside the repainted half, where they can be seen
    # (neither the pattern, at most 250 a channel, nor this input, blue 128, is that white).
    assert np.any(np.all(out[:, SIZE // 2 :] >= 251, axis=-1))


def test_a_grey_mask_blends_in_between() -> None:
    mask = np.full((SIZE, SIZE), 128, np.uint8)
    edit = inputs(mask)
    out = pixels(run_edit(request(mask=True, strength=1.0), edit).rgb)
    init, pattern = pixels(edit.init_rgb), pixels(text_image().rgb)
    corner = (slice(0, 8), slice(SIZE - 8, SIZE))
    assert np.all(np.abs(out[corner] - (init[corner] + pattern[corner]) / 2) <= 1)


def test_progress_counts_the_denoising_steps_and_previews() -> None:
    seen: list[tuple[int, int]] = []

    def progress(step: int, total: int, preview: Any = None) -> None:
        assert callable(preview) and preview()[:2] == b"\xff\xd8"
        seen.append((step, total))

    req = request(mask=True, strength=0.5)
    assert req.denoising_steps == 5
    MockBackend().generate(req, 3, progress, lambda: False, inputs(right_half()))
    assert seen == [(step, 5) for step in range(1, 6)]


def test_cancel_is_honoured_between_steps() -> None:
    calls: list[int] = []

    def progress(step: int, total: int, preview: Any = None) -> None:
        calls.append(step)

    with pytest.raises(GenerationCancelled):
        MockBackend().generate(
            request(strength=0.8), 3, progress, lambda: len(calls) >= 2, inputs()
        )
    assert calls == [1, 2]


def test_edits_are_deterministic() -> None:
    edit = inputs(right_half())
    first = run_edit(request(mask=True, strength=0.6), edit, seed=11)
    assert run_edit(request(mask=True, strength=0.6), edit, seed=11) == first
    assert run_edit(request(mask=True, strength=0.6), edit, seed=12) != first
    assert run_edit(request(mask=True, strength=0.7), edit, seed=11) != first


def test_inputs_of_another_size_are_refused_in_words() -> None:
    edit = EditImages(SIZE * 2, SIZE, bytes(SIZE * SIZE * 6))
    with pytest.raises(ValueError, match="128x64 but the request asks for 64x64"):
        run_edit(request(), edit)

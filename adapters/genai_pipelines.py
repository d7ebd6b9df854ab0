"""openvino-genai's pipelines for the three modes over ONE loaded set of weights.

The root is an ``InpaintingPipeline`` (it holds the VAE encoder too); the image-to-image
and text-to-image pipelines are built from it with the constructors that take another
pipeline, which share its compiled models: deriving one takes microseconds and no memory
(the text, image-to-image and inpainting runs reuse the same UNet, text encoder and VAE,
measured on openvino-genai 2026.4.1). The other directions do not all work there:
``InpaintingPipeline(Image2ImagePipeline)`` crashes the process, and nothing is built
from a ``Text2ImagePipeline``, so the inpainting pipeline is the root.

A model without a VAE encoder (a hand-staged text-only export) gets a
``Text2ImagePipeline`` root and serves text-to-image only.

The root is compiled for one shape (static) or for any (dynamic); changing the shape
compiles a new root and drops the old one with its derived pipelines, so memory stays that
of one compiled model set. Changing the mode never compiles anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import openvino_genai as ov_genai
import structlog

from adapters.openvino_schedulers import GENAI_TYPES
from domain.errors import UnsupportedOption
from domain.generation_request import DEFAULT_GUIDANCE
from domain.input_image import EditMode

log = structlog.get_logger("openvino")

GenaiPipeline: TypeAlias = (
    ov_genai.Text2ImagePipeline | ov_genai.Image2ImagePipeline | ov_genai.InpaintingPipeline
)


@dataclass(frozen=True)
class Shape:
    """What a static pipeline is compiled for; any guidance scale on the same side of 1."""

    width: int
    height: int
    guided: bool  # classifier-free guidance doubles the UNet's batch


def has_vae_encoder(model_dir: Path) -> bool:
    return (model_dir / "vae_encoder" / "openvino_model.xml").is_file()


class GenaiPipelines:
    """The pipeline for each mode, built on first use from one compiled root."""

    def __init__(self, model_dir: Path, device: str, cache_dir: Path) -> None:
        self._model_dir = model_dir
        self._device = device
        self._cache_dir = cache_dir
        self._scheduler_config = str(model_dir / "scheduler" / "scheduler_config.json")
        self.edits = has_vae_encoder(model_dir)
        self._root: GenaiPipeline | None = None
        self._shape: Shape | None = None  # what the root is compiled for; None: dynamic
        self._by_mode: dict[EditMode, GenaiPipeline] = {}
        # Each derived pipeline has a scheduler of its own (None: the model's own).
        self._schedulers: dict[EditMode, str | None] = {}
        self.compiles = 0
        """How many times a root was compiled (the ``pipeline_compiled`` log lines)."""

    @property
    def modes(self) -> tuple[EditMode, ...]:
        """The modes whose pipeline is built on the current root."""
        return tuple(self._by_mode)

    def text_to_image(
        self, shape: Shape | None, scheduler: str | None
    ) -> ov_genai.Text2ImagePipeline:
        pipe = self.get(EditMode.TEXT_TO_IMAGE, shape, scheduler)
        assert isinstance(pipe, ov_genai.Text2ImagePipeline)
        return pipe

    def image_to_image(
        self, shape: Shape | None, scheduler: str | None
    ) -> ov_genai.Image2ImagePipeline:
        pipe = self.get(EditMode.IMAGE_TO_IMAGE, shape, scheduler)
        assert isinstance(pipe, ov_genai.Image2ImagePipeline)
        return pipe

    def inpainting(self, shape: Shape | None, scheduler: str | None) -> ov_genai.InpaintingPipeline:
        pipe = self.get(EditMode.INPAINTING, shape, scheduler)
        assert isinstance(pipe, ov_genai.InpaintingPipeline)
        return pipe

    def get(self, mode: EditMode, shape: Shape | None, scheduler: str | None) -> GenaiPipeline:
        """The pipeline for ``mode`` on a root compiled for ``shape`` (None: dynamic),
        with ``scheduler`` (None: the model's own) set."""
        if mode is not EditMode.TEXT_TO_IMAGE and not self.edits:
            raise UnsupportedOption(
                "init_image",
                f"The model in {self._model_dir} has no VAE encoder (vae_encoder/), which "
                "image-to-image and inpainting need; a complete export of the model has one.",
            )
        if self._root is None or shape != self._shape:
            self.compile(shape)
        pipe = self._by_mode.get(mode)
        if pipe is None:
            pipe = self._by_mode[mode] = self._derive(mode)
        self._use_scheduler(mode, pipe, scheduler)
        return pipe

    def compile(self, shape: Shape | None) -> None:
        """Compile a root for ``shape`` (None: dynamic), replacing the loaded one."""
        started = time.perf_counter()
        # Free the old models before compiling the new ones.
        self._root, self._by_mode, self._schedulers = None, {}, {}
        model, cache = str(self._model_dir), str(self._cache_dir)
        root_class = ov_genai.InpaintingPipeline if self.edits else ov_genai.Text2ImagePipeline
        if shape is None:
            root = root_class(model, self._device, CACHE_DIR=cache)
        else:
            root = root_class(model)
            guidance = DEFAULT_GUIDANCE if shape.guided else 1.0
            root.reshape(1, shape.height, shape.width, guidance)
            root.compile(self._device, CACHE_DIR=cache)
        self._root, self._shape = root, shape
        self._by_mode[EditMode.INPAINTING if self.edits else EditMode.TEXT_TO_IMAGE] = root
        self.compiles += 1
        log.info(
            "pipeline_compiled",
            device=self._device,
            shape="dynamic" if shape is None else f"{shape.width}x{shape.height}",
            guided=None if shape is None else shape.guided,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _derive(self, mode: EditMode) -> GenaiPipeline:
        started = time.perf_counter()
        derived: GenaiPipeline
        if mode is EditMode.TEXT_TO_IMAGE:
            derived = ov_genai.Text2ImagePipeline(self._root)
        else:
            derived = ov_genai.Image2ImagePipeline(self._root)
        log.info(
            "pipeline_derived",
            device=self._device,
            mode=mode.value,
            shape="dynamic" if self._shape is None else f"{self._shape.width}x{self._shape.height}",
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return derived

    def _use_scheduler(self, mode: EditMode, pipe: GenaiPipeline, name: str | None) -> None:
        # Set on a pipeline's first use (a derived one may start from a copy of its
        # root's), then only on change, and back for requests that want the model's own,
        # so one request's choice never leaks into the next.
        if mode in self._schedulers and self._schedulers[mode] == name:
            return
        if name is None:
            scheduler = ov_genai.Scheduler.from_config(self._scheduler_config)
        else:
            kind = getattr(ov_genai.Scheduler.Type, GENAI_TYPES[name])
            scheduler = ov_genai.Scheduler.from_config(self._scheduler_config, kind)
        pipe.set_scheduler(scheduler)
        self._schedulers[mode] = name

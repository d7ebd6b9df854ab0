"""A fake engine for the backend's device logic: no model, no runtime."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from adapters.openvino_engine import StepCallback
from application.ports import EditImages
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

# What the GPU plugin says when it runs out of memory, with its C++ source lines.
GPU_OOM = (
    "Exception from src/inference/src/cpp/infer_request.cpp:223:\n"
    "Exception from src/plugins/intel_gpu/src/runtime/ocl/ocl_stream.cpp:365:\n"
    "[GPU] out of GPU resources\n"
)


class FakeEngine:
    """Calls back N + 1 times for N steps, like PNDM; can fail at one step."""

    name = "fake"
    schedulers = ("pndm", "euler")
    takes_negative_prompt = True
    provenance: Mapping[str, str] = MappingProxyType({"engine": "fake", "scheduler": "pndm"})
    modes = frozenset(EditMode)

    def __init__(self, device: str, fail_at_index: int | None = None) -> None:
        self._device = device
        self.fail_at_index = fail_at_index
        self.runs = 0
        self.edits: list[EditImages | None] = []

    @property
    def device(self) -> str:
        return self._device

    def run(
        self,
        request: GenerationRequest,
        seed: int,
        on_step: StepCallback,
        edit: EditImages | None = None,
    ) -> npt.NDArray[np.uint8] | None:
        self.runs += 1
        self.edits.append(edit)
        engine_total = request.denoising_steps + 1
        for index in range(engine_total):
            if index == self.fail_at_index:
                raise RuntimeError(GPU_OOM)
            latents = np.full(
                (1, 4, request.height // 8, request.width // 8), index / 10, np.float32
            )
            if on_step(index, engine_total, partial(np.copy, latents)):
                return None
        return np.full((request.height, request.width, 3), seed % 256, dtype=np.uint8)

    def last_timings_ms(self) -> dict[str, float]:
        return {"unet_calls": float(self.runs)}


class FakeLoader:
    """An EngineLoader whose engines fail to load, or fail mid-run, on chosen devices."""

    def __init__(
        self, failing_load: Collection[str] = (), failing_run: Collection[str] = ()
    ) -> None:
        self.failing_load = failing_load
        self.failing_run = failing_run
        self.loads: list[str] = []
        self.engines: list[FakeEngine] = []

    def __call__(self, model_dir: Path, device: str, cache_dir: Path) -> FakeEngine:
        self.loads.append(device)
        if device in self.failing_load:
            raise RuntimeError(
                "Exception from src/inference/src/cpp/core.cpp:117:\n"
                f"[{device}] Can't get PERFORMANCE_HINT property as no supported devices "
                "found or an error happened during devices query.\n"
            )
        engine = FakeEngine(device, fail_at_index=2 if device in self.failing_run else None)
        self.engines.append(engine)
        return engine

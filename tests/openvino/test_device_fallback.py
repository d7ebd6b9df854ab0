"""Falling back to CPU: when the device is missing, fails to load, or fails mid-generation."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_devices import available_devices, shorten_runtime_error
from adapters.openvino_loading import load_openvino_backend
from application.ports import PreviewSource
from domain.errors import GenerationCancelled, Problem, Remedy
from tests.openvino.fakes import GPU_OOM, FakeEngine, FakeLoader
from tests.openvino.rendering import Recorder, edit_fields, render

pytestmark = pytest.mark.openvino

NO_GPU = not any(name.startswith("GPU") for name in available_devices())


def warnings_in(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["log_level"] == "warning"]


@pytest.mark.skipif(not NO_GPU, reason="this machine has an Intel GPU")
def test_gpu_on_a_machine_without_one_falls_back_to_cpu_with_one_warning(
    tiny_model_dir: Path, openvino_cache_dir: Path
) -> None:
    with capture_logs() as logs:
        backend = load_openvino_backend(tiny_model_dir, "GPU", openvino_cache_dir, "genai")

    [warning] = warnings_in(logs)
    assert warning["event"] == "device_unavailable_using_cpu"
    assert warning["target"] == "GPU"
    assert warning["device"] == "CPU"
    cause = str(warning["cause"])
    assert cause and "\n" not in cause and "Exception from" not in cause
    assert warning["remedies"] == ["install_gpu_driver", "use_cpu"]
    assert backend.device == "CPU"
    assert backend.fallback_reason == Problem(
        f"GPU unavailable: {cause}", (Remedy.INSTALL_GPU_DRIVER, Remedy.USE_CPU)
    )
    assert render(backend).width == 64
    for mode in ("image_to_image", "inpainting"):  # the edits run on the CPU set too
        fields, edit = edit_fields(mode)
        assert render(backend, edit=edit, **fields).width == 64


def test_a_device_that_fails_to_load_falls_back_to_cpu(tmp_path: Path) -> None:
    # AUTO is never in available_devices, so the loader is tried and its error is the cause.
    loader = FakeLoader(failing_load={"AUTO"})

    with capture_logs() as logs:
        backend = load_openvino_backend(
            tmp_path / "model", "auto", tmp_path / "cache", engine_loader=loader
        )

    assert loader.loads == ["AUTO", "CPU"]
    [warning] = warnings_in(logs)
    assert warning["target"] == "AUTO"
    assert warning["cause"] == (
        "[AUTO] Can't get PERFORMANCE_HINT property as no supported devices found or an "
        "error happened during devices query."
    )
    assert backend.device == "CPU"
    assert backend.fallback_reason is not None
    assert backend.fallback_reason.message.startswith("AUTO unavailable: [AUTO] Can't get")
    # AUTO is no driver of its own: the name asked for is what to check.
    assert backend.fallback_reason.remedies == (Remedy.CHECK_DEVICE, Remedy.USE_CPU)


def test_cpu_loads_without_a_fallback_or_warning(tmp_path: Path) -> None:
    loader = FakeLoader()

    with capture_logs() as logs:
        backend = load_openvino_backend(
            tmp_path / "model", "CPU", tmp_path / "cache", engine_loader=loader
        )

    assert warnings_in(logs) == []
    assert (backend.device, backend.fallback_reason) == ("CPU", None)
    assert (tmp_path / "cache").is_dir()


def gpu_backend(loader: FakeLoader) -> OpenVINOBackend:
    def reload(device: str) -> FakeEngine:
        return loader(Path("model"), device, Path("cache"))

    return OpenVINOBackend(reload("GPU"), reload)


def test_a_device_error_mid_generation_is_retried_once_on_cpu() -> None:
    loader = FakeLoader(failing_run={"GPU"})
    backend = gpu_backend(loader)
    recorder = Recorder()

    with capture_logs() as logs:
        image = render(backend, recorder=recorder, seed=3, num_inference_steps=4)

    assert loader.loads == ["GPU", "CPU"]
    assert (image.width, image.height, image.rgb[:1]) == (64, 64, bytes([3]))
    # The GPU attempt got to step 1 of 4; the CPU run continues the count, never repeats it.
    assert recorder.progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert backend.device == "CPU"
    assert backend.fallback_reason == Problem(
        "GPU failed during a generation: [GPU] out of GPU resources",
        (Remedy.SMALLER_IMAGE, Remedy.INSTALL_GPU_DRIVER, Remedy.USE_CPU),
    )
    [warning] = warnings_in(logs)
    assert warning["event"] == "device_failed_retrying_on_cpu"
    assert warning["device"] == "GPU"
    assert warning["remedies"] == ["smaller_image", "install_gpu_driver", "use_cpu"]

    render(backend)  # later generations stay on CPU without another reload
    assert loader.loads == ["GPU", "CPU"]


def test_an_error_on_cpu_is_not_retried() -> None:
    engine = FakeEngine("CPU", fail_at_index=1)
    backend = OpenVINOBackend(engine, reload=lambda device: pytest.fail("no reload on CPU"))

    with pytest.raises(RuntimeError, match="out of GPU resources"):
        render(backend)

    assert engine.runs == 1


def test_an_error_from_on_progress_is_not_mistaken_for_a_device_error() -> None:
    loader = FakeLoader()
    backend = gpu_backend(loader)

    def failing(step: int, total: int, preview: PreviewSource | None = None) -> None:
        raise RuntimeError("the caller's own bug")

    with pytest.raises(RuntimeError, match="the caller's own bug"):
        render(backend, on_progress=failing)

    assert loader.loads == ["GPU"]
    assert backend.device == "GPU"


def test_cancel_during_the_cpu_retry_still_cancels() -> None:
    backend = gpu_backend(FakeLoader(failing_run={"GPU"}))

    with pytest.raises(GenerationCancelled):
        render(backend, recorder=Recorder(cancel_at=2), num_inference_steps=4)

    assert backend.device == "CPU"


def test_runtime_errors_are_shortened_to_one_line() -> None:
    error = RuntimeError(
        "Exception from src/inference/src/cpp/core.cpp:268:\n"
        'Cannot load library "/opt/venv/lib/openvino/libs/libopenvino_intel_gpu_plugin.so": '
        "libOpenCL.so.1: cannot open shared object file: No such file or directory\n"
    )

    assert shorten_runtime_error(error) == (
        "Cannot load library libopenvino_intel_gpu_plugin.so: libOpenCL.so.1: cannot open "
        "shared object file: No such file or directory"
    )
    assert shorten_runtime_error(RuntimeError(GPU_OOM)) == "[GPU] out of GPU resources"
    assert len(shorten_runtime_error(RuntimeError("x" * 1000))) <= 240


def test_available_devices_lists_the_cpu() -> None:
    assert "CPU" in available_devices()

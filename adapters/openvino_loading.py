"""Loading the OpenVINO backend: which engine can read the model, which device it runs on.

A device that is missing or fails to compile falls back to CPU with one WARNING naming
the cause and the remedies; compiled blobs go to the cache folder, never into the model folder.
"""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path

import structlog

from adapters.model_layout import missing_files, pipeline_class
from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_devices import driver_remedy, shorten_runtime_error, unavailable_reason
from adapters.openvino_engine import BackendLoadError, Engine, EngineLoader, LoadFailure
from domain.errors import Problem, Remedy

log = structlog.get_logger("openvino")

ENGINES = ("genai", "optimum")


def load_openvino_backend(
    model_dir: Path,
    device: str,
    cache_dir: Path,
    engine: str = "genai",
    *,
    static_shape: bool = False,
    engine_loader: EngineLoader | None = None,
) -> OpenVINOBackend:
    """Load the model on ``device``, or on CPU with one WARNING when that device fails.

    Blocking (seconds for SD 1.5, minutes for a first GPU compile); call it off the
    event loop. ``static_shape`` compiles genai for the default request's shape (the
    optimum engine stays dynamic). ``engine_loader`` replaces the real engines in tests.
    """
    target = device.strip().upper()
    cache_dir = _checked_cache_dir(cache_dir, model_dir)
    if engine_loader is None:
        engine = choose_engine(model_dir, engine)
        engine_loader = _real_loader(engine, model_dir, static_shape)
    load = partial(_load_on, engine_loader, model_dir, cache_dir)
    if target == "CPU":
        return OpenVINOBackend(load("CPU"), load)
    cause = unavailable_reason(target)
    if cause is None:
        try:
            return OpenVINOBackend(load(target), load)
        except RuntimeError as error:
            cause = shorten_runtime_error(error)
    reason = Problem(f"{target} unavailable: {cause}", (driver_remedy(target), Remedy.USE_CPU))
    log.warning(
        "device_unavailable_using_cpu",
        target=target,
        cause=cause,
        remedies=[remedy.value for remedy in reason.remedies],
        device="CPU",
    )
    return OpenVINOBackend(load("CPU"), load, fallback_reason=reason)


def choose_engine(model_dir: Path, requested: str) -> str:
    """The engine that can load this model: older optimum exports need optimum."""
    if requested not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {requested!r}")
    exported_by = pipeline_class(model_dir) or ""
    needs_optimum = exported_by.startswith("OV")  # e.g. OVStableDiffusionPipeline
    if requested == "genai" and not needs_optimum:
        return "genai"
    if not optimum_installed():
        why = (
            f"The model in {model_dir} is an older optimum-intel export ({exported_by}), "
            "which openvino-genai cannot load (a current export of the model can)"
            if needs_optimum
            else "The optimum engine was asked for"
        )
        raise BackendLoadError(
            LoadFailure.OPTIMUM_NOT_INSTALLED,
            f"{why}, but the optimum engine is not installed.",
            (Remedy.INSTALL_OPTIMUM,),
            model_dir,
        )
    if requested == "genai":
        log.info(
            "engine_switched",
            engine="optimum",
            pipeline=exported_by,
            reason="older optimum-intel export; openvino-genai cannot load it",
        )
    return "optimum"


def _real_loader(engine: str, model_dir: Path, static_shape: bool) -> EngineLoader:
    if engine == "optimum":
        try:
            from adapters.optimum_engine import load_optimum_engine
        except ImportError as error:  # e.g. a CUDA torchvision beside the CPU torch
            raise BackendLoadError(
                LoadFailure.OPTIMUM_BROKEN,
                f"The optimum engine is installed but fails to import ({error}).",
                (Remedy.INSTALL_OPTIMUM,),
            ) from error
        return load_optimum_engine
    missing = missing_files(model_dir)
    if missing:  # genai's own errors for these come late or not at all
        raise BackendLoadError(
            LoadFailure.MODEL_INCOMPLETE,
            f"The model in {model_dir} lacks {', '.join(missing)}.",
            (Remedy.DOWNLOAD_MODEL,),
            model_dir,
        )
    from adapters.openvino_genai_engine import load_genai_engine

    return partial(load_genai_engine, static_shape=static_shape)


def _load_on(loader: EngineLoader, model_dir: Path, cache_dir: Path, device: str) -> Engine:
    log.info("model_loading", device=device, model_dir=str(model_dir))
    return loader(model_dir, device, cache_dir)


def _checked_cache_dir(cache_dir: Path, model_dir: Path) -> Path:
    cache_dir = cache_dir.resolve()
    if cache_dir.is_relative_to(model_dir.resolve()):
        # Model folders are replaced on re-download; the blobs are large and per device.
        raise BackendLoadError(
            LoadFailure.CACHE_IN_MODEL_FOLDER,
            f"The compile cache folder {cache_dir} is inside the model folder {model_dir}.",
            (Remedy.MOVE_CACHE_DIR,),
            cache_dir,
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    return cache_dir


def optimum_installed() -> bool:
    """Whether the optional optimum engine's packages are installed (without importing them)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("optimum.intel", "diffusers", "torch")
        )
    except ModuleNotFoundError:  # find_spec imports "optimum" to look inside it
        return False

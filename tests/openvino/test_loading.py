"""Choosing the engine, the compiled-model cache, and what the default install imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import openvino_genai
import pytest

from adapters import openvino_loading
from adapters.openvino_engine import BackendLoadError, LoadFailure
from adapters.openvino_loading import (
    choose_engine,
    load_openvino_backend,
    optimum_installed,
)
from domain.errors import Remedy
from tests.openvino.rendering import render, skip_unless_installed

pytestmark = pytest.mark.openvino

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def files_in(directory: Path) -> set[Path]:
    return {path.relative_to(directory) for path in directory.rglob("*")}


def test_the_tiny_model_has_the_real_repos_layout(tiny_model_dir: Path) -> None:
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"]
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"]
    expected = {
        "scheduler/scheduler_config.json",
        *(
            f"{part}/openvino_model.{ext}"
            for part in ("text_encoder", "unet", "vae_decoder", "vae_encoder")
            for ext in ("xml", "bin")
        ),
        *(
            f"tokenizer/openvino_{kind}.{ext}"
            for kind in ("tokenizer", "detokenizer")
            for ext in ("xml", "bin")
        ),
        "tokenizer/vocab.json",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
    }
    assert expected <= {str(path) for path in files_in(tiny_model_dir)}


def test_an_old_style_export_loads_with_optimum(
    tiny_old_style_model_dir: Path, openvino_cache_dir: Path
) -> None:
    skip_unless_installed("optimum")
    # genai itself refuses it: the reason the loader switches engines.
    with pytest.raises(RuntimeError, match="Unsupported text to image generation pipeline"):
        openvino_genai.Text2ImagePipeline(str(tiny_old_style_model_dir), "CPU")

    backend = load_openvino_backend(tiny_old_style_model_dir, "CPU", openvino_cache_dir, "genai")

    assert backend.engine == "optimum"
    assert render(backend, width=64, height=96).height == 96


def test_an_old_style_export_without_optimum_names_the_extra(
    tiny_old_style_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openvino_loading, "optimum_installed", lambda: False)

    with pytest.raises(BackendLoadError) as caught:
        choose_engine(tiny_old_style_model_dir, "genai")

    assert caught.value.kind is LoadFailure.OPTIMUM_NOT_INSTALLED
    assert "OVStableDiffusionPipeline" in caught.value.message
    assert caught.value.remedies == (Remedy.INSTALL_OPTIMUM,)
    assert caught.value.path == tiny_old_style_model_dir


def test_asking_for_optimum_without_it_names_the_extra(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openvino_loading, "optimum_installed", lambda: False)

    with pytest.raises(BackendLoadError) as caught:
        choose_engine(tiny_model_dir, "optimum")

    assert caught.value.kind is LoadFailure.OPTIMUM_NOT_INSTALLED
    assert caught.value.remedies == (Remedy.INSTALL_OPTIMUM,)


def test_a_current_export_stays_on_the_requested_engine(tiny_model_dir: Path) -> None:
    assert choose_engine(tiny_model_dir, "genai") == "genai"
    if optimum_installed():
        assert choose_engine(tiny_model_dir, "optimum") == "optimum"
    with pytest.raises(ValueError, match="engine must be one of"):
        choose_engine(tiny_model_dir, "onnx")


def test_a_model_missing_files_is_refused_with_their_names(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "model"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "tokenizer" / "openvino_tokenizer.xml").unlink()

    with pytest.raises(BackendLoadError) as caught:
        load_openvino_backend(broken, "CPU", tmp_path / "cache")

    assert caught.value.kind is LoadFailure.MODEL_INCOMPLETE
    assert "tokenizer/openvino_tokenizer.xml" in caught.value.message
    assert caught.value.remedies == (Remedy.DOWNLOAD_MODEL,)
    assert caught.value.path == broken


def test_the_cache_may_not_live_in_the_model_folder(tiny_model_dir: Path) -> None:
    with pytest.raises(BackendLoadError) as caught:
        load_openvino_backend(tiny_model_dir, "CPU", tiny_model_dir / "cache")

    assert caught.value.kind is LoadFailure.CACHE_IN_MODEL_FOLDER
    assert caught.value.remedies == (Remedy.MOVE_CACHE_DIR,)
    assert caught.value.path == (tiny_model_dir / "cache").resolve()
    assert not (tiny_model_dir / "cache").exists()


@pytest.mark.parametrize("engine", ["genai", "optimum"])
def test_compiled_models_are_cached_in_the_cache_dir_only(
    engine: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    skip_unless_installed(engine)
    before = files_in(tiny_model_dir)

    load_openvino_backend(tiny_model_dir, "CPU", tmp_path / "cache", engine)

    assert any(path.suffix == ".blob" for path in (tmp_path / "cache").iterdir())
    assert files_in(tiny_model_dir) == before


def test_the_default_engine_never_imports_torch_diffusers_or_optimum(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from adapters.openvino_loading import load_openvino_backend
        from domain.generation_request import GenerationRequest
        backend = load_openvino_backend(Path({str(tiny_model_dir)!r}), "GPU",
                                        Path({str(tmp_path / "cache")!r}))
        request = GenerationRequest(prompt="a cat", num_inference_steps=2, width=64, height=64)
        backend.generate(request, 1, lambda step, total, preview=None: None, lambda: False)
        heavy = sorted(name for name in sys.modules
                       if name.split(".")[0] in {{"torch", "diffusers", "optimum", "transformers"}})
        print("heavy modules:", heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "heavy modules: []"

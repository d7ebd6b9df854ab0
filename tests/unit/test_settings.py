from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import PROJECT_ROOT, SettingsError, env_file_from, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env_file=None)
    assert settings.use_mocks is False
    assert settings.openvino_device == "GPU"
    assert settings.openvino_engine == "genai"
    assert settings.auto_download_models is False
    assert settings.huggingface_token is None
    assert settings.model_repo_id == "OpenVINO/stable-diffusion-v1-5-int8-ov"
    assert settings.model_dir == PROJECT_ROOT / "data" / "models" / "stable-diffusion"
    assert settings.generated_dir == PROJECT_ROOT / "data" / "generated"
    assert settings.ov_cache_dir == PROJECT_ROOT / "data" / "cache" / "openvino"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.log_level, settings.log_format) == ("INFO", "console")
    assert settings.inference_timeout_seconds == 300


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "USE_MOCKS=true\nOPENVINO_DEVICE=gpu.1\nHF_TOKEN=hf_secret\nPORT=9000\n"
        "GENERATED_DIR=/tmp/elsewhere\nLOG_FORMAT=JSON\nlog_level=debug\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PORT", "9100")
    settings = load_settings(env_file=env_file)
    assert settings.use_mocks is True
    assert settings.openvino_device == "GPU.1"
    assert settings.huggingface_token is not None
    assert settings.huggingface_token.get_secret_value() == "hf_secret"
    assert "hf_secret" not in repr(settings)
    assert settings.port == 9100
    assert settings.generated_dir == Path("/tmp/elsewhere")
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")


def test_huggingface_token_takes_either_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUGGINGFACE_TOKEN", "hf_a")
    token = load_settings(env_file=None).huggingface_token
    assert token is not None and token.get_secret_value() == "hf_a"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OPENVINO_DEVICE", "TPU", "OPENVINO_DEVICE='TPU'"),
        ("PORT", "eighty", "PORT='eighty'"),
        ("PORT", "70000", "PORT='70000'"),
        ("USE_MOCKS", "maybe", "USE_MOCKS='maybe'"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT='xml'"),
        ("OPENVINO_ENGINE", "torch", "OPENVINO_ENGINE='torch'"),
        ("INFERENCE_TIMEOUT_SECONDS", "0", "INFERENCE_TIMEOUT_SECONDS='0'"),
        ("MODEL_REPO_ID", "not a repo", "MODEL_REPO_ID='not a repo'"),
        ("QUEUE_URL", "http://:s3cret@host:6379", "QUEUE_URL='http://***@host:6379'"),
    ],
)
def test_bad_value_names_the_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith(f"Invalid setting {expected}")
    assert "\n" not in message
    assert "s3cret" not in message


@pytest.mark.parametrize("name", ["USE_MOCKS", "AUTO_DOWNLOAD_MODELS", "OPENVINO_STATIC_SHAPE"])
def test_bad_boolean_names_the_accepted_values(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "maybe")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith(f"Invalid setting {name}='maybe'")
    assert message.endswith("Expected true or false (also 1/0, yes/no, on/off).")


@pytest.mark.parametrize("value", ["true", "1", "yes", "on", "TRUE", "On"])
def test_boolean_accepts_the_values_the_message_names(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("USE_MOCKS", value)
    assert load_settings(env_file=None).use_mocks is True


@pytest.mark.parametrize("value", ["false", "0", "no", "off"])
def test_boolean_accepts_the_false_values_the_message_names(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OPENVINO_STATIC_SHAPE", value)
    assert load_settings(env_file=None).openvino_static_shape is False


def test_env_file_chooses_the_dotenv_file(tmp_path: Path) -> None:
    assert env_file_from({}) == PROJECT_ROOT / ".env"
    assert env_file_from({"ENV_FILE": ""}) is None
    assert env_file_from({"ENV_FILE": str(tmp_path / "ci.env")}) == tmp_path / "ci.env"
    assert env_file_from({"ENV_FILE": "config/dev.env"}) == PROJECT_ROOT / "config" / "dev.env"


def test_load_settings_reads_the_file_env_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.env"
    other.write_text("PORT=9200\nUSE_MOCKS=true\n", encoding="utf-8")
    monkeypatch.setenv("ENV_FILE", str(other))
    settings = load_settings()
    assert (settings.port, settings.use_mocks) == (9200, True)


def test_empty_env_file_reads_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the server tests set: a developer's `.env` in the project root stays out.
    monkeypatch.setenv("ENV_FILE", "")
    assert load_settings() == load_settings(env_file=None)


def test_bad_device_lists_the_choices_and_the_devices_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENVINO_DEVICE", "cuda")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert "GPU, CPU, AUTO, NPU" in str(caught.value)
    assert "Devices on this machine: CPU" in str(caught.value)


def test_a_bad_value_stops_startup_with_one_line() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "eighty", "ENV_FILE": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Invalid setting PORT='eighty': Input should be a valid integer, unable to parse "
        "string as an integer."
    ]


def test_every_setting_is_documented_in_env_example_and_readme() -> None:
    from entrypoints.settings import Settings

    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for field in Settings.model_fields:
        name = field.upper()
        assert f"{name}=" in example, f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README"


def test_env_example_as_it_ships_gives_the_defaults() -> None:
    assert load_settings(env_file=PROJECT_ROOT / ".env.example") == load_settings(env_file=None)

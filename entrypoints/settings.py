"""Every setting of the service, read once from the environment and an optional `.env`.

ENV_FILE (environment only) names another file to read instead of `.env`; empty reads none.

Relative paths are taken from the project root, not the working directory, so
`uvicorn main:app` started from anywhere finds the same folders. On Windows a path may
use backslashes and a drive letter (`C:\\models\\sd`) and is taken as given; on Linux and
macOS such a path is refused with a message, instead of becoming a folder of that name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path, PurePath, PureWindowsPath
from typing import Literal, TypeVar

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from entrypoints.queue_address import redacted

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_DEVICE = re.compile(r"(GPU|CPU|AUTO|NPU)(\.\d+)?")
_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(f"{_REPO_PART}/{_REPO_PART}")


class SettingsError(Exception):
    """A setting has a value the service cannot use; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env",
        # Windows editors' CRLF line endings and byte order mark: python-dotenv reads both.
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `NAME=` in .env means "not set", as .env.example writes the optional ones.
        env_ignore_empty=True,
    )

    use_mocks: bool = False
    mock_step_seconds: float = Field(default=0.0, ge=0, le=5)
    openvino_device: str = "GPU"
    openvino_engine: Literal["genai", "optimum"] = "genai"
    openvino_static_shape: bool = True
    ov_cache_dir: Path = Path("data/cache/openvino")
    auto_download_models: bool = False
    huggingface_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HUGGINGFACE_TOKEN", "HF_TOKEN")
    )
    hf_endpoint: str | None = Field(default=None, validation_alias="HF_ENDPOINT")
    model_repo_id: str = "OpenVINO/stable-diffusion-v1-5-int8-ov"
    model_dir: Path = Path("data/models/stable-diffusion")
    generated_dir: Path = Path("data/generated")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allowed_hosts: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    inference_timeout_seconds: float = Field(default=300.0, gt=0)
    max_queue: int = Field(default=16, ge=1, le=1000)
    preview_every: int = Field(default=5, ge=0, le=100)
    retention_max_images: int | None = Field(default=None, ge=0)
    retention_max_age_days: float | None = Field(default=None, gt=0)
    max_upload_mb: int = Field(default=20, ge=1, le=200)
    """The largest input image accepted, as a file (an upload or inline base64)."""

    # Sharing on a network (README "Sharing on a network").
    api_keys: SecretStr | None = None
    """Comma-separated `key`, `name:key` or `name:key:admin` entries."""
    api_keys_file: Path | None = None
    """One such entry per line; `#` starts a comment."""
    allow_open_access: bool = False
    """Serve a non-loopback address without keys (logged as a WARNING at every start)."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    auth_failure_limit: str = "10/minute"  # authentication.DEFAULT_FAILURE_LIMIT
    """Wrong keys one address may send (`limits` notation) before it gets 429."""
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    rate_limit: str = ""
    """Job submissions per client, in the `limits` notation (`20/minute`); empty: none."""
    max_queued_per_client: int | None = Field(default=None, ge=1, le=1000)
    """Jobs one client may have waiting; unset: a quarter of MAX_QUEUE (at least 1)."""
    min_free_disk_mb: int = Field(default=500, ge=0)
    sse_send_timeout_seconds: float = Field(default=30.0, gt=0)
    max_streams_per_client: int = Field(default=8, ge=1, le=1000)
    max_connections: int = Field(default=512, ge=8)
    max_connections_per_client: int | None = Field(default=None, ge=1)
    """Connections one address may hold; unset: a quarter of MAX_CONNECTIONS (128 at the
    default). A share rather than a fixed number: it keeps one address from holding the whole
    server whatever MAX_CONNECTIONS is (a fixed 64 would be all of MAX_CONNECTIONS=64), and
    raising MAX_CONNECTIONS for a classroom behind one NAT address raises its room too."""
    safety_checker: Literal["off", "sd_checker"] = "off"
    """`sd_checker`: the model's own safety checker judges every final image (README
    "Safety filter"); it must be downloaded first (`make download-safety-checker`)."""
    safety_action: Literal["blur", "block"] = "blur"
    """What a flagged image becomes: strongly blurred with a notice, or a placeholder."""
    safety_previews: Literal["blur", "off"] = "blur"
    """With a checker on: live previews blurred (at preview size), or none at all."""
    safety_checker_dir: Path = Path("data/models/safety-checker")
    """Where `download-safety-checker` puts the checker, converted to OpenVINO IR."""
    queue_url: SecretStr | None = None
    """Empty: the in-process queue. `redis://[user:password@]host:6379/0` (or `rediss://`
    for TLS): jobs are rendered by workers (`local-sd worker`) pulling from that Redis."""
    local_worker: bool = True
    """With QUEUE_URL: this server also starts a worker of its own on this PC."""
    max_parallel_jobs: int = Field(default=16, ge=1, le=256)
    """With QUEUE_URL: at most this many jobs run at once, each on a free worker."""
    worker_lost_retry_below: float = Field(default=0.5, ge=0, le=1)
    """With QUEUE_URL: an image whose worker was lost is made again elsewhere while less
    than this share of its steps had run; past it the job fails as interrupted."""
    worker_heartbeat_seconds: int = Field(default=15, ge=3, le=600)
    """With QUEUE_URL: a worker silent this long is taken for dead and its render moves on."""
    keep_alive_seconds: float = Field(default=5.0, gt=0, le=300)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("openvino_device", mode="before")
    @classmethod
    def _normalise_device(cls, value: object) -> object:
        if isinstance(value, str):
            upper = value.strip().upper()
            if not _DEVICE.fullmatch(upper):
                raise ValueError("expected GPU, CPU, AUTO, NPU or an indexed name like GPU.1")
            return upper
        return value

    @field_validator(
        "log_level",
        "log_format",
        "openvino_engine",
        "safety_checker",
        "safety_action",
        "safety_previews",
        mode="before",
    )
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if value.strip().upper() in _LEVELS else value.strip().lower()

    @field_validator("rate_limit", "auth_failure_limit")
    @classmethod
    def _check_rate_limit(cls, value: str, info: ValidationInfo) -> str:
        if value.strip() or info.field_name == "auth_failure_limit":
            from limits import parse

            try:
                parse(value)
            except ValueError:
                raise ValueError("expected a rate like 20/minute or 100/hour") from None
        return value

    @field_validator("queue_url", mode="before")
    @classmethod
    def _check_queue_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            scheme = value.strip().partition("://")[0].lower()
            if scheme not in ("redis", "rediss"):
                raise ValueError("expected redis://host:6379/0 or rediss://host:6380/0 (TLS)")
            return value.strip()
        return value

    @field_validator("model_repo_id")
    @classmethod
    def _check_repo_id(cls, value: str) -> str:
        # The hub's own rules (huggingface_hub's validate_repo_id), with the owner required:
        # no `..`, `.` or path-like part ever reaches a folder name.
        if (
            not _REPO_ID.fullmatch(value)
            or "--" in value
            or ".." in value
            or value.endswith(".git")
        ):
            raise ValueError(
                "expected a Hugging Face repository id like OpenVINO/name: letters, digits, "
                "'-', '_' and '.', no '..' or '--', each part starting and ending with a "
                "letter or digit"
            )
        return value

    @property
    def keys_configured(self) -> bool:
        """API_KEYS or API_KEYS_FILE is set (whether they hold valid keys is checked later)."""
        return self.api_keys is not None or self.api_keys_file is not None

    @property
    def queued_per_client(self) -> int:
        if self.max_queued_per_client is not None:
            return self.max_queued_per_client
        return max(1, self.max_queue // 4)

    @property
    def connections_per_client(self) -> int:
        if self.max_connections_per_client is not None:
            return self.max_connections_per_client
        return self.max_connections // 4

    @field_validator(
        "model_dir",
        "generated_dir",
        "ov_cache_dir",
        "safety_checker_dir",
        "api_keys_file",
        "ssl_certfile",
        "ssl_keyfile",
        mode="before",
    )
    @classmethod
    def _anchor_path(cls, value: object) -> object:
        return anchored_path(str(value), PROJECT_ROOT) if isinstance(value, str | Path) else value


_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}

P = TypeVar("P", bound=PurePath)


def anchored_path(raw: str, root: P) -> P:
    """``raw`` as a path of ``root``'s kind: as given when absolute, else under ``root``.

    The path rules are those of the OS ``root`` belongs to, so a test can pass a
    ``PureWindowsPath`` root to check what Windows makes of a value.
    """
    path = type(root)(raw)
    if path.is_absolute():
        return path
    if isinstance(path, PureWindowsPath):
        if path.drive:  # `D:out` is relative to the current folder of drive D: at run time
            raise ValueError(f"expected a full path like {path.drive}\\folder, or a relative one")
    elif PureWindowsPath(raw).drive:
        raise ValueError("this is a Windows path; on this system give a path like /srv/models")
    return root / path


# pydantic's own message for these ("unable to interpret input") does not say what would do.
_BOOLEAN_ERRORS = {"bool_parsing", "bool_type"}
_BOOLEAN_HINT = "Expected true or false (also 1/0, yes/no, on/off)."


class _FromEnvironment(Enum):
    """Sentinel default of `load_settings`: the file ENV_FILE names, else `.env`."""

    ENV_FILE = "ENV_FILE"


def env_file_from(environ: Mapping[str, str]) -> Path | None:
    """The dotenv file to read: ENV_FILE's path if set ("" for none), else `.env`.

    ENV_FILE is deliberately not a Settings field: it says where the settings come from,
    so it can only come from the real environment, and a `.env` cannot name another one.
    Tests and tools that start the server set it to "" so a developer's `.env` stays out.
    A relative path is taken from the project root, like the other paths.
    """
    named = environ.get("ENV_FILE")
    if named is None:
        return PROJECT_ROOT / ".env"
    if not named.strip():
        return None
    try:
        return anchored_path(named, PROJECT_ROOT)
    except ValueError as error:
        raise SettingsError(f"Invalid setting ENV_FILE={named!r}: {error}.") from None


def load_settings(
    env_file: Path | _FromEnvironment | None = _FromEnvironment.ENV_FILE,
) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    if isinstance(env_file, _FromEnvironment):
        env_file = env_file_from(os.environ)
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
            shown = problem.get("input")
            if name == "QUEUE_URL" and isinstance(shown, str):
                shown = redacted(shown)  # a password must not reach the terminal or a log
            line = f"Invalid setting {name}={shown!r}: {problem['msg']}."
            if problem["type"] in _BOOLEAN_ERRORS:
                line += f" {_BOOLEAN_HINT}"
            if name == "OPENVINO_DEVICE":
                line += f" Devices on this machine: {_devices_here()}."
            lines.append(line)
        raise SettingsError(" ".join(lines)) from None


def _devices_here() -> str:
    try:
        from adapters.openvino_devices import available_devices

        return ", ".join(available_devices()) or "none"
    except Exception:  # no OpenVINO at all: the message must still come out
        return "unknown (OpenVINO is not installed)"

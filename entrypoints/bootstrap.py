"""The adapters the settings choose, built in one place.

`create_app` composes the service from these; the CLI commands (download, retention) that
need only a piece of it call the same factories, so no command wires an adapter its own
way and a change of adapter reaches all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.file_history_store import FileHistoryStore
from adapters.file_image_store import FileImageStore
from adapters.hf_model_store import DownloadProgress, HuggingFaceModelStore
from application.history import History
from application.ports import ImageBackend, ImageStore, ModelStore
from domain.retention import RetentionPolicy
from entrypoints.settings import Settings


def image_store(settings: Settings) -> ImageStore:
    return FileImageStore(settings.generated_dir)


def history_store(settings: Settings) -> FileHistoryStore:
    return FileHistoryStore(settings.generated_dir)


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(settings.retention_max_images, settings.retention_max_age_days)


def history_for(
    settings: Settings,
    *,
    images: ImageStore | None = None,
    store: FileHistoryStore | None = None,
) -> History:
    """The job history in GENERATED_DIR under the configured retention policy.

    The app passes the image store it serves from (a fake in tests) and keeps the
    history store, whose partial files it removes at startup.
    """
    return History(
        store or history_store(settings),
        images or image_store(settings),
        retention_policy(settings),
    )


def hub_model_store(settings: Settings, on_progress: DownloadProgress | None = None) -> ModelStore:
    token = settings.huggingface_token.get_secret_value() if settings.huggingface_token else None
    return HuggingFaceModelStore(
        settings.model_repo_id,
        settings.model_dir,
        token=token or None,
        endpoint=settings.hf_endpoint,
        on_progress=on_progress,
    )


def openvino_loader(settings: Settings) -> Callable[[], ImageBackend]:
    def load() -> ImageBackend:
        # Imported here: the mock mode and the tests of the layers above need no OpenVINO.
        from adapters.openvino_loading import load_openvino_backend

        return load_openvino_backend(
            settings.model_dir,
            settings.openvino_device,
            settings.ov_cache_dir,
            settings.openvino_engine,
            static_shape=settings.openvino_static_shape,
        )

    return load

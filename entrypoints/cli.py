"""Command line: `local-sd serve|demo|download|download-safety-checker|retention|worker|new-key`,
or `python -m entrypoints.cli`.

The same commands on every OS: on Windows, without `make`, they are the whole workflow.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from entrypoints.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from adapters.folder_lock import FolderLock


def serve(settings: Settings) -> int:
    import structlog
    import uvicorn

    from entrypoints.app import create_app
    from entrypoints.server_exit import end_like_ctrl_c_on_ctrl_break, guard_forced_exit
    from entrypoints.server_options import serving_url, uvicorn_options

    refusal = open_network_refusal(settings)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    try:
        options = uvicorn_options(settings)  # checks the TLS files
        app = create_app(settings)  # configures logging: from here on, every line is a log line
    except SettingsError as error:  # API_KEYS_FILE is read here, once
        print(error, file=sys.stderr)
        return 2
    refusal = data_folder_refusal(app.state.services.folder_lock)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    guard_forced_exit(app.state.services.lifecycle)
    log = structlog.get_logger("cli")
    log.info("serving", url=serving_url(settings))
    end_like_ctrl_c_on_ctrl_break()
    uvicorn.run(app, **options)
    return 0


def open_network_refusal(settings: Settings) -> str | None:
    """Why `serve` must not start: a network address without keys, unless allowed."""
    from entrypoints.network_addresses import is_loopback
    from entrypoints.remedies import HOW_TO_SET_A_KEY

    if settings.keys_configured or settings.allow_open_access or is_loopback(settings.host):
        return None
    return f"Refusing to listen on {settings.host} (HOST) without API keys. {HOW_TO_SET_A_KEY}"


def data_folder_refusal(lock: FolderLock) -> str | None:
    """Why `serve` must not start: another process uses GENERATED_DIR.

    Taken here, before uvicorn starts, the lock gives one clean line instead of uvicorn's
    "Application startup failed"; the lifespan then keeps the lock this takes.
    """
    from adapters.folder_lock import FolderInUse
    from entrypoints.remedies import data_folder_in_use

    try:
        lock.acquire()
    except FolderInUse as error:
        return data_folder_in_use(error.folder, error.holder)
    except OSError as error:  # an unwritable folder, or a file system without locks
        return f"Cannot lock {lock.folder} (GENERATED_DIR): {error.strerror or error}."
    return None


def download(settings: Settings, force: bool, safety_checker: bool = False) -> int:
    if safety_checker:
        from entrypoints.safety_checker_download import run_safety_checker_download

        return run_safety_checker_download(settings, force=force)
    from entrypoints.model_download import run_download

    return run_download(settings, force=force)


def retention(settings: Settings) -> int:
    from datetime import datetime, timezone

    from adapters.folder_lock import FolderInUse
    from application.upload_pruning import UploadPruning
    from entrypoints.bootstrap import (
        file_upload_store,
        folder_lock,
        history_for,
        retention_policy,
    )

    if not retention_policy(settings).enabled:
        print("No retention policy: set RETENTION_MAX_IMAGES and/or RETENTION_MAX_AGE_DAYS.")
        return 0
    # A running server applies the policy itself; deleting beside it would leave it
    # listing and serving what is gone, so this waits for no one and refuses.
    lock = folder_lock(settings, "the local-sd retention command")
    try:
        lock.acquire()
    except FolderInUse as error:
        print(
            f"{settings.generated_dir} (GENERATED_DIR) is in use by {error.holder}, which "
            "applies the retention policy itself at its start and after each job; "
            "stop it to apply the policy now.",
            file=sys.stderr,
        )
        return 2
    try:
        history = history_for(settings)
        now = datetime.now(timezone.utc)
        # The jobs that were running stay so: the next server start records them.
        history.recover(now, mark_interrupted=False)
        removed = history.apply_retention(now)
        # Input images fall under the same policy, as in the server; the inputs of the
        # jobs still to run stay.
        uploads = file_upload_store(settings)
        pruning = UploadPruning(uploads, retention_policy(settings))
        uploads_removed = pruning.apply(history.jobs(), now)
    finally:
        lock.release()
    count = sum(len(job.images) for job in removed)
    print(f"Removed {len(removed)} jobs ({count} images) from {settings.generated_dir}.")
    for job in removed:
        print(f"  {job.id}  {job.created_at:%Y-%m-%d %H:%M}  {len(job.images)} image(s)")
    print(f"Removed {uploads_removed} uploaded input images from {uploads.directory}.")
    return 0


# Slow enough to watch the progress and previews, as `make demo` does.
DEMO_STEP_SECONDS = 0.05


def demo_settings(settings: Settings) -> Settings:
    """The demo mode; a MOCK_STEP_SECONDS that was set stays."""
    update: dict[str, object] = {"use_mocks": True}
    if "mock_step_seconds" not in settings.model_fields_set:
        update["mock_step_seconds"] = DEMO_STEP_SECONDS
    return settings.model_copy(update=update)


def new_key(name: str, admin: bool) -> int:
    """Print one entry for API_KEYS or API_KEYS_FILE: a random key, named when asked."""
    import re
    import secrets

    if name and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        print("A key's name is 1 to 64 letters, digits, '.', '_' or '-'.", file=sys.stderr)
        return 2
    entry = secrets.token_urlsafe(32)
    if name:
        entry = f"{name}:{entry}:admin" if admin else f"{name}:{entry}"
    elif admin:
        print("--admin needs a name: local-sd new-key NAME --admin", file=sys.stderr)
        return 2
    print(entry)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local-sd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="serve the API and UI")
    serve_command.add_argument(
        "--download-missing",
        action="store_true",
        help="download a missing model in the background unless AUTO_DOWNLOAD_MODELS is set",
    )
    commands.add_parser(
        "demo", help="serve placeholder images, no model needed (USE_MOCKS=true, paced steps)"
    )
    fetch = commands.add_parser("download", help="download the model into MODEL_DIR")
    fetch.add_argument("--force", action="store_true", help="download every file again")
    fetch.add_argument(
        "--safety-checker",
        action="store_true",
        help="instead, fetch the model's safety checker and convert it for OpenVINO into "
        "SAFETY_CHECKER_DIR (needs the optimum extra)",
    )
    # The name the remedies give, as `make download-safety-checker` has it.
    fetch_checker = commands.add_parser(
        "download-safety-checker", help="the same as download --safety-checker"
    )
    fetch_checker.add_argument("--force", action="store_true", help="fetch and convert again")
    commands.add_parser("retention", help="apply RETENTION_MAX_IMAGES / _AGE_DAYS now")
    commands.add_parser(
        "worker", help="render images for the service whose queue is at QUEUE_URL (Redis)"
    )
    new = commands.add_parser("new-key", help="print a new API key entry for API_KEYS")
    new.add_argument("name", nargs="?", default="", help="who will use it (logs name it)")
    new.add_argument("--admin", action="store_true", help="it sees every client's jobs")
    args = parser.parse_args(argv)
    if args.command == "new-key":  # needs no settings: it is how a first key is made
        return new_key(args.name, admin=args.admin)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "serve":
        if args.download_missing and "auto_download_models" not in settings.model_fields_set:
            settings = settings.model_copy(update={"auto_download_models": True})
        return serve(settings)
    if args.command == "demo":
        return serve(demo_settings(settings))
    if args.command == "retention":
        return retention(settings)
    if args.command == "worker":
        from entrypoints.cluster_worker import run_worker

        return run_worker(settings)
    if args.command == "download-safety-checker":
        return download(settings, args.force, safety_checker=True)
    return download(settings, args.force, safety_checker=args.safety_checker)


if __name__ == "__main__":
    sys.exit(main())

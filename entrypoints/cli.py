"""Command line: `python -m entrypoints.cli serve|download`."""

from __future__ import annotations

import argparse
import sys

from entrypoints.settings import Settings, SettingsError, load_settings


def serve(settings: Settings) -> int:
    import uvicorn

    from entrypoints.app import create_app

    app = create_app(settings)
    print(f"Serving on http://{settings.host}:{settings.port}/", file=sys.stderr)
    # Our middleware logs each request once; uvicorn's access log would double it.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level.lower(),
    )
    return 0


def download(settings: Settings, force: bool) -> int:
    from entrypoints.model_download import run_download

    return run_download(settings, force=force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local-sd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API and UI")
    fetch = commands.add_parser("download", help="download the model into MODEL_DIR")
    fetch.add_argument("--force", action="store_true", help="download every file again")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    return download(settings, args.force)


if __name__ == "__main__":
    sys.exit(main())

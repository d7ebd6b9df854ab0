"""ASGI entry point: `uvicorn main:app --reload`."""

from __future__ import annotations

import sys

from entrypoints.app import create_app
from entrypoints.server_exit import guard_forced_exit
from entrypoints.settings import SettingsError

try:
    app = create_app()
except SettingsError as error:
    sys.exit(str(error))
guard_forced_exit(app.state.services.lifecycle)

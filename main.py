"""ASGI entry point: `uvicorn main:app --reload`."""

from __future__ import annotations

import atexit
import sys

from entrypoints.app import create_app
from entrypoints.server_exit import leave_at_once_if_model_work_runs
from entrypoints.settings import SettingsError

try:
    app = create_app()
except SettingsError as error:
    sys.exit(str(error))
atexit.register(leave_at_once_if_model_work_runs, app.state.lifecycle)

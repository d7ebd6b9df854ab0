"""What the compat tests' live servers are started with, and the credentials clients send."""

from __future__ import annotations

import base64
from pathlib import Path

# Two named keys, so a test can show one client's jobs are not the other's.
ALICE_KEY = "compat-alice-0123456789abcdef"
BOB_KEY = "compat-bob-fedcba9876543210"
API_KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY}"

# Slow enough that a poll sees a running step, short enough that a 2-step job is quick.
STEP_SECONDS = 0.05


def mock_environment(directory: Path, **extra: str) -> dict[str, str]:
    """The mock backend, a preview at every step (AUTOMATIC1111's `current_image`)."""
    return {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(directory / "generated"),
        "PREVIEW_EVERY": "1",
        **extra,
    }


def basic_authorization(user_and_password: str) -> str:
    """`authorization` as Open WebUI and SillyTavern build it: `Basic ` + base64 of what the
    user typed as `user:password`. Their default, an empty string, gives `Basic ` with its
    trailing space, which HTTP parsers strip from a field value (RFC 9110 §5.5), so the
    server sees `Basic`; httpx refuses to send the space, so it is left off here."""
    encoded = base64.b64encode(user_and_password.encode("utf-8")).decode("ascii")
    return f"Basic {encoded}".rstrip()

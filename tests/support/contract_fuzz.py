"""What the schemathesis runs share: the schemas, the checks' settings, the served app.

The schemas are built at import from the app's routes (schemathesis' lazy fixture loader
fails under pytest 9). Generation is derandomized, so a run sends the same cases every
time. Imported only where schemathesis is installed (Python 3.11+).
"""

from __future__ import annotations

import base64
import io
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from PIL import Image
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from entrypoints.app import create_app
from entrypoints.openapi import openapi_document
from entrypoints.routes import ROUTES
from entrypoints.settings import Settings
from tests.support.lasting_lifespan import LastingLifespan

KEY = "contract-test-key"
AUTHORIZED = {"Authorization": f"Bearer {KEY}"}
# Schemathesis sends every protected request with a wrong key too: far more than the 10
# a minute that a real client gets before 429.
KEYED_SETTINGS = {"api_keys": KEY, "auth_failure_limit": "100000/minute"}
# An address schemathesis' Host check passes (its in-process default, "testserver", is
# not a loopback name).
IN_PROCESS_URL = "http://127.0.0.1"
SUBMISSIONS = {("POST", "/image"), ("POST", "/jobs")}

# Schemathesis' own list of the answers that reject invalid data, plus two of ours: a body
# larger than its route takes (413; /session takes 1 KiB) is refused before it is parsed,
# and one that does not arrive in time gets 408.
_REJECTIONS = ["400", "401", "403", "404", "405", "406", "408", "409", "413", "415", "422"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {"expected-statuses": [*_REJECTIONS, "428", "429", "5XX"]}
        }
    }
)


@dataclass
class Tally:
    """A run's cases so far, and when its first and its latest case were sent."""

    cases: int = 0
    first: float = 0.0
    latest: float = 0.0

    def add(self) -> None:
        self.latest = time.monotonic()
        self.first = self.first or self.latest
        self.cases += 1


TALLIES: defaultdict[str, Tally] = defaultdict(Tally)


def fuzzing(examples: int, *, coverage: bool = True) -> Callable[[Any], Any]:
    """Hypothesis' settings for `examples` generated cases per operation.

    With ``coverage`` the coverage phase's fixed cases come first (every boundary, wrong
    type and unlisted method; schemathesis runs them as Hypothesis' explicit examples).
    """
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink] if coverage else [Phase.generate],
    )


def contract_schema(*, keys_required: bool, app: LastingLifespan | None = None) -> Any:
    """The published document as schemathesis' schema; with ``app``, reached in-process."""
    schema = schemathesis.openapi.from_dict(
        openapi_document(ROUTES, keys_required=keys_required), config=CONFIG
    )
    # Set before filtering, so the filtered schemas and the checks' own probes (a case
    # sent again without the key) all reach the same app.
    schema.app = app
    return schema


def split_submissions(schema: Any) -> tuple[Any, Any]:
    """(the job submissions, every other operation): a submission costs a job's work."""

    def is_submission(ctx: Any) -> bool:
        return (ctx.operation.method.upper(), ctx.operation.path) in SUBMISSIONS

    return schema.include(is_submission), schema.exclude(func=is_submission)


def excluded_checks(case: Any) -> list[Any]:
    # `/images/{job_id}.json` is also a `/images/{name}` URL, and that route deletes:
    # `OPTIONS /images/x.json` rightly allows DELETE (answering 404 for a job "x.json"),
    # which OpenAPI cannot say, as one URL falls under two of its path templates.
    if case.operation.path == "/images/{job_id}.json":
        return [allow_header_conformance]
    # An upload's body is an image file, which no schema can describe beyond "bytes": a
    # valid case holds bytes no image decoder takes (422). Its bytes cannot be swapped for
    # an image's as a submission's can (below): schemathesis counts any binary body it
    # did not make itself as invalid data.
    if (case.method.upper(), case.operation.path) == ("POST", "/uploads"):
        return [positive_data_acceptance]
    return []


def _tiny_png_base64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 120, 40)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


TINY_PNG_BASE64 = _tiny_png_base64()


def with_decodable_images(case: Any) -> None:
    """A valid submission's inline images made real ones, its mask given its image.

    The schema can say an inline image is a string, not that it decodes, nor that a mask
    needs an image of its size; the service rightly refuses anything else with 422.
    Invalid cases keep what schemathesis made, so refusals are still fuzzed.
    """
    body = case.body
    if (
        case.meta is None
        or not case.meta.generation.mode.is_positive
        or (case.method.upper(), case.operation.path) not in SUBMISSIONS
        or not isinstance(body, dict)
    ):
        return
    for name in ("init_image", "mask_image"):
        value = body.get(name)
        if isinstance(value, str):
            body[name] = TINY_PNG_BASE64
        elif isinstance(value, dict) and set(value) == {"data"}:
            body[name] = {"data": TINY_PNG_BASE64}
    if body.get("mask_image") is not None and body.get("init_image") is None:
        body["init_image"] = TINY_PNG_BASE64


def check_case(case: Any, run: str, **call: Any) -> None:
    """Send ``case`` and apply every check; ``call`` goes to schemathesis' transport."""
    TALLIES[run].add()
    with_decodable_images(case)
    case.call_and_validate(excluded_checks=excluded_checks(case), timeout=30, **call)


@contextmanager
def images_folder(tmp: Path) -> Iterator[Path]:
    """A folder for the images, on a RAM disk where there is one: each image is fsynced,
    and only the contract is under test here, not the disk."""
    shm = Path("/dev/shm")
    images = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp / "generated"
    try:
        yield images
    finally:
        shutil.rmtree(images, ignore_errors=True)


@contextmanager
def served_in_process(front: LastingLifespan, tmp: Path, **values: Any) -> Iterator[None]:
    """The service on the mock backend behind ``front``, until the block ends."""
    with images_folder(tmp) as images:
        front.serve(
            create_app(
                Settings(  # type: ignore[call-arg]
                    _env_file=None,
                    use_mocks=True,
                    mock_step_seconds=0,
                    preview_every=0,
                    generated_dir=images,
                    model_dir=tmp / "models",
                    ov_cache_dir=tmp / "ov-cache",
                    min_free_disk_mb=0,
                    # Only what goes wrong: a line per request costs as much as the request.
                    log_level="ERROR",
                    **values,
                )
            )
        )
        try:
            yield
        finally:
            front.close()


@contextmanager
def counted(
    config: pytest.Config, run: str, requests: Callable[[], int] | None = None
) -> Iterator[None]:
    """When the block ends, the run's cases (and requests) and the time from its first
    case to its last, in pytest's output."""
    try:
        yield
    finally:
        tally = TALLIES[run]
        sent = f", {requests()} requests" if requests is not None else ""
        seconds = tally.latest - tally.first
        report(config, f"schemathesis {run}: {tally.cases} cases{sent} in {seconds:.0f} s")


class _Summary:
    """A pytest plugin: the runs' lines in a section of the summary at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("schemathesis")
        for line in self.lines:
            terminalreporter.write_line(line)


def report(config: pytest.Config, line: str) -> None:
    """``line`` in pytest's summary at the end, in a "schemathesis" section."""
    summary = config.pluginmanager.get_plugin(_Summary.__name__)
    if summary is None:
        summary = _Summary()
        config.pluginmanager.register(summary, _Summary.__name__)
    summary.lines.append(line)

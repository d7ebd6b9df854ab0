"""Schemathesis against a real server process on the mock backend, with every check it has:
no 5xx, every error in the error shape, every answer as documented. Two runs: one without
keys, one with a key (which adds the 401 paths: schemathesis sends each protected request
again without the key and with a wrong one). Python 3.11+; CI's 3.10 skips it.

The schemas are built at import from the app's routes (schemathesis' lazy fixture loader
fails under pytest 9), and each run first checks the server serves that same document.
Generation is derandomized, so a run sends the same cases every time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrypoints.openapi import openapi_document
from entrypoints.routes import ROUTES
from tests.support.live_server import LiveServer, live_server

# Schemathesis 4.32 needs Python 3.11; the 3.10 run has neither it nor hypothesis.
schemathesis = pytest.importorskip("schemathesis")
import requests  # noqa: E402  (schemathesis' own client, installed with it)
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.specs.openapi.checks import allow_header_conformance  # noqa: E402

pytestmark = pytest.mark.server

KEY = "contract-test-key"
AUTHORIZED = {"Authorization": f"Bearer {KEY}"}
# Cases per operation for the fuzzing phase; the coverage phase adds its own fixed set
# (every boundary, wrong type and unlisted method), most of the submissions' cases. A
# submission costs a job's work on the mock backend; a case of the key run is three
# requests (with the key, without one, with a wrong one). Measured on 2 cores: about
# 1,800 cases and 2,650 requests, 40-60 s for both runs (plus pytest's start).
EXAMPLES_PER_OPERATION = 60
EXAMPLES_PER_OPERATION_WITH_A_KEY = 30
EXAMPLES_PER_SUBMISSION = 10
_SUBMISSIONS = {("POST", "/image"), ("POST", "/jobs")}


def _fuzzing(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


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


def _split(keys_required: bool) -> tuple[Any, Any]:
    schema = schemathesis.openapi.from_dict(
        openapi_document(ROUTES, keys_required=keys_required), config=CONFIG
    )
    submissions = schema.include(
        lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in _SUBMISSIONS
    )
    others = schema.exclude(
        func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in _SUBMISSIONS
    )
    return submissions, others


open_submissions, open_others = _split(keys_required=False)
keyed_submissions, keyed_others = _split(keys_required=True)


def _excluded(case: Any) -> list[Any]:
    # `/images/{job_id}.json` is also a `/images/{name}` URL, and that route deletes:
    # `OPTIONS /images/x.json` rightly allows DELETE (answering 404 for a job "x.json"),
    # which OpenAPI cannot say, as one URL falls under two of its path templates.
    if case.operation.path == "/images/{job_id}.json":
        return [allow_header_conformance]
    return []


def _serve(tmp: Path, **env: str) -> Iterator[LiveServer]:
    # Images on a RAM disk where there is one: each is fsynced, and only the contract is
    # under test here, not the disk.
    shm = Path("/dev/shm")
    images = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp / "generated"
    values = {
        "USE_MOCKS": "true",
        "MOCK_STEP_SECONDS": "0",
        "PREVIEW_EVERY": "0",
        "GENERATED_DIR": str(images),
        "MODEL_DIR": str(tmp / "models"),
        "MIN_FREE_DISK_MB": "0",
        **env,
    }
    try:
        with live_server(values, tmp / "server.log") as server:
            keyed = "API_KEYS" in env
            served = httpx.get(
                f"{server.base_url}/openapi.json", headers=AUTHORIZED if keyed else {}, timeout=10
            )
            assert served.json() == json.loads(
                json.dumps(openapi_document(ROUTES, keys_required=keyed))
            ), "the server publishes another document than the one fuzzed here"
            yield server
    finally:
        shutil.rmtree(images, ignore_errors=True)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from _serve(tmp_path_factory.mktemp("open"))


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Schemathesis sends every protected request with a wrong key too: far more than the
    # 10 a minute that a real client gets before 429.
    yield from _serve(
        tmp_path_factory.mktemp("keyed"), API_KEYS=KEY, AUTH_FAILURE_LIMIT="100000/minute"
    )


@pytest.fixture(scope="module")
def connections() -> Iterator[requests.Session]:
    """One keep-alive connection for the cases, instead of a new one per case."""
    with requests.Session() as session:
        yield session


def _check(
    case: Any,
    server: LiveServer,
    session: requests.Session,
    headers: dict[str, str] | None = None,
) -> None:
    case.call_and_validate(
        base_url=server.base_url,
        session=session,
        headers=headers,
        excluded_checks=_excluded(case),
        timeout=30,
    )


@open_submissions.parametrize()  # type: ignore[untyped-decorator]
@_fuzzing(EXAMPLES_PER_SUBMISSION)
def test_submissions_keep_the_contract(
    case: Any, open_server: LiveServer, connections: requests.Session
) -> None:
    _check(case, open_server, connections)


@open_others.parametrize()  # type: ignore[untyped-decorator]
@_fuzzing(EXAMPLES_PER_OPERATION)
def test_the_api_keeps_its_contract(
    case: Any, open_server: LiveServer, connections: requests.Session
) -> None:
    _check(case, open_server, connections)


@keyed_submissions.parametrize()  # type: ignore[untyped-decorator]
@_fuzzing(EXAMPLES_PER_SUBMISSION)
def test_submissions_keep_the_contract_with_a_key(
    case: Any, keyed_server: LiveServer, connections: requests.Session
) -> None:
    _check(case, keyed_server, connections, AUTHORIZED)


@keyed_others.parametrize()  # type: ignore[untyped-decorator]
@_fuzzing(EXAMPLES_PER_OPERATION_WITH_A_KEY)
def test_the_api_keeps_its_contract_with_a_key(
    case: Any, keyed_server: LiveServer, connections: requests.Session
) -> None:
    _check(case, keyed_server, connections, AUTHORIZED)

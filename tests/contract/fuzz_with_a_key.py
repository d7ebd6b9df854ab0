"""The schemathesis runs with a key, in a pytest process of their own.

`test_schemathesis.py` starts this file (its name is not a test file's, so a plain
`pytest` does not collect it) and runs the cases without keys meanwhile, one run per
core. With a key set, schemathesis sends each protected case that succeeds again without
the key and with a wrong one, which covers the 401 paths. Two runs:
- in-process, behind `LastingLifespan`: no sockets, one event loop, one lifespan;
- a smaller one against a real server process (generated cases only), through uvicorn
  and the service's bounded HTTP parser, which the in-process runs skip. The server
  must publish the very document fuzzed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from entrypoints.openapi import openapi_document
from entrypoints.routes import ROUTES
from tests.support.live_server import LiveServer, live_server

# Schemathesis 4.32 needs Python 3.11; the 3.10 run has neither it nor hypothesis.
pytest.importorskip("schemathesis")
import requests  # schemathesis' own client, installed with it

from tests.support.contract_fuzz import (
    AUTHORIZED,
    IN_PROCESS_URL,
    KEYED_SETTINGS,
    check_case,
    contract_schema,
    counted,
    fuzzing,
    images_folder,
    served_in_process,
    split_submissions,
)
from tests.support.lasting_lifespan import LastingLifespan

pytestmark = pytest.mark.server

# Generated cases per operation, after the coverage phase's fixed ones. A case here is up
# to three requests, and a submission also costs a job's work on the mock backend.
EXAMPLES_PER_OPERATION = 25
EXAMPLES_PER_SUBMISSION = 10
EXAMPLES_PER_OPERATION_ON_A_SERVER = 10
RUN, SERVER_RUN = "with a key, in process", "with a key, on a real server"

SERVICE = LastingLifespan()
submissions, others = split_submissions(contract_schema(keys_required=True, app=SERVICE))
on_a_server = contract_schema(keys_required=True)


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    with (
        counted(request.config, RUN, lambda: SERVICE.requests),
        served_in_process(SERVICE, tmp_path_factory.mktemp("keyed"), **KEYED_SETTINGS),
    ):
        yield


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("server")
    with (
        counted(request.config, SERVER_RUN),
        images_folder(tmp) as images,
        live_server(
            {
                "USE_MOCKS": "true",
                "MOCK_STEP_SECONDS": "0",
                "PREVIEW_EVERY": "0",
                "GENERATED_DIR": str(images),
                "MODEL_DIR": str(tmp / "models"),
                "MIN_FREE_DISK_MB": "0",
                "LOG_LEVEL": "WARNING",
                **{name.upper(): value for name, value in KEYED_SETTINGS.items()},
            },
            tmp / "server.log",
        ) as server,
    ):
        served = httpx.get(f"{server.base_url}/openapi.json", headers=AUTHORIZED, timeout=10)
        assert served.json() == json.loads(
            json.dumps(openapi_document(ROUTES, keys_required=True))
        ), "the server publishes another document than the one fuzzed here"
        yield server


@pytest.fixture(scope="module")
def connections() -> Iterator[requests.Session]:
    """One keep-alive connection for the real server's cases."""
    with requests.Session() as session:
        yield session


@submissions.parametrize()  # type: ignore[untyped-decorator]
@fuzzing(EXAMPLES_PER_SUBMISSION)
def test_submissions_keep_the_contract_with_a_key(case: Any, service: None) -> None:
    check_case(case, RUN, base_url=IN_PROCESS_URL, headers=AUTHORIZED)


@others.parametrize()  # type: ignore[untyped-decorator]
@fuzzing(EXAMPLES_PER_OPERATION)
def test_the_api_keeps_its_contract_with_a_key(case: Any, service: None) -> None:
    check_case(case, RUN, base_url=IN_PROCESS_URL, headers=AUTHORIZED)


@on_a_server.parametrize()  # type: ignore[untyped-decorator]
@fuzzing(EXAMPLES_PER_OPERATION_ON_A_SERVER, coverage=False)
def test_a_real_server_keeps_the_contract(
    case: Any, server: LiveServer, connections: requests.Session
) -> None:
    check_case(case, SERVER_RUN, base_url=server.base_url, session=connections, headers=AUTHORIZED)

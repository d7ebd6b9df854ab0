"""Schemathesis against the service on the mock backend, with every check it has: no 5xx,
every error in the error shape, every answer as documented. Python 3.11+; CI's 3.10
skips it.

The runs go side by side, one per core:
- here, the run without keys, with the service in this process (`LastingLifespan`: no
  sockets, one event loop and one lifespan for the whole run);
- in a pytest process of its own, started when this module starts, the runs with a key
  (`fuzz_with_a_key.py`): in-process too, which covers the 401 paths, and a smaller one
  against a real server process, through uvicorn and the service's bounded HTTP parser,
  which the in-process runs skip. The last test here waits for them and fails with
  their report.
Each run writes its count of cases and its time to pytest's output.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_server import PROJECT_ROOT

# Schemathesis 4.32 needs Python 3.11; the 3.10 run has neither it nor hypothesis.
pytest.importorskip("schemathesis")
from tests.support.contract_fuzz import (
    IN_PROCESS_URL,
    check_case,
    contract_schema,
    counted,
    fuzzing,
    report,
    served_in_process,
    split_submissions,
)
from tests.support.lasting_lifespan import LastingLifespan

pytestmark = pytest.mark.server

# Generated cases per operation, after the coverage phase's fixed ones (most of the
# submissions' cases). A submission costs a job's work on the mock backend.
EXAMPLES_PER_OPERATION = 80
EXAMPLES_PER_SUBMISSION = 10
RUN = "without keys, in process"
RUNS_WITH_A_KEY = Path(__file__).with_name("fuzz_with_a_key.py")
RUNS_WITH_A_KEY_TIMEOUT_SECONDS = 240

SERVICE = LastingLifespan()
submissions, others = split_submissions(contract_schema(keys_required=False, app=SERVICE))


@dataclass
class Runs:
    process: subprocess.Popen[str]
    output: Path


@pytest.fixture(scope="module", autouse=True)
def runs_with_a_key(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs | None]:
    """The runs with a key, started before this module's first case, if selected."""
    waiting_test = test_the_runs_with_a_key_keep_the_contract.__name__
    if not any(item.name == waiting_test for item in request.session.items):
        yield None
        return
    folder = tmp_path_factory.mktemp("runs-with-a-key")
    output = folder / "output.txt"
    with output.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "pytest", str(RUNS_WITH_A_KEY)),
                *("-q", "-p", "no:cacheprovider", f"--basetemp={folder / 'tmp'}"),
                # Its tests assert nothing themselves (schemathesis raises), and rewriting
                # the asserts of schemathesis' 300 modules costs seconds when Python
                # writes no bytecode cache (PYTHONDONTWRITEBYTECODE).
                "--assert=plain",
            ],
            cwd=PROJECT_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield Runs(process, output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    with (
        counted(request.config, RUN, lambda: SERVICE.requests),
        served_in_process(SERVICE, tmp_path_factory.mktemp("open")),
    ):
        yield


@submissions.parametrize()  # type: ignore[untyped-decorator]
@fuzzing(EXAMPLES_PER_SUBMISSION)
def test_submissions_keep_the_contract(case: Any, service: None) -> None:
    check_case(case, RUN, base_url=IN_PROCESS_URL)


@others.parametrize()  # type: ignore[untyped-decorator]
@fuzzing(EXAMPLES_PER_OPERATION)
def test_the_api_keeps_its_contract(case: Any, service: None) -> None:
    check_case(case, RUN, base_url=IN_PROCESS_URL)


def test_the_runs_with_a_key_keep_the_contract(
    request: pytest.FixtureRequest, runs_with_a_key: Runs | None
) -> None:
    assert runs_with_a_key is not None
    try:
        runs_with_a_key.process.wait(timeout=RUNS_WITH_A_KEY_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"The runs with a key did not end in {RUNS_WITH_A_KEY_TIMEOUT_SECONDS} s.")
    text = runs_with_a_key.output.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        if line.startswith("schemathesis "):
            report(request.config, line)
    assert runs_with_a_key.process.returncode == 0, f"{RUNS_WITH_A_KEY.name} failed:\n{text}"

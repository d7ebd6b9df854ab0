"""Logging: tracebacks without locals, and every logger in the configured format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from entrypoints.logging_setup import configure_logging

# Built at run time so that the values never appear in this file's source lines, which
# a traceback may quote: only a frame's locals can carry them into the log.
CANARY_TOKEN = "".join(["hf_", "canary", "7c41d2"])
CANARY_PROMPT = " ".join(["a", "canary", "prompt", "about", "a", "teal", "ibis"])


class _RecordingHandler(logging.Handler):
    """Stands in for the plain-text handler uvicorn installs before our app is imported."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _fresh_uvicorn_loggers() -> Iterator[None]:
    """Each test starts from untouched uvicorn and hub loggers, and leaves them as it found them.

    An in-process uvicorn in another test sets their levels and handlers; an in-process
    download quietens huggingface_hub.
    """
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "huggingface_hub")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(list(lg.handlers), lg.propagate, lg.disabled, lg.level) for lg in loggers]
    for lg in loggers:
        lg.handlers.clear()
        lg.propagate, lg.disabled = True, False
        lg.setLevel(logging.NOTSET)
    yield
    for lg, (handlers, propagate, disabled, level) in zip(loggers, saved, strict=True):
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled
        lg.setLevel(level)


def _generate_with_secrets_in_locals() -> None:
    token = CANARY_TOKEN
    prompt = CANARY_PROMPT
    request = {"prompt": prompt, "token": token}
    raise RuntimeError(f"backend failed after {len(request)} fields")


def _log_failure(logger_name: str, *, through_stdlib: bool = False) -> None:
    try:
        _generate_with_secrets_in_locals()
    except RuntimeError:
        if through_stdlib:
            logging.getLogger(logger_name).error("job failed", exc_info=True)
        else:
            structlog.get_logger(logger_name).exception("job_failed")


@pytest.mark.parametrize("through_stdlib", [False, True], ids=["structlog", "stdlib"])
def test_json_traceback_has_no_locals(
    capsys: pytest.CaptureFixture[str], through_stdlib: bool
) -> None:
    configure_logging("INFO", "json")
    _log_failure("app", through_stdlib=through_stdlib)

    err = capsys.readouterr().err
    assert CANARY_TOKEN not in err
    assert CANARY_PROMPT not in err
    (line,) = err.splitlines()
    record = json.loads(line)
    (exception,) = record["exception"]
    assert exception["exc_type"] == "RuntimeError"
    functions = [frame["name"] for frame in exception["frames"]]
    assert "_generate_with_secrets_in_locals" in functions
    assert all("locals" not in frame for frame in exception["frames"])


@pytest.mark.parametrize("through_stdlib", [False, True], ids=["structlog", "stdlib"])
def test_console_traceback_has_no_locals(
    capsys: pytest.CaptureFixture[str], through_stdlib: bool
) -> None:
    configure_logging("INFO", "console")
    _log_failure("app", through_stdlib=through_stdlib)

    err = capsys.readouterr().err
    assert "_generate_with_secrets_in_locals" in err
    assert "RuntimeError: backend failed after 2 fields" in err
    assert CANARY_TOKEN not in err
    assert CANARY_PROMPT not in err


def test_standard_library_records_come_out_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    uvicorn_own = _RecordingHandler()
    logging.getLogger("uvicorn").addHandler(uvicorn_own)
    logging.getLogger("uvicorn").propagate = False

    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 4242)
    logging.getLogger("huggingface_hub").warning("Couldn't access the Hub")
    structlog.get_logger("cli").info("serving", url="http://127.0.0.1:8000/")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["level"], line["event"]) for line in lines] == [
        ("uvicorn.error", "info", "Started server process [4242]"),
        ("huggingface_hub", "warning", "Couldn't access the Hub"),
        ("cli", "info", "serving"),
    ]
    assert all("timestamp" in line for line in lines)
    assert uvicorn_own.records == []


def test_uvicorn_access_log_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')

    assert capsys.readouterr().err == ""


def test_level_applies_to_both_kinds_of_logger(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "json")
    logging.getLogger("httpx").info("HTTP Request: GET https://huggingface.co")
    structlog.get_logger("app").info("service_ready")
    structlog.get_logger("app").warning("device_unavailable_using_cpu")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["device_unavailable_using_cpu"]


def test_configuring_again_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "console")
    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.error").info("Application startup complete.")

    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["event"] == "Application startup complete."


def test_remedy_codes_in_a_line_are_worded_as_its_fix(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", lambda remedy: f"<{remedy.value} in words>")
    structlog.get_logger("openvino").warning(
        "device_unavailable_using_cpu", remedies=["install_gpu_driver", "use_cpu", "unknown"]
    )
    structlog.get_logger("service").info("job_succeeded")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["remedies"] == ["install_gpu_driver", "use_cpu", "unknown"]
    assert lines[0]["fix"] == "<install_gpu_driver in words> <use_cpu in words>"
    assert "fix" not in lines[1]

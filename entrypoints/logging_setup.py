"""structlog configured once: one line per event, console or JSON, for every logger.

structlog's own events and the standard library's records (uvicorn, huggingface_hub,
warnings) go through one handler and one `ProcessorFormatter`, so with `LOG_FORMAT=json`
every line on stderr is a JSON object, and lines from different threads never interleave.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

from domain.errors import Remedy

WordRemedy = Callable[[Remedy], str]

# Records of these loggers reach our handler: uvicorn installs its own plain-text handlers
# (under `uvicorn main:app`, before our app is imported), which would bypass the format.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")


class _StderrHandler(logging.Handler):
    """Writes each formatted record as one line to whatever `sys.stderr` is at that moment.

    Looked up per record rather than held: pytest and redirecting callers swap `sys.stderr`,
    and a handler holding an old, closed stream would fail on every later record.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _renderer(log_format: str) -> list[structlog.typing.Processor]:
    """The last steps of every line: the traceback, then the line itself.

    Tracebacks never show local variables: a frame's locals can hold a prompt or a token,
    and both must stay out of the log. (Rich and structlog's dict tracebacks show them
    unless told not to, depending on the version.)
    """
    if log_format == "json":
        return [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    ]


def _remedies_in_words(word: WordRemedy) -> structlog.typing.Processor:
    """A line whose event names ``remedies`` (codes, from the inner layers) also gets them
    in words as ``fix``: whoever reads the log learns which setting or command helps."""

    def processor(
        logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        codes = event.get("remedies")
        if codes:
            known = {remedy.value: remedy for remedy in Remedy}
            event["fix"] = " ".join(word(known[code]) for code in codes if code in known)
        return event

    return processor


def configure_logging(level: str, log_format: str, word_remedy: WordRemedy | None = None) -> None:
    """Route structlog and the standard library through one formatter at `level`.

    Safe to call again (each app built in the tests does): it replaces what it set before
    and leaves other handlers, such as pytest's capture, alone.
    """
    stamped: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *stamped,
            structlog.dev.set_exc_info,
            *([_remedies_in_words(word_remedy)] if word_remedy is not None else []),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=stamped,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderer(log_format),
            ],
        )
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Our request middleware logs one line per request; uvicorn's access log would double it.
    logging.getLogger("uvicorn.access").disabled = True
    # Library warnings become log records too, instead of bare lines on stderr.
    logging.captureWarnings(True)

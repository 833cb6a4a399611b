"""structlog for our code, with stdlib logging (aiogram, FastStream, asyncpg, …) routed through it.

Every record ends up as one JSON object per line when stdout is not a terminal (containers,
the dev launcher's pipes) and as colourless console lines on a terminal. The active
OpenTelemetry trace and span ids are added to each record so logs and traces join up.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Protocol

import structlog
from opentelemetry import trace

from vitrina_common.config import LogFormat, TelemetrySettings

# Libraries that are chatty at INFO without telling an operator anything useful.
_QUIET_LOGGERS = {"aiosqlite": logging.WARNING, "asyncio": logging.WARNING}


class LogStream(Protocol):
    """Where log lines go: stdout, or anything that writes text like it."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool: ...


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def configure_logging(
    settings: TelemetrySettings, service: str, stream: LogStream | None = None
) -> None:
    """Set up structlog and the stdlib root logger for ``service``, writing to ``stream``."""
    stream = stream or sys.stdout
    use_json = settings.log_format is LogFormat.JSON or (
        settings.log_format is LogFormat.AUTO and not stream.isatty()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if use_json else _identity,
            renderer,
        ],
    )
    handler: logging.StreamHandler[LogStream] = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)


def _identity(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return event_dict


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named after the module that uses it."""
    return structlog.stdlib.get_logger(name)

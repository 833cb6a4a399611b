"""Spans for NATS messages handled without FastStream (the bot's event consumers): the
handling continues the publisher's trace from the message headers, as FastStream's
OpenTelemetry middleware does for the worker's jobs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

_tracer = trace.get_tracer("vitrina.messaging")


@contextlib.contextmanager
def consume_span(subject: str, headers: Mapping[str, str] | None) -> Iterator[None]:
    """A consumer span for one message of ``subject``, child of the publisher's span."""
    with _tracer.start_as_current_span(
        f"{subject} process",
        context=propagate.extract(dict(headers or {})),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "nats", "messaging.destination.name": subject},
    ):
        yield

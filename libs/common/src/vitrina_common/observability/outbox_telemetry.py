"""The outbox's side of tracing and metrics.

A row is written inside the transaction of the update (or job) that caused it and relayed
later, by another task or process. So the writer's trace context is stored with the row
(``TRACE_KEY`` in its payload) and the relay's span continues that trace: the payment's
update span and the document's ``sendDocument`` span share one trace id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from vitrina_common.observability import shop_metrics

# Payload key of the stored trace context (W3C traceparent/tracestate); handlers ignore it.
TRACE_KEY = "_trace"
SEND_ORIGINAL = "telegram.send_original"
_tracer = trace.get_tracer("vitrina.outbox")


def with_trace_context(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` plus the current trace context, when a span is recording."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {**payload, TRACE_KEY: carrier} if carrier else payload


@contextlib.contextmanager
def relay_span(kind: str, payload: dict[str, Any], row_id: int) -> Iterator[None]:
    """A span for delivering one row, in the trace of the transaction that wrote it."""
    carrier = payload.get(TRACE_KEY)
    parent = propagate.extract(carrier) if isinstance(carrier, dict) else None
    with _tracer.start_as_current_span(
        f"outbox {kind}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"vitrina.outbox.kind": kind, "vitrina.outbox.id": row_id},
    ):
        yield


def record_delivery(kind: str, outcome: str, created_at: datetime) -> None:
    """Count one attempt; a delivered original also records its latency from the payment
    (the row was written in the payment's transaction)."""
    shop_metrics.outbox_deliveries.add(1, {"kind": kind, "outcome": outcome})
    if kind == SEND_ORIGINAL and outcome == "delivered":
        written = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        seconds = (datetime.now(UTC) - written).total_seconds()
        shop_metrics.purchase_delivery.record(max(seconds, 0.0))

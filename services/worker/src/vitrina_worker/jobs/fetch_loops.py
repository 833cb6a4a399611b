"""Binding one-message fetch loops to a durable pull consumer: what every job consumer of
the worker does (render, reports, imports)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from vitrina_common.messaging.permissions import inbox_prefix
from vitrina_common.messaging.topology import ConsumerSpec

Handler = Callable[[NatsMessage], Awaitable[None]]


def subscribe_fetch_loops(
    broker: NatsBroker, spec: ConsumerSpec, loops: int, handler: Handler, *, user: str | None
) -> None:
    """Register ``loops`` fetch loops of one message each on ``spec``'s durable consumer.

    Several one-at-a-time subscribers rather than FastStream's ``max_workers``: that one
    prefetches into an in-memory queue, and on SIGTERM the queued jobs would be dropped
    un-acked (back only after ack_wait); a plain fetch loop holds only what it is running,
    which the graceful stop lets finish.

    Ack policy is MANUAL on purpose: FastStream's default (REJECT_ON_ERROR) would *term* a
    job on any exception, losing it to a database blip; the handler settles every message.

    Fetched messages arrive on the NATS ``user``'s own inbox prefix: FastStream would use
    the shared ``_INBOX.`` otherwise, which that user may not subscribe to.
    """
    inbox = f"{inbox_prefix(user)}.".encode()
    for _ in range(loops):

        @broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            pull_sub=PullSub(batch_size=1, timeout=2.0),
            ack_policy=AckPolicy.MANUAL,
            inbox_prefix=inbox,
        )
        async def fetch(message: NatsMessage) -> None:
            await handler(message)

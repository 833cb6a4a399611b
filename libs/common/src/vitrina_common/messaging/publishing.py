"""Publishing contracts to JetStream with dedup ids and trace context in the headers."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import PubAck
from opentelemetry import propagate

from vitrina_common.messaging.contracts import Contract

MSG_ID_HEADER = "Nats-Msg-Id"


async def publish(js: JetStreamContext, message: Contract, timeout_s: float = 5.0) -> PubAck:
    """Publish ``message`` on its subject; a duplicate within the window is acked, not stored."""
    headers = {MSG_ID_HEADER: message.msg_id()}
    # The worker continues the bot's trace from these headers (traceparent, tracestate).
    propagate.inject(headers)
    return await js.publish(
        message.subject,
        message.model_dump_json().encode(),
        headers=headers,
        timeout=timeout_s,
    )

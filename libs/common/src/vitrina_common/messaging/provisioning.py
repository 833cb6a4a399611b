"""Create or update the JetStream topology; safe to run any number of times, concurrently too."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, KeyValueConfig, ObjectStoreConfig, StreamConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import (
    FSM_BUCKET,
    KV_BUCKETS,
    OBJECT_BUCKETS,
    STORAGE,
    STREAMS,
    BucketSpec,
    ConsumerSpec,
    StreamSpec,
)

log = get_logger(__name__)

# JetStream's "stream name already in use" (two provisioners raced on create).
_STREAM_NAME_IN_USE = 10058
# A Key-Value bucket is a stream of this name.
_KV_STREAM = "KV_{bucket}"


def _stream_config(spec: StreamSpec, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=spec.retention,
        storage=STORAGE,
        num_replicas=replicas,
        max_age=spec.max_age.total_seconds() if spec.max_age else None,
        duplicate_window=spec.duplicate_window.total_seconds(),
    )


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError as error:
            if error.err_code != _STREAM_NAME_IN_USE:
                raise
        else:
            log.info("stream created", stream=config.name)
            return
    await js.update_stream(config)


async def provision_jetstream(js: JetStreamContext, replicas: int = 1) -> None:
    """Make the streams and buckets of ``topology`` exist with their declared settings."""
    for spec in STREAMS:
        await _ensure_stream(js, _stream_config(spec, replicas))
    for bucket in OBJECT_BUCKETS:
        try:
            await js.object_store(bucket.name)
        except BucketNotFoundError:
            await js.create_object_store(
                bucket.name,
                ObjectStoreConfig(
                    description=bucket.description,
                    storage=STORAGE,
                    replicas=replicas,
                    ttl=bucket.ttl.total_seconds() if bucket.ttl else None,
                ),
            )
            log.info("object store created", bucket=bucket.name)
    for bucket in KV_BUCKETS:
        await _ensure_key_value(js, bucket, replicas)
    # The FSM bucket got its TTL after installs existed; a reconcile of every stream and
    # bucket is still to come.
    await ensure_key_value_limits(js, FSM_BUCKET)


async def _ensure_key_value(js: JetStreamContext, bucket: BucketSpec, replicas: int) -> None:
    try:
        await js.key_value(bucket.name)
    except BucketNotFoundError:
        await js.create_key_value(
            KeyValueConfig(
                bucket=bucket.name,
                description=bucket.description,
                storage=STORAGE,
                replicas=replicas,
                ttl=bucket.ttl.total_seconds() if bucket.ttl else None,
                history=bucket.history,
            )
        )
        log.info("key-value bucket created", bucket=bucket.name)


async def ensure_key_value_limits(js: JetStreamContext, bucket: BucketSpec) -> None:
    """Give the existing Key-Value ``bucket`` its declared TTL and history, logging what
    changed; a bucket already as declared is left alone. Values stay."""
    config = (await js.stream_info(_KV_STREAM.format(bucket=bucket.name))).config
    ttl_s = bucket.ttl.total_seconds() if bucket.ttl else 0.0
    before = {"ttl_s": config.max_age or 0.0, "history": config.max_msgs_per_subject}
    after = {"ttl_s": ttl_s, "history": bucket.history}
    if before == after:
        return
    changes: dict[str, float | int] = {"max_age": ttl_s, "max_msgs_per_subject": bucket.history}
    # JetStream refuses a duplicate window longer than the stream's max age.
    if ttl_s and (config.duplicate_window or 0) > ttl_s:
        changes["duplicate_window"] = ttl_s
    await js.update_stream(config.evolve(**changes))
    log.info("key-value bucket limits updated", bucket=bucket.name, before=before, after=after)


def redelivery_backoff(ack_wait_s: float, max_deliver: int) -> list[float]:
    """Redelivery delays after an unacked delivery (a killed worker): ack_wait, ×2, ×4 …

    JetStream wants fewer backoff steps than deliveries, so there are ``max_deliver - 1``.
    """
    return [ack_wait_s * 2**attempt for attempt in range(max(max_deliver - 1, 1))]


async def ensure_pull_consumer(
    js: JetStreamContext, spec: ConsumerSpec, *, ack_wait_s: float, max_deliver: int
) -> None:
    """Create the durable consumer, or update it to these settings (create is an upsert)."""
    backoff = redelivery_backoff(ack_wait_s, max_deliver) if max_deliver > 1 else None
    await js.add_consumer(
        spec.stream,
        ConsumerConfig(
            durable_name=spec.durable,
            name=spec.durable,
            filter_subject=spec.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait_s,
            max_deliver=max_deliver,
            backoff=backoff,
            # Fair sharing across replicas: each pulls one job at a time per free slot.
            max_ack_pending=1000,
        ),
    )

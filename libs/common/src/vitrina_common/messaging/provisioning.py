"""Create or update the JetStream topology; safe to run any number of times, concurrently too."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StreamConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import (
    KV_BUCKETS,
    OBJECT_BUCKETS,
    STORAGE,
    STREAMS,
    StreamSpec,
)

log = get_logger(__name__)

# JetStream's "stream name already in use" (two provisioners raced on create).
_STREAM_NAME_IN_USE = 10058


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
                    description=bucket.description, storage=STORAGE, replicas=replicas
                ),
            )
            log.info("object store created", bucket=bucket.name)
    for bucket in KV_BUCKETS:
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
                )
            )
            log.info("key-value bucket created", bucket=bucket.name)

"""Create or reconcile the JetStream topology; safe to run any number of times, concurrently too."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    KeyValueConfig,
    ObjectStoreConfig,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError, ServerError

from vitrina_common.config import NatsSettings
from vitrina_common.logging import get_logger
from vitrina_common.messaging.reconcile import (
    Change,
    TopologyConflictError,
    reconcile,
    refused_by_server,
)
from vitrina_common.messaging.targets import Target, TargetKind, topology_targets
from vitrina_common.messaging.topology import ConsumerSpec

log = get_logger(__name__)

# JetStream's "stream name already in use" (two provisioners raced on create).
_STREAM_NAME_IN_USE = 10058


async def provision_jetstream(
    js: JetStreamContext, nats: NatsSettings | None = None
) -> list[Change]:
    """Create the streams and buckets of the topology that are missing and bring the others
    to the replicas and limits of ``nats`` (default settings when None); returns what was
    changed in place. Safe to run any number of times, by several processes at once.

    Raises ``TopologyConflictError`` with every problem found (after changing what could be)
    when a stream or bucket cannot be brought to its target in place.
    """
    changed: list[Change] = []
    problems: list[str] = []
    for target in topology_targets(nats or NatsSettings()):
        try:
            changed += await provision_target(js, target)
        except TopologyConflictError as conflict:
            problems += conflict.problems
    if problems:
        raise TopologyConflictError(problems)
    return changed


async def provision_target(js: JetStreamContext, target: Target) -> list[Change]:
    """Create the stream of ``target``, or reconcile it when it exists; what changed."""
    try:
        info = await js.stream_info(target.stream)
    except NotFoundError:
        if await _create(js, target):
            return []
        info = await js.stream_info(target.stream)
    return await reconcile(js, target, info)


async def _create(js: JetStreamContext, target: Target) -> bool:
    """Create as declared; False when another provisioner created it first."""
    try:
        if target.kind is TargetKind.STREAM:
            await js.add_stream(_stream_config(target))
        elif target.kind is TargetKind.KEY_VALUE:
            await js.create_key_value(_key_value_config(target))
        else:
            await js.create_object_store(target.name, _object_store_config(target))
    except BadRequestError as error:
        if error.err_code == _STREAM_NAME_IN_USE:
            return False
        raise refused_by_server(target, "creation", [], error) from error
    except ServerError as error:
        raise refused_by_server(target, "creation", [], error) from error
    log.info("stream created", stream=target.stream, kind=target.kind.value)
    return True


def _stream_config(target: Target) -> StreamConfig:
    return StreamConfig(
        name=target.stream,
        description=target.description,
        subjects=list(target.subjects or ()),
        retention=target.retention,
        storage=target.storage,
        num_replicas=target.replicas,
        max_bytes=target.max_bytes,
        max_age=target.max_age_s or None,
        discard=target.discard,
        duplicate_window=target.duplicate_window_s or 0,
    )


def _key_value_config(target: Target) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=target.name,
        description=target.description,
        storage=target.storage,
        replicas=target.replicas,
        max_bytes=target.max_bytes,
        ttl=target.max_age_s or None,
        history=target.history or 1,
    )


def _object_store_config(target: Target) -> ObjectStoreConfig:
    return ObjectStoreConfig(
        description=target.description,
        storage=target.storage,
        replicas=target.replicas,
        max_bytes=target.max_bytes,
        ttl=target.max_age_s or None,
    )


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

"""JetStream topology: provisioning is idempotent, concurrent-safe, and makes what we declare."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, RetentionPolicy, StorageType

from tests.pipeline import wait_until
from vitrina_common.messaging.provisioning import provision_jetstream, provision_target
from vitrina_common.messaging.targets import TargetKind, bucket_target
from vitrina_common.messaging.topology import (
    FSM_BUCKET,
    JOBS_STREAM,
    KV_BUCKETS,
    OBJECT_BUCKETS,
    STREAMS,
    BucketSpec,
)

pytestmark = pytest.mark.nats


async def test_streams_and_buckets_exist_as_declared(nats_client: Client) -> None:
    js = nats_client.jetstream()

    jobs = await js.stream_info(JOBS_STREAM.name)

    assert jobs.config.retention == RetentionPolicy.WORK_QUEUE
    assert jobs.config.storage == StorageType.FILE
    assert jobs.config.duplicate_window == JOBS_STREAM.duplicate_window.total_seconds()
    for spec in STREAMS:
        assert (await js.stream_info(spec.name)).config.subjects == list(spec.subjects)
    for bucket in OBJECT_BUCKETS:
        await js.object_store(bucket.name)
    for bucket in KV_BUCKETS:
        await js.key_value(bucket.name)


async def test_provisioning_twice_and_concurrently_changes_nothing(nats_client: Client) -> None:
    js = nats_client.jetstream()
    before = {info.config.name: info.created for info in await js.streams_info()}

    await provision_jetstream(js)
    await asyncio.gather(*(provision_jetstream(js) for _ in range(4)))

    after = {info.config.name: info.created for info in await js.streams_info()}
    assert after == before


async def test_provisioning_from_nothing_survives_a_race(nats_client: Client) -> None:
    js = nats_client.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name or "")

    await asyncio.gather(*(provision_jetstream(js) for _ in range(4)))

    names = {info.config.name for info in await js.streams_info()}
    assert {spec.name for spec in STREAMS} <= names


async def test_fsm_bucket_expires_idle_conversations_and_keeps_one_revision(
    nats_client: Client,
) -> None:
    config = (await nats_client.jetstream().stream_info("KV_fsm")).config

    assert config.max_age == timedelta(days=30).total_seconds()
    assert config.max_msgs_per_subject == 1


async def test_provisioning_gives_an_existing_fsm_bucket_its_ttl_and_history_keeping_values(
    nats_client: Client,
) -> None:
    js = nats_client.jetstream()
    await js.delete_key_value(FSM_BUCKET.name)
    # As an install from before the TTL has it: no expiry, and here more history too.
    old = await js.create_key_value(KeyValueConfig(bucket=FSM_BUCKET.name, history=5))
    await old.put("fsm.1.7.7.default.state", b"Checkout:email")

    await provision_jetstream(js)

    config = (await js.stream_info("KV_fsm")).config
    assert config.max_age == timedelta(days=30).total_seconds()
    assert config.max_msgs_per_subject == 1
    entry = await (await js.key_value(FSM_BUCKET.name)).get("fsm.1.7.7.default.state")
    assert entry.value == b"Checkout:email"


async def test_a_bucket_ttl_clears_the_delete_markers_left_by_deletes(nats_client: Client) -> None:
    js = nats_client.jetstream()
    kv = await js.create_key_value(KeyValueConfig(bucket="markers"))
    await kv.put("conversation", b"state")
    await kv.delete("conversation")
    assert (await js.stream_info("KV_markers")).state.messages == 1  # the marker, kept

    markers = BucketSpec("markers", "test", ttl=timedelta(seconds=1))
    await provision_target(js, bucket_target(TargetKind.KEY_VALUE, markers, 1, max_bytes=-1))

    async def markers_gone() -> bool:
        return (await js.stream_info("KV_markers")).state.messages == 0

    await wait_until(markers_gone, timeout_s=15)

"""JetStream topology: provisioning is idempotent, concurrent-safe, and makes what we declare."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.js.api import RetentionPolicy, StorageType

from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.topology import (
    JOBS_STREAM,
    KV_BUCKETS,
    OBJECT_BUCKETS,
    STREAMS,
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

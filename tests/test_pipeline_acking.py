"""The render job's ack policy against a real JetStream: a transient failure is retried (not
terminated, as FastStream's default policy would), a permanent one ends the job with a
reason, and a job still failing on its last delivery is dead-lettered as failed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js.errors import FetchTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from tests.fakes.telegram_api import TOKEN
from tests.pipeline import jpeg_bytes, settled, upload, wait_until
from tests.services import nats_settings
from vitrina_common.config import BotSettings, Settings, WorkerSettings
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.topology import (
    JOBS_STREAM,
    RENDER_PREVIEW_CONSUMER,
    max_deliveries_subject,
)
from vitrina_common.services.catalog import RecordPreviewOutcome
from vitrina_worker.app import build_broker, render_options, subscribe_render_preview
from vitrina_worker.jobs.dead_letters import DeadRenderJobs
from vitrina_worker.jobs.render_preview import PreviewJobLimits, RenderPreviewHandler
from vitrina_worker.rendering.pool import RenderPool

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

SessionFactory = async_sessionmaker[AsyncSession]
MAX_DELIVER = 3


class FlakyOutcomes(RecordPreviewOutcome):
    """The database "blips" on the first ``failures`` product lookups."""

    def __init__(self, session_factory: SessionFactory, failures: int) -> None:
        super().__init__(session_factory)
        self.failures_left = failures
        self.lookups = 0

    async def product(self, product_id: int) -> Product | None:
        self.lookups += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("database connection reset")
        return await super().product(product_id)


@pytest_asyncio.fixture(loop_scope="session")
async def pool() -> AsyncIterator[RenderPool]:
    render_pool = RenderPool(1)
    yield render_pool
    render_pool.close()


async def run_worker_in_process(
    nats_server: NatsServer, client: Client, outcomes: RecordPreviewOutcome, pool: RenderPool
) -> NatsBroker:
    settings = Settings(
        bot=BotSettings(token=TOKEN),
        worker=WorkerSettings(ack_wait_s=5, max_deliver=MAX_DELIVER, max_concurrent_jobs=1),
        # The broker connects as the worker does: its fetches arrive on the worker's inbox.
        nats=nats_settings(nats_server.url, "worker"),
    )
    js = client.jetstream()
    await ensure_pull_consumer(js, RENDER_PREVIEW_CONSUMER, ack_wait_s=5, max_deliver=MAX_DELIVER)
    limits = PreviewJobLimits(max_deliver=MAX_DELIVER, ack_wait_s=5, max_original_bytes=2**20)
    handler = RenderPreviewHandler(js, outcomes, pool, render_options(settings), limits)
    broker = build_broker(settings)
    subscribe_render_preview(broker, settings, handler)
    await broker.start()
    return broker


async def _product(sessions: SessionFactory) -> Product:
    async with sessions() as session:
        product = await session.get(Product, 1)
    assert product is not None
    return product


async def test_transient_failure_is_retried_not_terminated(
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    pool: RenderPool,
) -> None:
    outcomes = FlakyOutcomes(session_factory, failures=1)
    broker = await run_worker_in_process(nats_server, nats_client, outcomes, pool)
    try:
        await upload(nats_client, session_factory, [("blip", jpeg_bytes(1))])
        await wait_until(lambda: settled(session_factory, 1), timeout_s=30)
    finally:
        await broker.stop()

    assert (await _product(session_factory)).status is ProductStatus.READY
    assert outcomes.lookups == 2


async def test_failing_on_the_last_delivery_marks_the_product_failed(
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    pool: RenderPool,
) -> None:
    outcomes = FlakyOutcomes(session_factory, failures=100)
    broker = await run_worker_in_process(nats_server, nats_client, outcomes, pool)
    try:
        await upload(nats_client, session_factory, [("doomed", jpeg_bytes(2))])
        await wait_until(lambda: settled(session_factory, 1), timeout_s=60)
    finally:
        await broker.stop()

    product = await _product(session_factory)
    assert product.status is ProductStatus.FAILED
    assert product.failure_reason == (
        f"gave up after {MAX_DELIVER} attempts: database connection reset"
    )
    assert outcomes.lookups == MAX_DELIVER


async def test_permanent_failure_is_not_retried(
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    pool: RenderPool,
) -> None:
    outcomes = FlakyOutcomes(session_factory, failures=0)
    broker = await run_worker_in_process(nats_server, nats_client, outcomes, pool)
    try:
        await upload(nats_client, session_factory, [("notes", b"not an image at all")])
        await wait_until(lambda: settled(session_factory, 1), timeout_s=30)
    finally:
        await broker.stop()

    product = await _product(session_factory)
    assert product.status is ProductStatus.FAILED
    assert product.failure_reason is not None
    assert "not an image" in product.failure_reason
    assert outcomes.lookups == 1


async def test_job_that_kills_its_worker_every_time_is_dead_lettered(
    session_factory: SessionFactory,
    nats_client: Client,
) -> None:
    """No handler ever settles the job (each delivery "crashes"): after max_deliver, the
    MAX_DELIVERIES advisory fails the product and removes the job from the queue."""
    js = nats_client.jetstream()
    await ensure_pull_consumer(js, RENDER_PREVIEW_CONSUMER, ack_wait_s=1, max_deliver=2)
    dead = DeadRenderJobs(js, RecordPreviewOutcome(session_factory), JOBS_STREAM.name)
    await nats_client.subscribe(max_deliveries_subject(RENDER_PREVIEW_CONSUMER), cb=dead.handle)
    subscription = await js.pull_subscribe_bind(
        RENDER_PREVIEW_CONSUMER.durable, stream=RENDER_PREVIEW_CONSUMER.stream
    )
    await upload(nats_client, session_factory, [("killer", jpeg_bytes(3))])
    deliveries = 0
    for _ in range(2):
        deliveries += len(await subscription.fetch(1, timeout=10))  # taken, never acked
    # A waiting pull (as live workers always have) is what makes the server find the
    # exhausted message and emit the advisory instead of a third delivery.
    with contextlib.suppress(FetchTimeoutError, TimeoutError):
        deliveries += len(await subscription.fetch(1, timeout=5))

    await wait_until(lambda: settled(session_factory, 1), timeout_s=30)

    product = await _product(session_factory)
    assert deliveries == 2
    assert product.status is ProductStatus.FAILED
    assert product.failure_reason is not None
    assert product.failure_reason.startswith("gave up after 2 attempts: the worker stopped")
    await wait_until(lambda: _stream_empty(nats_client), timeout_s=10)


async def _stream_empty(client: Client) -> bool:
    return (await client.jetstream().stream_info(JOBS_STREAM.name)).state.messages == 0

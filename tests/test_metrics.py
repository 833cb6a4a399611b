"""What /metrics tells an on-call engineer, read from the real bot and worker processes
after real traffic: a purchase counted in orders, revenue and delivery latency; the
render queue's lag rising while no worker runs and falling once one does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.observability import ADMIN, ObservedShop, observed_shop, purchase, sample
from tests.services import nats_settings
from vitrina_common.db.models import Purchase
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.messaging.publishing import publish

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SHOPPER = 7001
RENDER_QUEUE = "render-preview"


@pytest_asyncio.fixture(loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres, migrated_template: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[ObservedShop]:
    async with observed_shop(postgres, migrated_template, nats_server, tmp_path) as running:
        yield running


async def test_a_purchase_shows_as_an_order_revenue_and_a_delivery_latency(
    shop: ObservedShop,
) -> None:
    await purchase(shop, SHOPPER)
    await shop.wait_for_metric(
        "bot",
        "vitrina_outbox_deliveries_total",
        lambda v: v >= 1,
        kind="telegram.send_original",
        outcome="delivered",
    )

    bot = await shop.metrics("bot")
    assert sample(bot, "vitrina_orders_total") == 1
    assert sample(bot, "vitrina_payments_total", outcome="purchase") == 1
    assert sample(bot, "vitrina_revenue_stars_total") == 50
    assert sample(bot, "vitrina_purchase_delivery_latency_seconds_count") == 1
    latency = sample(bot, "vitrina_purchase_delivery_latency_seconds_sum")
    assert latency is not None
    assert 0 < latency < 20
    # Each of the purchase's three money steps is one handled update of its type.
    assert sample(bot, "vitrina_updates_total", type="pre_checkout_query", outcome="handled") == 1
    assert sample(bot, "vitrina_update_duration_seconds_count", type="callback_query") >= 3  # type: ignore[operator]
    assert sample(bot, "vitrina_telegram_requests_total", method="sendDocument", outcome="ok") == 1
    # Nothing is waiting: the gauges read from the database say so.
    await shop.wait_for_metric("bot", "vitrina_outbox_pending", lambda v: v == 0)
    # Read in the same pass as the pending count: scraped again, not from before the wait.
    assert sample(await shop.metrics("bot"), "vitrina_purchase_undelivered_oldest") == 0
    # An admin refunds it: one manual refund, counted by kind.
    async with shop.fresh.sessions() as session:
        purchase_id = await session.scalar(select(Purchase.id))
    shop.telegram.push_message(ADMIN, f"/refund {purchase_id}")
    await shop.wait_for_metric("bot", "vitrina_refunds_total", lambda v: v == 1, kind="manual")
    # No user or product id is a label anywhere.
    labels = {label for _name, found in bot for label, _value in found}
    assert not labels & {"user", "user_id", "product", "product_id", "chat_id", "order_id"}


async def test_consumer_lag_rises_while_the_worker_is_stopped_and_falls_after_it_restarts(
    shop: ObservedShop, nats_server: NatsServer
) -> None:
    await shop.wait_for_metric(
        "bot", "vitrina_jetstream_consumer_pending", lambda v: v == 0, consumer=RENDER_QUEUE
    )
    await shop.stop("worker")
    client = await connect_nats(nats_settings(nats_server.url), name="lag-test")
    try:
        js = client.jetstream()
        for product_id in range(1, 6):
            # Jobs for products that do not exist: a worker fails each (nothing to render).
            await publish(
                js, RenderPreviewJob(product_id=10_000 + product_id, original_sha256="a" * 64)
            )
    finally:
        await client.close()

    risen = await shop.wait_for_metric(
        "bot", "vitrina_jetstream_consumer_pending", lambda v: v >= 5, consumer=RENDER_QUEUE
    )
    await shop.start("worker")
    fallen = await shop.wait_for_metric(
        "bot", "vitrina_jetstream_consumer_pending", lambda v: v == 0, consumer=RENDER_QUEUE
    )

    assert (risen, fallen) == (5, 0)
    settled = await shop.wait_for_metric(
        "worker", "vitrina_preview_jobs_total", lambda v: v >= 5, outcome="failed"
    )
    assert settled == 5

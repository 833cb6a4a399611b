"""What a render job records in the database: each use case is one statement, committed on
its own, so the read before a render and the update after it cost one round trip each (not
BEGIN, the statement and COMMIT or ROLLBACK), and a recorded outcome is durable when the
call returns: the job is acked only after it."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.bot_costs import Counters, count_engine_round_trips
from vitrina_common.db.engine import create_read_session_factory
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.services.catalog import (
    NewProduct,
    RecordPreviewOutcome,
    RegisterUpload,
    UploadedOriginal,
)

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
SHA = "a" * 64


async def _rendering(session_factory: SessionFactory) -> RenderPreviewJob:
    return await RegisterUpload(session_factory)(
        NewProduct(title="Sunset", price_stars=10, category="Tests"),
        UploadedOriginal(sha256=SHA, size=1000, mime="image/jpeg"),
        notify_chat_id=None,
    )


async def _status(session_factory: SessionFactory, product_id: int) -> ProductStatus:
    async with session_factory() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        return product.status


@pytest.fixture
def counted(engine: AsyncEngine) -> Counters:
    counters = Counters()
    count_engine_round_trips(engine, counters)
    return counters


@pytest.fixture
def outcomes(engine: AsyncEngine, session_factory: SessionFactory) -> RecordPreviewOutcome:
    return RecordPreviewOutcome(session_factory, create_read_session_factory(engine))


async def test_reading_the_product_before_a_render_is_one_round_trip(
    session_factory: SessionFactory, outcomes: RecordPreviewOutcome, counted: Counters
) -> None:
    job = await _rendering(session_factory)
    await outcomes.product(job.product_id)  # the statement is prepared once per connection
    before = counted.db

    product = await outcomes.product(job.product_id)

    assert product is not None
    assert product.status is ProductStatus.RENDERING
    assert counted.db - before == 1


async def test_marking_ready_is_one_round_trip_and_committed_when_it_returns(
    session_factory: SessionFactory, outcomes: RecordPreviewOutcome, counted: Counters
) -> None:
    first, second = await _rendering(session_factory), await _rendering(session_factory)
    await outcomes.ready(first.product_id, SHA, "previews/first")  # prepares the statement
    before = counted.db

    changed = await outcomes.ready(second.product_id, SHA, "previews/second")

    assert changed
    assert counted.db - before == 1
    assert await _status(session_factory, second.product_id) is ProductStatus.READY


async def test_a_second_ready_for_the_same_original_changes_nothing(
    session_factory: SessionFactory, outcomes: RecordPreviewOutcome
) -> None:
    job = await _rendering(session_factory)

    assert await outcomes.ready(job.product_id, SHA, "previews/x")
    assert not await outcomes.ready(job.product_id, SHA, "previews/x")


async def test_marking_failed_is_committed_when_it_returns(
    session_factory: SessionFactory, outcomes: RecordPreviewOutcome
) -> None:
    job = await _rendering(session_factory)

    assert await outcomes.failed(job.product_id, SHA, "the file is damaged")

    assert await _status(session_factory, job.product_id) is ProductStatus.FAILED

"""The hostile corpus through the real worker, Postgres and NATS: every file ends as a correct
preview or a failed product with a reason an admin can read; the worker never dies and its
memory stays bounded."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PIL import Image
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.conftest import (
    created_database,
    db_settings_for,
    reset_jetstream,
    service_base_env,
)
from tests.corpus import CORPUS, Specimen
from tests.fakes.telegram_api import TOKEN
from tests.pipeline import settled, upload, wait_until
from tests.services import (
    nats_settings,
    process_tree_rss,
    service_env,
    start_service,
    wait_for_status,
)
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

MEMORY_LIMIT = 512 * 2**20


@dataclass
class CorpusRun:
    products: dict[str, Product]
    previews: dict[str, bytes]
    worker_alive: bool
    peak_rss: int


async def _sample_rss(pid: int, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], process_tree_rss(pid))
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def corpus_run(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CorpusRun]:
    logs = tmp_path_factory.mktemp("corpus")
    async with created_database(postgres, migrated_template) as dsn:
        engine = create_engine(db_settings_for(dsn))
        sessions = create_session_factory(engine)
        client = await connect_nats(nats_settings(nats_server.url), name="corpus")
        await reset_jetstream(client)
        await upload(client, sessions, [(s.name, s.make()) for s in CORPUS])
        env = service_env(
            service_base_env(),
            database_dsn=dsn,
            nats_url=nats_server.url,
            telegram_url="http://127.0.0.1:9",  # the worker never calls Telegram
            token=TOKEN,
        )
        # Its own interpreter: a fork's resident set would include the zygote's pages.
        worker, port = await start_service("worker", env, logs, fresh_interpreter=True)
        peak = [0]
        sampler = asyncio.create_task(_sample_rss(worker.pid, peak))
        try:
            await wait_for_status(port, "/readyz", 200, worker)
            await wait_until(lambda: settled(sessions, len(CORPUS)), timeout_s=120)
            alive = worker.running
        finally:
            sampler.cancel()
            await worker.stop(30)
        async with sessions() as session:
            rows = (await session.execute(select(Product))).scalars().all()
        store = ImageStore(client.jetstream())
        previews = {p.title: await store.get_preview(p.preview_key) for p in rows if p.preview_key}
        yield CorpusRun({p.title: p for p in rows}, previews, alive, peak[0])
        await client.close()
        await engine.dispose()


@pytest.mark.parametrize("specimen", CORPUS, ids=lambda s: s.name)
def test_every_file_ends_as_a_preview_or_a_readable_failure(
    corpus_run: CorpusRun, specimen: Specimen
) -> None:
    product = corpus_run.products[specimen.name]

    if specimen.failure is None:
        assert product.status is ProductStatus.READY, product.failure_reason
        preview = Image.open(io.BytesIO(corpus_run.previews[specimen.name]))
        assert preview.format == "JPEG"
        assert preview.mode == "RGB"
        assert max(preview.size) <= 1280
        if specimen.preview_size is not None:
            assert preview.size == specimen.preview_size
    else:
        assert product.status is ProductStatus.FAILED
        assert product.failure_reason is not None
        assert specimen.failure in product.failure_reason
        assert "Traceback" not in product.failure_reason


def test_the_worker_survives_the_corpus_with_bounded_memory(corpus_run: CorpusRun) -> None:
    assert corpus_run.worker_alive
    assert 0 < corpus_run.peak_rss < MEMORY_LIMIT


def test_sixteen_bit_input_is_scaled_not_clipped(corpus_run: CorpusRun) -> None:
    preview = Image.open(io.BytesIO(corpus_run.previews["16-bit PNG"])).convert("L")
    # The source is a horizontal ramp over the full 16-bit range: both ends must survive.
    left, right = preview.getpixel((2, 100)), preview.getpixel((297, 100))
    assert isinstance(left, int)
    assert isinstance(right, int)
    assert left < 60
    assert right > 190


def test_transparency_is_flattened_onto_white(corpus_run: CorpusRun) -> None:
    preview = Image.open(io.BytesIO(corpus_run.previews["palette PNG with transparency"]))
    corner = preview.convert("RGB").getpixel((2, 2))
    assert isinstance(corner, tuple)
    assert min(corner) > 200

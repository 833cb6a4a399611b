"""The real bot and worker processes stay under the memory limits the README gives them (and
the chart sets, see tests/k8s/test_memory_limits.py) on the inputs that used to break them:
a 200 MB import ZIP sent to the bot and planned by the worker, 100 MP palette and 16-bit
PNGs rendered by the worker; so does the originals backup on the largest originals. What the
worker's budget cannot fit is refused with the reason before it is decoded, and a heavy
render that killed the worker is not decoded again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from nats.js.errors import NotFoundError
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests import memory_inputs as inputs
from tests.memory import (
    ADMIN,
    bot_receiving,
    originals_backup,
    service,
    worker_idle,
    worker_planning,
    worker_rendering,
)
from tests.memory_table import container_table
from tests.pipeline import settled, upload, wait_until
from tests.services import kill_process_group, nats_settings
from tests.storefront import FreshShop, fresh_shop
from vitrina_common.db.models import ImportStatus, Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.storage.objects import preview_key
from vitrina_worker.jobs.render_attempts import attempt_key

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

MIB = 1024 * 1024
LIMITS = container_table()
BOT_LIMIT = LIMITS["bot"].limit_bytes
BACKUP_LIMIT = LIMITS["originals-backup"].limit_bytes
WORKER_LIMIT = LIMITS["worker"].limit_bytes
# The worker as the chart runs it: its budget derived from the container's limit (which
# the cgroup would give it there; here the setting does, as the test machine has none).
PRODUCTION_WORKER = {"APP_CONF__WORKER__MEMORY_LIMIT_BYTES": str(WORKER_LIMIT)}
TOO_LARGE = "too large for this worker's memory"


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(
    postgres: EmbeddedPostgres, migrated_template: str, nats_server: NatsServer
) -> AsyncIterator[FreshShop]:
    """A database, a reset JetStream and a fake Bot API of this test's own."""
    async with fresh_shop(postgres, migrated_template, nats_server, admin_ids=[ADMIN]) as shop:
        yield shop


@pytest.mark.timeout(300)
async def test_the_bot_takes_a_200_mb_import_zip_under_its_memory_limit(
    fresh: FreshShop, tmp_path: Path
) -> None:
    path = inputs.import_zip(tmp_path / "import.zip", 199 * MIB)

    peak = await bot_receiving(
        fresh, tmp_path / "logs", path, file_name="import.zip", mime="application/zip", caption=None
    )

    assert peak < BOT_LIMIT, f"peak RSS {peak / MIB:.0f} MiB, limit {BOT_LIMIT / MIB:.0f} MiB"


@pytest.mark.timeout(300)
async def test_the_worker_plans_a_200_mb_import_zip_under_its_memory_limit(
    fresh: FreshShop, tmp_path: Path
) -> None:
    path = inputs.import_zip(tmp_path / "import.zip", 199 * MIB)
    idle = await worker_idle(fresh, tmp_path / "idle", PRODUCTION_WORKER)

    peak, batch = await worker_planning(fresh, tmp_path / "logs", path, PRODUCTION_WORKER)

    assert batch.status in (ImportStatus.RUNNING, ImportStatus.DONE), batch.refusal_reason
    assert peak < WORKER_LIMIT, f"peak RSS {peak / MIB:.0f} MiB, limit {WORKER_LIMIT / MIB:.0f}"
    # Entry by entry from a spool file: the plan never holds the ZIP (it did: 591 MiB).
    assert peak - idle < path.stat().st_size, f"{(peak - idle) / MIB:.0f} MiB above idle"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "make", [inputs.palette_png, inputs.sixteen_bit_png], ids=["palette", "16-bit"]
)
async def test_the_worker_renders_a_100_mp_png_under_its_memory_limit(
    fresh: FreshShop, tmp_path: Path, make: Callable[[], bytes]
) -> None:
    peak, product = await worker_rendering(fresh, tmp_path, make(), PRODUCTION_WORKER)

    # Within the budget the chart's limit gives: rendered, not refused.
    assert product.status is ProductStatus.READY, product.failure_reason
    assert peak < WORKER_LIMIT, f"peak RSS {peak / MIB:.0f} MiB, limit {WORKER_LIMIT / MIB:.0f}"


@pytest.mark.timeout(300)
async def test_the_worker_refuses_what_its_budget_cannot_decode_before_decoding_it(
    fresh: FreshShop, tmp_path: Path
) -> None:
    # 42 MP of WebP decode to ~670 MB (libwebp's canvas, a frame copy and the image).
    peak, product = await worker_rendering(
        fresh, tmp_path, inputs.flat_webp((7000, 6000)), PRODUCTION_WORKER
    )

    assert product.status is ProductStatus.FAILED
    assert product.failure_reason is not None
    assert product.failure_reason.startswith("the image is 7000×6000 (42 MP) colour WEBP")
    assert TOO_LARGE in product.failure_reason
    assert peak < WORKER_LIMIT / 2, f"peak RSS {peak / MIB:.0f} MiB: it was decoded"


@pytest.mark.timeout(300)
async def test_the_originals_backup_copies_50_mb_originals_under_its_memory_limit(
    fresh: FreshShop, tmp_path: Path
) -> None:
    small = inputs.upload_file(tmp_path / "small.jpg", 100_000)
    large = [inputs.upload_file(tmp_path / f"{n}.jpg", 50 * MIB - 1) for n in range(3)]
    idle, _ = await originals_backup(fresh, tmp_path / "first", [small], fresh.env)

    peak, backup = await originals_backup(fresh, tmp_path / "second", large, fresh.env)

    copied = sorted(
        path.stat().st_size for path in (backup / "objects").rglob("*") if path.is_file()
    )
    assert copied == [100_000, *[50 * MIB - 1] * 3]
    assert peak < BACKUP_LIMIT, f"peak RSS {peak / MIB:.0f} MiB, limit {BACKUP_LIMIT / MIB:.0f}"
    # Streamed in chunks: not even one original is ever whole in memory.
    assert peak - idle < 50 * MIB, f"{(peak - idle) / MIB:.0f} MiB above a backup of 100 kB"


async def _marked(fresh: FreshShop, key: str) -> bool:
    client = await connect_nats(nats_settings(fresh.nats_url), name="memory-test")
    try:
        await (await client.jetstream().object_store("previews")).get_info(key)
    except NotFoundError:
        return False
    finally:
        await client.close()
    return True


@pytest.mark.timeout(300)
async def test_a_heavy_render_that_killed_the_worker_is_refused_not_decoded_again(
    fresh: FreshShop, tmp_path: Path
) -> None:
    client = await connect_nats(nats_settings(fresh.nats_url), name="memory-test")
    try:
        [job] = await upload(client, fresh.sessions, [("huge", inputs.rgba_png())])
    finally:
        await client.close()
    mark = attempt_key(job, preview_key(job.product_id, job.original_sha256))
    env = {**PRODUCTION_WORKER, "APP_CONF__WORKER__ACK_WAIT_S": "2"}

    # What an OOM kill does: the whole worker gone in the middle of the decode.
    async with service("worker", fresh, tmp_path / "first", env) as (first, _):
        await wait_until(lambda: _marked(fresh, mark), timeout_s=60, poll_s=0.02)
        kill_process_group(first)
        await first.process.wait()
    async with service("worker", fresh, tmp_path / "second", env) as (_, watch):
        await wait_until(lambda: settled(fresh.sessions, 1), timeout_s=120)
        await asyncio.sleep(0.5)  # the redelivery's settling, then the peak

    async with fresh.sessions() as session:
        product = (await session.execute(select(Product))).scalar_one()
    assert product.status is ProductStatus.FAILED
    assert product.failure_reason is not None
    assert f"{TOO_LARGE}: the worker stopped while decoding it" in product.failure_reason
    assert watch.peak < 300 * MIB, f"the redelivery decoded it again ({watch.peak / MIB:.0f} MiB)"
    assert not await _marked(fresh, mark)

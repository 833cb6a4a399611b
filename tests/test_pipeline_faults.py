"""Delivery semantics of the render pipeline with faults injected, on real servers.

Nothing lost: a job survives a worker SIGKILL and a nats-server restart. Nothing twice: a
job published twice renders once, and a redelivered job changes nothing.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.ports import free_port
from tests.conftest import reset_jetstream
from tests.fakes.telegram_api import TOKEN
from tests.pipeline import (
    job_outcomes,
    jpeg_bytes,
    preview_object_count,
    settled,
    status_counts,
    upload,
    wait_until,
)
from tests.services import (
    NATS_PASSWORDS,
    kill_process_group,
    nats_settings,
    service_env,
    start_service,
    wait_for_status,
)
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.publishing import publish
from vitrina_common.messaging.topology import JOBS_STREAM, RENDER_PREVIEW_CONSUMER

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SessionFactory = async_sessionmaker[AsyncSession]


def worker_env(base: dict[str, str], database: str, nats_url: str) -> dict[str, str]:
    env = service_env(
        base, database_dsn=database, nats_url=nats_url, telegram_url="http://127.0.0.1:9",
        token=TOKEN,
    )  # fmt: skip
    # Short ack_wait so a killed worker's in-flight jobs come back within seconds.
    env["APP_CONF__WORKER__ACK_WAIT_S"] = "3"
    env["APP_CONF__WORKER__MAX_CONCURRENT_JOBS"] = "4"
    return env


async def ready_count(sessions: SessionFactory) -> int:
    return (await status_counts(sessions)).get(ProductStatus.READY, 0)


async def distinct_preview_keys(sessions: SessionFactory) -> tuple[int, int]:
    async with sessions() as session:
        total, distinct = (
            await session.execute(
                select(func.count(Product.preview_key), func.count(Product.preview_key.distinct()))
            )
        ).one()
    return int(total), int(distinct)


@pytest.mark.timeout(600)
async def test_killed_worker_loses_no_job_and_renders_none_twice(
    database: str,
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    jobs = 1000
    await upload(nats_client, session_factory, [(f"p{i}", jpeg_bytes(i)) for i in range(jobs)])
    env = worker_env(clean_env, database, nats_server.url)

    first, port = await start_service("worker", env, tmp_path)
    await wait_for_status(port, "/readyz", 200, first)
    await wait_until(lambda: _at_least(session_factory, 200), timeout_s=120, poll_s=0.05)
    kill_process_group(first)
    await first.process.wait()
    assert await ready_count(session_factory) < jobs, "the batch finished before the kill"

    second, port = await start_service("worker", env, tmp_path / "second")
    try:
        await wait_until(lambda: settled(session_factory, jobs), timeout_s=300)
    finally:
        await second.stop(30)

    assert await status_counts(session_factory) == {ProductStatus.READY: jobs}
    assert await distinct_preview_keys(session_factory) == (jobs, jobs)
    assert await preview_object_count(nats_client) == jobs


async def _at_least(sessions: SessionFactory, count: int) -> bool:
    return await ready_count(sessions) >= count


@pytest_asyncio.fixture(loop_scope="session")
async def own_nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A nats-server of this test's own, so restarting it disturbs no other test."""
    server = NatsServer(
        tmp_path / "nats",
        free_port(),
        free_port(),
        server_name="restartable",
        passwords=NATS_PASSWORDS,
    )
    process = await server.start(log_file=str(tmp_path / "nats.log"))
    server.process = process  # type: ignore[attr-defined]
    yield server
    await server.process.stop(10)  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
async def test_nats_restart_mid_batch_loses_no_job(
    database: str,
    session_factory: SessionFactory,
    own_nats: NatsServer,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    jobs = 300
    client = await connect_nats(nats_settings(own_nats.url), name="test")
    await reset_jetstream(client)
    await upload(client, session_factory, [(f"p{i}", jpeg_bytes(i)) for i in range(jobs)])
    await client.close()
    worker, port = await start_service(
        "worker", worker_env(clean_env, database, own_nats.url), tmp_path
    )
    try:
        await wait_for_status(port, "/readyz", 200, worker)
        await wait_until(lambda: _at_least(session_factory, 30), timeout_s=60, poll_s=0.05)
        await own_nats.process.stop(10)  # type: ignore[attr-defined]
        assert await ready_count(session_factory) < jobs, "the batch finished before the restart"
        await asyncio.sleep(1)
        own_nats.process = await own_nats.start(log_file=str(tmp_path / "nats2.log"))  # type: ignore[attr-defined]
        await wait_until(lambda: settled(session_factory, jobs), timeout_s=180)
        assert worker.running
    finally:
        await worker.stop(30)

    assert await status_counts(session_factory) == {ProductStatus.READY: jobs}
    assert await distinct_preview_keys(session_factory) == (jobs, jobs)


async def test_same_job_published_twice_renders_once(
    database: str,
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    js = nats_client.jetstream()
    [job] = await upload(nats_client, session_factory, [("once", jpeg_bytes(1))])
    # The outbox already published it once; a retried publish within the window is dropped.
    second = await publish(js, job)

    assert second.duplicate
    assert (await js.stream_info(JOBS_STREAM.name)).state.messages == 1
    worker, port = await start_service(
        "worker", worker_env(clean_env, database, nats_server.url), tmp_path
    )
    try:
        await wait_until(lambda: settled(session_factory, 1), timeout_s=60)
        # Past the dedup window (a new msg id): the job arrives again and must change nothing.
        await js.publish(job.subject, job.model_dump_json().encode())
        await wait_until(lambda: _outcome_seen(port, "duplicate"), timeout_s=30)
        outcomes = await job_outcomes(port)
    finally:
        await worker.stop(30)

    assert outcomes.get("rendered") == 1
    assert outcomes.get("duplicate") == 1
    assert await preview_object_count(nats_client) == 1


async def _outcome_seen(port: int, outcome: str) -> bool:
    return (await job_outcomes(port)).get(outcome, 0) >= 1


async def test_two_workers_share_one_consumer(
    database: str,
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    jobs = 120
    await upload(
        nats_client, session_factory, [(f"p{i}", jpeg_bytes(i, (1600, 1200))) for i in range(jobs)]
    )
    env = worker_env(clean_env, database, nats_server.url)
    workers = [
        await start_service("worker", {**env, **_ports()}, tmp_path / f"w{n}") for n in range(2)
    ]
    try:
        await wait_until(lambda: settled(session_factory, jobs), timeout_s=180)
        rendered = [(await job_outcomes(port)).get("rendered", 0) for _, port in workers]
    finally:
        for worker, _ in workers:
            await worker.stop(30)

    assert sum(rendered) == jobs
    assert all(count > 0 for count in rendered), rendered
    assert await status_counts(session_factory) == {ProductStatus.READY: jobs}


def _ports() -> dict[str, str]:
    return {"APP_CONF__WORKER__HEALTH_PORT": str(free_port())}


async def test_sigterm_finishes_in_flight_jobs_before_exit(
    database: str,
    session_factory: SessionFactory,
    nats_server: NatsServer,
    nats_client: Client,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    jobs = 40
    await upload(
        nats_client, session_factory, [(f"p{i}", jpeg_bytes(i, (4000, 3000))) for i in range(jobs)]
    )
    worker, port = await start_service(
        "worker", worker_env(clean_env, database, nats_server.url), tmp_path
    )
    await wait_for_status(port, "/readyz", 200, worker)
    await wait_until(lambda: _at_least(session_factory, 3), timeout_s=60, poll_s=0.02)
    worker.stop_signal = signal.SIGTERM
    code = await worker.stop(timeout_s=60)

    consumer = await nats_client.jetstream().consumer_info(
        RENDER_PREVIEW_CONSUMER.stream, RENDER_PREVIEW_CONSUMER.durable
    )
    counts = await status_counts(session_factory)
    assert code == 0
    assert counts.get(ProductStatus.FAILED, 0) == 0
    assert consumer.num_pending > 0, "the batch finished before SIGTERM: nothing was tested"
    # Every job is either rendered or still queued. At most one per fetch loop may be
    # ack-pending: a message the server handed to a fetch FastStream cancelled while
    # stopping; it is redelivered after ack_wait, not lost (see the issue note).
    assert consumer.num_ack_pending <= 4
    assert counts[ProductStatus.READY] + consumer.num_pending + consumer.num_ack_pending == jobs

"""``python -m bench.pipeline``: renders through JetStream and real worker processes versus the
same renders called in-process, and 2 worker processes versus 1.

Everything is real and local: embedded Postgres, ``nats-server -js``, the worker as its own
OS process(es) on the shared durable consumer. Originals are stored before the clock starts;
the clock runs from publishing the jobs until the database says every product is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.images import encoded, photo
from bench.servers import bench_servers
from devstack.nats import NatsServer, credentials_env
from devstack.ports import LOOPBACK, free_port
from devstack.postgres import EmbeddedPostgres
from devstack.processes import ManagedProcess, spawn
from tests.services import NATS_PASSWORDS, nats_settings
from vitrina_common.config import DbSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.catalog import NewProduct, RegisterUpload, UploadedOriginal
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.rendering.renderer import RenderOptions, render_preview

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "1:bench-token-never-used"  # noqa: S105  (the worker never calls Telegram here)


def make_originals(count: int, size: tuple[int, int]) -> list[bytes]:
    """``count`` distinct JPEGs: one photo with a different corner patch each."""
    base = photo(size)
    originals = []
    for index in range(count):
        variant = base.copy()
        variant.paste((index * 7 % 256, index * 13 % 256, index % 256), (0, 0, 16, 16))
        originals.append(encoded(variant, "JPEG"))
    return originals


def in_process_rate(originals: list[bytes]) -> float:
    """Images/s rendering every original in this process, one after another (one core)."""
    render_preview(originals[0], RenderOptions())
    started = time.perf_counter()
    for data in originals:
        render_preview(data, RenderOptions())
    return len(originals) / (time.perf_counter() - started)


async def migrate(dsn: str) -> None:
    """``alembic upgrade head`` on ``dsn``, as the launcher does."""
    env = {**os.environ, "APP_CONF__DB__DSN": dsn}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await process.wait() != 0:
        raise RuntimeError("migrations failed")


async def ready(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http,
            http.get(f"http://{LOOPBACK}:{port}/readyz") as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


# One render at a time per worker process: "2 workers vs 1" compares processes.
ONE_RENDER_PER_WORKER = {
    "APP_CONF__WORKER__RENDER_CONCURRENCY": "1",
    "APP_CONF__WORKER__MAX_CONCURRENT_JOBS": "3",
}


async def start_workers(
    count: int,
    dsn: str,
    nats_url: str,
    logs: Path,
    settings: Mapping[str, str] = ONE_RENDER_PER_WORKER,
    log_name: str = "worker",
) -> list[ManagedProcess]:
    """``count`` worker processes with ``settings`` (the environment may override them),
    ready to consume; logs in ``<logs>/<log_name><index>.log``."""
    workers = []
    for index in range(count):
        port = free_port()
        env = {
            **settings,
            "APP_CONF__TELEMETRY__LOG_LEVEL": "WARNING",
            **os.environ,
            "APP_CONF__DB__DSN": dsn,
            "APP_CONF__NATS__URL": nats_url,
            **credentials_env("worker", NATS_PASSWORDS),
            "APP_CONF__BOT__TOKEN": TOKEN,
            "APP_CONF__WORKER__HEALTH_PORT": str(port),
        }
        worker = await spawn(
            f"worker{index}", [sys.executable, "-m", "vitrina_worker"], env=env,
            log_file=str(logs / f"{log_name}{index}.log"), stop_signal=signal.SIGTERM,
        )  # fmt: skip
        while not await ready(port):
            if not worker.running:
                raise RuntimeError(f"worker exited; see {logs}")
            await asyncio.sleep(0.1)
        workers.append(worker)
    return workers


async def ready_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        query = select(func.count()).where(Product.status == ProductStatus.READY)
        return int((await session.execute(query)).scalar_one())


async def pipeline_rate(
    pg: EmbeddedPostgres, nats: NatsServer, originals: list[bytes], workers: int, logs: Path
) -> float:
    """Images/s through JetStream with ``workers`` worker processes, on a fresh database."""
    name = f"bench_{workers}"
    await pg.ensure_database(name)
    dsn = pg.dsn(name)
    await migrate(dsn)
    engine = create_engine(DbSettings.model_validate({"dsn": dsn}))
    sessions = create_session_factory(engine)
    client = await connect_nats(nats_settings(nats.url), name="bench")
    js = client.jetstream()
    for stream in await js.streams_info():
        await js.delete_stream(stream.config.name or "")
    await provision_jetstream(js)
    store, register = ImageStore(js), RegisterUpload(sessions)
    for index, data in enumerate(originals):
        sha = await store.put_original(data)
        await register(
            NewProduct(title=f"bench {index}", price_stars=1, category="Bench"),
            UploadedOriginal(sha256=sha, size=len(data), mime="image/jpeg"),
            notify_chat_id=None,
        )
    processes = await start_workers(workers, dsn, nats.url, logs)
    relay = OutboxRelay(sessions, {NATS_PUBLISH: nats_publish_handler(js)}, batch_size=500)
    started = time.perf_counter()
    while await relay.deliver_due():
        pass
    while await ready_count(sessions) < len(originals):  # noqa: ASYNC110  (other processes)
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    for process in processes:
        await process.stop(30)
    await client.close()
    await engine.dispose()
    return len(originals) / elapsed


async def run(jobs: int, size: tuple[int, int]) -> None:
    """Start the servers, measure the three rates, print the report."""
    async with bench_servers("bench") as servers:
        work, pg, nats = servers.work, servers.pg, servers.nats
        originals = make_originals(jobs, size)
        megabytes = sum(map(len, originals)) / len(originals) / 2**20
        print(
            f"{jobs} distinct {size[0]}×{size[1]} JPEGs (~{megabytes:.1f} MB each), "
            f"{os.cpu_count()} cores"
        )
        local = in_process_rate(originals)
        one = await pipeline_rate(pg, nats, originals, 1, work)
        two = await pipeline_rate(pg, nats, originals, 2, work)
    print(f"in-process renders (1 core)        {local:7.2f} images/s")
    print(
        f"JetStream → 1 worker process       {one:7.2f} images/s   {one / local:5.2f}× in-process"
    )
    print(f"JetStream → 2 worker processes     {two:7.2f} images/s   {two / one:5.2f}× 1 worker")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--jobs", type=int, default=150)
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(run(args.jobs, (args.width, args.height)))


if __name__ == "__main__":
    main()

"""``python -m bench.pipeline``: renders through JetStream and real worker processes versus the
same renders called in-process, and 2 worker processes versus 1.

Everything is real and local: embedded Postgres, ``nats-server -js``, the worker as its own
OS process(es) on the shared durable consumer. Originals are stored before the clock starts;
the clock runs from publishing the jobs until the database says every product is ready.

Equal concurrency: every worker is pinned to a core of its own and runs the settings below
(one render thread, a few jobs in flight so fetching, storing and the database overlap the
render); the in-process baseline is pinned to one core and drives the same render pool with
the same number of jobs at once, minus NATS and Postgres. So "1 worker / in-process" is the
cost of the round trips that do not overlap, and "2 workers / 1" is how the pipeline scales
with cores (at most 2 on 2 cores: a larger ratio means the baseline idles). Printed besides:
each worker's CPU busy share while the clock runs, and the load average, since other work
on the machine takes cores from the workers (not from the pinned baseline's timing alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.images import encoded, photo
from bench.machine import load_average
from bench.servers import bench_servers
from devstack.nats import NatsServer, credentials_env
from devstack.ports import LOOPBACK, free_port
from devstack.postgres import EmbeddedPostgres
from devstack.processes import ManagedProcess, spawn
from tests.services import NATS_PASSWORDS, nats_settings
from vitrina_common.config import DbSettings
from vitrina_common.config import RenderPool as PoolKind
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import OutboxMessage, Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.catalog import NewProduct, RegisterUpload, UploadedOriginal
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.rendering.pool import RenderPool
from vitrina_worker.rendering.renderer import RenderOptions

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


# One core per worker process: one render thread, and jobs enough in flight that the next
# original is fetched and the last preview stored while a render runs.
RENDER_THREADS = 1
JOBS_IN_FLIGHT = 3
WORKER_SETTINGS = {
    "APP_CONF__WORKER__RENDER_CONCURRENCY": str(RENDER_THREADS),
    "APP_CONF__WORKER__MAX_CONCURRENT_JOBS": str(JOBS_IN_FLIGHT),
}
# Runs argv[2:] with this interpreter, pinned to core argv[1] (exec keeps the pid).
_PINNED = (
    "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


@dataclass(frozen=True)
class PipelineRun:
    """Images/s through JetStream, and per worker the share of the run it was on its core
    (busy) and runnable but waiting for the core (taken by other processes)."""

    rate: float
    busy: list[float]
    starved: list[float]


def cores() -> list[int]:
    """The cores this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


async def in_process_rate(originals: list[bytes], core: int) -> PipelineRun:
    """Images/s through the worker's render pool in this process, pinned to ``core``, with
    as many renders and jobs at once as one worker."""
    everywhere = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})  # the pool's threads, started below, inherit it
    pool = RenderPool(RENDER_THREADS, PoolKind.THREAD)
    try:
        options = RenderOptions()
        await pool.render(originals[0], options)
        slots = asyncio.Semaphore(JOBS_IN_FLIGHT)

        async def job(data: bytes) -> None:
            async with slots:
                await pool.render(data, options)

        before = sched_times(os.getpid())
        started = time.perf_counter()
        await asyncio.gather(*(job(data) for data in originals))
        elapsed = time.perf_counter() - started
        spent = sched_times(os.getpid()) - before
        rate = len(originals) / elapsed
        return PipelineRun(rate, [spent.running / elapsed], [spent.waiting / elapsed])
    finally:
        pool.close()
        os.sched_setaffinity(0, everywhere)


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


async def start_workers(
    count: int,
    dsn: str,
    nats_url: str,
    logs: Path,
    settings: Mapping[str, str] = WORKER_SETTINGS,
    log_name: str = "worker",
    *,
    pin: bool = False,
) -> list[ManagedProcess]:
    """``count`` worker processes with ``settings`` (the environment may override them),
    ready to consume, each pinned to a core of its own when ``pin``; logs in
    ``<logs>/<log_name><index>.log``."""
    workers = []
    available = cores()
    for index in range(count):
        argv = ["-m", "vitrina_worker"]
        if pin:
            argv = ["-c", _PINNED, str(available[index % len(available)]), *argv]
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
            f"worker{index}", [sys.executable, *argv], env=env,
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


async def _hold_jobs(sessions: async_sessionmaker[AsyncSession], *, hold: bool) -> None:
    """Make the outbox's jobs due a day from now (``hold``), or now."""
    due = func.now() + timedelta(days=1) if hold else func.now()
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(available_at=due))


@dataclass(frozen=True)
class SchedTimes:
    """Seconds a process's threads ran on a core, and waited for one while runnable."""

    running: float
    waiting: float

    def __sub__(self, other: SchedTimes) -> SchedTimes:
        return SchedTimes(self.running - other.running, self.waiting - other.waiting)


def sched_times(pid: int) -> SchedTimes:
    """From the kernel's scheduler statistics of every thread of ``pid``."""
    running = waiting = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            ran, waited, _ = (task / "schedstat").read_text().split()
            running, waiting = running + int(ran), waiting + int(waited)
    return SchedTimes(running / 1e9, waiting / 1e9)


async def pipeline_rate(
    pg: EmbeddedPostgres,
    nats: NatsServer,
    originals: list[bytes],
    workers: int,
    logs: Path,
    name: str,
) -> PipelineRun:
    """Images/s through JetStream with ``workers`` pinned worker processes, on a fresh
    database ``name``."""
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
    # Workers relay the outbox too: the jobs wait until the clock starts, or the first worker
    # would render while the others start.
    await _hold_jobs(sessions, hold=True)
    processes = await start_workers(workers, dsn, nats.url, logs, log_name=name, pin=True)
    try:
        if await ready_count(sessions):
            raise RuntimeError("products were ready before their jobs were published")
        relay = OutboxRelay(sessions, {NATS_PUBLISH: nats_publish_handler(js)}, batch_size=500)
        before = [sched_times(process.pid) for process in processes]
        started = time.perf_counter()
        await _hold_jobs(sessions, hold=False)
        while await relay.deliver_due():
            pass
        while await ready_count(sessions) < len(originals):  # noqa: ASYNC110  (other processes)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        spent = [sched_times(p.pid) - start for p, start in zip(processes, before, strict=True)]
    finally:  # a worker left running would outlive the benchmark's servers
        for process in processes:
            await process.stop(30)
        await client.close()
        await engine.dispose()
    return PipelineRun(
        len(originals) / elapsed,
        [times.running / elapsed for times in spent],
        [times.waiting / elapsed for times in spent],
    )


def _busy(run: PipelineRun) -> str:
    return ", ".join(
        f"{busy:.0%} (+{starved:.0%} waiting for it)"
        for busy, starved in zip(run.busy, run.starved, strict=True)
    )


async def run(jobs: int, size: tuple[int, int], rounds: int) -> None:
    """Start the servers, measure the three rates ``rounds`` times in turn, print."""
    if len(cores()) < 2:
        raise SystemExit("bench.pipeline needs 2 cores: it pins 2 workers to one each")
    async with bench_servers("bench") as servers:
        work, pg, nats = servers.work, servers.pg, servers.nats
        originals = make_originals(jobs, size)
        megabytes = sum(map(len, originals)) / len(originals) / 2**20
        print(
            f"{jobs} distinct {size[0]}×{size[1]} JPEGs (~{megabytes:.1f} MB each), "
            f"{os.cpu_count()} cores; a worker: one core, {RENDER_THREADS} render thread, "
            f"{JOBS_IN_FLIGHT} jobs in flight; {load_average()}",
            flush=True,
        )
        for index in range(rounds):
            local = await in_process_rate(originals, cores()[0])
            one = await pipeline_rate(pg, nats, originals, 1, work, f"one_{index}")
            two = await pipeline_rate(pg, nats, originals, 2, work, f"two_{index}")
            print(f"round {index + 1}; {load_average()}")
            print(
                f"  in-process renders (1 core)      {local.rate:7.2f} images/s"
                f"{'':26}on its core {_busy(local)}"
            )
            print(
                f"  JetStream → 1 worker (1 core)    {one.rate:7.2f} images/s   "
                f"{one.rate / local.rate:5.2f}× in-process   on its core {_busy(one)}"
            )
            print(
                f"  JetStream → 2 workers (2 cores)  {two.rate:7.2f} images/s   "
                f"{two.rate / one.rate:5.2f}× 1 worker      on its core {_busy(two)}",
                flush=True,
            )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--jobs", type=int, default=150)
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="repeat the three measurements")
    args = parser.parse_args()
    asyncio.run(run(args.jobs, (args.width, args.height), args.rounds))


if __name__ == "__main__":
    main()

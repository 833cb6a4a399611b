"""``python -m bench.schedule``: due items handled per second by the real worker's scheduler,
1 and 2 worker processes on one Postgres, and the ratio; ``--quick`` for a short run.

Printed, in order:

1. whether the pinned nats-server delivers JetStream message schedules (the alternative to
   rows, measured: ``nats_schedules``);
2. one runner (in this process) handling a batch in one transaction (what the worker does)
   vs one transaction per item (batch size 1: what it does with a batch after a failure) —
   items/s of each;
3. the worker processes: items/s with 1 and with 2, the ratio 2 / 1, and the CPU seconds per
   1 000 items of the workers and of Postgres (on a 2-core machine the two workers and
   Postgres share the cores, which bounds the ratio).

Every item is a ``scheduler-probe`` (the diagnostics kind: one insert per item), so the
figures are the scheduler's own cost, not a feature's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from bench.bot import base_env, cpu_seconds, migrate, provision
from bench.schedule import nats_schedules
from bench.servers import BenchServers, bench_servers
from tests.broadcasts import start_worker
from tests.due_probes import SessionFactory, probe_env, schedule_probes, tally
from tests.fakes.telegram_api import TOKEN
from tests.services import service_env
from vitrina_common.clock import SystemClock
from vitrina_common.config import DbSettings, TelemetrySettings
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import SchedulerProbe
from vitrina_common.logging import configure_logging
from vitrina_common.scheduling import DueRunner
from vitrina_common.scheduling.probe import PROBE_KIND, record_probe

BATCH = SchedulingSettings().batch_size


async def _reset(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("TRUNCATE due_items, scheduler_probes"))


async def _handled_span_s(sessions: SessionFactory, scheduled_at: datetime) -> float:
    """Seconds from scheduling to the last item handled, by the database's clock."""
    async with sessions() as session:
        last = await session.scalar(select(func.max(SchedulerProbe.handled_at)))
    if not isinstance(last, datetime):
        raise RuntimeError("no item was handled")  # noqa: TRY004  (a missing result, not a bad type)
    return (last - scheduled_at).total_seconds()


async def _now(sessions: SessionFactory) -> datetime:
    async with sessions() as session:
        return (await session.execute(select(func.now()))).scalar_one()


async def in_process(sessions: SessionFactory, items: int, batch: int) -> float:
    """Items/s of one runner draining ``items`` in batches of ``batch``."""
    await _reset(sessions)
    await schedule_probes(sessions, items, datetime.now(UTC))
    runner = DueRunner(
        sessions,
        {PROBE_KIND: record_probe},
        SystemClock(),
        SchedulingSettings(batch_size=batch),
    )
    started = time.perf_counter()
    while (await runner.run_batch()).claimed:
        pass
    return items / (time.perf_counter() - started)


@dataclass(frozen=True)
class WorkerRun:
    workers: int
    items_per_s: float
    worker_cpu_per_1000: float
    postgres_cpu_per_1000: float
    share: dict[str, int]


async def with_workers(
    servers: BenchServers, sessions: SessionFactory, env: dict[str, str], workers: int, items: int
) -> WorkerRun:
    """Start ``workers`` worker processes, schedule ``items`` due at once, time the drain."""
    await _reset(sessions)
    processes = [
        await start_worker(env, servers.work / f"logs-{workers}-{index}")
        for index in range(workers)
    ]
    try:
        cpu_before = [cpu_seconds(p.pid, tree=True) for p in processes]
        pg_before = cpu_seconds(servers.pg_pid, tree=True)
        scheduled_at = await _now(sessions)
        await schedule_probes(sessions, items, datetime.now(UTC))
        while (await tally(sessions)).items_left:  # noqa: ASYNC110  (state in other processes)
            await asyncio.sleep(0.1)
        span = await _handled_span_s(sessions, scheduled_at)
        worker_cpu = sum(cpu_seconds(p.pid, tree=True) for p in processes) - sum(cpu_before)
        pg_cpu = cpu_seconds(servers.pg_pid, tree=True) - pg_before
        done = await tally(sessions)
    finally:
        for process in processes:
            await process.stop(30)
    if (done.rows, done.keys) != (items, items):
        print(f"  !! {done.rows} handlings of {done.keys} items (expected {items})", flush=True)
    return WorkerRun(
        workers, items / span, worker_cpu / items * 1000, pg_cpu / items * 1000, done.by_replica
    )


async def run(items: int, mode_items: int, nats_count: int) -> None:
    """Start the servers, then each measurement."""
    async with bench_servers("bench-schedule") as servers:
        await servers.pg.ensure_database("bench_schedule")
        dsn = servers.pg.dsn("bench_schedule")
        await migrate(dsn)
        await provision(servers.nats)
        print(
            "JetStream message schedules: "
            + (await nats_schedules.measure(servers.nats, nats_count)).line(),
            flush=True,
        )
        engine = create_engine(DbSettings.model_validate({"dsn": dsn}))
        sessions = create_session_factory(engine)
        try:
            print(f"one runner in process, {mode_items} items:", flush=True)
            for label, batch in (
                (f"a batch of {BATCH} in one transaction (the worker's way)", BATCH),
                ("a transaction per item (batch of 1; the way after a failure)", 1),
            ):
                rate = await in_process(sessions, mode_items, batch)
                print(f"  {rate:8.0f} items/s  {label}", flush=True)
            env = probe_env(
                service_env(
                    base_env(), database_dsn=dsn, nats_url=servers.nats.url,
                    telegram_url="http://127.0.0.1:9", token=TOKEN,
                ),
                batch_size=BATCH,
            ) | {"APP_CONF__TELEMETRY__LOG_LEVEL": "WARNING"}  # fmt: skip
            print(f"worker processes, {items} items due at once, batch {BATCH}:", flush=True)
            runs = []
            for workers in (1, 2):
                result = await with_workers(servers, sessions, env, workers, items)
                runs.append(result)
                print(
                    f"  {workers} worker(s): {result.items_per_s:7.0f} items/s;"
                    f" CPU per 1 000 items: workers {result.worker_cpu_per_1000:.2f} s,"
                    f" Postgres {result.postgres_cpu_per_1000:.2f} s;"
                    f" items per worker {sorted(result.share.values())}",
                    flush=True,
                )
            print(
                f"ratio 2 workers / 1 worker: {runs[1].items_per_s / runs[0].items_per_s:.2f}",
                flush=True,
            )
        finally:
            await engine.dispose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.schedule")
    parser.add_argument("--quick", action="store_true", help="2 000 items (400 per mode)")
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)
    items = 2000 if args.quick else args.items
    asyncio.run(run(items, max(items // 5, 100), 1000 if args.quick else 10_000))


if __name__ == "__main__":
    main()

"""Driving the real worker's due-item scheduler through its diagnostics kind
(``scheduler-probe``): schedule many probes at once, read who handled each, and find out
whether a worker process is in the middle of a batch. Shared by ``test_schedule`` and
``bench.schedule``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.ports import LOOPBACK
from vitrina_common.db.models import DueItemRow, SchedulerProbe
from vitrina_common.scheduling.probe import PROBE_KIND

SessionFactory = async_sessionmaker[AsyncSession]


def probe_env(env: dict[str, str], *, batch_size: int = 100) -> dict[str, str]:
    """A worker's environment with the probe kind on and a quick poll."""
    return {
        **env,
        "APP_CONF__SCHEDULING__PROBE_ENABLED": "true",
        "APP_CONF__SCHEDULING__BATCH_SIZE": str(batch_size),
        "APP_CONF__SCHEDULING__POLL_INTERVAL_S": "0.1",
    }


async def schedule_probes(sessions: SessionFactory, count: int, due_at: datetime) -> None:
    """``count`` probe items, keys ``"0"`` to ``count - 1``, all due at ``due_at``, in one
    statement (what ``schedule_due`` does for one, ``count`` times)."""
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO due_items (kind, key, due_at)"
                " SELECT :kind, g::text, :due_at FROM generate_series(0, :count - 1) AS g"
            ),
            {"kind": PROBE_KIND, "due_at": due_at, "count": count},
        )


@dataclass(frozen=True)
class ProbeTally:
    """Probe rows written so far: how many, for how many distinct items, by whom."""

    rows: int
    keys: int
    by_replica: dict[str, int]
    items_left: int

    @property
    def by_pid(self) -> dict[int, int]:
        """``by_replica`` keyed by the process id each replica name ends with."""
        return {int(replica.rsplit(":", 1)[1]): rows for replica, rows in self.by_replica.items()}


async def tally(sessions: SessionFactory) -> ProbeTally:
    """Count the probe rows and the probe items still scheduled."""
    async with sessions() as session:
        rows, keys = (
            await session.execute(select(func.count(), func.count(SchedulerProbe.key.distinct())))
        ).one()
        by_replica = {
            replica: int(count)
            for replica, count in await session.execute(
                select(SchedulerProbe.handled_by, func.count()).group_by(SchedulerProbe.handled_by)
            )
        }
        left = await session.scalar(
            select(func.count()).select_from(DueItemRow).where(DueItemRow.kind == PROBE_KIND)
        )
    return ProbeTally(int(rows), int(keys), by_replica, int(left or 0))


def _client_ports(pid: int) -> list[int]:
    """Local TCP ports of ``pid`` and its children: its database connections among them."""
    root = psutil.Process(pid)
    ports = []
    for member in [root, *root.children(recursive=True)]:
        ports += [c.laddr.port for c in member.net_connections(kind="tcp") if c.laddr]
    return ports


async def claiming_batch(sessions: SessionFactory, pid: int) -> bool:
    """Whether process ``pid`` holds due items locked right now, i.e. is mid-batch: one of
    its connections has a transaction open with ``FOR UPDATE`` on ``due_items``."""
    async with sessions() as session:
        held = await session.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.relation = 'due_items'::regclass AND l.mode = 'RowShareLock'"
                " AND a.client_port = ANY(:ports)"
            ),
            {"ports": _client_ports(pid)},
        )
    return bool(held)


async def probes_counted(health_port: int, outcome: str = "handled") -> float:
    """What a worker's /metrics says it did with probe items: ``vitrina_due_items_total``."""
    url = f"http://{LOOPBACK}:{health_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "vitrina_due_items_total"
        and sample.labels.get("kind") == PROBE_KIND
        and sample.labels.get("outcome") == outcome
    )

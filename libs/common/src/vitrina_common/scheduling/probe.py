"""Diagnostics: the ``scheduler-probe`` kind, to check the due-item scheduler end to end.

With ``APP_CONF__SCHEDULING__PROBE_ENABLED`` on, a worker handles each probe item by
writing one ``scheduler_probes`` row naming itself: schedule probes, then read which
replica handled each, how late, and whether any was handled twice (two rows for a key).
The tests and ``bench.schedule`` drive the real worker processes through it.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import SchedulerProbe
from vitrina_common.scheduling.due import DueItem

PROBE_KIND = "scheduler-probe"
# Built once: the probe measures the scheduler, not SQLAlchemy building a statement per item.
_RECORD = insert(SchedulerProbe)


def replica_name() -> str:
    """This process, as a probe row names it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def record_probe(session: AsyncSession, item: DueItem) -> None:
    """Handle a probe item: record that this replica handled it."""
    await session.execute(_RECORD, {"key": item.key, "handled_by": replica_name()})

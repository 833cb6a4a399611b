"""The one scheduling loop of a worker process: each pass claims a due periodic task (if
any) and a batch of due items, from their rows, with ``FOR UPDATE SKIP LOCKED``.

A periodic task's run goes on in the background under its lease (a retention run takes
minutes), so the loop keeps handling due items meanwhile; due items are handled inside the
pass's claiming transaction. The loop sleeps a poll interval only when a pass found
nothing to do (no task started, the batch not full).
"""

from __future__ import annotations

import asyncio

from vitrina_common.cancellation import cancel_and_wait, checked_sleep, raise_if_cancelled
from vitrina_common.logging import get_logger
from vitrina_common.scheduling.due_runner import DueRunner
from vitrina_common.scheduling.runner import Scheduler

log = get_logger(__name__)


class SchedulingLoop:
    """Claims periodic tasks (``periodic``) and due items (``due``) until cancelled; on
    the way out it cancels the runs it started, which hand their tasks back."""

    def __init__(
        self, periodic: Scheduler, due: DueRunner, *, poll_interval_s: float, batch_size: int
    ) -> None:
        self._periodic = periodic
        self._due = due
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._runs: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Pass after pass until cancelled; a failing pass (the database is away) is
        logged and the next poll tries again."""
        try:
            while True:
                # A stop lost inside a driver's wait_for is caught here (see cancellation).
                raise_if_cancelled()
                if not await self._pass():
                    await checked_sleep(self._poll_interval_s)
        finally:
            await self._cancel_runs()

    async def _pass(self) -> bool:
        """One claim of each kind; whether there may be more to do at once."""
        busy = False
        try:
            started = await self._periodic.start_due()
            if started is not None:
                self._runs.add(started)
                started.add_done_callback(self._runs.discard)
                busy = True
        except Exception as error:  # noqa: BLE001  (a database hiccup: the next poll retries)
            log.warning("periodic tasks pass failed", error=str(error))
        try:
            busy = (await self._due.run_batch()).claimed >= self._batch_size or busy
        except Exception as error:  # noqa: BLE001  (a database hiccup: the next poll retries)
            log.warning("due items pass failed", error=str(error))
        return busy

    async def _cancel_runs(self) -> None:
        await cancel_and_wait(list(self._runs))

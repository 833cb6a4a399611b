"""Background loops that stop when cancelled, even when a library swallowed the cancel.

Python 3.11's ``asyncio.wait_for`` returns the awaited result instead of raising
``CancelledError`` when the cancellation arrives in the same loop turn as that result (fixed
in 3.12). nats.py waits on every request and JetStream ``fetch`` through it, so a stop that
meets a reply mid-flight is lost: a ``while True`` loop fetches again and the process waits
for its SIGKILL (the test teardowns' 20-30 s, a rolling update's whole grace period). The
task still counts the request (``Task.cancelling()``), so a loop that checks it at the top
of each pass stops one pass later.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from vitrina_common.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)

# How long a stop waits before it names the tasks still running, and again after that.
SLOW_STOP_REPORT_S = 3.0


def cancel_requested() -> bool:
    """True when the running task was cancelled and has not taken the cancel back, whether
    or not a ``CancelledError`` reached this frame."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` if the running task was asked to stop (see module doc): the
    checkpoint at the top of every loop that runs until cancelled."""
    if cancel_requested():
        raise asyncio.CancelledError


async def checked_sleep(seconds: float) -> None:
    """``asyncio.sleep`` that first honours a swallowed cancel: a loop's pause after a pass
    whose request ate the cancel must not delay the stop by a whole interval."""
    raise_if_cancelled()
    await asyncio.sleep(seconds)


# How long a stop waits for a step in flight to be recorded.
FINISH_ON_STOP_S = 30.0


async def finish_on_stop(step: Coroutine[Any, Any, T]) -> T:
    """Run ``step`` so that a stop (a cancel) arriving midway waits for it to finish, up to
    ``FINISH_ON_STOP_S``, then stops: a send Telegram accepted is recorded instead of
    rolled back (and sent again later)."""
    work = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait({work}, timeout=FINISH_ON_STOP_S)
        raise


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task, then wait for each to end (its step in flight recorded first).
    A task still running after ``SLOW_STOP_REPORT_S`` is logged with where it waits: a
    stop that hangs until SIGKILL names its culprit instead of leaving a silent gap."""
    pending = set(tasks)
    for task in pending:
        task.cancel()
    while pending:
        done, pending = await asyncio.wait(pending, timeout=SLOW_STOP_REPORT_S)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning(
                    "task failed while stopping", task=task.get_name(), error=repr(task.exception())
                )
        for task in pending:
            log.warning("task still stopping", task=task.get_name(), waiting_at=_where(task))


def _where(task: asyncio.Task[Any]) -> str:
    stack = io.StringIO()
    task.print_stack(limit=8, file=stack)
    return stack.getvalue()

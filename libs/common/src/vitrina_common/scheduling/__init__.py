"""Everything due later, claimed from rows by any worker replica with ``FOR UPDATE SKIP
LOCKED``, by one loop per worker process (``loop``): due items (``due``, ``due_runner``:
one-off, handled inside the claiming transaction) and periodic tasks (``runner``: long runs
under a lease)."""

from vitrina_common.scheduling.due import DueHandler, DueItem, cancel_due, find_due, schedule_due
from vitrina_common.scheduling.due_runner import BatchOutcome, DueRunner
from vitrina_common.scheduling.loop import SchedulingLoop
from vitrina_common.scheduling.runner import PeriodicTask, Scheduler

__all__ = [
    "BatchOutcome",
    "DueHandler",
    "DueItem",
    "DueRunner",
    "PeriodicTask",
    "Scheduler",
    "SchedulingLoop",
    "cancel_due",
    "find_due",
    "schedule_due",
]

"""Everything due later, on one mechanism: periodic tasks claimed from ``scheduled_tasks``
by any worker replica (see ``runner``)."""

from vitrina_common.scheduling.runner import PeriodicTask, Scheduler

__all__ = ["PeriodicTask", "Scheduler"]

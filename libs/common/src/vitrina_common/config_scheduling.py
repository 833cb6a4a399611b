"""How the worker claims due items (part of ``Settings`` as ``scheduling``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SchedulingSettings(BaseModel):
    """Due items (reservation expiry, reminders, digests): rows with a due time that any
    worker replica claims with ``FOR UPDATE SKIP LOCKED``."""

    # Items one replica claims and handles in one transaction (a failing item makes the
    # others run again one transaction each, so it does not undo them); a replica killed
    # mid-batch leaves the whole batch to the others (nothing of it was committed).
    batch_size: int = Field(default=100, ge=1, le=10_000)
    # How often an idle replica looks for due items: how late an item may run, at most.
    poll_interval_s: float = Field(default=1.0, gt=0, le=300)
    # One item's handler may take this long; then it counts as failed and is retried.
    handler_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # A failed item is due again after this (doubled per attempt, up to the maximum).
    first_retry_s: float = Field(default=10.0, gt=0)
    max_retry_s: float = Field(default=3600.0, gt=0)
    # Diagnostics: the worker handles items of kind ``scheduler-probe`` by writing a row to
    # ``scheduler_probes`` (which replica, when), to check the scheduler end to end.
    probe_enabled: bool = False

"""How non-interactive sends (broadcasts, notifications and digests) use Telegram's
budget (part of ``Settings`` as ``sending``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SendingSettings(BaseModel):
    """The global send budget shared by every worker replica, and the broadcast and
    notification senders."""

    # Messages per second all replicas together may send. Telegram allows a bot about 30;
    # the rest is left to the bot's interactive replies, which take no tokens.
    rate_per_s: float = Field(default=25.0, gt=0, le=1000)
    # Sends one worker process has in flight at once. Each holds its recipient's row lock
    # (and a database connection) until its outcome is committed, so a crash resends at
    # most this many per replica.
    concurrency: int = Field(default=4, ge=1, le=64)
    # Notification sends (waitlist turns, digests) one worker process has in flight at
    # once, next to the broadcasts' and from the same budget.
    notification_concurrency: int = Field(default=2, ge=1, le=64)
    # Attempts of one recipient on errors worth retrying (5xx, network) before it fails.
    max_attempts: int = Field(default=5, ge=1, le=50)
    first_retry_s: float = Field(default=5.0, gt=0)
    max_retry_s: float = Field(default=300.0, gt=0)
    # How often the admin's progress message is edited, at most.
    progress_interval_s: float = Field(default=5.0, ge=1)
    # How often an idle sender looks for work.
    poll_interval_s: float = Field(default=2.0, gt=0)
    # How often scheduled broadcasts are checked for being due.
    schedule_check_s: int = Field(default=30, ge=1)

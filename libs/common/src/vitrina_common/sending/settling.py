"""What a send's outcome makes of a queued message (a broadcast recipient, a notification):
the same rules for both, so a flood pause or a backoff means the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from vitrina_common.retry import RetryPolicy
from vitrina_common.sending.sender import Outcome, OutcomeKind


class SettledState(StrEnum):
    """The states both queues share (their columns hold these very values)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Settled:
    """The message's new state and attempts; pending again after ``retry_in``."""

    state: SettledState
    attempts: int
    retry_in: timedelta | None = None


def settle_outcome(outcome: Outcome, attempts_before: int, policy: RetryPolicy) -> Settled:
    """Sent, blocked (403), failed for good, or pending again: after a flood pause (not the
    recipient's fault, no attempt counted) or a backoff, until the attempts run out."""
    attempts = attempts_before + 1
    if outcome.kind is OutcomeKind.SENT:
        return Settled(SettledState.SENT, attempts)
    if outcome.kind is OutcomeKind.GONE:
        return Settled(SettledState.BLOCKED, attempts)
    if outcome.kind is OutcomeKind.FAILED or (not outcome.flood and policy.exhausted(attempts)):
        return Settled(SettledState.FAILED, attempts)
    if outcome.flood:
        return Settled(
            SettledState.PENDING, attempts_before, timedelta(seconds=outcome.retry_after_s)
        )
    return Settled(SettledState.PENDING, attempts, policy.delay(attempts))

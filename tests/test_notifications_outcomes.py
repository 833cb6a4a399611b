"""What a send's outcome makes of a notification: final states, backoff, flood pauses."""

from __future__ import annotations

from datetime import timedelta

from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import NotificationState
from vitrina_common.sending import Outcome, OutcomeKind
from vitrina_common.services.notifications.delivery import Settled, settle_outcome

SETTINGS = SendingSettings(max_attempts=3, first_retry_s=5, max_retry_s=8)


def test_sent_blocked_and_refused_are_final() -> None:
    assert settle_outcome(Outcome(OutcomeKind.SENT), 0, SETTINGS) == Settled(
        NotificationState.SENT, 1
    )
    assert settle_outcome(Outcome(OutcomeKind.GONE, "403"), 1, SETTINGS) == Settled(
        NotificationState.BLOCKED, 2
    )
    assert settle_outcome(Outcome(OutcomeKind.FAILED, "400"), 0, SETTINGS) == Settled(
        NotificationState.FAILED, 1
    )


def test_errors_worth_retrying_back_off_until_the_attempts_run_out() -> None:
    retry = Outcome(OutcomeKind.RETRY, "502")

    assert [settle_outcome(retry, before, SETTINGS) for before in range(3)] == [
        Settled(NotificationState.PENDING, 1, timedelta(seconds=5)),
        Settled(NotificationState.PENDING, 2, timedelta(seconds=8)),
        Settled(NotificationState.FAILED, 3),
    ]


def test_a_flood_pause_costs_the_notification_no_attempt() -> None:
    flood = Outcome(OutcomeKind.RETRY, "429", retry_after_s=7, flood=True)

    assert settle_outcome(flood, 2, SETTINGS) == Settled(
        NotificationState.PENDING, 2, timedelta(seconds=7)
    )

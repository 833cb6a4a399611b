"""What a send's outcome makes of a queued message (a notification, a broadcast recipient):
final states, backoff, flood pauses."""

from __future__ import annotations

from datetime import timedelta

from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import NotificationState, RecipientState
from vitrina_common.retry import RetryPolicy
from vitrina_common.sending import Outcome, OutcomeKind, Settled, SettledState, settle_outcome

SETTINGS = RetryPolicy.from_settings(
    SendingSettings(max_attempts=3, first_retry_s=5, max_retry_s=8)
)


def test_sent_blocked_and_refused_are_final() -> None:
    assert settle_outcome(Outcome(OutcomeKind.SENT), 0, SETTINGS) == Settled(SettledState.SENT, 1)
    assert settle_outcome(Outcome(OutcomeKind.GONE, "403"), 1, SETTINGS) == Settled(
        SettledState.BLOCKED, 2
    )
    assert settle_outcome(Outcome(OutcomeKind.FAILED, "400"), 0, SETTINGS) == Settled(
        SettledState.FAILED, 1
    )


def test_errors_worth_retrying_back_off_until_the_attempts_run_out() -> None:
    retry = Outcome(OutcomeKind.RETRY, "502")

    assert [settle_outcome(retry, before, SETTINGS) for before in range(3)] == [
        Settled(SettledState.PENDING, 1, timedelta(seconds=5)),
        Settled(SettledState.PENDING, 2, timedelta(seconds=8)),
        Settled(SettledState.FAILED, 3),
    ]


def test_a_flood_pause_costs_the_message_no_attempt() -> None:
    flood = Outcome(OutcomeKind.RETRY, "429", retry_after_s=7, flood=True)

    assert settle_outcome(flood, 2, SETTINGS) == Settled(
        SettledState.PENDING, 2, timedelta(seconds=7)
    )


def test_each_settled_state_is_a_state_of_both_queues() -> None:
    values = {state.value for state in SettledState}
    assert values <= {state.value for state in NotificationState}
    assert values <= {state.value for state in RecipientState}

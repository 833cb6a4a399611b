"""How long a migration may wait for a lock and run a statement, and what to say when it
may not.

A migration that waits for a lock queues every later query on that table behind it, the
bot's included: with ``lock_timeout`` it gives up after a few seconds instead, and the
upgrade can simply be run again. ``statement_timeout`` bounds any one statement (a
backfill or an index build that would run for hours is a migration to rewrite, not to
wait for).

Both are set per run with ``-x``: ``alembic -x lock_timeout=2s -x statement_timeout=30min
upgrade head``; values are Postgres durations (a number with ``ms``, ``s``, ``min`` or
``h``; a bare number is milliseconds; ``0`` turns the limit off).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

LOCK_TIMEOUT = "lock_timeout"
STATEMENT_TIMEOUT = "statement_timeout"
DEFAULTS = {LOCK_TIMEOUT: "5s", STATEMENT_TIMEOUT: "10min"}
# What Postgres accepts for these settings, less its rarer units (us, d): checked here so
# a typo fails before connecting, and so a value can be written into an offline script.
_DURATION = re.compile(r"\d+(ms|s|min|h)?")
_LOCK_NOT_AVAILABLE = "55P03"
_QUERY_CANCELED = "57014"
_DEADLOCK_DETECTED = "40P01"


@dataclass(frozen=True)
class Timeouts:
    """The two limits as Postgres durations, e.g. ``5s`` and ``10min``."""

    lock: str
    statement: str

    @classmethod
    def from_x_arguments(cls, arguments: Mapping[str, str]) -> Timeouts:
        """From ``-x name=value`` arguments (others are ignored), defaults for the missing.

        Raises ``ValueError`` naming the argument when a value is not a duration.
        """
        values = {name: arguments.get(name, default).strip() for name, default in DEFAULTS.items()}
        for name, value in values.items():
            if not _DURATION.fullmatch(value):
                raise ValueError(
                    f"-x {name}={value!r} is invalid: expected a duration such as 5s, 500ms, "
                    "10min or 0 (no limit)"
                )
        return cls(lock=values[LOCK_TIMEOUT], statement=values[STATEMENT_TIMEOUT])

    def server_settings(self) -> dict[str, str]:
        """Session settings for every connection of the migration run."""
        return {LOCK_TIMEOUT: self.lock, STATEMENT_TIMEOUT: self.statement}

    def set_statements(self) -> list[str]:
        """The same as SQL, for an offline (``--sql``) script."""
        return [f"SET {name} = '{value}'" for name, value in self.server_settings().items()]


class MigrationTimeoutError(CommandError):
    """A migration gave up on a lock or a statement (or lost a deadlock).

    A ``CommandError``, so the ``alembic`` command prints its message as one ``FAILED:``
    line instead of a traceback (``--raiseerr`` shows that).
    """


def explain(error: DBAPIError, timeouts: Timeouts, revision: str | None) -> Exception:
    """A ``MigrationTimeoutError`` telling the operator what happened and what to do, when
    ``error`` is one of the two timeouts or a deadlock; ``error`` itself otherwise."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    message = str(error.orig)
    if sqlstate == _LOCK_NOT_AVAILABLE:
        what = (
            f"could not lock a table within lock_timeout ({timeouts.lock}): another "
            "transaction holds it (a long one, or a session left idle in a transaction)"
        )
    elif sqlstate == _DEADLOCK_DETECTED:
        # E.g. the bot inserts an update a backfill holds the row of, and the migration's
        # next ALTER TABLE waits for that insert's transaction: Postgres cancels one.
        what = "it deadlocked with another transaction, and Postgres cancelled it"
    elif sqlstate == _QUERY_CANCELED and "statement timeout" in message:
        what = (
            f"a statement ran longer than statement_timeout ({timeouts.statement}); if it "
            "must, run the upgrade with a larger -x statement_timeout"
        )
    else:
        return error
    statement = " ".join((error.statement or "").split())[:200]
    return MigrationTimeoutError(
        f"migration gave up: {what}. The database is at revision {revision or 'base'}: what "
        "did not finish is done by the next upgrade, which is safe to run at once. "
        f"Statement: {statement}"
    )

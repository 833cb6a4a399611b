"""Schema changes that keep a live shop serving: constraints checked without holding their
table, and statements that must run outside a transaction.

Adding a CHECK or FOREIGN KEY takes its table's ACCESS EXCLUSIVE lock; a plain one then
scans every row while holding it, so nobody reads or writes the table meanwhile. Added
``NOT VALID``, the constraint binds every new write at once and the scan is skipped;
``VALIDATE CONSTRAINT`` later checks the old rows under SHARE UPDATE EXCLUSIVE, which lets
reads and writes go on. The VALIDATE must come in a later transaction than the ADD (in the
same one the exclusive lock is still held), so revisions never issue it: ``env.py``
validates every NOT VALID constraint once the revisions committed, and every later upgrade
retries what did not validate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op
from sqlalchemy import Connection, text

from migrations.timeouts import Timeouts

# The options key under which env.py hands the run's timeouts to the revisions.
TIMEOUTS_OPTION = "vitrina_timeouts"

# One VALIDATE statement per constraint of the current schema still NOT VALID; quoting by
# format()'s %I, so any name works.
_PENDING_VALIDATIONS = """
SELECT format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I', n.nspname, t.relname, c.conname)
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE NOT c.convalidated AND c.contype IN ('c', 'f') AND n.nspname = current_schema()
ORDER BY t.relname, c.conname
"""


def add_check_constraint(name: str, table: str, condition: str) -> None:
    """Add CHECK ``condition`` to an existing table without scanning it under its lock.

    New writes are checked from this revision on; the rows already there are checked by
    ``env.py`` after the revision committed (see the module docstring).
    """
    op.create_check_constraint(op.f(name), table, condition, postgresql_not_valid=True)


def replace_check_constraint(name: str, table: str, condition: str) -> None:
    """Swap the CHECK ``name`` of ``table`` for one with ``condition``, the same way.

    This is how an enum column (text with a CHECK, see ``str_enum``) gains or loses a
    value. Losing one is a contract step: the running code may still write it.
    """
    op.drop_constraint(op.f(name), table, type_="check")
    add_check_constraint(name, table, condition)


def add_foreign_key(
    name: str,
    table: str,
    referent: str,
    columns: Sequence[str],
    referent_columns: Sequence[str],
    *,
    ondelete: str | None = None,
) -> None:
    """Add a FOREIGN KEY to an existing table without scanning it under its lock.

    Validation later takes only ROW SHARE on ``referent``: its rows stay writable.
    """
    op.create_foreign_key(
        op.f(name),
        table,
        referent,
        list(columns),
        list(referent_columns),
        ondelete=ondelete,
        postgresql_not_valid=True,
    )


@contextmanager
def outside_transaction() -> Iterator[None]:
    """An autocommit block for ``CONCURRENTLY`` index builds and drops.

    Everything before it in the revision is committed when it starts, so put it first
    and make what it runs repeatable (a failed build leaves an invalid index: drop it if
    it exists, then build). Inside, ``lock_timeout`` is relaxed to ``statement_timeout``:
    these statements take SHARE UPDATE EXCLUSIVE, which no read or write waits for, and
    they wait for every older transaction to end, which may take longer than the few
    seconds an exclusive lock may be awaited.
    """
    timeouts = _timeouts()
    with op.get_context().autocommit_block():
        op.execute(text(f"SET lock_timeout = '{timeouts.statement}'"))
        try:
            yield
        finally:
            op.execute(text(f"SET lock_timeout = '{timeouts.lock}'"))


def validate_pending(connection: Connection, timeouts: Timeouts) -> list[str]:
    """Validate every NOT VALID constraint of the schema, each in its own transaction;
    the statements run. ``connection`` must not be in a transaction."""
    # SHARE UPDATE EXCLUSIVE blocks no read or write: waiting for it harms nobody.
    connection.execute(text(f"SET lock_timeout = '{timeouts.statement}'"))
    connection.commit()
    statements = list(connection.execute(text(_PENDING_VALIDATIONS)).scalars())
    connection.commit()
    for statement in statements:
        connection.execute(text(statement))
        connection.commit()
    return statements


def validate_pending_offline() -> str:
    """``validate_pending`` as one statement, for an offline (``--sql``) script."""
    return (
        "DO $$ DECLARE statement text; BEGIN "
        f"FOR statement IN {' '.join(_PENDING_VALIDATIONS.split())} "
        "LOOP EXECUTE statement; END LOOP; END $$"
    )


def _timeouts() -> Timeouts:
    timeouts = op.get_context().opts.get(TIMEOUTS_OPTION)
    if not isinstance(timeouts, Timeouts):
        raise TypeError(f"migrations/env.py passes {TIMEOUTS_OPTION}; was it bypassed?")
    return timeouts

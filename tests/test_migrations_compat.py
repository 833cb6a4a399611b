"""Expand/contract, revision by revision: the code of revision N-1 keeps working on the
schema of revision N (see "Migrations on a live shop" in the README).

The code of N-1 is stood for by its schema: each release's models equal its head schema
(``test_models_match_migrations`` holds it to that), so the tables reflected at N-1 are
the tables that code maps, column for column, with their types, NULLs and enum CHECKs.
From them the test writes what such code could write: a row per table with every column
that has no server default (foreign keys pointing at the rows written before it), then
every other column set on its own, every enum value the CHECK allows set on its own,
and every column read back. It does so at N-1 (the statements fit their own schema),
upgrades to N over those rows, and does it all again, reading the old rows too; last,
every column of N-1 must keep its type at N, or widen it.

What that proves: no revision drops or renames a column or table the code before it
uses, adds a NOT NULL column without a default, narrows a type or an enum, or adds a
CHECK the old code's values fail. What it does not: that the statements the old code
really sent are among these (``ON CONFLICT`` on a unique index, a join, a lock: see
``test_migrations_compat_release.py`` for the money path), that rows written by the new
code mean to the old code what it thinks, or that the old code stays fast (a dropped
index). Values are made up, so a CHECK over real data is not exercised. A release that
carries several revisions is covered step by step: the README's rule (contract only in
the next release) is what makes the steps add up.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.conftest import alembic_config, asyncpg_url

pytestmark = pytest.mark.postgres

_CONFIG = alembic_config("postgresql+asyncpg://unused/db")
_REVISIONS = [
    revision.revision
    for revision in reversed(list(ScriptDirectory.from_config(_CONFIG).walk_revisions()))
    if revision.down_revision is not None
]
# Released before the rule; kept as known breaks, strict so that a fix is noticed.
_KNOWN_BREAKS = {
    "0005": "import reasons went from text to JSONB in one revision: the code before it "
    "writes a sentence where JSON is now expected",
}
_ENUM_CHECK = re.compile(r"^\(*(\w+)\)?::text = ANY")
_ENUM_VALUE = re.compile(r"'([^']*)'::character varying")
_INTEGERS = (SmallInteger, Integer, BigInteger)


def _params() -> list[Any]:
    return [
        pytest.param(
            revision,
            marks=[pytest.mark.xfail(strict=True, reason=_KNOWN_BREAKS[revision])]
            if revision in _KNOWN_BREAKS
            else [],
            id=revision,
        )
        for revision in _REVISIONS
    ]


def _enum_values(table: Table) -> dict[str, list[str]]:
    """Column name → the values its enum CHECK allows."""
    values = {}
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            found = _ENUM_CHECK.match(str(constraint.sqltext))
            if found:
                values[found.group(1)] = _ENUM_VALUE.findall(str(constraint.sqltext))
    return values


# Tables whose rows must agree across columns and with a trigger (a ticket's status moves
# only along ticket_transitions; a comment's author kind names which id is set), which
# made-up values cannot: tests/test_tickets.py writes them at head. A migration that
# changes them needs its own old-code check here.
_GUARDED = frozenset({"tickets", "ticket_comments", "ticket_events", "ticket_transitions"})


def _made_up(column: Column[Any], number: int) -> Any:  # noqa: PLR0911  (one per type)
    """A value of ``column``'s type, unique by ``number`` where that can matter."""
    if isinstance(column.type, _INTEGERS):
        # Counters with a default (e.g. import totals) must keep their sums; 0 does.
        return 0 if column.server_default is not None else number
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, DateTime):
        return datetime.now(UTC)
    if isinstance(column.type, JSON):
        return {"n": number}
    if isinstance(column.type, LargeBinary):
        return f"v{number}".encode()
    if isinstance(column.type, ARRAY):
        # Empty: within any "<@ ARRAY[…]" whitelist.
        return []
    length = getattr(column.type, "length", None)
    return f"v{number}"[: length or None]


class _Writer:
    """Writes rows the way code mapping these tables could, each value new."""

    def __init__(self, connection: AsyncConnection, numbers: Iterator[int]) -> None:
        self._connection = connection
        self._numbers = numbers
        self._keys: dict[str, dict[str, Any]] = {}

    def value(self, column: Column[Any], enums: dict[str, list[str]]) -> Any:
        if column.name in enums:
            return enums[column.name][0]
        if column.foreign_keys:
            target = next(iter(column.foreign_keys)).column
            return self._keys[target.table.name][target.name]
        return _made_up(column, next(self._numbers))

    async def write_and_read(self, table: Table) -> None:
        enums = _enum_values(table)
        columns = [c for c in table.columns if c.identity is None]
        first = {c.name: self.value(c, enums) for c in columns if c.server_default is None}
        inserted = await self._connection.execute(
            insert(table).values(first).returning(*table.primary_key.columns)
        )
        key = dict(inserted.one()._mapping)
        self._keys[table.name] = key
        this_row = and_(*(table.c[name] == value for name, value in key.items()))
        for column in columns:
            if column.primary_key or column.foreign_keys:
                continue
            for value in enums.get(column.name) or [self.value(column, enums)]:
                await self._connection.execute(
                    update(table).where(this_row).values({column.name: value})
                )
        (await self._connection.execute(select(*table.columns))).all()


async def _reflect(connection: AsyncConnection) -> MetaData:
    metadata = MetaData()
    await connection.run_sync(metadata.reflect)
    await connection.rollback()
    metadata.remove(metadata.tables["alembic_version"])
    return metadata


async def _write_and_read_everything(
    connection: AsyncConnection, metadata: MetaData, numbers: Iterator[int]
) -> None:
    writer = _Writer(connection, numbers)
    async with connection.begin():
        for table in metadata.sorted_tables:
            if table.name not in _GUARDED:
                await writer.write_and_read(table)


def _widened(old: Any, new: Any) -> bool:
    if str(old) == str(new):
        return True
    if isinstance(old, _INTEGERS) and isinstance(new, _INTEGERS):
        return _INTEGERS.index(type(new)) >= _INTEGERS.index(type(old))
    if isinstance(old, String) and isinstance(new, String):
        return new.length is None or (old.length is not None and new.length >= old.length)
    return False


@pytest.mark.parametrize("revision", _params())
async def test_each_revision_keeps_the_code_before_it_working(
    empty_database: str, revision: str
) -> None:
    config = alembic_config(asyncpg_url(empty_database))
    previous = ScriptDirectory.from_config(config).get_revision(revision).down_revision
    assert isinstance(previous, str)
    await asyncio.to_thread(command.upgrade, config, previous)
    engine = create_async_engine(asyncpg_url(empty_database))
    numbers = itertools.count(1)
    try:
        async with engine.connect() as connection:
            old = await _reflect(connection)
            await _write_and_read_everything(connection, old, numbers)
        await asyncio.to_thread(command.upgrade, config, revision)
        async with engine.connect() as connection:
            await _write_and_read_everything(connection, old, numbers)
            new = await _reflect(connection)
    finally:
        await engine.dispose()

    changed = [
        f"{table.name}.{column.name}: {column.type} -> {new.tables[table.name].c[column.name].type}"
        for table in old.sorted_tables
        for column in table.columns
        if not _widened(column.type, new.tables[table.name].c[column.name].type)
    ]
    assert changed == []
